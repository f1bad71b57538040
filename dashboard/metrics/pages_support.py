"""Small pure aggregations the pages need that the core metric modules do not provide.

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
from dashboard.metrics import automation, sla, stats
from dashboard.metrics.policy import Policy
from dashboard.schema import TIME

__all__ = [
    "agent_state_timeline",
    "agent_states_now",
    "arrivals_heatmap",
    "daily_counts",
    "volume_by_day",
]

Frame = pl.DataFrame | pl.LazyFrame


def _local(column: str, tz: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(tz)


def volume_by_day(frame: Frame, tz: str, *, time_column: str, by: str = "network") -> Frame:
    """Conversations per local day and ``by`` value. Columns: ``day``, ``by``, ``conversations``."""
    return (
        frame.drop_nulls(time_column)
        .group_by(_local(time_column, tz).dt.date().alias("day"), pl.col(by))
        .agg(pl.len().cast(pl.Int64).alias("conversations"))
        .sort("day", by)
    )


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


def arrivals_heatmap(frame: Frame, tz: str, *, time_column: str) -> Frame:
    """Arrivals by local weekday (1 = Monday) and hour. Columns: ``weekday``, ``hour``, ``conversations``."""
    local = _local(time_column, tz)
    return (
        frame.drop_nulls(time_column)
        .group_by(local.dt.weekday().cast(pl.Int64).alias("weekday"), local.dt.hour().cast(pl.Int64).alias("hour"))
        .agg(pl.len().cast(pl.Int64).alias("conversations"))
        .sort("weekday", "hour")
    )


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


def agent_state_timeline(states: Frame, start: datetime, end: datetime) -> Frame:
    """State intervals overlapping ``[start, end)``, clipped to it (open intervals end at ``end``).

    Columns: ``agent_id``, ``agent_name``, ``state``, ``start_time``, ``end_time``, ``seconds``.
    """
    lo, hi = pl.lit(start, TIME), pl.lit(end, TIME)
    return (
        states.filter(pl.col("start_time") < hi, pl.col("end_time").is_null() | (pl.col("end_time") > lo))
        .with_columns(
            pl.max_horizontal(pl.col("start_time"), lo).alias("start_time"),
            pl.min_horizontal(pl.col("end_time").fill_null(hi), hi).alias("end_time"),
        )
        .with_columns(pl.coalesce(pl.col("agent_name"), pl.col("agent_id")).alias("agent_name"))
        .select(
            "agent_id", "agent_name", "state", "start_time", "end_time",
            ((pl.col("end_time") - pl.col("start_time")).dt.total_milliseconds() / 1000).alias("seconds"),
        )
        .sort("agent_name", "start_time")
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
    "conversation_id", "conversation_display_id", "tier", "priority", "network", "work_queue_id", "agent_id",
    "status", "target_name", "target_seconds", "clock", "start_time", "stop_time", "breach_at", "elapsed_seconds",
    "breach_severity_seconds",
)
"""Columns of the drill-down (the rows behind a bar), in order."""


# ------------------------------------------------------------------------------------------------------------
# Overview: the KPI cards


@dataclass(frozen=True)
class OverviewSummary:
    kpis: list[Kpi]
    conversations: int
    volume: pl.DataFrame
    """:func:`volume_by_day` over the window."""
    heatmap: pl.DataFrame
    """:func:`arrivals_heatmap` over the window."""
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
    open_now: Frame | None = None,
    bot_requests: Frame | None = None,
    bot_rule: str = "human",
) -> OverviewSummary:
    """Everything the Overview page shows, for conversations whose first inbound post is in ``[start, end)``.

    ``facts`` is ``conversation_facts`` (already filtered by the page's dimensions). ``open_now`` is the open
    backlog at ``as_of`` (one row per open conversation, from the backlog module); ``bot_requests`` the
    ``bot_request`` table. KPIs: conversations, median and p90 first response (in the matched target's clock),
    first-response attainment, backlog now, automation success rate; each with the previous window's value, a
    daily sparkline and the rows behind it.
    """
    lazy = facts.lazy()
    prev_start, prev_end = sla.previous_window(start, end)
    current = sla.in_window(lazy, start, end, tz)
    previous = sla.in_window(lazy, prev_start, prev_end, tz)
    evaluated = sla.evaluate(current, policy, "first_response", as_of=as_of)
    evaluated_prev = sla.evaluate(previous, policy, "first_response", as_of=as_of)
    total = sla.attainment_by(evaluated).collect()
    total_prev = sla.attainment_by(evaluated_prev).collect()
    daily = _sla_daily(evaluated, tz)
    days = daily_counts(current, start, end, tz, time_column="first_inbound_time")
    conversations = int(days.get_column("count").sum())
    # Sparklines start at the first day with arrivals: days before the data begins are not "zero".
    if conversations:
        first_day = days.filter(pl.col("count") > 0).get_column("day")[0]
        days = days.filter(pl.col("day") >= first_day)
    # Compare only with a previous window the data covers; before the first arrival "0" would be a false delta.
    first_arrival = lazy.select(pl.col("first_inbound_time").min()).collect().item()
    prev_covered = first_arrival is not None and first_arrival <= sla.window_bounds(prev_start, prev_end, tz)[0]
    conversations_prev = previous.select(pl.len()).collect().item() if prev_covered else None
    if not prev_covered:
        total_prev = total_prev.clear()
    window = f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), {tz}"
    frt_params = {
        "window": window,
        "time anchor": "first inbound post of the conversation",
        "bot rule": bot_rule,
        "clock": "the matched target's clock (business or calendar) — see the policy",
        "percentile method": stats.PERCENTILE_METHOD,
        "as of": f"{as_of:%Y-%m-%d %H:%M} UTC",
    }
    frt_rows = evaluated.filter(pl.col("response_seconds").is_not_null()).select(
        [c for c in DRILL_COLUMNS if c in evaluated.collect_schema().names()]
    ).collect()
    sla_rows = evaluated.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).select(
        [c for c in DRILL_COLUMNS if c in evaluated.collect_schema().names()]
    ).collect()
    kpis = [
        Kpi(
            key="conversations", label="Conversations", value=float(conversations), unit="count",
            definition="Conversations whose first inbound post is in the window.",
            previous=None if conversations_prev is None else float(conversations_prev),
            sparkline=[float(v) for v in days.get_column("count")],
            parameters={"window": window, "time anchor": "first inbound post"},
            rows=current.select("conversation_id", "conversation_display_id", "first_inbound_time", "network",
                                "tier", "priority", "work_queue_id", "status").collect(),
        ),
        Kpi(
            key="frt_median", label="Median FRT", value=_first(total, "median_seconds"),
            unit="seconds", lower_is_better=True, previous=_first(total_prev, "median_seconds"),
            definition="Median time from the clock start (first inbound post, or the hand-off for bot-first "
                       "conversations) to the first public human response, over answered conversations.",
            sparkline=_series(days, daily, "median_seconds"), parameters=frt_params, rows=frt_rows,
        ),
        Kpi(
            key="frt_p90", label="p90 FRT", value=_first(total, "p90_seconds"), unit="seconds",
            lower_is_better=True, previous=_first(total_prev, "p90_seconds"),
            definition="90th percentile (nearest rank) of the first response time, over answered conversations.",
            sparkline=_series(days, daily, "p90_seconds"), parameters=frt_params, rows=frt_rows,
        ),
        Kpi(
            key="sla_attainment", label="FRT SLA", value=_first(total, "attainment"), unit="ratio",
            previous=_first(total_prev, "attainment"),
            definition="Achieved ÷ (achieved + breached) against the policy's first-response targets; pending "
                       "conversations are not counted.",
            sparkline=_series(days, daily, "attainment"),
            parameters={**frt_params, "policy": policy.source,
                        "pending now": str(int(_first(total, "pending") or 0))},
            rows=sla_rows,
        ),
    ]
    if open_now is not None:
        open_frame = open_now.lazy().collect()
        kpis.append(Kpi(
            key="backlog_now", label="Backlog now", value=float(open_frame.height), unit="count",
            lower_is_better=True, sparkline=backlog_series(lazy, days.get_column("day").to_list(), tz, as_of),
            definition="Conversations open (not closed) at the as-of instant, whatever their arrival day.",
            parameters={"as of": f"{as_of:%Y-%m-%d %H:%M} UTC"}, rows=open_frame,
        ))
    health = pl.DataFrame()
    if bot_requests is not None:
        kpi, health = _automation_kpi(bot_requests, start=start, end=end, tz=tz, as_of=as_of, days=days)
        kpis.append(kpi)
    return OverviewSummary(
        kpis=kpis,
        conversations=conversations,
        volume=volume_by_day(current, tz, time_column="first_inbound_time").collect(),
        heatmap=arrivals_heatmap(current, tz, time_column="first_inbound_time").collect(),
        automation=health,
    )


def backlog_series(open_at: Frame, days: list[date], tz: str, as_of: datetime) -> list[float]:
    """Open conversations at the end of each local day (or at ``as_of`` for today), from ``open_at``'s
    ``created_time`` and ``closed_time`` (the facts, or any frame with those columns)."""
    zone = ZoneInfo(tz)
    frame = open_at.lazy()
    values = []
    for day in days:
        end_of_day = min(datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC), as_of)
        at = pl.lit(end_of_day, TIME)
        values.append(float(frame.filter(pl.col("created_time") <= at,
                                         pl.col("closed_time").is_null() | (pl.col("closed_time") > at))
                            .select(pl.len()).collect().item()))
    return values


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
                   "HEALTHY by Khoros' rolling 2-minute rule; the rows below list their states.",
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


def open_backlog(facts: Frame, as_of: datetime) -> pl.DataFrame:
    """Conversations open at ``as_of``: created by then and not (finally) closed by then.

    Columns: the facts' identifying and dimension columns plus ``age_seconds`` (calendar, since creation).
    """
    at = pl.lit(as_of, TIME)
    return (
        facts.lazy()
        .filter(pl.col("created_time") <= at, pl.col("closed_time").is_null() | (pl.col("closed_time") > at))
        .select(
            "conversation_id", "conversation_display_id", "network", "tier", "priority", "work_queue_id",
            "agent_id", "status", "created_time",
            ((at - pl.col("created_time")).dt.total_milliseconds() / 1000).alias("age_seconds"),
        )
        .sort("age_seconds", descending=True)
        .collect()
    )


# ------------------------------------------------------------------------------------------------------------
# Live queue

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 3600),
    ("1–4 h", 4 * 3600),
    ("4–24 h", 24 * 3600),
    ("1–3 d", 3 * 86400),
    ("≥ 3 d", float("inf")),
)
"""Label and exclusive upper bound (calendar seconds since creation) of each backlog age bucket."""


def backlog_by_age(open_now: pl.DataFrame, *, by: str = "work_queue_id") -> pl.DataFrame:
    """Open conversations per age bucket and ``by`` value. Columns: ``age_bucket``, ``age_order``, ``by``,
    ``open``. Every bucket appears (with 0) so the axis is stable between refreshes."""
    bucket: pl.Expr | pl.When | pl.Then = pl
    order: pl.Expr | pl.When | pl.Then = pl
    for i, (label, upper) in enumerate(AGE_BUCKETS):
        bucket = bucket.when(pl.col("age_seconds") < upper).then(pl.lit(label))  # type: ignore[union-attr]
        order = order.when(pl.col("age_seconds") < upper).then(pl.lit(i, pl.Int64))  # type: ignore[union-attr]
    counted = (
        open_now.with_columns(age_bucket=bucket.otherwise(pl.lit(AGE_BUCKETS[-1][0])),  # type: ignore[union-attr]
                              age_order=order.otherwise(pl.lit(len(AGE_BUCKETS) - 1, pl.Int64)))  # type: ignore[union-attr]
        .with_columns(pl.col(by).cast(pl.String).fill_null("none"))
        .group_by("age_bucket", "age_order", by)
        .agg(pl.len().cast(pl.Int64).alias("open"))
    )
    return counted.sort("age_order", by)


def at_risk(facts: Frame, policy: Policy, as_of: datetime,
            metrics: tuple[str, ...] = ("first_response", "resolution")) -> pl.DataFrame:
    """Open conversations whose SLA clock is still running (pending), ordered by time to breach.

    One row per conversation × metric: ``metric``, ``breach_at``, ``seconds_to_breach`` (calendar, from
    ``as_of``) and the drill-down columns.
    """
    open_ids = open_backlog(facts, as_of).select("conversation_id")
    live = facts.lazy().join(open_ids.lazy(), on="conversation_id", how="semi")
    frames = []
    for metric in metrics:
        evaluated = sla.evaluate(live, policy, metric, as_of=as_of).filter(pl.col("status") == "pending")
        frames.append(evaluated.select("metric", *[c for c in DRILL_COLUMNS if c != "stop_time"]).collect())
    rows = pl.concat(frames, how="vertical_relaxed")
    return rows.with_columns(
        ((pl.col("breach_at") - pl.lit(as_of, TIME)).dt.total_milliseconds() / 1000).alias("seconds_to_breach")
    ).sort("seconds_to_breach", "conversation_id", "metric")  # ties in a stable order


def breaches_due(risk: pl.DataFrame, as_of: datetime, *, hours: int = 8, tz: str = "UTC") -> pl.DataFrame:
    """How many running clocks breach in each of the next ``hours`` hours if nobody acts.

    Hour ``i`` is ``[as_of + i h, as_of + (i + 1) h)``. Columns: ``hour_start``, ``hour_label`` (its local
    start in ``tz``, "HH:MM"), ``breaches`` (every hour present, 0 included).
    """
    start = pl.lit(as_of, TIME)
    slots = pl.DataFrame({"slot": list(range(hours))}, schema={"slot": pl.Int64})
    counted = (
        risk.filter(pl.col("breach_at") >= start)
        .with_columns(((pl.col("breach_at") - start).dt.total_milliseconds() // 3_600_000).alias("slot"))
        .filter(pl.col("slot") < hours)
        .group_by("slot").agg(pl.len().cast(pl.Int64).alias("breaches"))
    )
    return (
        slots.join(counted, on="slot", how="left")
        .with_columns(
            pl.col("breaches").fill_null(0),
            (start + pl.duration(hours=pl.col("slot"))).alias("hour_start"),
        )
        .with_columns(pl.col("hour_start").dt.convert_time_zone(tz).dt.strftime("%H:%M").alias("hour_label"))
        .select("hour_start", "hour_label", "breaches")
        .sort("hour_start")
    )


# ------------------------------------------------------------------------------------------------------------
# Agents


def agent_leaderboard(facts: Frame, response: Frame, policy: Policy, *, start: date, end: date, tz: str,
                      as_of: datetime, names: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per agent for the window.

    - ``responses``: public agent responses published in the window, in conversations of ``facts``;
    - ``conversations``, ``first_response_attainment``, ``frt_median_seconds``, ``frt_p90_seconds``: over the
      conversations assigned to the agent whose first inbound post is in the window (``sla.attainment_by`` of
      ``first_response`` by ``agent_id``, the matched target's clock, nearest-rank);
    - ``handle_median_seconds``: median calendar time from first assignment to final close, over those
      conversations closed by ``as_of``.
    """
    current = sla.in_window(facts.lazy(), start, end, tz)
    evaluated = sla.evaluate(current, policy, "first_response", as_of=as_of)
    sla_by_agent = sla.attainment_by(evaluated.filter(pl.col("agent_id").is_not_null()), ["agent_id"]).select(
        "agent_id",
        pl.col("total").alias("sla_clocks"),
        pl.col("attainment").alias("first_response_attainment"),
        pl.col("median_seconds").alias("frt_median_seconds"),
        pl.col("p90_seconds").alias("frt_p90_seconds"),
    )
    at = pl.lit(as_of, TIME)
    handled = (
        current.filter(pl.col("agent_id").is_not_null())
        .group_by("agent_id")
        .agg(
            pl.len().cast(pl.Int64).alias("conversations"),
            stats.nearest_rank(
                pl.when(pl.col("closed_time") <= at)
                .then((pl.col("closed_time") - pl.col("first_assigned_time")).dt.total_milliseconds() / 1000),
                0.5,
            ).alias("handle_median_seconds"),
        )
    )
    lo, hi = sla.window_bounds(start, end, tz)
    responses = (
        # only responses in the conversations the page's filters keep (tier, channel, ... apply here too)
        response.lazy()
        .join(facts.lazy().select("conversation_id"), on="conversation_id", how="semi")
        .filter(
            pl.col("responder_type").str.to_uppercase() == "AGENT",
            pl.col("is_public").fill_null(True),
            pl.col("published_time") >= pl.lit(lo, TIME),
            pl.col("published_time") < pl.lit(hi, TIME),
            pl.col("published_time") <= at,
        )
        .group_by("agent_id")
        .agg(pl.len().cast(pl.Int64).alias("responses"))
    )
    board = (
        responses.join(handled, on="agent_id", how="full", coalesce=True)
        .join(sla_by_agent, on="agent_id", how="left")
        .filter(pl.col("agent_id").is_not_null())
        .with_columns(pl.col("responses", "conversations").fill_null(0))
        .collect()
    )
    if names is not None:
        board = with_agent_names(board, names)
    else:
        board = board.with_columns(pl.col("agent_id").alias("agent_name"))
    return board.select(
        "agent_name", "responses", "conversations", "sla_clocks", "first_response_attainment",
        "frt_median_seconds", "frt_p90_seconds", "handle_median_seconds", "agent_id",
    ).sort(["responses", "agent_name"], descending=[True, False])


def clip_long_tail(rows: pl.DataFrame, q: float = 0.95, column: str = "elapsed_seconds"
                   ) -> tuple[pl.DataFrame, int, float | None]:
    """Rows up to the nearest-rank ``q`` quantile of ``column`` (rows without a value kept), for a histogram
    that a few extreme waits would otherwise flatten. Returns (rows, how many were left out, the limit)."""
    limit = rows.select(stats.nearest_rank(pl.col(column), q)).item() if rows.height else None
    if limit is None:
        return rows, 0, None
    kept = rows.filter(pl.col(column).is_null() | (pl.col(column) <= limit))
    return kept, rows.height - kept.height, float(limit)
