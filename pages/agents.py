"""Agents: a sortable leaderboard for the window, and each agent's state timeline from ``raw_agent_states``.

Layout only: the figures come from ``dashboard.metrics.agents`` (``agent_leaderboard``, ``agent_state_timeline``)
plus ``pages_support.handle_time_by_agent``; percentiles are nearest-rank.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import charts, ui
from dashboard.metrics import agents, load_policy, sla
from dashboard.metrics import pages_support as ps

log = logging.getLogger("dashboard.pages.agents")


def _show_chart(chart, **kwargs):
    """``st.altair_chart`` with the element height the chart needs (see ``charts.display_height``)."""
    return st.altair_chart(chart, height=charts.display_height(chart), **kwargs)

SORTS = {
    "Responses": ("responses", True),
    "First responses": ("first_responses", True),
    "Conversations": ("conversations", True),
    "First response SLA": ("first_response_attainment", True),
    "Median first response": ("frt_median_seconds", False),
    "Median handle time": ("handle_median_seconds", False),
}

ctx = ui.page_context()
st.title("Agents")
ui.render_demo_notice(ctx.source)
st.caption(ctx.describe())

try:
    facts = ctx.filter(ui.load_facts(ctx.source, ctx.bot_rule))
    policy = load_policy(ctx.source.settings.policy_path)
    states = ui.load_table(ctx.source, "raw_agent_states")
    names = ps.agent_names(states)
    board = agents.agent_leaderboard(
        facts.lazy(), ui.load_table(ctx.source, "response").lazy(), policy, start=ctx.start, end=ctx.end, tz=ctx.tz,
        as_of=ctx.as_of, agent_states=states.lazy(),
    ).collect().join(ps.handle_time_by_agent(facts, start=ctx.start, end=ctx.end, tz=ctx.tz, as_of=ctx.as_of),
                     on="agent_id", how="left")
except Exception as exc:  # a clear message, never a stack trace
    log.exception("agents failed")
    st.error(f"Could not compute the agent figures: {exc}")
    st.stop()

def _render() -> None:
    """The page below the data loading: a function so one guard turns any failure into a message."""
    st.subheader("Leaderboard")
    if board.height == 0:
        ui.render_empty("No agent activity in this window for these filters. Widen the date range or clear a filter.")
    else:
        sort_label = st.selectbox("Sort by", list(SORTS), key="agents_sort")
        column, descending = SORTS[sort_label]
        ranked = board.sort([column, "agent_name"], descending=[descending, False], nulls_last=True)
        shown = ranked.select(
            pl.col("agent_name").alias("Agent"),
            pl.col("responses").alias("Responses"),
            pl.col("first_responses").alias("First responses"),
            pl.col("conversations").alias("Conversations"),
            (pl.col("first_response_attainment") * 100).alias("First response SLA %"),
            (pl.col("frt_median_seconds") / 60).alias("FRT median (min)"),
            (pl.col("frt_p90_seconds") / 60).alias("FRT p90 (min)"),
            (pl.col("handle_median_seconds") / 3600).alias("Handle median (h)"),
            (pl.col("available_seconds") / 3600).alias("Available (h)"),
            pl.col("responses_per_available_hour").alias("Responses / available h"),
            pl.col("agent_id").alias("Agent id"),
        )
        st.dataframe(
            shown, hide_index=True, key="agents_board",
            column_config={
                "First response SLA %": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
                "FRT median (min)": st.column_config.NumberColumn(format="%.1f"),
                "FRT p90 (min)": st.column_config.NumberColumn(format="%.1f"),
                "Handle median (h)": st.column_config.NumberColumn(format="%.1f"),
                "Available (h)": st.column_config.NumberColumn(format="%.1f"),
                "Responses / available h": st.column_config.NumberColumn(format="%.2f"),
            },
        )
        st.caption("Window: conversations whose first inbound post is in it. First-response figures are credited to "
                   "the agent who answered (the assigned agent while unanswered), in the matched target's clock; "
                   "conversations = assigned to the agent; handle time = calendar time from first assignment to final "
                   "close. Click a column header to sort in place.")
        ui.render_download(ranked, "agent_leaderboard", key="agents_board_download")

    st.subheader("State timeline")
    lo, hi = sla.window_bounds(ctx.start, ctx.end, ctx.tz)
    hi = min(hi, ctx.as_of)
    agent_options = names.sort("agent_name").get_column("agent_name").to_list()
    chosen = st.multiselect("Agents", agent_options, default=agent_options[:8], key="agents_timeline_pick",
                            placeholder="Pick agents")
    longest = min(14, ctx.days)
    days = st.slider("Last days", min_value=1, max_value=longest, value=min(2, longest),
                     key="agents_timeline_days") if longest > 1 else 1
    timeline = agents.agent_state_timeline(
        states.lazy().join(names.lazy().filter(pl.col("agent_name").is_in(chosen)).select("agent_id"), on="agent_id",
                           how="semi"),
        max(lo, hi - timedelta(days=days)), hi,
    ).collect()
    if timeline.height == 0:
        ui.render_empty("No agent states in this period for the chosen agents.")
    else:
        _show_chart(charts.create_agent_timeline_chart(timeline), key="agents_timeline")
        totals = agents.agent_state_hours(timeline.lazy()).collect()
        st.dataframe(totals.pivot("state", index="agent_name", values="hours").sort("agent_name"), hide_index=True,
                     key="agents_state_hours", column_config={s: st.column_config.NumberColumn(s, format="%.2f h")
                                                               for s in totals.get_column("state").unique()})


try:
    _render()
except Exception as exc:  # a clear message, never a stack trace (st.stop() is not an Exception)
    log.exception("agents page failed")
    st.error(f"Could not show the agent figures: {exc}")
