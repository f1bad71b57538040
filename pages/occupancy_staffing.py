"""Occupancy & staffing: how busy agents were in the window (per agent, team and hour), and how many are needed in
the next days to meet the first-response target, against the agents recent weeks had.

One page, two sections, because the plan stands on the occupancy measurements above it: the agent time a
conversation takes, how many agents handle at once, and the agents available per hour of the week. Lays out
``dashboard.views.occupancy`` and ``dashboard.views.staffing`` (``dashboard.metrics.occupancy`` and
``dashboard.metrics.staffing``: the functions of ``python -m dashboard report occupancy`` / ``report staffing``).
"""

import streamlit as st

from dashboard import ui
from dashboard.views import build_occupancy, build_occupancy_drilldown, build_staffing

PERCENT = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)

ctx = ui.start_page("Occupancy & staffing")

with ui.page_guard("Could not show occupancy"):
    view = build_occupancy(ctx.core, ctx.filters)
    st.caption(view.caption)
    if view.empty_message:
        ui.render_empty(view.empty_message)
    else:
        ui.render_kpi_row(view.kpis, key="occupancy_kpis")
        st.caption(view.note)
        left, right = st.columns(2)
        with left:
            ui.render_chart(view.hour_chart, key="occupancy_by_hour")
        with right:
            ui.render_chart(view.heatmap_chart, key="occupancy_heatmap")
        st.subheader("By agent")
        ui.render_table(view.agents, key="occupancy_agents", column_config={"Occupancy %": PERCENT})
        ui.render_download(view.by_agent, "occupancy_by_agent", key="occupancy_agents_download")
        st.subheader("By team")
        ui.render_table(view.teams, key="occupancy_teams", column_config={"Occupancy %": PERCENT})
        picked = st.selectbox("Conversations an agent had in hand", view.agent_options, index=None,
                              key="occupancy_pick", placeholder="Pick an agent")
        if picked is not None:
            drill = build_occupancy_drilldown(ctx.core, ctx.filters, picked)
            ui.render_counted(drill.count, drill.detail)
            ui.render_table(drill.rows, key="occupancy_rows", height=300)
            ui.render_download(drill.rows, drill.file_name, key="occupancy_rows_download")

st.header("Staffing: the days ahead")
with ui.page_guard("Could not make the staffing plan"):
    c1, c2, c3, c4 = st.columns([2, 1, 2, 1])
    attainment = c1.slider("First responses within target", min_value=0.5, max_value=0.99, value=0.8, step=0.01,
                           key="staffing_attainment", format="%.2f")
    horizon = c2.segmented_control("Days ahead", [7, 14, 28], default=14, required=True, key="staffing_horizon")
    cap = c3.slider("Occupancy an agent can sustain", min_value=0.5, max_value=1.0, value=0.85, step=0.05,
                    key="staffing_occupancy_cap", format="%.2f",
                    help="The workload model (asynchronous channels) plans agents to be busy at most this share.")
    plan = build_staffing(ctx.core, ctx.filters, attainment=attainment, horizon_days=horizon, occupancy_cap=cap)
    with c4:
        ui.render_definitions(plan.definitions, key="staffing_explain")
    st.caption(plan.caption)
    st.info(plan.wape_text, icon=":material/query_stats:")
    ui.render_cards(plan.cards)
    ui.render_chart(plan.chart, key="staffing_chart")
    ui.render_table(plan.assumptions, key="staffing_assumptions")
    for note in plan.notes:
        st.caption(note)
    ui.render_chart(plan.backtest_chart, key="staffing_backtest")
    st.subheader("Hours short")
    ui.render_table(plan.short_hours, key="staffing_short", height=280)
    ui.render_download(plan.gap, "staffing_plan", key="staffing_download")
