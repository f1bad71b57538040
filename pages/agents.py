"""Agents: a sortable leaderboard for the window, and each agent's state timeline from ``raw_agent_states``.

Lays out ``dashboard.views.agents`` (``dashboard.metrics.agents``; percentiles are nearest-rank).
"""

import streamlit as st

from dashboard import ui
from dashboard.views import build_agent_timeline, build_agents, leaderboard_table
from dashboard.views.agents import SORTS

NUMBER = {"FRT median (min)": "%.1f", "FRT p90 (min)": "%.1f", "Handle median (h)": "%.1f", "Available (h)": "%.1f",
          "Responses / available h": "%.2f"}

ctx = ui.start_page("Agents")

with ui.page_guard("Could not show the agent figures"):
    view = build_agents(ctx.core, ctx.filters)
    ui.render_caption(view.caption)
    st.subheader("Leaderboard")
    if view.empty_message:
        ui.render_empty(view.empty_message)
    else:
        sort_label = st.selectbox("Sort by", list(SORTS), key="agents_sort")
        shown, ranked = leaderboard_table(view.board, sort_label)
        ui.render_table(shown, key="agents_board", column_config={
            "First response SLA %": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
            **{name: st.column_config.NumberColumn(format=fmt) for name, fmt in NUMBER.items()},
        })
        ui.render_caption(view.note)
        ui.render_download(ranked, "agent_leaderboard", key="agents_board_download")

    st.subheader("State timeline")
    chosen = st.multiselect("Agents", view.agent_options, default=view.agent_options[:8], key="agents_timeline_pick",
                            placeholder="Pick agents")
    days = st.slider("Last days", min_value=1, max_value=view.max_days, value=view.default_days,
                     key="agents_timeline_days") if view.max_days > 1 else 1
    ui.render_caption(view.timeline_note)
    timeline = build_agent_timeline(ctx.core, ctx.filters, chosen, days)
    ui.render_empty(timeline.empty_message)
    ui.render_chart(timeline.chart, key="agents_timeline")
    if timeline.hours is not None:
        ui.render_table(timeline.hours, key="agents_state_hours",
                        column_config={s: st.column_config.NumberColumn(s, format="%.2f h") for s in timeline.states})
