"""The simulated contact centre's business calendar: opening intervals and a cumulative business clock.

Agents only work inside these intervals (weekdays 09:00-17:00 in the world's zone, US holidays off), so a post
that arrives at night waits until opening. The clock is
``F(t)`` = business seconds since the first interval; adding business time is the inverse of ``F``. Both are
vectorised with ``numpy.searchsorted`` over the (few hundred) intervals, never a loop over events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

__all__ = ["BusinessCalendar", "build_calendar", "us_holidays"]

# The same weekly hours and holidays as the default schedule of dashboard/default_policy.toml: the simulated
# centre is staffed exactly when the default SLA clock runs.
OPEN_AT = time(9, 0)
CLOSE_AT = time(17, 0)
WORKDAYS = (0, 1, 2, 3, 4)  # Monday..Friday


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) given weekday of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def us_holidays(year: int) -> dict[date, str]:
    """US holidays the simulated centre closes on (observed on the nearest weekday when on a weekend)."""
    fixed = {
        date(year, 1, 1): "New Year's Day",
        date(year, 6, 19): "Juneteenth",
        date(year, 7, 4): "Independence Day",
        date(year, 12, 25): "Christmas Day",
    }
    observed: dict[date, str] = {}
    for d, name in fixed.items():
        if d.weekday() == 5:
            d = d - timedelta(days=1)
        elif d.weekday() == 6:
            d = d + timedelta(days=1)
        observed[d] = name
    observed[_nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    observed[_nth_weekday(year, 5, 0, -1)] = "Memorial Day"
    observed[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    observed[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving Day"
    return observed


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    opens: np.ndarray
    """Interval starts, epoch ms UTC, ascending."""
    closes: np.ndarray
    cum: np.ndarray
    """Business ms before each interval starts."""
    local_midnight: np.ndarray
    """Epoch ms of the local midnight of each interval's day."""
    holidays: tuple[tuple[date, str], ...]

    @property
    def cum_end(self) -> np.ndarray:
        return self.cum + (self.closes - self.opens)

    def clock(self, t: np.ndarray) -> np.ndarray:
        """F(t): business ms elapsed since the first interval, for epoch-ms instants."""
        i = np.searchsorted(self.opens, t, side="right") - 1
        safe = np.clip(i, 0, len(self.opens) - 1)
        inside = np.clip(t - self.opens[safe], 0, self.closes[safe] - self.opens[safe])
        return np.where(i < 0, 0, self.cum[safe] + inside)

    def add(self, t: np.ndarray, business_ms: np.ndarray) -> np.ndarray:
        """The instant ``business_ms`` (> 0) of business time after ``t``; past the horizon: the horizon."""
        target = self.clock(t) + np.maximum(business_ms, 1)
        j = np.searchsorted(self.cum_end, target, side="left")
        beyond = j >= len(self.opens)
        j = np.clip(j, 0, len(self.opens) - 1)
        out = self.opens[j] + (target - self.cum[j])
        return np.where(beyond, self.closes[-1] + (target - self.cum_end[-1]), np.maximum(out, t))

    def interval_index(self, t: np.ndarray) -> np.ndarray:
        """Index of the interval containing ``t`` (or the last one started before it; -1 before all)."""
        return np.searchsorted(self.opens, t, side="right") - 1

    def describe(self) -> dict[str, object]:
        return {
            "timezone": self.timezone,
            "weekly": {day: [OPEN_AT.strftime("%H:%M"), CLOSE_AT.strftime("%H:%M")]
                       for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": [{"date": d.isoformat(), "name": name} for d, name in self.holidays],
        }


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def build_calendar(timezone: str, first_day: date, last_day: date, in_period: tuple[date, date]) -> BusinessCalendar:
    """Opening intervals for every local day in [first_day, last_day]; holidays listed if inside ``in_period``."""
    zone = ZoneInfo(timezone)
    holidays: dict[date, str] = {}
    for year in range(first_day.year, last_day.year + 1):
        holidays.update(us_holidays(year))
    opens: list[int] = []
    closes: list[int] = []
    midnights: list[int] = []
    d = first_day
    while d <= last_day:
        if d.weekday() in WORKDAYS and d not in holidays:
            opens.append(_ms(datetime.combine(d, OPEN_AT, zone)))
            closes.append(_ms(datetime.combine(d, CLOSE_AT, zone)))
            midnights.append(_ms(datetime.combine(d, time(0, 0), zone)))
        d += timedelta(days=1)
    o = np.asarray(opens, dtype=np.int64)
    c = np.asarray(closes, dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(c - o)[:-1]]).astype(np.int64)
    listed = tuple(sorted((d, n) for d, n in holidays.items() if in_period[0] <= d <= in_period[1]))
    return BusinessCalendar(timezone, o, c, cum, np.asarray(midnights, dtype=np.int64), listed)
