"""Overview: the morning glance — volume, response times, service level, backlog and automation health.

Lays out ``dashboard.views.build_overview`` (values from ``volume.kpi_summary``, ``backlog.open_at`` and
``automation`` — the functions the notebooks and the report CLI call too).
"""

import streamlit as st

from dashboard import ui
from dashboard.views import build_overview

ctx = ui.start_page("Overview")

with ui.page_guard("Could not compute the overview"):
    view = build_overview(ctx.core, ctx.filters)
    ui.render_caption(view.caption)
    ui.render_empty(view.empty_message)
    ui.render_kpi_row(view.kpis, key="overview_kpis")
    ui.render_caption(view.comparison_note)
    if view.automation_warning:
        st.warning(ui.as_text(view.automation_warning), icon="🤖")

    left, right = st.columns([3, 2])
    with left:
        if view.volume_chart is None:
            st.caption("No arrivals to chart.")
        ui.render_chart(view.volume_chart, key="overview_volume")
    with right:
        ui.render_chart(view.heatmap_chart, key="overview_heatmap")

    ui.render_by_tenant(ctx, key="overview_by_tenant")
