"""Small pure aggregations the pages need that the core metric modules do not provide.

Report windows are whole local days in an IANA zone (``[start, end)``, ``end`` exclusive); they are turned into
UTC instants here, once, so a day boundary is midnight in the report zone on every side of a DST change.
Everything is LazyFrame/DataFrame in, same kind out; no I/O, no Streamlit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.schema import TIME

__all__ = [
    "agent_state_timeline",
    "agent_states_now",
    "arrivals_heatmap",
    "daily_counts",
    "in_window",
    "volume_by_day",
    "window_bounds",
]

Frame = pl.DataFrame | pl.LazyFrame


def window_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at ``start`` and at ``end`` (exclusive) in the zone ``tz``."""
    if end <= start:
        raise ValueError(f"report window must end after it starts: {start} .. {end}")
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time(), zone).astimezone(UTC),
        datetime.combine(end, time(), zone).astimezone(UTC),
    )


def in_window(frame: Frame, start: date, end: date, tz: str, column: str) -> Frame:
    """Rows whose ``column`` instant falls in the local-day window ``[start, end)``."""
    lo, hi = window_bounds(start, end, tz)
    return frame.filter(pl.col(column) >= pl.lit(lo, TIME), pl.col(column) < pl.lit(hi, TIME))


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
