"""One guard for every page: a failure is a message on the page, never a stack trace.

A :class:`~dashboard.errors.DashboardError` says what failed and where, and holds no secret or customer text:
its message is shown as it is. Anything else is a bug: it is logged with its traceback as an internal error,
and the page says only that.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

import streamlit as st

from dashboard.errors import DashboardError

__all__ = ["SHOWN_ERRORS", "attempt", "error_text", "page_guard"]

T = TypeVar("T")
log = logging.getLogger("dashboard.ui")

# Every error raised on purpose (the client's, the schema's, the importer's, the store's ...) is a DashboardError:
# its message names what and where and holds no secret.
SHOWN_ERRORS: tuple[type[Exception], ...] = (DashboardError,)
INTERNAL = "an internal error occurred (it is in the server log)."


def error_text(exc: Exception, what: str) -> str:
    """The message to show for ``exc``: its own for the errors above, else a generic one (and the log)."""
    if isinstance(exc, SHOWN_ERRORS):
        return str(exc)
    log.error("internal error: %s", what, exc_info=exc)
    return INTERNAL


@contextlib.contextmanager
def page_guard(failure: str) -> Iterator[None]:
    """Around a page's body: ``st.error(f"{failure}: {message}")`` instead of a traceback. (``st.stop()`` and
    reruns are not exceptions and pass through.)"""
    try:
        yield
    except Exception as exc:  # the page's one guard
        from dashboard.ui.widgets import as_text

        # An error may quote a file's header or a value: text, never Markdown.
        st.error(f"{as_text(failure)}: {as_text(error_text(exc, failure))}")


def attempt(action: Callable[[], T], failure: str) -> T | None:
    """``action()``, or None after showing why it failed (for a button's action inside a page)."""
    with page_guard(failure):
        return action()
    return None
