"""Service levels: did each customer tier get the service level it is promised — then by any dimension.

Attainment, medians and p90s come from ``dashboard.metrics.sla`` — the functions of ``python -m dashboard report
sla`` and the notebooks. :func:`build_service_levels` is the tier headline (n, target and attainment per tier, an
all-tiers row, and tier × priority, where a tier's average hides its urgent conversations);
:func:`build_sla_breakdown` the part that follows the reader's choice of metric and grouping;
:func:`build_drilldown` the rows behind one group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import altair as alt
import polars as pl

from dashboard import charts
from dashboard.filters import DIMENSION_BY_KEY, Filters
from dashboard.metrics import sla, stats
from dashboard.views.kpi import duration_text, format_duration, in_zone, local_text
from dashboard.views.names import describe_filters, name_column, readable, with_names

__all__ = [
    "ALL_TIERS",
    "DRILL_COLUMNS",
    "METRIC_LABELS",
    "SLA_GROUPS",
    "Drilldown",
    "ServiceLevelsView",
    "SlaBreakdown",
    "build_drilldown",
    "build_service_levels",
    "build_sla_breakdown",
    "drill_rows",
    "group_label",
    "tier_headline",
]

METRIC_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "time_to_assign": "Time to assign",
    "resolution": "Resolution",
}
SLA_GROUPS = ("tier", "priority", "queue", "channel", "team", "agent")
"""Dimensions the page groups by (keys of ``dashboard.filters.DIMENSIONS``)."""
HEADLINE_METRICS = ("first_response", "resolution")
ALL_TIERS = "All tiers"
DRILL_COLUMNS = (
    "conversation_id", "conversation_display_id", "burst_index", "tier", "priority", "network", "work_queue_id",
    "work_queue_name", "team_id", "team_name", "agent_id", "agent_name", "status", "target_name", "target_seconds",
    "clock", "start_time", "stop_time", "breach_at", "elapsed_seconds", "breach_severity_seconds",
)
"""Columns of the rows behind a figure (the downloads), in order: ids beside their names."""
DRILL_HEADERS = {
    "conversation_display_id": "Conversation", "burst_index": "Reply", "status": "Status", "tier": "Tier",
    "priority": "Priority", "network": "Channel", "work_queue_name": "Work queue", "team_name": "Team",
    "agent_name": "Agent", "target": "Target", "elapsed": "Elapsed", "late_by": "Late by", "start_time": "Clock start",
    "stop_time": "Clock stop", "breach_at": "Breach at",
}  # fmt: skip
"""The drill-down as a reader sees it: column -> header."""
DECIDED = ("achieved", "breached")
COUNTED = ("achieved", "breached", "pending")
_PREFIX = {"first_response": ("FR", "First response SLA %", "FRT"),
           "resolution": ("Res", "Resolution SLA %", "Resolution")}  # fmt: skip


def group_label(group: str) -> str:
    return DIMENSION_BY_KEY[group].label.lower() if group in DIMENSION_BY_KEY else group


def drill_rows(evaluated: pl.DataFrame, names: Mapping[str, pl.DataFrame], tz: str) -> pl.DataFrame:
    """Evaluated rows as downloaded: :data:`DRILL_COLUMNS` (names beside ids), instants in the report zone."""
    named = with_names(evaluated, names)
    return in_zone(named.select([c for c in DRILL_COLUMNS if c in named.columns]), tz)


def _target_text(low: pl.Expr, high: pl.Expr) -> pl.Expr:
    one = low.map_elements(format_duration, return_dtype=pl.String)
    other = high.map_elements(format_duration, return_dtype=pl.String)
    return pl.when(low.is_null()).then(pl.lit("no target")).when(low == high).then(one) \
        .otherwise(pl.concat_str([one, pl.lit("–"), other]))


def _groups(evaluated: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """:func:`sla.attainment_by` with ``decided`` (n) and the target(s) in force."""
    by = list(by)
    counted = evaluated.lazy().filter(pl.col("status").is_in(COUNTED))
    target = [pl.col("target_seconds").min().alias("target_low"), pl.col("target_seconds").max().alias("target_high")]
    targets = counted.group_by(by).agg(target) if by else counted.select(target)
    groups = sla.attainment_by(evaluated.lazy(), by)
    joined = groups.join(targets, on=by, how="left") if by else groups.join(targets, how="cross")
    return joined.with_columns(decided=pl.col("achieved") + pl.col("breached")).collect()


def tier_headline(comparison: pl.DataFrame, tier_order: tuple[str, ...], by: Sequence[str] = ("tier",)) -> pl.DataFrame:
    """One row per group of ``by`` from per-metric attainment rows (``metric`` column): per metric its
    attainment, interval, median, p90, n, target, breached and pending (``<metric>_attainment``, ...), tiers best
    served first (the policy's order), then the other columns ascending."""
    by = list(by)
    keep = ("attainment", "attainment_low", "attainment_high", "median_seconds", "p90_seconds", "breached", "pending",
            "decided", "target_low", "target_high")
    wide: pl.DataFrame | None = None
    for metric in comparison.get_column("metric").unique(maintain_order=True).to_list():
        part = comparison.filter(pl.col("metric") == metric).select(
            *by, *(pl.col(c).alias(f"{metric}_{c}") for c in keep if c in comparison.columns))
        wide = part if wide is None else wide.join(part, on=by, how="full", coalesce=True, nulls_equal=True)
    if wide is None:
        return pl.DataFrame({"tier": []}, schema={"tier": pl.String})
    order = {t: i for i, t in enumerate(tier_order)}
    rank = pl.col("tier").replace_strict(order, default=len(order), return_dtype=pl.Int64)
    return wide.sort([rank, *by], nulls_last=True)


def _shown(wide: pl.DataFrame, first: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """The headline as shown: ``first`` (column, header) then per metric n, target, SLA %, interval, median, p90
    and pending."""
    columns = [pl.col(c).cast(pl.String).fill_null("—").alias(h) for c, h in first]
    for metric in HEADLINE_METRICS:
        short, percent, duration = _PREFIX[metric]
        m = f"{metric}_"
        columns += [
            pl.col(m + "decided").fill_null(0).alias(f"{short} n"),
            _target_text(pl.col(m + "target_low"), pl.col(m + "target_high")).alias(f"{short} target"),
            (pl.col(m + "attainment") * 100).alias(percent),
            pl.when(pl.col(m + "attainment").is_not_null()).then(pl.format(
                "{}–{}%", (pl.col(m + "attainment_low") * 100).round(1), (pl.col(m + "attainment_high") * 100)
                .round(1))).otherwise(pl.lit("—")).alias(f"{short} 95% interval"),
            duration_text(m + "median_seconds").alias(f"{duration} median"),
            duration_text(m + "p90_seconds").alias(f"{duration} p90"),
            pl.col(m + "pending").fill_null(0).alias(f"{short} pending"),
        ]
    return wide.select(columns)


@dataclass(frozen=True)
class ServiceLevelsView:
    caption: str
    empty_message: str | None
    """Set when no conversation in the window has a clock: the page shows it and stops."""
    headline: pl.DataFrame
    """As shown, one row per tier and an "All tiers" row: Tier, FR n, FR target, First response SLA % (0–100),
    FR 95% interval, FRT median, FRT p90, FR pending, then the same for resolution (Res ..., Resolution ...)."""
    by_priority: pl.DataFrame
    """The same per tier × priority."""
    note: str
    tier_chart: alt.Chart
    comparison: pl.DataFrame = field(repr=False)
    """``sla.attainment_by`` by tier for first response and resolution (the chart's and notebooks' rows)."""
    tier_order: tuple[str, ...] = ()


def build_service_levels(core, filters: Filters) -> ServiceLevelsView:
    facts = filters.apply(core.facts_with_sla(filters.bot_rule))
    as_of = filters.as_of or core.now()
    policy = core.policy()
    frames = {m: sla.evaluate_window(facts, policy, m, start=filters.start, end=filters.end, tz=filters.tz,
                                     as_of=as_of).collect() for m in HEADLINE_METRICS}

    def by(columns: Sequence[str]) -> pl.DataFrame:
        parts = [_groups(frame, columns).with_columns(pl.lit(m).alias("metric")) for m, frame in frames.items()]
        return pl.concat(parts, how="diagonal_relaxed").select("metric", pl.exclude("metric"))

    comparison = by(["tier"])
    empty = comparison.height == 0 or comparison.get_column("total").sum() == 0
    order = core.tier_order
    wide = tier_headline(comparison, order)
    everyone = tier_headline(by([]).with_columns(pl.lit(ALL_TIERS).alias("tier")), order)
    pairs = tier_headline(by(["tier", "priority"]), order, by=("tier", "priority"))
    headline = _shown(pl.concat([wide, everyone], how="diagonal_relaxed"), [("tier", "Tier")]) if wide.height \
        else wide
    return ServiceLevelsView(
        caption=describe_filters(core, filters),
        empty_message=("No conversations with a service-level clock in this window for these filters. Widen the "
                       "date range or clear a filter in the sidebar.") if empty else None,
        headline=headline,
        by_priority=_shown(pairs, [("tier", "Tier"), ("priority", "Priority")]) if pairs.height else pairs,
        note="n = conversations whose clock is decided (achieved + breached); SLA % = achieved ÷ n, with its 95 % "
             "Wilson interval; pending clocks (still running) are counted apart. Target = the policy's target(s) "
             "matched in the group (a range when priorities or channels differ: see tier × priority). Durations are "
             f"in the matched target's clock (business or calendar). Percentiles: {stats.PERCENTILE_METHOD}.",
        tier_chart=charts.create_tier_comparison_chart(comparison, order=list(order)),
        comparison=comparison, tier_order=order,
    )


@dataclass(frozen=True)
class SlaBreakdown:
    metric: str
    group: str
    """The dimension key (``tier``, ``queue``, ...)."""
    column: str
    """The column grouped by (agents, work queues and teams by name)."""
    unit: str
    """"conversations", or "replies" for next response."""
    note: str | None
    empty_message: str | None
    groups: pl.DataFrame
    """``sla.attainment_by`` per group with a clock (the bars)."""
    options: list
    picker_label: str
    attainment_chart: alt.Chart | None
    duration_chart: alt.Chart | None
    distribution_chart: alt.Chart | None
    distribution_note: str
    period_chart: alt.Chart | None
    period_note: str | None
    evaluated: pl.DataFrame = field(repr=False)
    tz: str = "UTC"
    names: Mapping[str, pl.DataFrame] = field(default_factory=dict, repr=False)


def _clip_long_tail(rows: pl.DataFrame, q: float = 0.95) -> tuple[pl.DataFrame, int, float | None]:
    """Rows up to the nearest-rank ``q`` quantile of ``elapsed_seconds`` (rows without one kept), for a histogram
    a few extreme waits would otherwise flatten: (rows, how many were left out, the limit)."""
    limit = rows.select(stats.nearest_rank(pl.col("elapsed_seconds"), q)).item() if rows.height else None
    if limit is None:
        return rows, 0, None
    kept = rows.filter(pl.col("elapsed_seconds").is_null() | (pl.col("elapsed_seconds") <= limit))
    return kept, rows.height - kept.height, float(limit)


def _distribution(rows: pl.DataFrame, unit: str, targets: Sequence[tuple[str, float]],
                  hidden_note: str) -> tuple[alt.Chart, str]:
    """The decided clocks' elapsed times (a running clock's elapsed time is not a response time: pending ones are
    counted in the note, not drawn), the long tail clipped."""
    decided = rows.filter(pl.col("status").is_in(DECIDED))
    running = rows.filter(pl.col("status") == "pending").height
    drawn, hidden, limit = _clip_long_tail(decided)
    notes = [f"The {hidden:,} longest (over {format_duration(limit)}, the p95) {hidden_note}" if hidden else "",
             f"{running:,} still running (pending) are not drawn: their clocks have not stopped." if running else ""]
    return charts.create_response_distribution_chart(drawn, targets=targets, unit=unit.capitalize()), \
        " ".join(n for n in notes if n)


def build_sla_breakdown(core, filters: Filters, metric: str, group: str) -> SlaBreakdown:
    """Attainment of ``metric`` per ``group`` (a dimension key) in the window, with the same span before it."""
    if group not in SLA_GROUPS:
        raise ValueError(f"unknown grouping {group!r}; use one of {', '.join(SLA_GROUPS)}")
    names = core.reference_names()
    rows = filters.apply(core.bursts_with_sla(filters.bot_rule) if metric == "next_response"
                         else core.facts_with_sla(filters.bot_rule))
    frame = with_names(rows, names)
    column = name_column(DIMENSION_BY_KEY[group].column)
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
    picker = f"{unit.capitalize()} of one {label} (or click a bar)"
    if groups.height == 0:
        return SlaBreakdown(metric, group, column, unit, note, f"No {METRIC_LABELS[metric].lower()} clocks in this "
                            "window for these filters.", groups, [], picker, None, None, None, "", None, None,
                            evaluated, filters.tz, names)
    distribution, hidden = _distribution(evaluated, unit, (), "are not drawn.")
    # The previous period cut at the same local time when today is partial: like compared with like.
    periods = sla.attainment_by_period(filters.comparable(frame, as_of), policy, metric, column, **window)
    prev_start, prev_end = filters.previous_comparable(as_of)
    shown_end = local_text(prev_end, filters.tz) if isinstance(prev_end, datetime) \
        else f"{prev_end - timedelta(days=1):%d %b}"
    empty_before = periods.filter(pl.col("period") == "previous").get_column("total").sum() == 0
    return SlaBreakdown(
        metric=metric, group=group, column=column, unit=unit, note=note, empty_message=None, groups=groups,
        options=groups.get_column(column).to_list(), picker_label=picker,
        attainment_chart=charts.create_attainment_chart(groups, column, order=order),
        duration_chart=charts.create_duration_by_group_chart(
            groups.filter(pl.col("median_seconds").is_not_null()), column, order=order,
            title=f"{METRIC_LABELS[metric]}: median and p90 by {label}"),
        distribution_chart=distribution,
        distribution_note=" ".join(filter(None, [hidden, f"Pick a {label} to see its {unit} and its targets on the "
                                                         "distribution."])),
        period_chart=charts.create_period_comparison_chart(periods, column, order=order, labels={
            "previous": f"previous {filters.days} days ({prev_start:%d %b} – {shown_end})",
            "current": f"this period ({filters.start:%d %b} – now)" if filters.partial_cut(as_of)
            else f"this period ({filters.start:%d %b} – {filters.end - timedelta(days=1):%d %b})"}),
        period_note=(f"No data in the previous period ({prev_start:%d %b} – {shown_end}) to compare with."
                     if empty_before else ("Today is partial: the previous period is cut at the same time of day "
                                           f"({shown_end})." if filters.partial_cut(as_of) else None)),
        evaluated=evaluated, tz=filters.tz, names=names,
    )


@dataclass(frozen=True)
class Drilldown:
    count: str
    """e.g. "83 conversations" (shown in bold)."""
    detail: str
    """What the rows are: the group and how many breached (customer text: shown as text)."""
    rows: pl.DataFrame
    """The rows (the download): :data:`DRILL_COLUMNS`, ids beside the names, instants in the report zone."""
    table: pl.DataFrame
    """The same rows as shown: human headers, names, durations as durations."""
    file_name: str
    distribution_chart: alt.Chart
    distribution_note: str


MAX_TARGET_LINES = 4


def build_drilldown(breakdown: SlaBreakdown, value: object) -> Drilldown:
    """The evaluated conversations (or replies) of one group, with their distribution against its targets."""
    frame, column = breakdown.evaluated, breakdown.column
    picked = (frame.filter(pl.col(column).is_null()) if value is None
              else frame.filter(pl.col(column) == pl.lit(value).cast(frame.schema[column], strict=False)))
    picked = picked.sort("start_time", nulls_last=True)
    download = drill_rows(picked, breakdown.names, breakdown.tz)
    found = (picked.filter(pl.col("target_seconds").is_not_null()).group_by("target_name", "target_seconds")
             .len().sort("len", descending=True))
    targets = [(f"{n} ({format_duration(s)})", float(s)) for n, s, _ in found.iter_rows()]
    label = group_label(breakdown.group)
    extra = (f"{len(targets)} targets apply; the {MAX_TARGET_LINES} most used are drawn."
             if len(targets) > MAX_TARGET_LINES else "")
    chart, note = _distribution(picked, breakdown.unit, targets[:MAX_TARGET_LINES], "are in the table, not drawn.")
    breached = picked.filter(pl.col("status") == "breached").height
    shown = download.with_columns(
        target=pl.concat_str([duration_text("target_seconds"), pl.lit(" "), pl.col("clock").fill_null("")]),
        elapsed=duration_text("elapsed_seconds"),
        late_by=duration_text("breach_severity_seconds"),
        priority=pl.col("priority").cast(pl.String),
    )
    return Drilldown(
        count=f"{picked.height:,} {breakdown.unit}",
        detail=f"with {label} = {value} ({METRIC_LABELS[breakdown.metric].lower()}, {breached:,} breached)",
        rows=download, table=readable(shown, DRILL_HEADERS),
        file_name=f"{breakdown.metric}_{label.replace(' ', '_')}_{value}",
        distribution_chart=chart, distribution_note=" ".join(n for n in (note, extra) if n),
    )
