"""Volume and the headline KPIs: arrivals per day and channel, the arrivals heatmap, and a KPI summary
compared with the previous period of the same length.

Days, hours and weekdays are in the report's IANA time zone (DST-correct: a local day is 23 or 25 hours
long when the clocks change). Conversations are placed by their first inbound post.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import attainment_by, evaluate, previous_window, resolve_as_of, window_bounds
from dashboard.schema import TIME

__all__ = ["KPI_UNITS", "arrivals_heatmap", "conversations_by_day", "kpi_summary", "previous_window"]

KPI_UNITS: dict[str, str] = {
    "conversations": "count",
    "first_response_attainment": "ratio",
    "frt_median_seconds": "seconds",
    "frt_p90_seconds": "seconds",
    "bot_containment_rate": "ratio",
    "resolution_attainment": "ratio",
    "resolution_median_seconds": "seconds",
    "pending_first_responses": "count",
}
"""The KPIs of :func:`kpi_summary`, in display order, with their unit (count, ratio or seconds)."""


def conversations_by_day(facts: pl.LazyFrame, start: date, end: date, tz: str, *, by: str | None = "network",
                         column: str = "first_inbound_time") -> pl.LazyFrame:
    """Conversations per local day over [start, end) (and per ``by`` value): every day present, 0 included.

    Columns: ``day``, ``by`` (when given), ``conversations``.
    """
    lo, hi = window_bounds(start, end, tz)
    keys = [by] if by else []
    counted = (
        facts.filter((pl.col(column) >= pl.lit(lo).cast(TIME)) & (pl.col(column) < pl.lit(hi).cast(TIME)))
        .group_by(pl.col(column).dt.convert_time_zone(tz).dt.date().alias("day"), *keys)
        .agg(conversations=pl.len().cast(pl.Int64))
    )
    days = pl.LazyFrame({"day": pl.date_range(start, end, interval="1d", closed="left", eager=True)})
    grid = days.join(counted.select(keys).unique(), how="cross") if by else days
    return (
        grid.join(counted, on=["day", *keys], how="left")
        .with_columns(pl.col("conversations").fill_null(0))
        .sort("day", *keys)
    )


def arrivals_heatmap(facts: pl.LazyFrame, tz: str, *, column: str = "first_inbound_time") -> pl.LazyFrame:
    """Arrivals by local weekday (1 = Monday .. 7 = Sunday) and hour (0-23): all 168 cells, 0 included.

    Columns: ``weekday``, ``hour``, ``conversations``.
    """
    local = pl.col(column).dt.convert_time_zone(tz)
    counted = (
        facts.drop_nulls(column)
        .group_by(local.dt.weekday().cast(pl.Int64).alias("weekday"), local.dt.hour().cast(pl.Int64).alias("hour"))
        .agg(conversations=pl.len().cast(pl.Int64))
    )
    cells = pl.LazyFrame({"weekday": list(range(1, 8))}).join(pl.LazyFrame({"hour": list(range(24))}), how="cross")
    return (
        cells.with_columns(pl.col("weekday", "hour").cast(pl.Int64))
        .join(counted, on=["weekday", "hour"], how="left")
        .with_columns(pl.col("conversations").fill_null(0))
        .sort("weekday", "hour")
    )


def kpi_summary(facts: pl.LazyFrame, policy: Policy, *, start: date, end: date, tz: str,
                as_of: datetime | None = None) -> pl.LazyFrame:
    """Headline KPIs for [start, end) and for the previous period of the same length.

    Columns: ``kpi`` (see :data:`KPI_UNITS`, in that order), ``unit``, ``value``, ``previous``, ``change``
    (value − previous; for ratios in ratio points). SLA figures use the same functions as the SLA report:
    attainment = achieved ÷ (achieved + breached), nearest-rank percentiles in the target's clock.
    ``bot_containment_rate`` = bot-contained ÷ bot-first conversations.
    """
    moment = resolve_as_of(as_of)
    prev_start, prev_end = previous_window(start, end)
    lo, hi = window_bounds(start, end, tz)
    plo, _ = window_bounds(prev_start, prev_end, tz)
    t = pl.col("first_inbound_time")
    labelled = facts.with_columns(
        period=pl.when((t >= pl.lit(lo).cast(TIME)) & (t < pl.lit(hi).cast(TIME))).then(pl.lit("value"))
        .when((t >= pl.lit(plo).cast(TIME)) & (t < pl.lit(lo).cast(TIME))).then(pl.lit("previous"))
    ).filter(pl.col("period").is_not_null())
    first = attainment_by(evaluate(labelled, policy, "first_response", as_of=moment), ["period"]).select(
        "period",
        pl.col("attainment").alias("first_response_attainment"),
        pl.col("median_seconds").alias("frt_median_seconds"),
        pl.col("p90_seconds").alias("frt_p90_seconds"),
        pl.col("pending").cast(pl.Float64).alias("pending_first_responses"),
    )
    resolution = attainment_by(evaluate(labelled, policy, "resolution", as_of=moment), ["period"]).select(
        "period",
        pl.col("attainment").alias("resolution_attainment"),
        pl.col("median_seconds").alias("resolution_median_seconds"),
    )
    counts = labelled.group_by("period").agg(
        conversations=pl.len().cast(pl.Float64),
        bot_containment_rate=pl.when(pl.col("bot_first").sum() > 0)
        .then(pl.col("bot_contained").sum() / pl.col("bot_first").sum()),
    )
    periods = pl.LazyFrame({"period": ["value", "previous"]})
    wide = (
        periods.join(counts, on="period", how="left")
        .join(first, on="period", how="left")
        .join(resolution, on="period", how="left")
        .with_columns(pl.col("conversations", "pending_first_responses").fill_null(0.0))
        .select("period", *[pl.col(k).cast(pl.Float64) for k in KPI_UNITS])
    )

    def long(period: str) -> pl.LazyFrame:
        return wide.filter(pl.col("period") == period).drop("period").unpivot(variable_name="kpi", value_name=period)

    order = pl.LazyFrame({"kpi": list(KPI_UNITS), "unit": list(KPI_UNITS.values()),
                          "_order": list(range(len(KPI_UNITS)))})
    return (
        order.join(long("value"), on="kpi", how="left")
        .join(long("previous"), on="kpi", how="left")
        .with_columns(change=pl.col("value") - pl.col("previous"))
        .sort("_order")
        .select("kpi", "unit", "value", "previous", "change")
    )
