"""Embed mode: Khoros Care frames ``/?payload=<token>`` next to a conversation.

Only a payload that decrypts, verifies and is fresh opens the author panel, for the author it names; the
navigation is hidden and holds that one page, so nothing else is reachable from the frame. Everything else gets
one generic page — a bad token, and a setting that cannot be read (``CARE_DASHBOARD_IFRAME_MAX_AGE=abc``) alike:
the reason goes to the log, never the token or its contents, and no exception box reaches the frame.

An embed-only process (``CARE_DASHBOARD_MODE=embed``, :func:`run_embed_only`) serves that and nothing else: every
path and every request without a valid payload gets the generic page — no navigation, no other page, no sign-in.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard.embed import EmbedPayload, InvalidPayload, decode_payload
from dashboard.errors import SettingsError
from dashboard.settings import deployment_mode
from dashboard.ui.loaders import _secrets, get_settings
from dashboard.ui.navigation import only_page

__all__ = ["EMBED_PAYLOAD_KEY", "INVALID_LINK_MESSAGE", "run_embed_only", "run_embedded", "serving_mode",
           "verified_payload"]

EMBED_PAYLOAD_KEY = "embed_payload"
INVALID_LINK_MESSAGE = "This link is not valid or has expired"
_VERIFIED_KEY = "_embed_verified_token"
log = logging.getLogger("dashboard.embed")


def _reject(reason: str) -> None:
    log.warning("iFrame payload rejected: %s", reason)
    st.session_state.pop(EMBED_PAYLOAD_KEY, None)
    st.session_state.pop(_VERIFIED_KEY, None)
    only_page(_invalid_link_page, "Not available")


def _invalid_link_page() -> None:
    st.error(INVALID_LINK_MESSAGE)
    st.caption("Reopen the conversation in Khoros Care to get a fresh link.")


def run_embedded(token: str) -> None:
    try:
        settings = get_settings()
    except SettingsError as exc:  # a wrong setting is the deployment's to fix: the log names it, the frame does not
        _reject(f"settings: {exc}")
        return
    # A verified token stays valid for this session's reruns (widget clicks) even after its max age.
    if st.session_state.get(_VERIFIED_KEY) != token:
        if not settings.iframe_secret:
            _reject("CARE_DASHBOARD_IFRAME_SECRET is not configured")
            return
        try:
            payload = decode_payload(token, settings.iframe_secret, max_age_s=settings.iframe_max_age_s)
        except InvalidPayload as exc:
            _reject(str(exc))
            return
        st.session_state[EMBED_PAYLOAD_KEY] = payload
        st.session_state[_VERIFIED_KEY] = token
    st.navigation([st.Page("pages/author_panel.py", title="Author", icon=":material/person:")], position="hidden").run()


def serving_mode() -> str:
    """``CARE_DASHBOARD_MODE`` (``full`` or ``embed``), read before anything else; a value that is neither is the
    only thing the process shows (it cannot tell which of the two it should be)."""
    try:
        return deployment_mode(_secrets())
    except SettingsError as exc:
        log.error("%s", exc)
        message = str(exc)

        def wrong_mode() -> None:
            from dashboard.ui.widgets import as_text

            st.error(as_text(message))

        only_page(wrong_mode, "Not available")
        raise AssertionError("unreachable: only_page stops the run") from None


def run_embed_only() -> None:
    """An embed-only process: the author panel for a valid payload; the one generic page for everything else."""
    if "payload" in st.query_params:
        run_embedded(st.query_params["payload"])
    else:
        _reject("a request without a payload reached the embed-only deployment")


def verified_payload() -> EmbedPayload:
    """The payload the gate verified for this session; anything else stops the page with the one generic message
    (the author panel is never reached without the gate: refuse rather than guess)."""
    payload = st.session_state.get(EMBED_PAYLOAD_KEY)
    if not isinstance(payload, EmbedPayload):
        st.error(INVALID_LINK_MESSAGE)
        st.stop()
    return payload
