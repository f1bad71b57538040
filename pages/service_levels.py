"""Service levels: did each customer tier get the service level it is promised — then by any dimension.

Lays out ``dashboard.views.service_levels`` (attainment, medians and p90s from ``dashboard.metrics.sla``, the
functions of ``python -m dashboard report sla`` and the notebooks). Click a bar (or pick a group) to see the
conversations behind it, downloadable as CSV or Parquet.
"""

import streamlit as st

from dashboard import ui
from dashboard.charts import SELECTION_NAME
from dashboard.views import build_drilldown, build_service_levels, build_sla_breakdown
from dashboard.views.service_levels import METRIC_LABELS, SLA_GROUPS, group_label

ctx = ui.start_page("Service levels")
PERCENT = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)

with ui.page_guard("Could not show service levels"):
    view = build_service_levels(ctx.core, ctx.filters)
    st.caption(view.caption)
    if view.empty_message:
        ui.render_empty(view.empty_message)
        st.stop()

    # --- the headline: per tier, first response and resolution ------------------------------------------------
    st.subheader("By customer tier")
    st.dataframe(view.headline, hide_index=True, key="sla_headline",
                 column_config={"First response SLA %": PERCENT, "Resolution SLA %": PERCENT})
    st.caption(view.note)
    ui.render_chart(view.tier_chart, key="sla_tier_comparison")

    # --- any dimension ------------------------------------------------------------------------------------------
    st.subheader("By dimension")
    c1, c2 = st.columns(2)
    metric = c1.segmented_control("Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get,
                                  default="first_response", required=True, key="sla_metric")
    group = c2.segmented_control("Group by", list(SLA_GROUPS), format_func=group_label, default="tier",
                                 required=True, key="sla_group_by")
    breakdown = build_sla_breakdown(ctx.core, ctx.filters, metric, group)
    if breakdown.note:
        st.caption(breakdown.note)
    if breakdown.empty_message:
        ui.render_empty(breakdown.empty_message)
        st.stop()

    left, right = st.columns(2)
    with left:
        event = ui.render_chart(breakdown.attainment_chart, key="sla_attainment_chart", on_select="rerun",
                                selection_mode=SELECTION_NAME)
    with right:
        ui.render_chart(breakdown.duration_chart, key="sla_duration_chart")

    # --- the rows behind a group ---------------------------------------------------------------------------------
    clicked = [p.get(breakdown.column) for p in (event.selection.get(SELECTION_NAME) or [])] if event else []
    clicked_value = clicked[0] if clicked and clicked[0] in breakdown.options else None
    picked = st.selectbox(
        f"Conversations behind a {group_label(group)} (or click a bar)", breakdown.options,
        index=breakdown.options.index(clicked_value) if clicked_value is not None else None,
        placeholder=f"Pick a {group_label(group)}", key="sla_pick",
    )
    # A bar clicked on this run wins over the picker (whose own choice persists between runs).
    value = clicked_value if clicked_value is not None else picked
    if value is not None:
        drill = build_drilldown(breakdown, value)
        ui.render_counted(drill.count, drill.detail)
        st.dataframe(drill.rows, hide_index=True, key="sla_rows", height=320)
        ui.render_download(drill.rows, drill.file_name, key="sla_rows_download")
        ui.render_chart(drill.distribution_chart, key="sla_distribution_picked")
        if drill.distribution_note:
            st.caption(drill.distribution_note)
    else:
        ui.render_chart(breakdown.distribution_chart, key="sla_distribution")
        st.caption(breakdown.distribution_note)

    # --- period comparison ---------------------------------------------------------------------------------------
    st.subheader("This period vs the previous one")
    if breakdown.period_note:
        st.caption(breakdown.period_note)
    ui.render_chart(breakdown.period_chart, key="sla_period_chart")

    ui.render_khoros_tar(ctx.core, ctx.filters)
    ui.render_whatif(ctx.core, ctx.filters)
