"""Daily rollups: the KPIs' counts per local day x dimension cell, so a KPI card or a period comparison over any
window of whole days is a sum over days, not a pass over every conversation.

A rollup row is one cell: the local day (in the rollup's IANA time zone) of the conversation's first inbound
post — the day windows select conversations by — and every dimension of :data:`dashboard.filters.DIMENSIONS`
(tier, priority, work queue, channel, team, agent). Its values, for the conversations of that cell:

- ``conversations``, ``bot_first``, ``bot_contained``;
- per metric of :data:`ROLLUP_METRICS`: ``<m>_achieved`` and ``<m>_breached`` (decided by the stopping event),
  ``<m>_bot_contained``, ``<m>_not_started``, ``<m>_no_target``, ``<m>_responded`` and ``<m>_seconds`` (the sum
  of the response times in the target's clock, for a mean), and ``<m>_open``: how many clocks are still running
  (started, with a target, no stopping event). Whether a running clock is breached or pending depends on "as
  of": :func:`running_clocks` keeps each one's ``breach_at`` (a backlog's worth of rows), decided when read.

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
           "running_clocks", "valid_from"]

ROLLUP_METRICS = ("first_response", "time_to_assign", "resolution")
CELL = ("day", "tier", "priority", "work_queue_id", "network", "team_id", "agent_id")
"""A rollup row's key: the local day of the first inbound post and the dimension columns of the facts."""
EVENT_TIMES = ("created_time", "closed_time", "clock_start", "first_response_time", "first_assigned_time")
_FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def valid_from(facts: pl.LazyFrame) -> pl.LazyFrame:
    """The latest start or stop instant of any metric in ``facts`` (one row, ``valid_from``): rollups answer for
    "as of" at or after it (every clock's start and stop is then known as it will be)."""
    return facts.select(pl.max_horizontal(*(pl.col(c).max() for c in EVENT_TIMES)).alias("valid_from"))


def _evaluated(facts: pl.LazyFrame, policy: Policy, timezone: str) -> pl.LazyFrame:
    """``facts`` with ``day`` and, per metric, indicator columns of its status as its events decide it: evaluated
    as of the far future, when every clock that will start has started and every stop has happened; a clock
    with no stopping event is "running" (``_<m>_running_at``: its breach_at)."""
    day = pl.col("first_inbound_time").dt.convert_time_zone(timezone).dt.date().alias("day")
    frame = facts.filter(pl.col("first_inbound_time").is_not_null()).with_columns(day)
    keep = frame.collect_schema().names()
    for metric in ROLLUP_METRICS:
        status = pl.col("status")
        stopped = pl.col("stop_time").is_not_null()
        # Performance: every indicator is a column before the group-by (a predicate inside a group-by's
        # aggregation runs per group, many times slower).
        frame = evaluate(frame, policy, metric, as_of=_FAR_FUTURE).select(
            *keep,
            (status == "achieved").cast(pl.Int64).alias(f"_{metric}_achieved"),
            ((status == "breached") & stopped).cast(pl.Int64).alias(f"_{metric}_breached"),
            (status == "bot_contained").cast(pl.Int64).alias(f"_{metric}_bot_contained"),
            (status == "not_started").cast(pl.Int64).alias(f"_{metric}_not_started"),
            (status == "no_target").cast(pl.Int64).alias(f"_{metric}_no_target"),
            pl.col("response_seconds").alias(f"_{metric}_seconds"),
            pl.when(status.is_in(["breached", "pending"]) & ~stopped).then(pl.col("breach_at"))
            .alias(f"_{metric}_running_at"),
        )
        keep = frame.collect_schema().names()
    return frame


def daily_rollups(facts: pl.LazyFrame, policy: Policy, timezone: str, *, also_by: Sequence[str] = ()
                  ) -> pl.LazyFrame:
    """The rollup rows of ``facts`` (which may carry ``policy``'s kept evaluation) in ``timezone``'s local days
    (see the module docstring); ``also_by``: more key columns (the store files rollups by stored day). The
    breach_at of each running clock is in :func:`running_clocks`; a rollup row counts them (``<m>_open``)."""
    aggregations: list[pl.Expr] = [
        pl.len().cast(pl.Int64).alias("conversations"),
        pl.col("bot_first").sum().cast(pl.Int64).alias("bot_first"),
        pl.col("bot_contained").sum().cast(pl.Int64).alias("bot_contained"),
    ]
    for m in ROLLUP_METRICS:
        aggregations += [
            *(pl.col(f"_{m}_{part}").sum().alias(f"{m}_{part}")
              for part in ("achieved", "breached", "bot_contained", "not_started", "no_target")),
            pl.col(f"_{m}_seconds").count().cast(pl.Int64).alias(f"{m}_responded"),
            pl.col(f"_{m}_seconds").sum().alias(f"{m}_seconds"),
            pl.col(f"_{m}_running_at").count().cast(pl.Int64).alias(f"{m}_open"),
        ]
    keys = [*also_by, *CELL]
    return _evaluated(facts, policy, timezone).group_by(*keys).agg(aggregations).sort(keys, nulls_last=True)


def running_clocks(facts: pl.LazyFrame, policy: Policy, timezone: str, *, also_by: Sequence[str] = ()
                   ) -> pl.LazyFrame:
    """One row per clock that has started, has a target and no stopping event (the rollups' ``<m>_open``): its
    cell, ``metric`` and ``breach_at`` — breached or pending depending on "as of", decided when read."""
    evaluated = _evaluated(facts, policy, timezone)
    keys = [*also_by, *CELL]
    return pl.concat([
        evaluated.filter(pl.col(f"_{m}_running_at").is_not_null())
        .select(*keys, pl.lit(m).alias("metric"), pl.col(f"_{m}_running_at").alias("breach_at"))
        for m in ROLLUP_METRICS
    ]).sort([*keys, "metric", "breach_at"], nulls_last=True)


def merge_rollups(parts: Sequence[pl.LazyFrame | pl.DataFrame]) -> pl.LazyFrame:
    """Rollup rows of several parts (days filed apart) as one row per cell, counts added."""
    if not parts:
        raise ValueError("merge_rollups needs at least one part")
    frame = pl.concat([p.lazy() for p in parts], how="vertical_relaxed")
    names = frame.collect_schema().names()
    sums = [c for c in names if c not in CELL]
    return frame.group_by(*CELL).agg(*(pl.col(c).sum() for c in sums)).select(names).sort(list(CELL),
                                                                                          nulls_last=True)


def _window(frame: pl.LazyFrame, start: date, end: date, filters: Mapping[str, Sequence] | None) -> pl.LazyFrame:
    frame = frame.filter((pl.col("day") >= start) & (pl.col("day") < end))
    schema = frame.collect_schema()
    for column, values in (filters or {}).items():
        if values:
            frame = frame.filter(pl.col(column).is_in(pl.Series(list(values)).cast(schema[column], strict=False)
                                                      .implode()))
    return frame


def rollup_counts(rollups: pl.LazyFrame | pl.DataFrame, running: pl.LazyFrame | pl.DataFrame, metric: str, *,
                  start: date, end: date, tz: str, as_of: datetime, by: Sequence[str] = (),
                  filters: Mapping[str, Sequence] | None = None) -> pl.LazyFrame:
    """Per group of ``by`` (rollup cell columns), over the local days [start, end) of the rollups' own zone
    ``tz``: ``conversations``, ``bot_first``, ``bot_contained`` and ``metric``'s ``total``, ``achieved``,
    ``breached``, ``pending``, ``metric_bot_contained``, ``not_started``, ``no_target``, ``responded``,
    ``mean_seconds``, ``attainment``; the ``running`` clocks (:func:`running_clocks`) are decided at ``as_of``
    (which must not be before :func:`valid_from`). ``filters``: ``{cell column: values}``."""
    window_bounds(start, end, tz)  # the same checks as every window (an empty window is an error)
    at = pl.lit(resolve_as_of(as_of)).cast(TIME)
    by = list(by)
    m = metric
    cells = _window(rollups.lazy(), start, end, filters)
    clocks = (_window(running.lazy(), start, end, filters).filter(pl.col("metric") == m)
              .with_columns(_late=(pl.col("breach_at") < at).fill_null(False).cast(pl.Int64)))
    aggregations = [
        pl.col("conversations").sum(), pl.col("bot_first").sum(), pl.col("bot_contained").sum(),
        pl.col(f"{m}_achieved").sum().alias("achieved"), pl.col(f"{m}_breached").sum().alias("_breached"),
        pl.col(f"{m}_open").sum().alias("_open"),
        pl.col(f"{m}_bot_contained").sum().alias("metric_bot_contained"),
        pl.col(f"{m}_not_started").sum().alias("not_started"), pl.col(f"{m}_no_target").sum().alias("no_target"),
        pl.col(f"{m}_responded").sum().alias("responded"), pl.col(f"{m}_seconds").sum().alias("_seconds"),
    ]
    if by:
        grouped = cells.group_by(by).agg(aggregations).join(
            clocks.group_by(by).agg(pl.col("_late").sum()), on=by, how="left", nulls_equal=True)
    else:
        grouped = pl.concat([cells.select(aggregations), clocks.select(pl.col("_late").sum())], how="horizontal")
    late = pl.col("_late").fill_null(0)
    decided = pl.col("achieved") + pl.col("breached")
    return (grouped.with_columns(breached=pl.col("_breached") + late, pending=pl.col("_open") - late)
            .with_columns(
                total=pl.col("achieved") + pl.col("breached") + pl.col("pending"),
                mean_seconds=pl.when(pl.col("responded") > 0).then(pl.col("_seconds") / pl.col("responded")),
                attainment=pl.when(decided > 0).then(pl.col("achieved") / decided))
            .drop("_breached", "_open", "_seconds", "_late"))


def attainment_from_rollups(rollups: pl.LazyFrame | pl.DataFrame, running: pl.LazyFrame | pl.DataFrame, metric: str,
                            *, start: date, end: date, tz: str, as_of: datetime, by: Sequence[str] = (),
                            filters: Mapping[str, Sequence] | None = None) -> pl.LazyFrame:
    """:func:`dashboard.metrics.sla.attainment_by`'s counts and attainment (with its Wilson interval) from the
    rollups, without the percentiles: ``by``, ``total``, ``achieved``, ``breached``, ``pending``,
    ``bot_contained``, ``not_started``, ``no_target``, ``attainment``, ``attainment_low``, ``attainment_high``,
    ``responded``, ``mean_seconds``."""
    counts = rollup_counts(rollups, running, metric, start=start, end=end, tz=tz, as_of=as_of, by=by,
                           filters=filters)
    low, high = wilson_interval(pl.col("achieved"), pl.col("achieved") + pl.col("breached"))
    out = counts.with_columns(attainment_low=low, attainment_high=high).select(
        *by, "total", "achieved", "breached", "pending", pl.col("metric_bot_contained").alias("bot_contained"),
        "not_started", "no_target", "attainment", "attainment_low", "attainment_high", "responded", "mean_seconds")
    return out.sort(list(by), nulls_last=True) if by else out
