"""What the pages need on top of the core metric modules: the Overview's KPI cards (values from
``volume.kpi_summary``, backlog from ``backlog.open_at``, automation from ``automation``), the Service levels
tables (``sla.evaluate`` / ``sla.attainment_by`` per tier, group and period), drill-down rows, and a few
small aggregations no core module has (agents by current state, daily counts for sparklines).

Report windows are whole local days in an IANA zone (``[start, end)``, ``end`` exclusive), placed with
``dashboard.metrics.sla.in_window`` (the conversation's first inbound post), like the report CLI.
Everything is LazyFrame/DataFrame in, same kind out; no I/O, no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.kpi import Kpi
from dashboard.metrics import automation, backlog, sla, stats, volume
from dashboard.metrics.policy import Policy
from dashboard.schema import TIME

__all__ = [
    "DRILL_COLUMNS",
    "SLA_DIMENSIONS",
    "OverviewSummary",
    "agent_names",
    "agent_states_now",
    "attainment_by_group",
    "backlog_series",
    "clip_long_tail",
    "daily_counts",
    "evaluate_window",
    "handle_time_by_agent",
    "label_hours",
    "overview_summary",
    "period_comparison",
    "rows_behind",
    "single_target_minutes",
    "tier_comparison",
    "tier_headline",
    "with_agent_names",
]

Frame = pl.DataFrame | pl.LazyFrame


def _local(column: str, tz: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(tz)


def daily_counts(frame: Frame, start: date, end: date, tz: str, *, time_column: str) -> pl.DataFrame:
    """Rows per local day over ``[start, end)``, days without rows included as 0. Columns: ``day``, ``count``."""
    days = pl.DataFrame({"day": pl.date_range(start, end, interval="1d", closed="left", eager=True)})
    counts = (
        frame.lazy()
        .drop_nulls(time_column)
        .group_by(_local(time_column, tz).dt.date().alias("day"))
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .collect()
    )
    return days.join(counts, on="day", how="left").with_columns(pl.col("count").fill_null(0)).sort("day")


def agent_states_now(states: Frame, as_of: datetime) -> pl.DataFrame:
    """Each agent's state at ``as_of`` (the interval containing it), counted per state.

    ``states`` is ``raw_agent_states``; an interval with no end lasts until now. An agent with no interval
    covering ``as_of`` is not counted (logged out). Columns: ``state``, ``agents``.
    """
    at = pl.lit(as_of, TIME)
    current = (
        states.lazy()
        .filter(pl.col("start_time") <= at, pl.col("end_time").is_null() | (pl.col("end_time") > at))
        .sort("start_time")
        .group_by("agent_id")
        .agg(pl.col("state").last())
    )
    return (
        current.group_by("state").agg(pl.len().cast(pl.Int64).alias("agents")).sort(["agents", "state"],
                                                                                     descending=[True, False])
        .collect()
    )


# ------------------------------------------------------------------------------------------------------------
# Service levels: the tables behind the SLA page, all from sla.evaluate / sla.attainment_by

SLA_DIMENSIONS: dict[str, str] = {
    "tier": "tier",
    "priority": "priority",
    "work queue": "work_queue_id",
    "channel": "network",
    "agent": "agent_id",
}
"""What the service-levels page can group by: label -> facts column."""


def evaluate_window(facts: Frame, policy: Policy, metric: str, *, start: date, end: date, tz: str,
                    as_of: datetime) -> pl.LazyFrame:
    """``sla.evaluate`` of ``metric`` for the conversations whose first inbound post is in ``[start, end)``."""
    return sla.evaluate(sla.in_window(facts.lazy(), start, end, tz), policy, metric, as_of=as_of)


def tier_comparison(facts: Frame, policy: Policy, *, start: date, end: date, tz: str, as_of: datetime,
                    metrics: tuple[str, ...] = ("first_response", "resolution")) -> pl.DataFrame:
    """Attainment per tier for each metric (``metric`` column first), with Wilson intervals."""
    frames = [
        sla.attainment_by(evaluate_window(facts, policy, m, start=start, end=end, tz=tz, as_of=as_of), ["tier"])
        .with_columns(pl.lit(m).alias("metric"))
        .collect()
        for m in metrics
    ]
    return pl.concat(frames, how="vertical_relaxed").select("metric", pl.exclude("metric"))


def period_comparison(facts: Frame, policy: Policy, metric: str, by: str, *, start: date, end: date, tz: str,
                      as_of: datetime) -> pl.DataFrame:
    """Attainment per ``by`` group in ``[start, end)`` and in the window of the same length before it.

    Columns: ``by``, ``period`` ("current" / "previous"), then :func:`sla.attainment_by`'s columns.
    """
    prev_start, prev_end = sla.previous_window(start, end)
    frames = []
    for period, (lo, hi) in (("previous", (prev_start, prev_end)), ("current", (start, end))):
        evaluated = evaluate_window(facts, policy, metric, start=lo, end=hi, tz=tz, as_of=as_of)
        frames.append(sla.attainment_by(evaluated, [by]).with_columns(pl.lit(period).alias("period")).collect())
    return pl.concat(frames, how="vertical_relaxed").select(by, "period", pl.exclude(by, "period"))


def rows_behind(evaluated: Frame, by: str, value: object) -> pl.DataFrame:
    """The evaluated conversations of one group (``by == value``; ``None`` picks the null group)."""
    frame = evaluated.lazy()
    dtype = frame.collect_schema()[by]
    if value is None:
        picked = frame.filter(pl.col(by).is_null())
    else:
        picked = frame.filter(pl.col(by) == pl.lit(value).cast(dtype, strict=False))
    columns = [c for c in DRILL_COLUMNS if c in frame.collect_schema().names()]
    return picked.select(columns).sort("start_time", nulls_last=True).collect()


DRILL_COLUMNS = (
    "conversation_id", "conversation_display_id", "burst_index", "tier", "priority", "network", "work_queue_id",
    "agent_id", "status", "target_name", "target_seconds", "clock", "start_time", "stop_time", "breach_at",
    "elapsed_seconds", "breach_severity_seconds",
)
"""Columns of the drill-down (the rows behind a bar), in order."""


# ------------------------------------------------------------------------------------------------------------
# Overview: the KPI cards


@dataclass(frozen=True)
class OverviewSummary:
    kpis: list[Kpi]
    conversations: int
    volume: pl.DataFrame
    """``volume.conversations_by_day`` by network over the window (every day, 0 included)."""
    heatmap: pl.DataFrame
    """``volume.arrivals_heatmap`` over the window (all 168 cells)."""
    automation: pl.DataFrame
    """``automation.health_now`` at ``as_of`` (empty without request records)."""


def _sla_daily(evaluated: pl.LazyFrame, tz: str) -> pl.DataFrame:
    day = pl.col("first_inbound_time").dt.convert_time_zone(tz).dt.date().alias("day")
    return sla.attainment_by(evaluated.with_columns(day), ["day"]).collect()


def _series(days: pl.DataFrame, daily: pl.DataFrame, column: str) -> list[float]:
    """``column`` per day of ``days`` (a day without a value carries the previous one: a sparkline, not data)."""
    joined = days.join(daily.select("day", column), on="day", how="left").sort("day")
    return [float(v) for v in joined.get_column(column).forward_fill().fill_null(0).to_list()]


def _first(frame: pl.DataFrame, column: str) -> float | None:
    value = frame.get_column(column)[0] if frame.height else None
    return None if value is None else float(value)


def overview_summary(
    facts: Frame,
    policy: Policy,
    *,
    start: date,
    end: date,
    tz: str,
    as_of: datetime,
    bot_requests: Frame | None = None,
    bot_rule: str = "human",
) -> OverviewSummary:
    """Everything the Overview page shows, for conversations whose first inbound post is in ``[start, end)``.

    ``facts`` is ``conversation_facts`` (already filtered by the page's dimensions); ``bot_requests`` the
    ``bot_request`` table. The headline values and their previous-period values are
    ``volume.kpi_summary``'s; the backlog is ``backlog.open_at``; sparklines are the same functions per local
    day. KPIs: conversations, median and p90 first response (in the matched target's clock), first-response
    attainment, backlog now, automation success rate — each with the rows behind it.
    """
    lazy = facts.lazy()
    prev_start, prev_end = sla.previous_window(start, end)
    current = sla.in_window(lazy, start, end, tz)
    summary = {r["kpi"]: r for r in volume.kpi_summary(lazy, policy, start=start, end=end, tz=tz, as_of=as_of)
               .collect().iter_rows(named=True)}
    # Compare only with a previous window the data covers; before the first arrival "0" would be a false delta.
    first_arrival = lazy.select(pl.col("first_inbound_time").min()).collect().item()
    prev_covered = first_arrival is not None and first_arrival <= sla.window_bounds(prev_start, prev_end, tz)[0]

    def value(kpi: str) -> float | None:
        return summary[kpi]["value"]

    def previous(kpi: str) -> float | None:
        return summary[kpi]["previous"] if prev_covered else None

    evaluated = sla.evaluate(current, policy, "first_response", as_of=as_of)
    daily = _sla_daily(evaluated, tz)
    days = daily_counts(current, start, end, tz, time_column="first_inbound_time")
    conversations = int(value("conversations") or 0)
    # Sparklines start at the first day with arrivals: days before the data begins are not "zero".
    if conversations:
        first_day = days.filter(pl.col("count") > 0).get_column("day")[0]
        days = days.filter(pl.col("day") >= first_day)
    window = f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), {tz}"
    frt_params = {
        "window": window,
        "time anchor": "first inbound post of the conversation",
        "bot rule": bot_rule,
        "clock": "the matched target's clock (business or calendar) — see the policy",
        "percentile method": stats.PERCENTILE_METHOD,
        "as of": f"{as_of:%Y-%m-%d %H:%M} UTC",
    }
    drill = [c for c in DRILL_COLUMNS if c in evaluated.collect_schema().names()]
    frt_rows = evaluated.filter(pl.col("response_seconds").is_not_null()).select(drill).collect()
    sla_rows = evaluated.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).select(drill).collect()
    open_now = backlog.open_at(lazy, as_of).select(
        "conversation_id", "conversation_display_id", "network", "tier", "priority", "work_queue_id", "agent_id",
        "status", "created_time", "age_seconds",
    ).sort("age_seconds", descending=True).collect()
    kpis = [
        Kpi(
            key="conversations", label="Conversations", value=float(conversations), unit="count",
            definition="Conversations whose first inbound post is in the window.",
            previous=previous("conversations"),
            sparkline=[float(v) for v in days.get_column("count")],
            parameters={"window": window, "time anchor": "first inbound post"},
            rows=current.select("conversation_id", "conversation_display_id", "first_inbound_time", "network",
                                "tier", "priority", "work_queue_id", "status").collect(),
        ),
        Kpi(
            key="frt_median", label="Median FRT", value=value("frt_median_seconds"),
            unit="seconds", lower_is_better=True, previous=previous("frt_median_seconds"),
            definition="Median time from the clock start (first inbound post, or the hand-off for bot-first "
                       "conversations) to the first public human response, over answered conversations.",
            sparkline=_series(days, daily, "median_seconds"), parameters=frt_params, rows=frt_rows,
        ),
        Kpi(
            key="frt_p90", label="p90 FRT", value=value("frt_p90_seconds"), unit="seconds",
            lower_is_better=True, previous=previous("frt_p90_seconds"),
            definition="90th percentile (nearest rank) of the first response time, over answered conversations.",
            sparkline=_series(days, daily, "p90_seconds"), parameters=frt_params, rows=frt_rows,
        ),
        Kpi(
            key="sla_attainment", label="FRT SLA", value=value("first_response_attainment"), unit="ratio",
            previous=previous("first_response_attainment"),
            definition="Achieved ÷ (achieved + breached) against the policy's first-response targets; pending "
                       "conversations are not counted.",
            sparkline=_series(days, daily, "attainment"),
            parameters={**frt_params, "policy": policy.source,
                        "pending now": str(int(value("pending_first_responses") or 0))},
            rows=sla_rows,
        ),
        Kpi(
            key="backlog_now", label="Backlog now", value=float(open_now.height), unit="count",
            lower_is_better=True, sparkline=backlog_series(lazy, days.get_column("day").to_list(), tz, as_of),
            definition="Conversations open at the as-of instant (created, not closed, not between a close and a "
                       "reopen), whatever their arrival day.",
            parameters={"as of": f"{as_of:%Y-%m-%d %H:%M} UTC", "age": "calendar time since creation"},
            rows=open_now,
        ),
    ]
    health = pl.DataFrame()
    if bot_requests is not None:
        kpi, health = _automation_kpi(bot_requests, start=start, end=end, tz=tz, as_of=as_of, days=days)
        kpis.append(kpi)
    return OverviewSummary(
        kpis=kpis,
        conversations=conversations,
        volume=volume.conversations_by_day(lazy, start, end, tz, by="network").collect(),
        heatmap=volume.arrivals_heatmap(current, tz).collect(),
        automation=health,
    )


def backlog_series(facts: Frame, days: list[date], tz: str, as_of: datetime) -> list[float]:
    """Conversations open (``backlog.open_at``) at the end of each local day, or at ``as_of`` for today."""
    zone = ZoneInfo(tz)
    instants = [min(datetime.combine(d + timedelta(days=1), time(), zone).astimezone(UTC), as_of) for d in days]
    if not instants:
        return []
    # Only rows that can be open at one of these instants (created by the last, not closed by the first): the
    # loop then scans the live part of the data, not all of history.
    candidates = facts.lazy().filter(
        pl.col("created_time") <= pl.lit(max(instants), TIME),
        pl.col("closed_time").is_null() | (pl.col("closed_time") > pl.lit(min(instants), TIME)),
    ).collect().lazy()
    return [float(backlog.open_at(candidates, at).select(pl.len()).collect().item()) for at in instants]


def _automation_kpi(bot_requests: Frame, *, start: date, end: date, tz: str, as_of: datetime,
                    days: pl.DataFrame) -> tuple[Kpi, pl.DataFrame]:
    records = bot_requests.lazy()
    prev_start, prev_end = sla.previous_window(start, end)

    def outcomes(lo: date, hi: date) -> pl.LazyFrame:
        return automation.attempts(sla.in_window(records, lo, hi, tz, "created_time"), as_of)

    def success_rate(frame: pl.LazyFrame) -> float | None:
        value = frame.select(1 - pl.col("is_error").cast(pl.Float64).mean()).collect().item()
        return None if value is None else float(value)

    first_record = records.select(pl.col("created_time").min()).collect().item()
    prev_covered = first_record is not None and first_record <= sla.window_bounds(prev_start, prev_end, tz)[0]
    per_day = (
        outcomes(start, end)
        .group_by(pl.col("t").dt.convert_time_zone(tz).dt.date().alias("day"))
        .agg((1 - pl.col("is_error").cast(pl.Float64).mean()).alias("success_rate"))
        .collect()
    )
    health = automation.health_now(records, as_of).collect()
    healthy = health.filter(pl.col("state") == automation.HEALTHY).height
    kpi = Kpi(
        key="automation_health", label="Bot success", value=success_rate(outcomes(start, end)),
        unit="ratio", previous=success_rate(outcomes(prev_start, prev_end)) if prev_covered else None,
        definition="Share of automation requests (Bot API v3 request records with an outcome) that succeeded "
                   f"in the window. Right now {healthy} of {health.height} bot scopes (app id × origin) are "
                   "HEALTHY by Khoros' rolling 2-minute rule; the rows below list their states. The sidebar's "
                   "filters do not apply: request records carry no tier, queue or agent.",
        sparkline=_series(days, per_day, "success_rate"),
        parameters={"window": f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), {tz}",
                    "time anchor": "request created time", "health window": "2 minutes",
                    "as of": f"{as_of:%Y-%m-%d %H:%M} UTC"},
        rows=health,
    )
    return kpi, health


def tier_headline(comparison: pl.DataFrame) -> pl.DataFrame:
    """One row per tier from :func:`tier_comparison`: conversations, then per metric attainment, its interval,
    median and p90 (columns ``<metric>_attainment``, ``<metric>_median_seconds``, ...), tiers in order."""
    keep = ("attainment", "attainment_low", "attainment_high", "median_seconds", "p90_seconds", "breached",
            "pending")
    wide: pl.DataFrame | None = None
    for metric in comparison.get_column("metric").unique(maintain_order=True).to_list():
        part = comparison.filter(pl.col("metric") == metric).select(
            "tier", *(pl.col(c).alias(f"{metric}_{c}") for c in keep)
        )
        wide = part if wide is None else wide.join(part, on="tier", how="full", coalesce=True)
    if wide is None:
        return pl.DataFrame({"tier": []}, schema={"tier": pl.String})
    order = {t: i for i, t in enumerate(TIER_ORDER)}
    return wide.sort(pl.col("tier").replace_strict(order, default=len(order), return_dtype=pl.Int64), "tier")


TIER_ORDER = ("Platinum", "Gold", "Silver", "Standard", "unknown")


def agent_names(states: Frame) -> pl.DataFrame:
    """``agent_id`` -> ``agent_name`` (the latest name seen in ``raw_agent_states``)."""
    return (
        states.lazy()
        .drop_nulls(["agent_id", "agent_name"])
        .sort("start_time")
        .group_by("agent_id")
        .agg(pl.col("agent_name").last())
        .collect()
    )


def with_agent_names(frame: Frame, names: pl.DataFrame) -> Frame:
    """Add ``agent_name`` (the id when the name is unknown; null when there is no agent)."""
    other = names.lazy() if isinstance(frame, pl.LazyFrame) else names
    joined = frame.join(other, on="agent_id", how="left")
    return joined.with_columns(pl.coalesce("agent_name", "agent_id").alias("agent_name"))


def attainment_by_group(evaluated: Frame, by: str) -> pl.DataFrame:
    """``sla.attainment_by`` over one column, keeping only groups with a running or decided clock."""
    grouped = sla.attainment_by(evaluated.lazy(), [by]).collect()
    return grouped.filter((pl.col("total") > 0) & pl.col(by).is_not_null())


def single_target_minutes(rows: pl.DataFrame) -> float | None:
    """The target in minutes when every row shares one target (a line on the distribution), else None."""
    if "target_seconds" not in rows.columns:
        return None
    targets = rows.get_column("target_seconds").drop_nulls().unique()
    return float(targets[0]) / 60 if targets.len() == 1 else None


def label_hours(due: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Add ``hour_label``: each ``hour_start`` as the report zone's clock shows it ("HH:MM")."""
    return due.with_columns(pl.col("hour_start").dt.convert_time_zone(tz).dt.strftime("%H:%M").alias("hour_label"))


def clip_long_tail(rows: pl.DataFrame, q: float = 0.95, column: str = "elapsed_seconds"
                   ) -> tuple[pl.DataFrame, int, float | None]:
    """Rows up to the nearest-rank ``q`` quantile of ``column`` (rows without a value kept), for a histogram
    that a few extreme waits would otherwise flatten. Returns (rows, how many were left out, the limit)."""
    limit = rows.select(stats.nearest_rank(pl.col(column), q)).item() if rows.height else None
    if limit is None:
        return rows, 0, None
    kept = rows.filter(pl.col(column).is_null() | (pl.col(column) <= limit))
    return kept, rows.height - kept.height, float(limit)


def handle_time_by_agent(facts: Frame, *, start: date, end: date, tz: str, as_of: datetime) -> pl.DataFrame:
    """Median handle time per assigned agent (``agents.agent_leaderboard`` has none): calendar seconds from
    the first assignment to the final close, over the window's conversations closed by ``as_of`` (nearest
    rank). Columns: ``agent_id``, ``handled``, ``handle_median_seconds``."""
    at = pl.lit(as_of, TIME)
    closed = (
        sla.in_window(facts.lazy(), start, end, tz)
        .filter(pl.col("agent_id").is_not_null(), pl.col("first_assigned_time").is_not_null(),
                pl.col("closed_time") <= at)
        .with_columns(((pl.col("closed_time") - pl.col("first_assigned_time")).dt.total_milliseconds() / 1000)
                      .alias("_handle"))
    )
    return (
        closed.group_by("agent_id")
        .agg(pl.len().cast(pl.Int64).alias("handled"), stats.nearest_rank(pl.col("_handle"), 0.5)
             .alias("handle_median_seconds"))
        .sort("agent_id")
        .collect()
    )
