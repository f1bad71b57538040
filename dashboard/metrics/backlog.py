"""Backlog and risk: what is open at an instant, how old it is, and which clocks breach next.

- :func:`open_at` — conversations open at an instant (created by then, not closed then; a conversation
  between its first close and its last reopen counts as closed), with their calendar age.
- :func:`backlog_by_age` — open conversations per age bucket (every bucket present) and optional group.
- :func:`at_risk` — running SLA clocks (status ``pending``) of open conversations, ordered by ``breach_at``.
- :func:`overdue_summary` — how many open conversations have a clock past its target and still running.
- :func:`breaches_due` — how many running clocks breach in each of the next hours if nobody acts.

All take and return LazyFrames; ``as_of`` is explicit everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import evaluate, resolve_as_of
from dashboard.schema import TIME

__all__ = ["AGE_BUCKETS", "at_risk", "backlog_by_age", "breaches_due", "open_at", "open_at_day_ends", "overdue_summary"]

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 3600),
    ("1–4 h", 4 * 3600),
    ("4–24 h", 24 * 3600),
    ("1–3 d", 3 * 86400),
    ("3–7 d", 7 * 86400),
    ("≥ 7 d", float("inf")),
)
"""Label and exclusive upper bound (calendar seconds since creation) of each backlog age bucket."""

RISK_COLUMNS = ("conversation_id", "conversation_display_id", "network", "tier", "priority", "work_queue_id",
                "team_id", "agent_id", "status_now", "metric", "target_name", "target_seconds", "clock",
                "start_time", "breach_at", "seconds_to_breach", "elapsed_seconds")


def open_at(facts: pl.LazyFrame, as_of: datetime | None = None) -> pl.LazyFrame:
    """Conversations open at ``as_of``, with ``age_seconds`` (calendar seconds since creation)."""
    at = pl.lit(resolve_as_of(as_of)).cast(TIME)
    columns = facts.collect_schema().names()
    closed_between = pl.lit(False)
    if "first_closed_time" in columns and "last_reopened_time" in columns:
        # closed at its first close and not yet reopened at as_of
        closed_between = (pl.col("first_closed_time") <= at) & (
            pl.col("last_reopened_time").is_null() | (pl.col("last_reopened_time") > at))
    return facts.filter(
        (pl.col("created_time") <= at)
        & (pl.col("closed_time").is_null() | (pl.col("closed_time") > at))
        & ~closed_between.fill_null(False)
    ).with_columns(age_seconds=(at - pl.col("created_time")).dt.total_milliseconds() / 1000.0)


def open_at_day_ends(facts: pl.LazyFrame, days: Sequence[date], tz: str, as_of: datetime) -> list[int]:
    """Conversations open (:func:`open_at`) at the end of each local day in ``tz``, or at ``as_of`` for a day
    that has not ended yet."""
    zone = ZoneInfo(tz)
    moment = resolve_as_of(as_of)
    instants = [min(datetime.combine(d + timedelta(days=1), time(), zone).astimezone(UTC), moment) for d in days]
    if not instants:
        return []
    # Only rows that can be open at one of these instants (created by the last, not closed by the first): the
    # loop then scans the live part of the data, not all of history.
    candidates = facts.filter(
        pl.col("created_time") <= pl.lit(max(instants)).cast(TIME),
        pl.col("closed_time").is_null() | (pl.col("closed_time") > pl.lit(min(instants)).cast(TIME)),
    ).collect().lazy()
    return [int(open_at(candidates, at).select(pl.len()).collect().item()) for at in instants]


def _bucket_frame() -> pl.LazyFrame:
    return pl.LazyFrame(
        {"age_bucket": [b[0] for b in AGE_BUCKETS], "age_order": list(range(len(AGE_BUCKETS)))},
        schema={"age_bucket": pl.String, "age_order": pl.Int64},
    )


def backlog_by_age(open_now: pl.LazyFrame, by: Sequence[str] = ()) -> pl.LazyFrame:
    """Open conversations per age bucket (and ``by`` groups). Columns: ``by``..., ``age_bucket``,
    ``age_order``, ``open``. Without groups every bucket appears (0 included) so the axis stays stable."""
    by = list(by)
    order: pl.Expr | pl.When | pl.Then = pl
    for i, (_, upper) in enumerate(AGE_BUCKETS):
        order = order.when(pl.col("age_seconds") < upper).then(pl.lit(i, pl.Int64))  # type: ignore[union-attr]
    counted = (
        open_now.with_columns(age_order=order.otherwise(pl.lit(len(AGE_BUCKETS) - 1, pl.Int64)))  # type: ignore[union-attr]
        .group_by(*by, "age_order")
        .agg(pl.len().cast(pl.Int64).alias("open"))
    )
    if by:
        groups = counted.select(by).unique()
        grid = groups.join(_bucket_frame(), how="cross")
    else:
        grid = _bucket_frame()
    return (
        grid.join(counted, on=[*by, "age_order"], how="left")
        .with_columns(pl.col("open").fill_null(0))
        .select(*by, "age_bucket", "age_order", "open")
        .sort([*by, "age_order"], nulls_last=True)
    )


def at_risk(
    facts: pl.LazyFrame,
    policy: Policy,
    as_of: datetime | None = None,
    metrics: Sequence[str] = ("first_response", "time_to_assign", "resolution"),
    *,
    include_overdue: bool = False,
) -> pl.LazyFrame:
    """Running SLA clocks of conversations open at ``as_of``, ordered by ``breach_at`` (soonest first).

    One row per conversation × metric whose status is ``pending`` (with ``include_overdue``, also clocks
    already ``breached`` that are still running: no stopping event yet). ``seconds_to_breach`` is calendar
    time from ``as_of`` (negative when overdue). Ties break by conversation id, then metric.
    """
    moment = resolve_as_of(as_of)
    live = open_at(facts, moment).with_columns(pl.col("status").alias("status_now"))
    wanted = pl.col("status") == "pending"
    if include_overdue:
        wanted = wanted | ((pl.col("status") == "breached") & pl.col("stop_time").is_null())
    at = pl.lit(moment).cast(TIME)
    frames = [
        evaluate(live, policy, metric, as_of=moment)
        .filter(wanted)
        .with_columns(seconds_to_breach=(pl.col("breach_at") - at).dt.total_milliseconds() / 1000.0)
        .select(RISK_COLUMNS)
        for metric in metrics
    ]
    return pl.concat(frames, how="vertical_relaxed").sort("breach_at", "conversation_id", "metric")


def overdue_summary(risk: pl.LazyFrame) -> pl.LazyFrame:
    """One row from :func:`at_risk` ``(include_overdue=True)``'s clocks: ``clocks`` overdue (``seconds_to_breach``
    below 0: past the target, no stopping event yet), the ``conversations`` they belong to, and how many of those
    conversations ``without_first_response`` (their first-response clock is among the overdue ones)."""
    late = risk.filter(pl.col("seconds_to_breach") < 0)
    return late.select(
        clocks=pl.len().cast(pl.Int64),
        conversations=pl.col("conversation_id").n_unique().cast(pl.Int64),
        without_first_response=pl.col("conversation_id").filter(pl.col("metric") == "first_response").n_unique()
        .cast(pl.Int64),
    )


def breaches_due(risk: pl.LazyFrame, as_of: datetime | None = None, *, hours: int = 8,
                 by: Sequence[str] = ()) -> pl.LazyFrame:
    """Running clocks that breach in each of the next ``hours`` hours: hour ``i`` is
    ``[as_of + i h, as_of + (i + 1) h)``. Columns: ``by``..., ``hour``, ``hour_start``, ``breaches``; without
    groups every hour is present (0 included)."""
    if hours < 1:
        raise ValueError("hours must be at least 1")
    by = list(by)
    start = pl.lit(resolve_as_of(as_of)).cast(TIME)
    counted = (
        risk.filter(pl.col("breach_at") >= start)
        .with_columns(hour=(pl.col("breach_at") - start).dt.total_milliseconds() // 3_600_000)
        .filter(pl.col("hour") < hours)
        .group_by(*by, "hour")
        .agg(pl.len().cast(pl.Int64).alias("breaches"))
    )
    slots = pl.LazyFrame({"hour": list(range(hours))}, schema={"hour": pl.Int64})
    grid = counted.select(by).unique().join(slots, how="cross") if by else slots
    return (
        grid.join(counted, on=[*by, "hour"], how="left")
        .with_columns(pl.col("breaches").fill_null(0), hour_start=start + pl.duration(hours=pl.col("hour")))
        .select(*by, "hour", "hour_start", "breaches")
        .sort([*by, "hour"])
    )
