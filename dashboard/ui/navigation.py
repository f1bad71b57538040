"""The app's pages, what each asks of a reader, and the navigation a reader gets.

A page a reader may not open is neither in their navigation nor reachable by its URL: its path is taken by a
hidden stand-in that says "not allowed" (a direct link gets that, not the page and not Streamlit's "page not
found"). A process that shows one page only (sign-in, the iFrame's generic page) puts it under every path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.access import PERMISSIONS, ROLE_TEXT, Viewer

__all__ = ["NOT_ALLOWED", "PAGES", "PageSpec", "is_stand_in", "navigation_pages", "only_page", "page_spec",
           "render_not_allowed"]

NOT_ALLOWED = "Not allowed"
_ONLY_DEFAULT = "only-page"
log = logging.getLogger("dashboard.ui")


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    permission: str = "view"
    """What the page asks of a reader (``dashboard.access.PERMISSIONS``)."""
    default: bool = False

    @property
    def url_path(self) -> str:
        return Path(self.path).stem


PAGES = (
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", "Service", default=True),
    PageSpec("pages/service_levels.py", "Service levels", ":material/target:", "Service"),
    PageSpec("pages/live_queue.py", "Live queue", ":material/timer:", "Service"),
    PageSpec("pages/agents.py", "Agents", ":material/support_agent:", "Service"),
    PageSpec("pages/contact_reasons.py", "Contact reasons", ":material/label:", "Planning"),
    PageSpec("pages/occupancy_staffing.py", "Occupancy & staffing", ":material/groups:", "Planning"),
    PageSpec("pages/automation.py", "Automation", ":material/smart_toy:", "Operations"),
    PageSpec("pages/data.py", "Data", ":material/database:", "Operations", permission="admin"),
)
KNOWN_PATHS = (*(spec.url_path for spec in PAGES), "author_panel")
"""Every path the app has (the author panel's too): a one-page process answers each of them itself."""


def page_spec(title: str) -> PageSpec | None:
    return next((spec for spec in PAGES if spec.title == title), None)


def render_not_allowed(spec: PageSpec, viewer: Viewer | None) -> None:
    from dashboard.ui.widgets import as_text

    st.title(NOT_ALLOWED)
    needed = PERMISSIONS[spec.permission]
    st.error(as_text(f"You may not open the {spec.title} page: it needs the {needed} role."),
             icon=":material/block:")
    if viewer is not None and viewer.identity is not None:
        roles = sorted(set(viewer.roles.values())) or ["none"]
        st.caption(as_text(f"Signed in as {viewer.label}, with the role {', '.join(roles)}: "
                           f"{ROLE_TEXT.get(roles[-1], 'no page')}. An admin can change that in the access file."))


def _stand_in(spec: PageSpec, viewer: Viewer) -> Callable[[], None]:
    def not_allowed() -> None:
        render_not_allowed(spec, viewer)

    not_allowed.stand_in = True  # type: ignore[attr-defined]
    return not_allowed


def navigation_pages(viewer: Viewer, tenant: str) -> dict[str, list]:
    """The sections and pages for ``viewer`` in ``tenant``: the pages they may open, and a hidden stand-in at the
    path of each one they may not."""
    sections: dict[str, list] = {}
    for spec in PAGES:
        if viewer.may(spec.permission, tenant):
            page = st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
        else:
            page = st.Page(_stand_in(spec, viewer), title=NOT_ALLOWED, url_path=spec.url_path, visibility="hidden")
        sections.setdefault(spec.section, []).append(page)
    return sections


def is_stand_in(page) -> bool:
    """Whether the page the navigation chose is a stand-in (it needs no data: the core is not opened for it)."""
    return page.title == NOT_ALLOWED


def _requested_path() -> str | None:
    """The path the browser asked for (``/data`` -> ``data``), when it is one segment a page could have."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        name = get_script_run_ctx().pages_manager.intended_page_name  # type: ignore[union-attr]
    except AttributeError:  # another Streamlit version: the known paths still answer
        return None
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        return name
    return None


def only_page(render: Callable[[], None], title: str) -> None:
    """Serve ``render`` as the one page of this run, at every path (no navigation, no "page not found"), then stop."""
    paths = dict.fromkeys([*KNOWN_PATHS, _requested_path() or KNOWN_PATHS[0]])
    pages = [st.Page(render, title=title, url_path=_ONLY_DEFAULT, default=True)]
    pages += [st.Page(render, title=title, url_path=path, visibility="hidden") for path in paths
              if path != _ONLY_DEFAULT]
    st.navigation(pages, position="hidden").run()
    st.stop()
