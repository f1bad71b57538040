"""Arrivals per local hour and channel group, their seasonal forecast and its error (WAPE) on held-back weeks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl

from dashboard.metrics._planning import PlanningError, local_hour_grid
from dashboard.metrics.sla import window_bounds
from dashboard.schema import TIME

REALTIME = "realtime"
ASYNC = "async"
CHANNEL_GROUPS = (REALTIME, ASYNC)
REALTIME_CHANNELS = ("brand_messenger", "chat", "live_chat", "livechat", "web_chat")
"""Networks planned with Erlang C (the customer waits on the page); every other network is asynchronous."""
MODELS = {REALTIME: "erlang_c", ASYNC: "workload"}
HOUR = 3600.0
WEEK = timedelta(days=7)


def channel_group(network: pl.Expr, realtime_channels: Sequence[str] = REALTIME_CHANNELS) -> pl.Expr:
    """``realtime`` for a network in ``realtime_channels`` (case-insensitive), else ``async``."""
    names = [c.lower() for c in realtime_channels]
    return pl.when(network.str.to_lowercase().is_in(names)).then(pl.lit(REALTIME)).otherwise(pl.lit(ASYNC))


def _bounds(start: date | datetime, end: date | datetime, tz: str) -> tuple[datetime, datetime]:
    try:
        return window_bounds(start, end, tz)
    except ValueError as e:
        raise PlanningError(str(e)) from None


def hourly_arrivals(
    facts: pl.LazyFrame,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str,
    column: str = "clock_start",
    realtime_channels: Sequence[str] = REALTIME_CHANNELS,
) -> pl.LazyFrame:
    """Conversations whose ``column`` falls in each local hour of [start, end), per channel group; every hour
    and group present (0 included).

    Columns: ``hour_start``, ``hour_end``, ``local_start``, ``local_date``, ``weekday``, ``hour``,
    ``channel_group``, ``arrivals``.
    """
    lo, hi = _bounds(start, end, tz)
    grid = local_hour_grid(lo, hi, tz).lazy()
    t = pl.col(column)
    events = (
        facts.filter(t.is_not_null() & (t >= pl.lit(lo).cast(TIME)) & (t < pl.lit(hi).cast(TIME)))
        .select(t.cast(TIME).alias("_t"), channel_group(pl.col("network"), realtime_channels).alias("channel_group"))
        .sort("_t")
    )
    counted = (
        events.join_asof(grid.select("hour_start").sort("hour_start"), left_on="_t", right_on="hour_start",
                         strategy="backward", check_sortedness=False)
        .group_by("hour_start", "channel_group")
        .agg(arrivals=pl.len().cast(pl.Int64))
    )
    groups = pl.LazyFrame({"channel_group": list(CHANNEL_GROUPS)})
    return (
        grid.join(groups, how="cross")
        .join(counted, on=["hour_start", "channel_group"], how="left")
        .with_columns(pl.col("arrivals").fill_null(0))
        .sort("hour_start", "channel_group")
    )


def _eager(frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def seasonal_forecast(
    history: pl.LazyFrame | pl.DataFrame,
    *,
    end: date,
    tz: str,
    horizon_days: int = 14,
    weeks: int = 4,
) -> pl.DataFrame:
    """Arrivals per local hour of the local days [end, end + horizon_days) and channel group: the mean of the same
    local hour of the week over the ``weeks`` weeks of ``history`` before ``end`` (see the module docstring).

    ``history``: :func:`hourly_arrivals` covering at least those weeks. Columns: those of the hour grid,
    ``channel_group``, ``forecast``.
    """
    if not isinstance(weeks, int) or isinstance(weeks, bool) or weeks < 1:
        raise PlanningError(f"weeks must be a whole number of weeks >= 1, got {weeks!r}")
    if not isinstance(horizon_days, int) or isinstance(horizon_days, bool) or not 1 <= horizon_days <= 366:
        raise PlanningError(f"horizon_days must be a whole number of days from 1 to 366, got {horizon_days!r}")
    hist = _eager(history)
    fit_start = end - timedelta(days=7 * weeks)
    first, last = hist["local_date"].min(), hist["local_date"].max()
    if first is None or first > fit_start or last < end - timedelta(days=1):
        covered = "no hours" if first is None else f"{first} to {last}"
        raise PlanningError(f"the forecast needs {weeks} week(s) of hourly arrivals before {end} "
                            f"({fit_start} on); the history covers {covered}")
    window = hist.filter((pl.col("local_date") >= fit_start) & (pl.col("local_date") < end))
    profile = window.group_by("channel_group", "weekday", "hour").agg(forecast=pl.col("arrivals").mean())
    lo, hi = _bounds(end, end + timedelta(days=horizon_days), tz)
    future = local_hour_grid(lo, hi, tz)
    groups = pl.DataFrame({"channel_group": list(CHANNEL_GROUPS)})
    return (
        future.join(groups, how="cross")
        .join(profile, on=["channel_group", "weekday", "hour"], how="left")
        .with_columns(pl.col("forecast").fill_null(0.0))
        .sort("hour_start", "channel_group")
    )


def backtest_forecast(
    history: pl.LazyFrame | pl.DataFrame,
    *,
    end: date,
    tz: str,
    holdout_weeks: int = 2,
    weeks: int = 4,
) -> pl.DataFrame:
    """The forecast's error on the most recent ``holdout_weeks`` of ``history``: forecast them from the ``weeks``
    weeks before, hour by hour, beside what happened and beside the naive "same hour last week" forecast.

    Columns: the hour grid, ``channel_group``, ``actual``, ``forecast``, ``naive_forecast``.
    """
    if not isinstance(holdout_weeks, int) or isinstance(holdout_weeks, bool) or holdout_weeks < 1:
        raise PlanningError(f"holdout_weeks must be a whole number of weeks >= 1, got {holdout_weeks!r}")
    hist = _eager(history)
    cutoff = end - timedelta(days=7 * holdout_weeks)
    horizon = holdout_weeks * 7
    model = seasonal_forecast(hist, end=cutoff, tz=tz, horizon_days=horizon, weeks=weeks)
    naive = seasonal_forecast(hist, end=cutoff, tz=tz, horizon_days=horizon, weeks=1)
    actual = hist.filter((pl.col("local_date") >= cutoff) & (pl.col("local_date") < end)).select(
        "hour_start", "channel_group", pl.col("arrivals").alias("actual"))
    return (
        model.join(naive.select("hour_start", "channel_group", pl.col("forecast").alias("naive_forecast")),
                   on=["hour_start", "channel_group"], how="left")
        .join(actual, on=["hour_start", "channel_group"], how="inner")
        .sort("hour_start", "channel_group")
    )


def forecast_wape(backtest: pl.DataFrame | pl.LazyFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """WAPE of a :func:`backtest_forecast` per ``by`` (e.g. ``["channel_group"]``, ``["hour"]``).

    Without ``channel_group`` in ``by`` the groups are first added up per hour, so the figure is the error of
    the forecast of all arrivals. Columns: ``by``, ``hours``, ``actual``, ``wape``, ``naive_wape`` (null when
    nothing arrived).
    """
    frame = _eager(backtest)
    by = list(by)
    if "channel_group" not in by:
        keys = ["hour_start", *[c for c in ("local_start", "local_date", "weekday", "hour") if c in frame.columns]]
        frame = frame.group_by(keys).agg(pl.col("actual", "forecast", "naive_forecast").sum())
    aggs = [
        pl.len().cast(pl.Int64).alias("hours"),
        pl.col("actual").sum().cast(pl.Float64).alias("actual"),
        (pl.col("actual") - pl.col("forecast")).abs().sum().alias("_err"),
        (pl.col("actual") - pl.col("naive_forecast")).abs().sum().alias("_naive_err"),
    ]
    grouped = frame.group_by(by).agg(aggs) if by else frame.select(aggs)
    out = grouped.with_columns(
        wape=pl.when(pl.col("actual") > 0).then(pl.col("_err") / pl.col("actual")),
        naive_wape=pl.when(pl.col("actual") > 0).then(pl.col("_naive_err") / pl.col("actual")),
    ).drop("_err", "_naive_err")
    return out.sort(by) if by else out
