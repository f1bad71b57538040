"""Daily rollups: the KPIs' counts per local day x dimension cell, so a KPI card or a period comparison over any
window of whole days is a sum over days, not a pass over every conversation.

A rollup row is one cell: the local day (in the rollup's IANA time zone) of the conversation's first inbound
post — the day windows select conversations by — and every dimension of :data:`dashboard.filters.DIMENSIONS`
(tier, priority, work queue, channel, team, agent). Its values, for the conversations of that cell:

- ``conversations``, ``bot_first``, ``bot_contained``;
- per metric of :data:`ROLLUP_METRICS`: ``<m>_achieved`` and ``<m>_breached`` (decided by the stopping event),
  ``<m>_bot_contained``, ``<m>_not_started``, ``<m>_no_target``, ``<m>_responded`` and ``<m>_seconds`` (the sum
  of the response times in the target's clock, for a mean), and ``<m>_open``: the ``breach_at`` of each clock
  still running (started, with a target, no stopping event), since whether it is breached or pending depends
  on "as of": it is decided when the rollups are read.

What a rollup cannot hold: percentiles (they do not add up across days: medians and p90s come from the facts),
an "as of" before the last event the rollups saw (:func:`valid_from`; earlier instants are evaluated from the
facts), and windows in another time zone than the rollups' own.

Rollups are built from facts that carry the policy's kept evaluation (:func:`dashboard.metrics.sla.evaluation_keys`),
with the same definitions as :func:`dashboard.metrics.sla.evaluate` — the tests check them against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import polars as pl

from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import evaluate, resolve_as_of, window_bounds
from dashboard.metrics.stats import wilson_interval
from dashboard.schema import TIME

__all__ = ["CELL", "ROLLUP_METRICS", "attainment_from_rollups", "daily_rollups", "merge_rollups", "rollup_counts",
           "valid_from"]

ROLLUP_METRICS = ("first_response", "time_to_assign", "resolution")
CELL = ("day", "tier", "priority", "work_queue_id", "network", "team_id", "agent_id")
"""A rollup row's key: the local day of the first inbound post and the dimension columns of the facts."""
EVENT_TIMES = ("created_time", "closed_time", "clock_start", "first_response_time", "first_assigned_time")
_FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def valid_from(facts: pl.LazyFrame) -> pl.LazyFrame:
    """The latest start or stop instant of any metric in ``facts`` (one row, ``valid_from``): rollups answer for
    "as of" at or after it (every clock's start and stop is then known as it will be)."""
    return facts.select(pl.max_horizontal(*(pl.col(c).max() for c in EVENT_TIMES)).alias("valid_from"))


def daily_rollups(facts: pl.LazyFrame, policy: Policy, timezone: str, *, also_by: Sequence[str] = ()
                  ) -> pl.LazyFrame:
    """The rollup rows of ``facts`` (which may carry ``policy``'s kept evaluation) in ``timezone``'s local days
    (see the module docstring); ``also_by``: more key columns (the store files rollups by stored day)."""
    day = pl.col("first_inbound_time").dt.convert_time_zone(timezone).dt.date().alias("day")
    frame = facts.filter(pl.col("first_inbound_time").is_not_null()).with_columns(day)
    # Evaluated as of the far future: every clock that will start has started and every stop has happened, so
    # each status is the one its events decide; a clock with no stopping event is "open", its breach_at kept.
    moment = _FAR_FUTURE
    keep = frame.collect_schema().names()
    aggregations: list[pl.Expr] = [
        pl.len().cast(pl.Int64).alias("conversations"),
        pl.col("bot_first").sum().cast(pl.Int64).alias("bot_first"),
        pl.col("bot_contained").sum().cast(pl.Int64).alias("bot_contained"),
    ]
    for metric in ROLLUP_METRICS:
        status, stop = f"_{metric}_status", f"_{metric}_stopped"
        frame = evaluate(frame, policy, metric, as_of=moment).select(
            *keep,
            pl.col("status").alias(status),
            pl.col("stop_time").is_not_null().alias(stop),
            pl.col("response_seconds").alias(f"_{metric}_seconds"),
            pl.col("breach_at").alias(f"_{metric}_breach_at"),
        )
        keep = frame.collect_schema().names()
        decided = pl.col(status).is_in(["achieved", "breached"]) & pl.col(stop)
        running = pl.col(status).is_in(["breached", "pending"]) & ~pl.col(stop)
        aggregations += [
            (pl.col(status) == "achieved").sum().cast(pl.Int64).alias(f"{metric}_achieved"),
            ((pl.col(status) == "breached") & decided).sum().cast(pl.Int64).alias(f"{metric}_breached"),
            (pl.col(status) == "bot_contained").sum().cast(pl.Int64).alias(f"{metric}_bot_contained"),
            (pl.col(status) == "not_started").sum().cast(pl.Int64).alias(f"{metric}_not_started"),
            (pl.col(status) == "no_target").sum().cast(pl.Int64).alias(f"{metric}_no_target"),
            pl.col(f"_{metric}_seconds").count().cast(pl.Int64).alias(f"{metric}_responded"),
            pl.col(f"_{metric}_seconds").sum().alias(f"{metric}_seconds"),
            pl.col(f"_{metric}_breach_at").filter(running).sort().alias(f"{metric}_open"),
        ]
    keys = [*also_by, *CELL]
    return frame.group_by(*keys).agg(aggregations).sort(keys, nulls_last=True)


def merge_rollups(parts: Sequence[pl.LazyFrame | pl.DataFrame]) -> pl.LazyFrame:
    """Rollup rows of several parts (days filed apart) as one row per cell: counts added, open clocks joined."""
    if not parts:
        raise ValueError("merge_rollups needs at least one part")
    frame = pl.concat([p.lazy() for p in parts], how="vertical_relaxed")
    names = frame.collect_schema().names()
    lists = [c for c in names if c.endswith("_open")]
    sums = [c for c in names if c not in CELL and c not in lists]
    joined = [pl.col(c).list.explode(keep_nulls=False, empty_as_null=False).sort() for c in lists]
    return (frame.group_by(*CELL).agg(*(pl.col(c).sum() for c in sums), *joined)
            .select(names).sort(list(CELL), nulls_last=True))


def rollup_counts(rollups: pl.LazyFrame | pl.DataFrame, metric: str, *, start: date, end: date, tz: str,
                  as_of: datetime, by: Sequence[str] = (),
                  filters: Mapping[str, Sequence] | None = None) -> pl.LazyFrame:
    """Per group of ``by`` (rollup cell columns), over the local days [start, end) of the rollups' own zone
    ``tz``: ``conversations``, ``bot_first``, ``bot_contained`` and ``metric``'s ``total``, ``achieved``,
    ``breached``, ``pending``, ``bot_contained``, ``not_started``, ``no_target``, ``responded``,
    ``mean_seconds``, with its running clocks decided at ``as_of`` (which must not be before
    :func:`valid_from`). ``filters``: ``{cell column: values}``."""
    window_bounds(start, end, tz)  # the same checks as every window (an empty window is an error)
    at = pl.lit(resolve_as_of(as_of)).cast(TIME)
    frame = rollups.lazy().filter((pl.col("day") >= start) & (pl.col("day") < end))
    schema = frame.collect_schema()
    for column, values in (filters or {}).items():
        if values:
            frame = frame.filter(pl.col(column).is_in(pl.Series(list(values)).cast(schema[column], strict=False)
                                                      .implode()))
    m = metric
    open_breached = pl.col(f"{m}_open").list.eval((pl.element() < at).cast(pl.Int64)).list.sum()
    frame = frame.with_columns(
        _open_breached=open_breached.fill_null(0),
        _open=pl.col(f"{m}_open").list.len().fill_null(0).cast(pl.Int64),
    )
    aggregations = [
        pl.col("conversations").sum(), pl.col("bot_first").sum(), pl.col("bot_contained").sum(),
        pl.col(f"{m}_achieved").sum().alias("achieved"),
        (pl.col(f"{m}_breached").sum() + pl.col("_open_breached").sum()).alias("breached"),
        (pl.col("_open").sum() - pl.col("_open_breached").sum()).alias("pending"),
        pl.col(f"{m}_bot_contained").sum().alias("metric_bot_contained"),
        pl.col(f"{m}_not_started").sum().alias("not_started"),
        pl.col(f"{m}_no_target").sum().alias("no_target"),
        pl.col(f"{m}_responded").sum().alias("responded"),
        pl.col(f"{m}_seconds").sum().alias("_seconds"),
    ]
    by = list(by)
    grouped = frame.group_by(by).agg(aggregations) if by else frame.select(aggregations)
    decided = pl.col("achieved") + pl.col("breached")
    return grouped.with_columns(
        total=pl.col("achieved") + pl.col("breached") + pl.col("pending"),
        mean_seconds=pl.when(pl.col("responded") > 0).then(pl.col("_seconds") / pl.col("responded")),
        attainment=pl.when(decided > 0).then(pl.col("achieved") / decided),
    ).drop("_seconds")


def attainment_from_rollups(rollups: pl.LazyFrame | pl.DataFrame, metric: str, *, start: date, end: date, tz: str,
                            as_of: datetime, by: Sequence[str] = (),
                            filters: Mapping[str, Sequence] | None = None) -> pl.LazyFrame:
    """:func:`dashboard.metrics.sla.attainment_by`'s counts and attainment (with its Wilson interval) from the
    rollups, without the percentiles: ``by``, ``total``, ``achieved``, ``breached``, ``pending``,
    ``bot_contained``, ``not_started``, ``no_target``, ``attainment``, ``attainment_low``, ``attainment_high``,
    ``responded``, ``mean_seconds``."""
    counts = rollup_counts(rollups, metric, start=start, end=end, tz=tz, as_of=as_of, by=by, filters=filters)
    low, high = wilson_interval(pl.col("achieved"), pl.col("achieved") + pl.col("breached"))
    out = counts.with_columns(attainment_low=low, attainment_high=high).select(
        *by, "total", "achieved", "breached", "pending", pl.col("metric_bot_contained").alias("bot_contained"),
        "not_started", "no_target", "attainment", "attainment_low", "attainment_high", "responded", "mean_seconds")
    return out.sort(list(by), nulls_last=True) if by else out
