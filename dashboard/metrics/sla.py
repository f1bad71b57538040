"""Service-level evaluation: each conversation (or burst) × metric against the policy's targets.

For every row: the first matching target (by metric, tier, priority, channel), its clock (business or
calendar) and schedule, ``breach_at`` = clock start + target in that clock, the elapsed time in business and
calendar seconds, and the status:

- ``achieved``: the stopping event is at or before ``breach_at`` (a tie at exactly ``breach_at`` is achieved);
- ``breached``: it is after ``breach_at``, or there is none yet and ``as_of`` is after ``breach_at``;
- ``pending``: no stopping event yet and ``as_of`` is at or before ``breach_at``;
- ``bot_contained`` (first response only): the bot handled the conversation alone, no human clock;
- ``not_started``: no clock start by ``as_of`` (e.g. still with the bot, or no inbound post);
- ``no_target``: no target of the policy matches.

Events after ``as_of`` are treated as not having happened yet, so a report "as of" a past instant shows
what was known then. Attainment = achieved ÷ (achieved + breached); pending rows are counted apart.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.metrics._fingerprint import code_fingerprint
from dashboard.metrics.business_hours import business_clock, clock_ms_from_epoch, epoch_from_clock_ms
from dashboard.metrics.policy import METRICS, Policy, Target
from dashboard.metrics.stats import difference_interval, nearest_ranks_by, wilson_interval
from dashboard.schema import TIME

__all__ = [
    "ATTAINMENT_PARTS",
    "KEPT_PREFIX",
    "METRIC_CLOCKS",
    "STATUSES",
    "attainment_by",
    "attainment_by_metric",
    "attainment_by_period",
    "attainment_columns",
    "compare_attainment",
    "evaluate",
    "evaluate_window",
    "evaluation_keys",
    "in_window",
    "kept_columns",
    "met_all",
    "previous_window",
    "resolve_as_of",
    "window_bounds",
]

METRIC_CLOCKS: dict[str, tuple[str, str]] = {
    "first_response": ("clock_start", "first_response_time"),
    "next_response": ("burst_time", "response_time"),
    "time_to_assign": ("queue_entry_time", "first_assigned_time"),
    "resolution": ("created_time", "closed_time"),
}
"""Per metric: (clock start column, stopping event column) in the frame given to :func:`evaluate`.
``next_response`` takes the burst frame of :func:`dashboard.metrics.conversations.customer_bursts`; the
others take :func:`dashboard.metrics.conversations.conversation_facts`."""

STATUSES = ("achieved", "breached", "pending", "bot_contained", "not_started", "no_target")


def resolve_as_of(as_of: datetime | None) -> datetime:
    """``as_of`` as an aware UTC datetime (None = now, to the millisecond)."""
    if as_of is None:
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no time zone; give an aware datetime (e.g. UTC)")
    return as_of.astimezone(UTC)


def _matches(target: Target) -> pl.Expr:
    condition = pl.lit(True)
    if target.tier is not None:
        condition &= pl.col("tier").is_in(list(target.tier))
    if target.priority is not None:
        condition &= pl.col("priority").is_in(list(target.priority))
    if target.channel is not None:
        condition &= pl.col("network").str.to_lowercase().is_in(list(target.channel))
    return condition.fill_null(False)


def _by_rule(targets: Sequence[Target], value, dtype: pl.DataType) -> pl.Expr:
    """An expression choosing, per row, ``value(target)`` of the row's matched rule (``_rule`` index; null when
    none matched): one lookup per row in the rules' values."""
    if not targets:
        return pl.lit(None, dtype)
    values = pl.Series([value(t) for t in targets], dtype=dtype)
    return pl.lit(values).gather(pl.col("_rule"))


KEPT_PREFIX = "__sla"
"""Columns of a kept evaluation (:func:`evaluation_keys`) start with this; no metric outputs them."""
_KEPT_PARTS = ("rule", "f_start", "f_stop", "breach_at")


@functools.cache
def evaluation_code() -> str:
    """The fingerprint of the code that defines an evaluation (this module, business hours, the policy)."""
    import sys

    from dashboard.metrics import business_hours, policy

    return code_fingerprint(sys.modules[__name__], business_hours, policy)


def kept_columns(policy: Policy, metric: str) -> dict[str, str]:
    """The names of the kept evaluation columns of ``metric`` under ``policy`` (part -> column): they name the
    policy's fingerprint and this code's digest, so an evaluation kept for another policy or by another
    definition is never used."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    digest = f"{policy.fingerprint[:10]}{evaluation_code()[:6]}"
    return {part: f"{KEPT_PREFIX}_{digest}_{metric}_{part}" for part in _KEPT_PARTS}


def _rule_expr(targets: Sequence[Target]) -> pl.Expr:
    rule: pl.Expr | pl.When | pl.Then = pl
    for i, target in enumerate(targets):
        rule = rule.when(_matches(target)).then(pl.lit(i, pl.Int32))  # type: ignore[union-attr]
    return rule.otherwise(pl.lit(None, pl.Int32)) if targets else pl.lit(None, pl.Int32)  # type: ignore[union-attr]


def _check_columns(frame: pl.LazyFrame, metric: str) -> list[str]:
    start_col, stop_col = METRIC_CLOCKS[metric]
    columns = frame.collect_schema().names()
    missing = [c for c in (start_col, stop_col, "tier", "priority", "network") if c not in columns]
    if missing:
        hint = " (next_response takes the frame of customer_bursts())" if metric == "next_response" else ""
        raise ValueError(f"evaluate({metric!r}): the frame lacks column(s) {', '.join(missing)}{hint}")
    return columns


def evaluation_keys(frame: pl.LazyFrame, policy: Policy, metric: str) -> pl.LazyFrame:
    """The part of :func:`evaluate` that does not depend on "as of", one row per row of ``frame`` in its order,
    under the names of :func:`kept_columns`: the matched target's index (``rule``), the business clock at the
    clock start (``f_start``) and at the stopping event (``f_stop``), and ``breach_at``.

    Kept beside the facts (``dashboard.store.facts``), they make :func:`evaluate` of a frame that carries them
    a few arithmetic expressions per row, with the same answer."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    start_col, stop_col = METRIC_CLOCKS[metric]
    _check_columns(frame, metric)
    names = kept_columns(policy, metric)
    targets = policy.targets_for(metric)
    clock = business_clock(*policy.schedules.values())
    fallback_index = clock.index_of(policy.default_schedule.name)
    start_ms = pl.col(start_col).cast(TIME).dt.epoch("ms")
    index = pl.col("_schedule_index")
    target_ms = (pl.col("_target_seconds") * 1000).round(0).cast(pl.Int64)
    return (
        frame.select(_rule_expr(targets).alias("_rule"), pl.col(start_col), pl.col(stop_col))
        .with_columns(
            _by_rule(targets, lambda t: clock.index_of(t.schedule), pl.Int64()).fill_null(fallback_index)
            .alias("_schedule_index"),
            _by_rule(targets, lambda t: t.target_seconds, pl.Float64()).alias("_target_seconds"),
            _by_rule(targets, lambda t: t.clock, pl.String()).alias("_clock"),
        )
        .with_columns(_f_start=clock_ms_from_epoch(start_ms, clock, index))
        .select(
            pl.col("_rule").alias(names["rule"]),
            pl.col("_f_start").alias(names["f_start"]),
            clock_ms_from_epoch(pl.col(stop_col).cast(TIME).dt.epoch("ms"), clock, index).alias(names["f_stop"]),
            _breach_at(pl.col("_f_start"), start_ms, target_ms, pl.col("_clock") == "business", clock, index,
                       pl.lit(0, pl.Int64), pl.lit(0, pl.Int64)).alias(names["breach_at"]),
        )
    )


def _breach_at(f_start: pl.Expr, start_ms: pl.Expr, target_ms: pl.Expr, is_business: pl.Expr, clock,
               index: pl.Expr, pending_business_ms: pl.Expr, pending_calendar_ms: pl.Expr) -> pl.Expr:
    reached = epoch_from_clock_ms(f_start + target_ms + pending_business_ms, clock, index)
    return (
        pl.when(is_business).then(pl.when(reached.is_not_null()).then(pl.max_horizontal(reached, start_ms)))
        .otherwise(start_ms + target_ms + pending_calendar_ms)
        .cast(TIME)
    )


def evaluate(
    frame: pl.LazyFrame,
    policy: Policy,
    metric: str = "first_response",
    *,
    as_of: datetime | None = None,
    pending: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Evaluate ``metric`` for each row of ``frame`` against ``policy`` as of ``as_of`` (default now).

    ``pending`` (resolution only): the intervals of :func:`dashboard.metrics.conversations.pending_intervals`.
    When given, time spent waiting on the customer does not count: it is subtracted from the elapsed times
    (business and calendar, each in its own clock) and ``breach_at`` moves later by the pending time known
    by ``as_of``; ``pending_excluded_seconds`` reports it in the target's clock.

    Adds: ``metric``, ``start_time``, ``stop_time``, ``target_name``, ``target_seconds``, ``clock``,
    ``schedule``, ``breach_at``, ``elapsed_business_seconds``, ``elapsed_calendar_seconds``,
    ``elapsed_seconds`` (in the target's clock), ``response_seconds`` (elapsed, only when stopped),
    ``status`` (see :data:`STATUSES`) and ``breach_severity_seconds`` (elapsed − target, when breached).

    A frame that carries this policy's kept evaluation of ``metric`` (:func:`evaluation_keys`, as the core's
    ``facts_with_sla`` does) is evaluated from it: the same answer, without matching targets or walking the
    business clock for every row again.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    start_col, stop_col = METRIC_CLOCKS[metric]
    columns = _check_columns(frame, metric)
    as_of_utc = resolve_as_of(as_of)
    as_of_lit = pl.lit(as_of_utc).cast(TIME)
    targets = policy.targets_for(metric)
    # One combined business clock for every schedule of the policy: each row looks up its own schedule's block
    # (one search per instant), instead of evaluating every schedule for every row.
    schedules = tuple(policy.schedules.values())
    clock = business_clock(*schedules)
    fallback_index = clock.index_of(policy.default_schedule.name)
    kept = kept_columns(policy, metric)
    use_kept = pending is None and all(c in columns for c in kept.values())

    start = pl.col("start_time")
    start_ms = start.dt.epoch("ms")
    # Only what had happened by as_of counts; a start after as_of means the clock has not started.
    started = start.is_not_null() & (start <= as_of_lit)
    stop = pl.when(started & (pl.col(stop_col) <= as_of_lit)).then(pl.col(stop_col))
    end = pl.when(started).then(pl.coalesce(pl.col("stop_time"), as_of_lit))
    is_business = pl.col("clock") == "business"
    schedule_index = pl.col("_schedule_index")
    target_ms = (pl.col("target_seconds") * 1000).round(0).cast(pl.Int64)

    out = (
        frame.with_columns(
            pl.lit(metric).alias("metric"),
            pl.col(start_col).cast(TIME).alias("start_time"),
            _rule=pl.col(kept["rule"]) if use_kept else _rule_expr(targets),
        )
        .with_columns(
            stop.cast(TIME).alias("stop_time"),
            _by_rule(targets, lambda t: t.label, pl.String()).alias("target_name"),
            _by_rule(targets, lambda t: t.target_seconds, pl.Float64()).alias("target_seconds"),
            _by_rule(targets, lambda t: t.clock, pl.String()).alias("clock"),
            _by_rule(targets, lambda t: clock.index_of(t.schedule), pl.Int64()).fill_null(fallback_index)
            .alias("_schedule_index"),
        )
        .with_columns(
            _by_rule(targets, lambda t: t.schedule, pl.String()).fill_null(policy.default_schedule.name)
            .alias("schedule"),
            end.cast(TIME).alias("_end"),
            (pl.col(kept["f_start"]) if use_kept else clock_ms_from_epoch(start_ms, clock, schedule_index))
            .alias("_f_start"),
        )
    )
    if pending is not None:
        if metric != "resolution":
            raise ValueError("pending time can be excluded from the resolution metric only")
        out = _with_pending_excluded(out, pending, clock)
    else:
        out = out.with_columns(_pending_business_ms=pl.lit(0, pl.Int64), _pending_calendar_ms=pl.lit(0, pl.Int64))
    end_ms = pl.col("_end").dt.epoch("ms")
    if use_kept:
        # The clock at the stopping event was kept; a clock still running ends at as_of, whose business clock
        # value depends only on the schedule: looked up per schedule, not searched per row.
        as_of_ms = (as_of_utc - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        at_as_of = pl.select(clock_ms_from_epoch(pl.lit(as_of_ms, pl.Int64), clock,
                                                 pl.int_range(len(schedules), dtype=pl.Int64))).to_series()
        f_end = (pl.when(pl.col("stop_time").is_not_null()).then(pl.col(kept["f_stop"]))
                 .when(pl.col("_end").is_not_null()).then(pl.lit(at_as_of).gather(schedule_index)))
        breach_at = pl.col(kept["breach_at"])
    else:
        f_end = clock_ms_from_epoch(end_ms, clock, schedule_index)
        breach_at = _breach_at(pl.col("_f_start"), start_ms, target_ms, is_business, clock, schedule_index,
                               pl.col("_pending_business_ms"), pl.col("_pending_calendar_ms"))
    out = (
        out.with_columns(
            f_end.alias("_f_end"),
            breach_at.alias("breach_at"),
        )
        .with_columns(
            ((pl.col("_f_end") - pl.col("_f_start") - pl.col("_pending_business_ms")) / 1000.0)
            .alias("elapsed_business_seconds"),
            (((pl.col("_end") - start).dt.total_milliseconds() - pl.col("_pending_calendar_ms")) / 1000.0)
            .alias("elapsed_calendar_seconds"),
        )
        .with_columns(
            pl.when(is_business).then(pl.col("elapsed_business_seconds"))
            .otherwise(pl.col("elapsed_calendar_seconds")).alias("elapsed_seconds"),
        )
    )
    contained = pl.col("bot_contained").fill_null(False) if (
        metric == "first_response" and "bot_contained" in columns) else pl.lit(False)
    stopped = pl.col("stop_time").is_not_null()
    status = (
        pl.when(contained).then(pl.lit("bot_contained"))
        .when(~started).then(pl.lit("not_started"))
        .when(pl.col("_rule").is_null()).then(pl.lit("no_target"))
        .when(stopped & (pl.col("stop_time") <= pl.col("breach_at"))).then(pl.lit("achieved"))
        .when(stopped).then(pl.lit("breached"))
        .when(as_of_lit > pl.col("breach_at")).then(pl.lit("breached"))
        .otherwise(pl.lit("pending"))
    )
    out = out.with_columns(status=status).with_columns(
        response_seconds=pl.when(stopped & pl.col("status").is_in(["achieved", "breached"]))
        .then(pl.col("elapsed_seconds")),
        breach_severity_seconds=pl.when(pl.col("status") == "breached")
        .then(pl.col("elapsed_seconds") - pl.col("target_seconds")),
    )
    if pending is not None:
        out = out.with_columns(
            pending_excluded_seconds=pl.when(is_business).then(pl.col("_pending_business_ms"))
            .otherwise(pl.col("_pending_calendar_ms")) / 1000.0
        )
    return out.drop("_rule", "_schedule_index", "_end", "_f_start", "_f_end", "_pending_business_ms",
                    "_pending_calendar_ms")


def _with_pending_excluded(out: pl.LazyFrame, pending: pl.LazyFrame, clock) -> pl.LazyFrame:
    """Add the pending time inside each row's [start, end) in both clocks (``_pending_*_ms``)."""
    cid = "conversation_id"
    lo = pl.max_horizontal("pending_start", "start_time")
    hi = pl.min_horizontal(pl.coalesce("pending_end", "_end"), "_end")
    index = pl.col("_schedule_index")
    inside = (
        pending.join(out.select(cid, "start_time", "_end", "_schedule_index").drop_nulls("_end"), on=cid,
                     how="inner")
        .with_columns(_lo=lo, _hi=hi)
        .filter(pl.col("_hi") > pl.col("_lo"))
        .with_columns(
            _cal=(pl.col("_hi") - pl.col("_lo")).dt.total_milliseconds(),
            _bus=clock_ms_from_epoch(pl.col("_hi").dt.epoch("ms"), clock, index)
            - clock_ms_from_epoch(pl.col("_lo").dt.epoch("ms"), clock, index),
        )
        .group_by(cid)
        .agg(_pending_calendar_ms=pl.col("_cal").sum().cast(pl.Int64),
             _pending_business_ms=pl.col("_bus").sum().cast(pl.Int64))
    )
    return out.join(inside, on=cid, how="left").with_columns(
        pl.col("_pending_calendar_ms", "_pending_business_ms").fill_null(0))


def attainment_by(evaluated: pl.LazyFrame, by: Sequence[str] = (), *, clock: str = "target") -> pl.LazyFrame:
    """Attainment per group of ``by`` columns (all rows as one group when empty).

    Columns: the group columns, ``total`` (achieved + breached + pending), ``achieved``, ``breached``,
    ``pending``, ``bot_contained``, ``not_started`` (e.g. still with the bot), ``no_target``, ``attainment``
    (achieved ÷ (achieved + breached); null when that is 0), ``attainment_low`` / ``attainment_high`` (95 %
    Wilson interval), ``responded``, ``median_seconds``, ``p90_seconds`` (nearest-rank), ``mean_seconds`` over
    rows whose stopping event happened (null when none did), in ``clock``: ``target`` (each row in its matched
    target's clock), ``business`` or ``calendar``.
    """
    seconds_by_clock = {"target": "response_seconds", "business": "elapsed_business_seconds",
                        "calendar": "elapsed_calendar_seconds"}
    if clock not in seconds_by_clock:
        raise ValueError(f"unknown clock {clock!r}; use {', '.join(seconds_by_clock)}")
    by = list(by)
    columns = evaluated.collect_schema().names()
    unknown = [c for c in by if c not in columns]
    if unknown:
        raise ValueError(f"attainment_by: unknown column(s) {', '.join(unknown)}; available: {', '.join(columns)}")
    status = pl.col("status")

    def count(value: str) -> pl.Expr:
        return (status == value).sum().cast(pl.Int64).alias(value)

    seconds = pl.when(pl.col("response_seconds").is_not_null()).then(pl.col(seconds_by_clock[clock]))
    # Collected once, only the columns the figures need: the counts and the percentiles each pass over these rows
    # (a cached plan instead made the pipeline from the raw exports 1.5x slower: its optimiser stops at a cache).
    rows = evaluated.select(*by, "status", seconds.alias("_seconds")).collect().lazy()
    seconds = pl.col("_seconds")
    aggregations = [
        status.is_in(["achieved", "breached", "pending"]).sum().cast(pl.Int64).alias("total"),
        count("achieved"),
        count("breached"),
        count("pending"),
        count("bot_contained"),
        count("not_started"),
        count("no_target"),
        seconds.is_not_null().sum().cast(pl.Int64).alias("responded"),
        seconds.mean().alias("mean_seconds"),
    ]
    keys = by or ["_all"]
    percentiles = nearest_ranks_by(rows.with_columns(_all=pl.lit(0, pl.Int8)) if not by else rows, keys,
                                   "_seconds", {"median_seconds": 0.5, "p90_seconds": 0.9})
    # Without groups the one row of totals stands even when nothing was evaluated.
    counted = rows.group_by(by).agg(aggregations) if by else rows.select(aggregations).with_columns(
        _all=pl.lit(0, pl.Int8))
    grouped = counted.join(percentiles, on=keys, how="left", nulls_equal=True)
    decided = pl.col("achieved") + pl.col("breached")
    low, high = wilson_interval(pl.col("achieved"), decided)
    result = grouped.with_columns(
        attainment=pl.when(decided > 0).then(pl.col("achieved") / decided),
        attainment_low=low,
        attainment_high=high,
    ).select(
        *by, "total", "achieved", "breached", "pending", "bot_contained", "not_started", "no_target", "attainment",
        "attainment_low", "attainment_high", "responded", "median_seconds", "p90_seconds", "mean_seconds",
    )
    return result.sort(by, nulls_last=True) if by else result


ATTAINMENT_PARTS = ("achieved", "breached", "pending", "attainment", "attainment_low", "attainment_high")
"""The :func:`attainment_by` columns a table beside other metrics' usually keeps."""


def attainment_columns(metric: str, parts: Sequence[str] = ATTAINMENT_PARTS) -> list[pl.Expr]:
    """:func:`attainment_by`'s columns ``parts`` renamed ``<metric>_<part>``, so that several metrics' attainment
    can stand side by side in one table."""
    return [pl.col(part).alias(f"{metric}_{part}") for part in parts]


def compare_attainment(table: pl.LazyFrame, column: str, order: Sequence[str] | None = None) -> pl.LazyFrame:
    """Every pair of groups of an :func:`attainment_by` table (grouped by ``column`` alone), with the difference
    of their attainments and its 95 % interval (Newcombe), so "is Platinum really served better than Gold?"
    has an honest answer.

    Columns: ``group``, ``other``, ``attainment``, ``other_attainment``, ``difference`` (group − other),
    ``difference_low``, ``difference_high``, ``verdict`` (``better`` / ``worse`` when the interval excludes 0,
    ``not distinguishable`` when it contains 0, null when either group has nothing decided). Pairs follow
    ``order`` (e.g. ``["Platinum", "Gold", "Silver", "Standard"]``), else the table's order.
    """
    ranked = table.select(
        pl.col(column).cast(pl.String).alias("group"), "achieved", "breached", "attainment",
    ).with_row_index("_rank")
    if order is not None:
        position = {name: i for i, name in enumerate(order)}
        ranked = ranked.with_columns(
            _rank=pl.col("group").replace_strict(position, default=len(position), return_dtype=pl.UInt32)
            * 1_000_000 + pl.col("_rank"))
    other = ranked.select(
        pl.col("group").alias("other"), pl.col("achieved").alias("_k2"), pl.col("breached").alias("_b2"),
        pl.col("attainment").alias("other_attainment"), pl.col("_rank").alias("_rank2"),
    )
    n1 = pl.col("achieved") + pl.col("breached")
    n2 = pl.col("_k2") + pl.col("_b2")
    low, high = difference_interval(pl.col("achieved"), n1, pl.col("_k2"), n2)
    return (
        ranked.join(other, how="cross")
        .filter(pl.col("_rank") < pl.col("_rank2"))
        .with_columns(
            difference=pl.col("attainment") - pl.col("other_attainment"),
            difference_low=low,
            difference_high=high,
        )
        .with_columns(
            verdict=pl.when(pl.col("difference_low") > 0).then(pl.lit("better"))
            .when(pl.col("difference_high") < 0).then(pl.lit("worse"))
            .when(pl.col("difference_low").is_not_null()).then(pl.lit("not distinguishable"))
        )
        .sort("_rank", "_rank2")
        .select("group", "other", "attainment", "other_attainment", "difference", "difference_low",
                "difference_high", "verdict")
    )


def met_all(evaluations: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """Conversation-level attainment: one row per conversation over several evaluated metrics.

    ``met_all`` is true when every decided metric was achieved and none breached; ``any_breached`` when at
    least one was breached; ``undecided`` counts metrics still pending. Bot-contained, not-started and
    untargeted evaluations are ignored. Columns: ``conversation_id``, ``metrics``, ``achieved``, ``breached``,
    ``undecided``, ``met_all``, ``any_breached``. (Reply-level attainment is :func:`attainment_by` over the
    ``next_response`` bursts; this is the conversation-level figure, labelled as such.)
    """
    if not evaluations:
        raise ValueError("met_all needs at least one evaluated metric")
    rows = pl.concat([e.select("conversation_id", "metric", "status") for e in evaluations], how="vertical_relaxed")
    status = pl.col("status")
    return (
        rows.filter(status.is_in(["achieved", "breached", "pending"]))
        .group_by("conversation_id")
        .agg(
            metrics=pl.col("metric").n_unique().cast(pl.Int64),
            achieved=(status == "achieved").sum().cast(pl.Int64),
            breached=(status == "breached").sum().cast(pl.Int64),
            undecided=(status == "pending").sum().cast(pl.Int64),
        )
        .with_columns(
            met_all=(pl.col("breached") == 0) & (pl.col("undecided") == 0),
            any_breached=pl.col("breached") > 0,
        )
    )


def window_bounds(start: date | datetime, end: date | datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in ``tz`` as UTC instants; a date means that local day's midnight (DST-correct)."""
    zone = ZoneInfo(tz)

    def to_utc(value: date | datetime) -> datetime:
        if isinstance(value, datetime):
            local = value if value.tzinfo else value.replace(tzinfo=zone)
        else:
            local = datetime(value.year, value.month, value.day, tzinfo=zone)
        return local.astimezone(UTC)

    lo, hi = to_utc(start), to_utc(end)
    if hi <= lo:
        raise ValueError(f"empty window: end {end} is not after start {start}")
    return lo, hi


def in_window(frame: pl.LazyFrame, start: date | datetime, end: date | datetime, tz: str = "UTC",
              column: str = "first_inbound_time") -> pl.LazyFrame:
    """Rows whose ``column`` (default: the conversation's first inbound post) is in [start, end) in ``tz``."""
    lo, hi = window_bounds(start, end, tz)
    return frame.filter((pl.col(column) >= pl.lit(lo).cast(TIME)) & (pl.col(column) < pl.lit(hi).cast(TIME)))


def previous_window(start: date, end: date) -> tuple[date, date]:
    """The window of the same number of days just before [start, end) (for period-over-period comparisons)."""
    length = (end - start).days
    if length <= 0:
        raise ValueError(f"empty window: end {end} is not after start {start}")
    return start - timedelta(days=length), start





def evaluate_window(frame: pl.LazyFrame | pl.DataFrame, policy: Policy, metric: str, *, start: date, end: date,
                    tz: str, as_of: datetime | None = None) -> pl.LazyFrame:
    """:func:`evaluate` of ``metric`` for the rows whose first inbound post is in [start, end) (local days)."""
    return evaluate(in_window(frame.lazy(), start, end, tz), policy, metric, as_of=as_of)


def attainment_by_metric(facts: pl.LazyFrame | pl.DataFrame, policy: Policy, metrics: Sequence[str],
                         by: Sequence[str], *, start: date, end: date, tz: str,
                         as_of: datetime | None = None) -> pl.DataFrame:
    """:func:`attainment_by` ``by`` for each of ``metrics`` over the window: ``metric`` first, then its columns."""
    frames = [
        attainment_by(evaluate_window(facts, policy, m, start=start, end=end, tz=tz, as_of=as_of), by)
        .with_columns(pl.lit(m).alias("metric"))
        .collect()
        for m in metrics
    ]
    return pl.concat(frames, how="vertical_relaxed").select("metric", pl.exclude("metric"))


def attainment_by_period(frame: pl.LazyFrame | pl.DataFrame, policy: Policy, metric: str, by: str, *,
                         start: date, end: date, tz: str, as_of: datetime | None = None) -> pl.DataFrame:
    """:func:`attainment_by` ``by`` in [start, end) and in the window of the same length just before it.

    Columns: ``by``, ``period`` ("previous" / "current"), then :func:`attainment_by`'s columns."""
    prev_start, prev_end = previous_window(start, end)
    frames = [
        attainment_by(evaluate_window(frame, policy, metric, start=lo, end=hi, tz=tz, as_of=as_of), [by])
        .with_columns(pl.lit(period).alias("period"))
        .collect()
        for period, (lo, hi) in (("previous", (prev_start, prev_end)), ("current", (start, end)))
    ]
    return pl.concat(frames, how="vertical_relaxed").select(by, "period", pl.exclude(by, "period"))
