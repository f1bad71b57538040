"""Service levels: did each customer tier get the service level it is promised — then by any dimension.

Layout only: attainment, medians and p90s come from ``dashboard.metrics.sla`` (through ``pages_support``), the
same functions as ``python -m dashboard report sla`` and the notebooks. Click a bar (or pick a group) to see
the conversations behind it, downloadable as CSV or Parquet.
"""

from __future__ import annotations

import logging

import polars as pl
import streamlit as st

from dashboard import charts, ui
from dashboard.kpi import format_duration
from dashboard.metrics import customer_bursts, load_policy, stats
from dashboard.metrics import pages_support as ps

log = logging.getLogger("dashboard.pages.service_levels")


def _show_chart(chart, **kwargs):
    """``st.altair_chart`` with the element height the chart needs (see ``charts.display_height``)."""
    return st.altair_chart(chart, height=charts.display_height(chart), **kwargs)

METRIC_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "time_to_assign": "Time to assign",
    "resolution": "Resolution",
}

ctx = ui.page_context()
st.title("Service levels")
ui.render_demo_notice(ctx.source)
st.caption(ctx.describe())

try:
    facts = ctx.filter(ui.load_facts(ctx.source, ctx.bot_rule))
    policy = load_policy(ctx.source.settings.policy_path)
    names = ps.agent_names(ui.load_table(ctx.source, "raw_agent_states"))
    facts = ps.with_agent_names(facts, names)
    comparison = ps.tier_comparison(facts, policy, start=ctx.start, end=ctx.end, tz=ctx.tz, as_of=ctx.as_of)
except Exception as exc:  # a clear message, never a stack trace
    log.exception("service levels failed")
    st.error(f"Could not compute service levels: {exc}")
    st.stop()

if comparison.height == 0 or comparison.get_column("total").sum() == 0:
    ui.render_empty("No conversations with a service-level clock in this window for these filters. Widen the date "
                    "range or clear a filter in the sidebar.")
    st.stop()

def _render() -> None:
    """The page below the data loading: a function so one guard turns any failure into a message."""
    # --- the headline: per tier, first response and resolution ------------------------------------------------
    st.subheader("By customer tier")
    headline = ps.tier_headline(comparison)
    shown = headline.select(
        pl.col("tier").alias("Tier"),
        (pl.col("first_response_attainment") * 100).alias("First response SLA %"),
        pl.col("first_response_median_seconds").map_elements(format_duration, return_dtype=pl.String)
        .alias("FRT median"),
        pl.col("first_response_p90_seconds").map_elements(format_duration, return_dtype=pl.String).alias("FRT p90"),
        pl.col("first_response_pending").alias("FR pending"),
        (pl.col("resolution_attainment") * 100).alias("Resolution SLA %"),
        pl.col("resolution_median_seconds").map_elements(format_duration, return_dtype=pl.String)
        .alias("Resolution median"),
        pl.col("resolution_p90_seconds").map_elements(format_duration, return_dtype=pl.String)
        .alias("Resolution p90"),
    )
    st.dataframe(
        shown, hide_index=True, key="sla_headline",
        column_config={
            "First response SLA %": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
            "Resolution SLA %": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
        },
    )
    st.caption(f"Attainment = achieved ÷ (achieved + breached); pending conversations are counted apart. Durations are "
               f"in the matched target's clock (business or calendar, per the policy). Percentiles: "
               f"{stats.PERCENTILE_METHOD}.")
    _show_chart(charts.create_tier_comparison_chart(comparison), key="sla_tier_comparison")

    # --- any dimension ------------------------------------------------------------------------------------------
    st.subheader("By dimension")
    c1, c2 = st.columns(2)
    metric = c1.segmented_control("Metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get,
                                  default="first_response", required=True, key="sla_metric")
    group_label = c2.segmented_control("Group by", list(ps.SLA_DIMENSIONS), default="tier", required=True,
                                       key="sla_group_by")
    group = "agent_name" if group_label == "agent" else ps.SLA_DIMENSIONS[group_label]

    if metric == "next_response":
        # Reply level: one clock per customer burst after a reply (counted per reply, not per conversation).
        frame = ps.with_agent_names(customer_bursts(
            ui.load_table(ctx.source, "incoming_post").lazy(), ui.load_table(ctx.source, "response").lazy(),
            facts.lazy(), bot_rule=ctx.bot_rule), names)
        st.caption("Next response is reply-level: each customer message after a reply starts a clock; counts are "
                   "replies, not conversations.")
    else:
        frame = facts
    evaluated = ps.evaluate_window(frame, policy, metric, start=ctx.start, end=ctx.end, tz=ctx.tz, as_of=ctx.as_of)
    evaluated = evaluated.collect().lazy()  # evaluated once, read by every chart below
    groups = ps.attainment_by_group(evaluated, group)
    if groups.height == 0:
        ui.render_empty(f"No {METRIC_LABELS[metric].lower()} clocks in this window for these filters.")
        st.stop()

    left, right = st.columns(2)
    with left:
        event = _show_chart(charts.create_attainment_chart(groups, group), key="sla_attainment_chart",
                                on_select="rerun", selection_mode=charts.SELECTION_NAME)
    with right:
        _show_chart(charts.create_duration_by_group_chart(
            groups.filter(pl.col("median_seconds").is_not_null()), group,
            title=f"{METRIC_LABELS[metric]}: median and p90 by {group_label}"), key="sla_duration_chart")

    # --- the rows behind a group ---------------------------------------------------------------------------------
    clicked = [p.get(group) for p in (event.selection.get(charts.SELECTION_NAME) or [])] if event else []
    options = groups.get_column(group).to_list()
    picked = st.selectbox(
        f"Conversations behind a {group_label} (or click a bar)", options,
        index=options.index(clicked[0]) if clicked and clicked[0] in options else None,
        placeholder=f"Pick a {group_label}", key="sla_pick",
    )
    # A bar clicked on this run wins over the picker (whose own choice persists between runs).
    value = clicked[0] if clicked and clicked[0] in options else picked
    if value is not None:
        rows = ps.rows_behind(evaluated, group, value)
        unit = "replies" if metric == "next_response" else "conversations"
        breached = rows.filter(pl.col("status") == "breached").height
        st.markdown(f"**{rows.height:,} {unit}** with {group_label} = `{value}` "
                    f"({METRIC_LABELS[metric].lower()}, {breached:,} breached)")
        st.dataframe(rows, hide_index=True, key="sla_rows", height=320)
        ui.render_download(rows, f"{metric}_{group_label.replace(' ', '_')}_{value}", key="sla_rows_download")
        target = ps.single_target_minutes(rows)
        drawn, hidden, limit = ps.clip_long_tail(rows)
        _show_chart(charts.create_response_distribution_chart(drawn, target_minutes=target),
                    key="sla_distribution_picked")
        if hidden:
            st.caption(f"The {hidden:,} longest (over {format_duration(limit)}, the p95) are in the table, not drawn.")
    else:
        everything = evaluated.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).collect()
        drawn, hidden, limit = ps.clip_long_tail(everything)
        _show_chart(charts.create_response_distribution_chart(drawn, target_minutes=None), key="sla_distribution")
        if hidden:
            st.caption(f"The {hidden:,} longest (over {format_duration(limit)}, the p95) are not drawn.")
        st.caption("Pick a group to see its conversations and its target on the distribution.")

    # --- period comparison ---------------------------------------------------------------------------------------
    st.subheader("This period vs the previous one")
    periods = ps.period_comparison(frame, policy, metric, group, start=ctx.start, end=ctx.end, tz=ctx.tz,
                                   as_of=ctx.as_of)
    prev_start, prev_end = ctx.previous_window()
    if periods.filter(pl.col("period") == "previous").get_column("total").sum() == 0:
        st.caption(f"No data in the previous period ({prev_start:%d %b} – {prev_end:%d %b}) to compare with.")
    _show_chart(charts.create_period_comparison_chart(periods, group), key="sla_period_chart")


try:
    _render()
except Exception as exc:  # a clear message, never a stack trace (st.stop() is not an Exception)
    log.exception("service_levels page failed")
    st.error(f"Could not show service levels: {exc}")
