"""Service levels: did each customer tier get the service level it is promised — then by any dimension.

Attainment, medians and p90s come from ``dashboard.metrics.sla`` — the functions of ``python -m dashboard report
sla`` and the notebooks. :func:`build_service_levels` is the tier headline; :func:`build_sla_breakdown` the part
that follows the reader's choice of metric and grouping; :func:`build_drilldown` the rows behind one group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import altair as alt
import polars as pl

from dashboard import charts
from dashboard.filters import DIMENSION_BY_KEY, Filters
from dashboard.metrics import sla, stats
from dashboard.views.kpi import duration_text, format_duration

__all__ = [
    "DRILL_COLUMNS",
    "METRIC_LABELS",
    "SLA_GROUPS",
    "Drilldown",
    "ServiceLevelsView",
    "SlaBreakdown",
    "build_drilldown",
    "build_service_levels",
    "build_sla_breakdown",
    "tier_headline",
]

METRIC_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "time_to_assign": "Time to assign",
    "resolution": "Resolution",
}
SLA_GROUPS = ("tier", "priority", "queue", "channel", "agent")
"""Dimensions the page groups by (keys of ``dashboard.filters.DIMENSIONS``)."""
HEADLINE_METRICS = ("first_response", "resolution")
DRILL_COLUMNS = (
    "conversation_id", "conversation_display_id", "burst_index", "tier", "priority", "network", "work_queue_id",
    "agent_id", "status", "target_name", "target_seconds", "clock", "start_time", "stop_time", "breach_at",
    "elapsed_seconds", "breach_severity_seconds",
)
"""Columns of the drill-down (the rows behind a bar), in order."""
DECIDED = ("achieved", "breached", "pending")


def group_label(group: str) -> str:
    return "work queue" if group == "queue" else group


def tier_headline(comparison: pl.DataFrame, tier_order: tuple[str, ...]) -> pl.DataFrame:
    """One row per tier from ``sla.attainment_by_metric(..., by=["tier"])``: per metric its attainment, interval,
    median, p90, breached and pending (``<metric>_attainment``, ...), tiers best served first."""
    keep = ("attainment", "attainment_low", "attainment_high", "median_seconds", "p90_seconds", "breached", "pending")
    wide: pl.DataFrame | None = None
    for metric in comparison.get_column("metric").unique(maintain_order=True).to_list():
        part = comparison.filter(pl.col("metric") == metric).select(
            "tier", *(pl.col(c).alias(f"{metric}_{c}") for c in keep))
        wide = part if wide is None else wide.join(part, on="tier", how="full", coalesce=True)
    if wide is None:
        return pl.DataFrame({"tier": []}, schema={"tier": pl.String})
    order = {t: i for i, t in enumerate(tier_order)}
    return wide.sort(pl.col("tier").replace_strict(order, default=len(order), return_dtype=pl.Int64), "tier")


@dataclass(frozen=True)
class ServiceLevelsView:
    caption: str
    empty_message: str | None
    """Set when no conversation in the window has a clock: the page shows it and stops."""
    headline: pl.DataFrame
    """As shown: Tier, First response SLA % (0–100), FRT median, FRT p90, FR pending, Resolution SLA %, ..."""
    note: str
    tier_chart: alt.Chart
    comparison: pl.DataFrame = field(repr=False)
    """``sla.attainment_by_metric`` by tier for first response and resolution (the chart's and notebooks' rows)."""
    tier_order: tuple[str, ...] = ()


def build_service_levels(core, filters: Filters) -> ServiceLevelsView:
    facts = filters.apply(core.facts_with_sla(filters.bot_rule))
    comparison = sla.attainment_by_metric(facts, core.policy(), HEADLINE_METRICS, ["tier"], start=filters.start,
                                          end=filters.end, tz=filters.tz, as_of=filters.as_of or core.now())
    empty = comparison.height == 0 or comparison.get_column("total").sum() == 0
    wide = tier_headline(comparison, core.tier_order)
    headline = wide.select(
        pl.col("tier").alias("Tier"),
        (pl.col("first_response_attainment") * 100).alias("First response SLA %"),
        duration_text("first_response_median_seconds").alias("FRT median"),
        duration_text("first_response_p90_seconds").alias("FRT p90"),
        pl.col("first_response_pending").alias("FR pending"),
        (pl.col("resolution_attainment") * 100).alias("Resolution SLA %"),
        duration_text("resolution_median_seconds").alias("Resolution median"),
        duration_text("resolution_p90_seconds").alias("Resolution p90"),
    ) if wide.height else wide
    return ServiceLevelsView(
        caption=filters.describe(),
        empty_message=("No conversations with a service-level clock in this window for these filters. Widen the "
                       "date range or clear a filter in the sidebar.") if empty else None,
        headline=headline,
        note="Attainment = achieved ÷ (achieved + breached); pending conversations are counted apart. Durations are "
             "in the matched target's clock (business or calendar, per the policy). Percentiles: "
             f"{stats.PERCENTILE_METHOD}.",
        tier_chart=charts.create_tier_comparison_chart(comparison, order=list(core.tier_order)),
        comparison=comparison, tier_order=core.tier_order,
    )


@dataclass(frozen=True)
class SlaBreakdown:
    metric: str
    group: str
    """The dimension key (``tier``, ``queue``, ...)."""
    column: str
    """The column grouped by (agents by name)."""
    unit: str
    """"conversations", or "replies" for next response."""
    note: str | None
    empty_message: str | None
    groups: pl.DataFrame
    """``sla.attainment_by`` per group with a clock (the bars)."""
    options: list
    attainment_chart: alt.Chart | None
    duration_chart: alt.Chart | None
    distribution_chart: alt.Chart | None
    distribution_note: str
    period_chart: alt.Chart | None
    period_note: str | None
    evaluated: pl.DataFrame = field(repr=False)


def _with_agent_names(frame: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Add ``agent_name`` (the id when the name is unknown; null when there is no agent)."""
    joined = frame.join(names, on="agent_id", how="left")
    return joined.with_columns(pl.coalesce("agent_name", "agent_id").alias("agent_name"))


def _clip_long_tail(rows: pl.DataFrame, q: float = 0.95) -> tuple[pl.DataFrame, int, float | None]:
    """Rows up to the nearest-rank ``q`` quantile of ``elapsed_seconds`` (rows without one kept), for a histogram
    a few extreme waits would otherwise flatten: (rows, how many were left out, the limit)."""
    limit = rows.select(stats.nearest_rank(pl.col("elapsed_seconds"), q)).item() if rows.height else None
    if limit is None:
        return rows, 0, None
    kept = rows.filter(pl.col("elapsed_seconds").is_null() | (pl.col("elapsed_seconds") <= limit))
    return kept, rows.height - kept.height, float(limit)


def _distribution(rows: pl.DataFrame, target_minutes: float | None, hidden_note: str) -> tuple[alt.Chart, str]:
    drawn, hidden, limit = _clip_long_tail(rows)
    note = f"The {hidden:,} longest (over {format_duration(limit)}, the p95) {hidden_note}" if hidden else ""
    return charts.create_response_distribution_chart(drawn, target_minutes=target_minutes), note


def build_sla_breakdown(core, filters: Filters, metric: str, group: str) -> SlaBreakdown:
    """Attainment of ``metric`` per ``group`` (a dimension key) in the window, with the period before it."""
    if group not in SLA_GROUPS:
        raise ValueError(f"unknown grouping {group!r}; use one of {', '.join(SLA_GROUPS)}")
    names = core.agent_names()
    rows = filters.apply(core.bursts_with_sla(filters.bot_rule) if metric == "next_response"
                         else core.facts_with_sla(filters.bot_rule))
    frame = _with_agent_names(rows, names)
    column = "agent_name" if group == "agent" else DIMENSION_BY_KEY[group].column
    as_of = filters.as_of or core.now()
    window = {"start": filters.start, "end": filters.end, "tz": filters.tz, "as_of": as_of}
    policy = core.policy()
    evaluated = sla.evaluate_window(frame, policy, metric, **window).collect()
    grouped = sla.attainment_by(evaluated.lazy(), [column]).collect()
    groups = grouped.filter((pl.col("total") > 0) & pl.col(column).is_not_null())
    order = list(core.tier_order) if group == "tier" else None
    label = group_label(group)
    unit = "replies" if metric == "next_response" else "conversations"
    note = ("Next response is reply-level: each customer message after a reply starts a clock; counts are replies, "
            "not conversations.") if metric == "next_response" else None
    if groups.height == 0:
        return SlaBreakdown(metric, group, column, unit, note, f"No {METRIC_LABELS[metric].lower()} clocks in this "
                            "window for these filters.", groups, [], None, None, None, "", None, None, evaluated)
    everything = evaluated.filter(pl.col("status").is_in(DECIDED))
    distribution, hidden = _distribution(everything, None, "are not drawn.")
    periods = sla.attainment_by_period(frame, policy, metric, column, **window)
    prev_start, prev_end = filters.previous_window()
    empty_before = periods.filter(pl.col("period") == "previous").get_column("total").sum() == 0
    return SlaBreakdown(
        metric=metric, group=group, column=column, unit=unit, note=note, empty_message=None, groups=groups,
        options=groups.get_column(column).to_list(),
        attainment_chart=charts.create_attainment_chart(groups, column, order=order),
        duration_chart=charts.create_duration_by_group_chart(
            groups.filter(pl.col("median_seconds").is_not_null()), column, order=order,
            title=f"{METRIC_LABELS[metric]}: median and p90 by {label}"),
        distribution_chart=distribution,
        distribution_note=" ".join(filter(None, [hidden, "Pick a group to see its conversations and its target on "
                                                         "the distribution."])),
        period_chart=charts.create_period_comparison_chart(periods, column, order=order),
        period_note=(f"No data in the previous period ({prev_start:%d %b} – {prev_end:%d %b}) to compare with."
                     if empty_before else None),
        evaluated=evaluated,
    )


@dataclass(frozen=True)
class Drilldown:
    count: str
    """e.g. "83 conversations" (shown in bold)."""
    detail: str
    """What the rows are: the group and how many breached (customer text: shown as text)."""
    rows: pl.DataFrame
    file_name: str
    distribution_chart: alt.Chart
    distribution_note: str


def build_drilldown(breakdown: SlaBreakdown, value: object) -> Drilldown:
    """The evaluated conversations (or replies) of one group, with their distribution against the target."""
    frame, column = breakdown.evaluated, breakdown.column
    picked = (frame.filter(pl.col(column).is_null()) if value is None
              else frame.filter(pl.col(column) == pl.lit(value).cast(frame.schema[column], strict=False)))
    rows = picked.select([c for c in DRILL_COLUMNS if c in frame.columns]).sort("start_time", nulls_last=True)
    targets = rows.get_column("target_seconds").drop_nulls().unique()
    target = float(targets[0]) / 60 if targets.len() == 1 else None
    chart, note = _distribution(rows, target, "are in the table, not drawn.")
    label = group_label(breakdown.group)
    breached = rows.filter(pl.col("status") == "breached").height
    return Drilldown(
        count=f"{rows.height:,} {breakdown.unit}",
        detail=f"with {label} = {value} ({METRIC_LABELS[breakdown.metric].lower()}, {breached:,} breached)",
        rows=rows, file_name=f"{breakdown.metric}_{label.replace(' ', '_')}_{value}",
        distribution_chart=chart, distribution_note=note,
    )
