"""What the planning metrics (reasons, occupancy, staffing, what-if) share: their error and the local hour grid.

Hours are local hours of an IANA zone, found as the UTC instants where the local clock shows minute 0. That
keeps every zone right without special cases: on the day daylight saving ends the repeated local hour is two
rows (two different UTC hours), on the day it starts the skipped hour is simply absent, and zones with a 30- or
45-minute offset get their own local hour starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from dashboard.errors import PlanningError
from dashboard.schema import TIME

__all__ = ["HOUR_COLUMNS", "PlanningError", "check_probability", "check_zone", "local_hour_grid"]

HOUR_COLUMNS = ("hour_start", "hour_end", "local_start", "local_date", "weekday", "hour")
"""The columns of :func:`local_hour_grid`: UTC bounds of the local hour, its local wall-clock start (naive),
local date, ISO weekday (1 = Monday .. 7 = Sunday) and hour of the day (0-23)."""


def check_zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlanningError(f"time zone {tz!r} is not an IANA name like 'America/New_York'") from None


def check_probability(name: str, value: float, *, allow_one: bool = False) -> float:
    """``value`` as a float in (0, 1) (or (0, 1] with ``allow_one``); a clear error otherwise."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and value > 0 and (value <= 1 if allow_one else value < 1)):
        bound = "(0, 1]" if allow_one else "(0, 1)"
        raise PlanningError(f"{name} must be a number in {bound}, got {value!r}")
    return float(value)


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise PlanningError(f"{name} {value.isoformat()} has no time zone; give an aware datetime (e.g. UTC)")
    return value.astimezone(UTC)


def local_hour_grid(start: datetime, end: datetime, tz: str) -> pl.DataFrame:
    """Every local hour of ``tz`` that overlaps [start, end) (aware datetimes), in time order.

    Columns: see :data:`HOUR_COLUMNS`. The first and last hours may stick out of the window (an hour starting
    before ``start``); callers clip to the window themselves.
    """
    check_zone(tz)
    lo, hi = _aware_utc(start, "start"), _aware_utc(end, "end")
    if hi <= lo:
        raise PlanningError(f"empty window: end {end.isoformat()} is not after start {start.isoformat()}")
    # Every quarter hour from a little before the window to a little after it; the local hour starts are
    # those where the local minute is 0 (true for every offset in the tz database since 1972).
    first = lo.replace(minute=lo.minute - lo.minute % 15, second=0, microsecond=0) - timedelta(hours=2)
    last = hi + timedelta(hours=2)
    quarters = pl.datetime_range(first, last, "15m", eager=True, time_zone="UTC").cast(TIME)
    local = quarters.dt.convert_time_zone(tz)
    starts = pl.DataFrame({"hour_start": quarters, "_local": local}).filter(
        (pl.col("_local").dt.minute() == 0) & (pl.col("_local").dt.second() == 0))
    return (
        starts.with_columns(hour_end=pl.col("hour_start").shift(-1))
        .filter(pl.col("hour_end").is_not_null()
                & (pl.col("hour_end") > pl.lit(lo).cast(TIME))
                & (pl.col("hour_start") < pl.lit(hi).cast(TIME)))
        .select(
            "hour_start",
            "hour_end",
            pl.col("_local").dt.replace_time_zone(None).alias("local_start"),
            pl.col("_local").dt.date().alias("local_date"),
            pl.col("_local").dt.weekday().cast(pl.Int64).alias("weekday"),
            pl.col("_local").dt.hour().cast(pl.Int64).alias("hour"),
        )
    )
