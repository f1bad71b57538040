"""The author panel, shown inside Khoros Care (iFrame UI extension) next to a conversation.

Reached only through the embed gate (``dashboard/ui/embed_gate.py``), which verified ``?payload=`` and put the
decoded ``EmbedPayload`` in ``st.session_state["embed_payload"]``. It shows that one author — tier and
attributes, recent conversations with their service levels, open conversations and their time to breach —
and nothing else: no sidebar, no navigation, no way to pick another author. Layout only; the numbers come
from ``dashboard.metrics.author_panel``.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from dashboard import ui
from dashboard.embed import EmbedPayload
from dashboard.kpi import format_duration
from dashboard.metrics import load_policy
from dashboard.metrics.author_panel import author_conversations, author_open_conversations, find_author
from dashboard.ui.embed_gate import EMBED_PAYLOAD_KEY, INVALID_LINK_MESSAGE

log = logging.getLogger("dashboard.pages.author_panel")
# Words, not emoji: the agent's browser inside Khoros may have no emoji font.
STATUS_ICONS = {"achieved": "met", "breached": "BREACHED", "pending": "running", "bot_contained": "bot handled",
                "not_started": "not started", "no_target": "no target"}  # fmt: skip
METRIC_LABELS = {"first_response": "First response", "resolution": "Resolution"}


def _duration(seconds_column: str) -> pl.Expr:
    return pl.col(seconds_column).map_elements(format_duration, return_dtype=pl.String).fill_null("—")


payload = st.session_state.get(EMBED_PAYLOAD_KEY)
if not isinstance(payload, EmbedPayload):  # never reached without the gate; refuse rather than guess
    st.error(INVALID_LINK_MESSAGE)
    st.stop()

try:
    source = ui.get_source()
    settings = source.settings
    as_of = source.now()
    tz = ZoneInfo(settings.timezone)
    profile = find_author(ui.load_table(source, "author").lazy(), as_of, payload.author.id,
                          network=payload.author.network, handle=payload.author.handle,
                          tier_attribute=settings.tier_attribute)  # fmt: skip
    facts = ui.load_facts(source)
    policy = load_policy(settings.policy_path)
    author_id = profile.author_id if profile else payload.author.id
    recent = author_conversations(facts, policy, author_id, as_of, limit=10)
    open_clocks = author_open_conversations(facts, policy, author_id, as_of)
except Exception as exc:  # a clear message inside the agent UI, never a stack trace
    log.exception("author panel failed")
    st.error(f"Could not load this author's service history: {exc}")
    st.stop()

name = (profile.display_name if profile else None) or payload.author.handle or payload.author.id
st.subheader(name)
st.caption(f"{payload.author.handle or ''} on {payload.author.network} · conversation "
           f"#{payload.conversation_display_id} · for {payload.agent.name}")  # fmt: skip
if source.is_demo:
    st.caption("Demo data — simulated Khoros Care")

if profile is None:
    st.warning("This author is not in the synced data yet (new authors appear after the next sync).",
               icon=":material/search_off:")
else:
    c1, c2, c3 = st.columns(3)
    c1.metric("Tier", profile.tier or "unknown", border=True,
              help="The CRM tier effective now (the author export's latest version).")  # fmt: skip
    c2.metric("Open conversations", f"{open_clocks['conversation_id'].n_unique() if open_clocks.height else 0}",
              border=True)  # fmt: skip
    c3.metric("Customer since", f"{profile.first_seen.astimezone(tz):%d %b %Y}" if profile.first_seen else "—",
              border=True)  # fmt: skip
    if profile.attributes:
        st.dataframe(pl.DataFrame({"attribute": list(profile.attributes), "value": list(profile.attributes.values())}),
                     hide_index=True, key="author_panel_attributes")  # fmt: skip
    if len(profile.tier_history) > 1:
        st.caption("Tier history: " + " → ".join(
            f"{tier or 'unknown'} ({since.astimezone(tz):%d %b %Y})" for since, tier in profile.tier_history))

st.markdown("**Open conversations — time to breach**")
if open_clocks.height:
    shown = open_clocks.with_columns(
        metric=pl.col("metric").replace_strict(METRIC_LABELS, default=pl.col("metric")),
        breaches_in=_duration("seconds_to_breach"),
        this_one=pl.col("conversation_id") == payload.conversation_id,
    ).select("conversation_display_id", "this_one", "metric", "status", "breaches_in", "breach_at", "network")
    st.dataframe(shown, hide_index=True, key="author_panel_open",
                 column_config={"conversation_display_id": st.column_config.NumberColumn("Conversation", format="%d"),
                                "this_one": st.column_config.CheckboxColumn("This one"),
                                "breaches_in": st.column_config.TextColumn("Breaches in (− overdue)")})  # fmt: skip
else:
    st.caption("No open conversation with a running service-level clock.")

st.markdown("**Recent conversations and their service levels**")
if recent.height:
    shown = recent.with_columns(
        pl.col("first_response_status").replace_strict(STATUS_ICONS, default=pl.col("first_response_status")),
        pl.col("resolution_status").replace_strict(STATUS_ICONS, default=pl.col("resolution_status")),
        first_response=_duration("first_response_elapsed_s"),
        created=pl.col("created_time").dt.convert_time_zone(settings.timezone).dt.strftime("%d %b %Y %H:%M"),
    ).select("conversation_display_id", "created", "network", "status", "first_response_status", "first_response",
             "resolution_status", "tier", "priority")  # fmt: skip
    st.dataframe(shown, hide_index=True, key="author_panel_recent",
                 column_config={"conversation_display_id": st.column_config.NumberColumn("Conversation", format="%d"),
                                "first_response_status": "First response",
                                "first_response": st.column_config.TextColumn(
                                    "First response time", help="In the target's clock (business or calendar)"),
                                "resolution_status": "Resolution"})  # fmt: skip
else:
    st.caption("No earlier conversation with this author.")
