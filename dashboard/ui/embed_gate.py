"""Embed mode: Khoros Care frames ``/?payload=<token>`` next to a conversation.

Only a payload that decrypts, verifies and is fresh opens the author panel, for the author it names; the
navigation is hidden and holds that one page, so nothing else is reachable from the frame. Everything else gets
one generic page — the reason goes to the log, never the token or its contents.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard.embed import EmbedPayload, InvalidPayload, decode_payload
from dashboard.ui.loaders import get_settings

__all__ = ["EMBED_PAYLOAD_KEY", "INVALID_LINK_MESSAGE", "run_embedded", "verified_payload"]

EMBED_PAYLOAD_KEY = "embed_payload"
INVALID_LINK_MESSAGE = "This link is not valid or has expired"
_VERIFIED_KEY = "_embed_verified_token"
log = logging.getLogger("dashboard.embed")


def _reject(reason: str) -> None:
    log.warning("iFrame payload rejected: %s", reason)
    st.session_state.pop(EMBED_PAYLOAD_KEY, None)
    st.session_state.pop(_VERIFIED_KEY, None)
    st.navigation([st.Page(_invalid_link_page, title="Not available", url_path="invalid")], position="hidden").run()


def _invalid_link_page() -> None:
    st.error(INVALID_LINK_MESSAGE)
    st.caption("Reopen the conversation in Khoros Care to get a fresh link.")


def run_embedded(token: str) -> None:
    settings = get_settings()
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


def verified_payload() -> EmbedPayload:
    """The payload the gate verified for this session; anything else stops the page with the one generic message
    (the author panel is never reached without the gate: refuse rather than guess)."""
    payload = st.session_state.get(EMBED_PAYLOAD_KEY)
    if not isinstance(payload, EmbedPayload):
        st.error(INVALID_LINK_MESSAGE)
        st.stop()
    return payload
