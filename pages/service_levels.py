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
HEADLINE = {"First response SLA %": PERCENT, "Resolution SLA %": PERCENT}

with ui.page_guard("Could not show service levels"):
    view = build_service_levels(ctx.core, ctx.filters)
    ui.render_caption(view.caption)
    if view.empty_message:
        ui.render_empty(view.empty_message)
        st.stop()

    # --- the headline: per tier (and all tiers), then tier × priority -----------------------------------------
    st.subheader("By customer tier")
    ui.render_table(view.headline, key="sla_headline", column_config=HEADLINE)
    ui.render_caption(view.note)
    st.subheader("By tier and priority")
    ui.render_table(view.by_priority, key="sla_tier_priority", column_config=HEADLINE, height=300)
    ui.render_chart(view.tier_chart, key="sla_tier_comparison")
    ui.render_by_tenant(ctx, key="sla_by_tenant", metrics=("first_response", "next_response", "resolution"))

    # --- any dimension ------------------------------------------------------------------------------------------
    st.subheader("By dimension")
    c1, c2 = st.columns(2)
    ui.render_link_problem("sla_metric", "metric", [METRIC_LABELS[m] for m in METRIC_LABELS])
    ui.render_link_problem("sla_group_by", "grouping", [group_label(g) for g in SLA_GROUPS])
    metric = c1.segmented_control("Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get,
                                  default="first_response", required=True, key="sla_metric", bind="query-params")
    group = c2.segmented_control("Group by", list(SLA_GROUPS), format_func=group_label, default="tier",
                                 required=True, key="sla_group_by", bind="query-params")
    breakdown = build_sla_breakdown(ctx.core, ctx.filters, metric, group)
    ui.render_caption(breakdown.note)
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
    ui.render_link_problem("sla_pick", group_label(group), [str(o) for o in breakdown.options])
    # A newly clicked bar sets the picker (and so the URL); a pick for another grouping is dropped.
    if clicked_value is not None and clicked_value != st.session_state.get("_sla_clicked"):
        st.session_state["sla_pick"] = clicked_value
    elif st.session_state.get("sla_pick") not in (None, *breakdown.options):
        st.session_state["sla_pick"] = None
    st.session_state["_sla_clicked"] = clicked_value
    value = st.selectbox(breakdown.picker_label, breakdown.options, index=None, placeholder="Pick one",
                         key="sla_pick", bind="query-params")
    if value in breakdown.options:
        drill = build_drilldown(breakdown, value)
        ui.render_counted(drill.count, drill.detail)
        ui.render_table(drill.table, key="sla_rows", height=320)
        ui.render_download(drill.rows, drill.file_name, key="sla_rows_download")
        ui.render_chart(drill.distribution_chart, key="sla_distribution_picked")
        ui.render_caption(drill.distribution_note)
    else:
        ui.render_chart(breakdown.distribution_chart, key="sla_distribution")
        ui.render_caption(breakdown.distribution_note)

    # --- period comparison ---------------------------------------------------------------------------------------
    st.subheader("This period vs the previous one")
    ui.render_caption(breakdown.period_note)
    ui.render_chart(breakdown.period_chart, key="sla_period_chart")

    ui.render_khoros_tar(ctx.core, ctx.filters)
    ui.render_whatif(ctx.core, ctx.filters)
