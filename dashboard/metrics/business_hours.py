"""Business hours: schedules and a cumulative business clock.

A :class:`Schedule` is an IANA time zone, weekly open intervals (several per weekday allowed), whole-day
holidays, and optional versions with an ``effective_from`` date so that changing the hours does not rewrite
history.

Business seconds are computed from a *cumulative business clock* ``F``: the number of business milliseconds
between a fixed origin and an instant. ``BH(a, b) = F(b) - F(a)``, so every duration is one vectorised
expression per row, never a loop over days.

How ``F`` is built: once per schedule, the open intervals of every local day in
[``CLOCK_FIRST_DAY``, ``CLOCK_LAST_DAY``) are converted to UTC with :mod:`zoneinfo` (so each day gets its own
UTC offset: DST is exact) and their lengths are summed into a cumulative table. For a column of instants,
``search_sorted`` on that table finds the interval at or before each instant (no sort or join of the data
frame itself), and ``F = cumulative_before + clip(t - open, 0, length)``. The inverse (the instant when B
business seconds have passed since t, used for ``breach_at``) is a ``search_sorted`` on the cumulative ends.

Local times that do not exist (the skipped hour when DST starts) resolve like :mod:`zoneinfo` does with
``fold=0`` (the pre-transition offset); repeated local times (DST end) take their first occurrence.
Instants outside the table's range give null rather than a silently wrong number.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from dashboard.errors import DashboardError

__all__ = [
    "CLOCK_FIRST_DAY",
    "CLOCK_LAST_DAY",
    "WEEKDAYS",
    "BusinessClock",
    "Schedule",
    "ScheduleError",
    "WeeklyHours",
    "add_business_seconds",
    "as_date",
    "business_clock",
    "business_clock_ms",
    "business_seconds",
    "clock_ms_from_epoch",
    "epoch_from_clock_ms",
    "is_business_time",
    "make_schedule",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

CLOCK_FIRST_DAY = date(2000, 1, 1)
"""First local day the business clock covers; earlier instants give null."""
CLOCK_LAST_DAY = date(2061, 1, 1)
"""Day after the last local day the business clock covers; later instants give null."""

_TIME_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class ScheduleError(DashboardError, ValueError):
    """A schedule definition is invalid (bad time, overlapping intervals, unknown time zone)."""


def _parse_clock_time(text: str, where: str) -> int:
    """'HH:MM' -> seconds after local midnight; '24:00' is the end of the day."""
    m = _TIME_RE.match(str(text).strip())
    if not m:
        raise ScheduleError(f"{where}: {text!r} is not a time of day HH:MM (00:00 to 24:00)")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours == 24 and minutes != 0:
        raise ScheduleError(f"{where}: {text!r} is after 24:00")
    return hours * 3600 + minutes * 60


@dataclass(frozen=True)
class WeeklyHours:
    """One version of a weekly schedule: open intervals per weekday, from ``effective_from`` (local date) on.

    ``intervals[d]`` holds ``(open_s, close_s)`` pairs in seconds after local midnight for weekday ``d``
    (0 = Monday), sorted and non-overlapping; ``close_s`` may be 86400 (24:00).
    """

    intervals: tuple[tuple[tuple[int, int], ...], ...]
    effective_from: date | None = None

    @classmethod
    def from_mapping(
        cls, hours: Mapping[str, Sequence[Sequence[str]]], effective_from: date | None = None, where: str = "hours"
    ) -> WeeklyHours:
        """Build from ``{"monday": [["09:00", "17:00"]], ...}``; an absent weekday is closed."""
        unknown = [k for k in hours if k not in WEEKDAYS]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise ScheduleError(f"{where}: unknown weekday(s) {names}; use {', '.join(WEEKDAYS)}")
        days: list[tuple[tuple[int, int], ...]] = []
        for day in WEEKDAYS:
            pairs = hours.get(day, [])
            parsed: list[tuple[int, int]] = []
            if not isinstance(pairs, list | tuple):
                raise ScheduleError(f"{where}.{day}: expected a list of [open, close] pairs, got {pairs!r}")
            for pair in pairs:
                if not isinstance(pair, list | tuple) or len(pair) != 2:
                    raise ScheduleError(f"{where}.{day}: expected an [open, close] pair, got {pair!r}")
                opens = _parse_clock_time(pair[0], f"{where}.{day}")
                closes = _parse_clock_time(pair[1], f"{where}.{day}")
                if closes <= opens:
                    raise ScheduleError(f"{where}.{day}: interval {pair[0]}-{pair[1]} closes before it opens")
                parsed.append((opens, closes))
            parsed.sort()
            for (_, c1), (o2, _) in itertools.pairwise(parsed):
                if o2 < c1:
                    raise ScheduleError(f"{where}.{day}: intervals overlap")
            days.append(tuple(parsed))
        return cls(tuple(days), effective_from)

    @property
    def weekly_seconds(self) -> int:
        return sum(c - o for day in self.intervals for o, c in day)


@dataclass(frozen=True)
class Schedule:
    """A named business schedule: time zone, weekly hours (versioned by effective date), holidays."""

    name: str
    timezone: str
    versions: tuple[WeeklyHours, ...]
    """Sorted by ``effective_from``; the first one (``effective_from`` None) applies before any other."""
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"schedule {self.name!r}: unknown time zone {self.timezone!r}") from None
        if not self.versions:
            raise ScheduleError(f"schedule {self.name!r}: no weekly hours")
        froms = [v.effective_from for v in self.versions[1:]]
        if any(f is None for f in froms) or froms != sorted(froms):  # type: ignore[type-var]
            raise ScheduleError(f"schedule {self.name!r}: versions must be in increasing effective_from order")

    def hours_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """Open intervals (local seconds after midnight) on a local date, holidays and versions applied."""
        if day in self.holidays:
            return ()
        version = self.versions[0]
        for v in self.versions[1:]:
            if v.effective_from is not None and v.effective_from <= day:
                version = v
        return version.intervals[day.weekday()]


def make_schedule(
    timezone: str,
    hours: Mapping[str, Sequence[Sequence[str]]],
    *,
    holidays: Iterable[date | str] = (),
    name: str = "default",
    changes: Sequence[tuple[date | str, Mapping[str, Sequence[Sequence[str]]]]] = (),
) -> Schedule:
    """Convenience constructor: ``make_schedule("America/New_York", {"monday": [("09:00", "17:00")]})``.

    ``changes`` are later versions: ``(effective_from, hours)`` pairs, each replacing the whole week.
    """
    versions = [WeeklyHours.from_mapping(hours, None, where=f"schedule {name}")]
    for effective_from, more in sorted(changes, key=lambda c: as_date(c[0])):
        day = as_date(effective_from)
        versions.append(WeeklyHours.from_mapping(more, day, where=f"schedule {name} from {day}"))
    return Schedule(name, timezone, tuple(versions), frozenset(as_date(h) for h in holidays))


def as_date(value: date | str) -> date:
    """A date, a datetime's date, or an ISO ``YYYY-MM-DD`` text as a date (a :class:`ScheduleError` otherwise)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ScheduleError(f"{value!r} is not a date YYYY-MM-DD") from None


def _local_to_utc_ms(day: date, seconds: int, zone: ZoneInfo) -> int:
    if seconds >= 86400:
        # 24:00 is the next day's local midnight (with its own offset), not midnight + 24 h of wall time.
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    else:
        local = datetime.combine(day, time(seconds // 3600, (seconds % 3600) // 60), tzinfo=zone)
    return int(local.timestamp()) * 1000


def _open_intervals(schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """Open intervals of ``schedule`` in UTC epoch ms over the clock's range: sorted, non-overlapping."""
    zone = ZoneInfo(schedule.timezone)
    opens: list[int] = []
    closes: list[int] = []
    day = CLOCK_FIRST_DAY
    one = timedelta(days=1)
    last_close = -(2**62)
    while day < CLOCK_LAST_DAY:
        for open_s, close_s in schedule.hours_on(day):
            o = max(_local_to_utc_ms(day, open_s, zone), last_close)
            c = _local_to_utc_ms(day, close_s, zone)
            if c > o:
                opens.append(o)
                closes.append(c)
                last_close = c
        day += one
    return np.asarray(opens, dtype=np.int64), np.asarray(closes, dtype=np.int64)


_BLOCK = 1 << 42
"""Key offset between schedules in a combined table: ms since 1970 up to 2061 and business ms over 61 years
both stay below 2**42, so ``schedule_index * 2**42 + value`` keeps every schedule's block apart and sorted."""


@dataclass(frozen=True, eq=False)
class BusinessClock:
    """The cumulative tables behind ``F`` for one or several schedules (one block per schedule).

    Forward table (``F``): for the interval ``i`` that opened last at or before ``t``,
    ``F(t) = min(t + delta[i], cumulative_end[i])`` where ``delta = cumulative_before - open``. Each block
    starts with a sentinel (open 1970-01-01, delta 0, end 0) so an instant before the first opening gives 0.

    Inverse table: for the first interval ``j`` whose ``cumulative_end >= goal``, the instant is
    ``goal + inverse_delta[j]`` (``inverse_delta = open - cumulative_before``). Each block starts with a
    sentinel for goal 0 and ends with one whose ``inverse_delta`` is null (the goal lies beyond the range).
    """

    schedules: tuple[Schedule, ...]
    open_key: pl.Series
    delta: pl.Series
    cumulative_end: pl.Series
    cumulative_key: pl.Series
    inverse_delta: pl.Series
    first_ms: int
    last_ms: int
    intervals: int

    def index_of(self, name: str) -> int:
        for i, schedule in enumerate(self.schedules):
            if schedule.name == name:
                return i
        raise KeyError(name)


@functools.lru_cache(maxsize=32)
def business_clock(*schedules: Schedule) -> BusinessClock:
    """The cumulative tables for ``schedules`` (built once per combination and cached)."""
    if not schedules:
        raise ValueError("business_clock needs at least one schedule")
    open_key, delta, cum_end, cum_key, inv_delta = [], [], [], [], []
    firsts, lasts, total = [], [], 0
    for index, schedule in enumerate(schedules):
        opens, closes = _open_intervals(schedule)
        lengths = closes - opens
        ends = np.cumsum(lengths, dtype=np.int64)
        befores = ends - lengths
        base = index * _BLOCK
        zero = np.zeros(1, dtype=np.int64)
        open_key.append(np.concatenate([zero + base, opens + base]))
        delta.append(np.concatenate([zero, befores - opens]))
        cum_end.append(np.concatenate([zero, ends]))
        cum_key.append(np.concatenate([zero + base, ends + base, zero + base + _BLOCK - 1]))
        inv_delta.append(np.concatenate([zero.astype(np.float64), (opens - befores).astype(np.float64), [np.nan]]))
        zone = ZoneInfo(schedule.timezone)
        firsts.append(_local_to_utc_ms(CLOCK_FIRST_DAY, 0, zone))
        lasts.append(_local_to_utc_ms(CLOCK_LAST_DAY, 0, zone))
        total += len(opens)
    return BusinessClock(
        schedules=tuple(schedules),
        open_key=pl.Series("open_key", np.concatenate(open_key), dtype=pl.Int64),
        delta=pl.Series("delta", np.concatenate(delta), dtype=pl.Int64),
        cumulative_end=pl.Series("cumulative_end", np.concatenate(cum_end), dtype=pl.Int64),
        cumulative_key=pl.Series("cumulative_key", np.concatenate(cum_key), dtype=pl.Int64),
        inverse_delta=pl.Series("inverse_delta", np.concatenate(inv_delta), nan_to_null=True).cast(pl.Int64),
        first_ms=max(firsts),
        last_ms=min(lasts),
        intervals=total,
    )


def _epoch_ms(t: pl.Expr) -> pl.Expr:
    return t.dt.epoch("ms")


def _block(index: pl.Expr | int) -> pl.Expr:
    return (index if isinstance(index, pl.Expr) else pl.lit(index)).cast(pl.Int64) * _BLOCK


def clock_ms_from_epoch(ms: pl.Expr, clock: BusinessClock, index: pl.Expr | int = 0) -> pl.Expr:
    """``F`` of epoch-ms instants ``ms`` under schedule number ``index`` of ``clock`` (Int64 business ms)."""
    i = (pl.lit(clock.open_key).search_sorted(ms + _block(index), side="right").cast(pl.Int64) - 1).clip(0)
    value = pl.min_horizontal(ms + pl.lit(clock.delta).gather(i), pl.lit(clock.cumulative_end).gather(i))
    return pl.when(ms.is_between(clock.first_ms, clock.last_ms, closed="left")).then(value)


def epoch_from_clock_ms(goal: pl.Expr, clock: BusinessClock, index: pl.Expr | int = 0) -> pl.Expr:
    """The first epoch ms at which ``F`` reaches ``goal`` under schedule number ``index`` (null past the range)."""
    j = pl.lit(clock.cumulative_key).search_sorted(goal + _block(index), side="left").cast(pl.Int64)
    return goal + pl.lit(clock.inverse_delta).gather(j.clip(0, len(clock.cumulative_key) - 1))


def business_clock_ms(t: pl.Expr, schedule: Schedule) -> pl.Expr:
    """``F(t)``: business milliseconds from the clock's origin to instant ``t`` (a Datetime expression).

    Null when ``t`` is null or outside [CLOCK_FIRST_DAY, CLOCK_LAST_DAY).
    """
    return clock_ms_from_epoch(_epoch_ms(t), business_clock(schedule))


def business_seconds(a: pl.Expr, b: pl.Expr, schedule: Schedule) -> pl.Expr:
    """``BH(a, b)``: business seconds in [a, b) under ``schedule`` (Float64; negative when b < a)."""
    return (business_clock_ms(b, schedule) - business_clock_ms(a, schedule)) / 1000.0


def add_business_seconds(t: pl.Expr, seconds: pl.Expr | float | int, schedule: Schedule) -> pl.Expr:
    """The first instant at which ``seconds`` business seconds have passed since ``t`` (Datetime ms UTC).

    With 0 seconds this is ``t`` itself. Null when the result falls outside the clock's range.
    """
    clock = business_clock(schedule)
    amount = seconds if isinstance(seconds, pl.Expr) else pl.lit(seconds)
    amount_ms = (amount.cast(pl.Float64) * 1000).round(0).cast(pl.Int64)
    start_ms = _epoch_ms(t)
    reached = epoch_from_clock_ms(clock_ms_from_epoch(start_ms, clock) + amount_ms, clock)
    result = pl.max_horizontal(reached, start_ms)
    return pl.when(reached.is_not_null() & (result < clock.last_ms)).then(result).cast(pl.Datetime("ms", "UTC"))


def is_business_time(t: pl.Expr, schedule: Schedule) -> pl.Expr:
    """True when instant ``t`` lies inside an open interval (open inclusive, close exclusive)."""
    clock = business_clock(schedule)
    ms = _epoch_ms(t)
    # inside an interval F grows with t: F(t + 1 ms) > F(t)
    return clock_ms_from_epoch(ms + 1, clock) > clock_ms_from_epoch(ms, clock)
