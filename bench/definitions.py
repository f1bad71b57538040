"""What the baselines share: the metric definitions' parameters, written out plainly.

The pandas and DuckDB baselines re-implement the definitions of DESIGN.md ("Metric definitions") and issue 5
from scratch, so that agreement with ``dashboard.metrics`` means something. They read only *configuration*
from the engine: the policy's targets (a list of rules) and its schedules (time zone, weekly hours,
holidays). Expanding a schedule into UTC open intervals is done here again, independently of
``dashboard.metrics.business_hours``: one local day at a time with :mod:`zoneinfo`.

The business clock ``F(t)`` is the cumulative number of business milliseconds before ``t``; ``BH(a, b) =
F(b) - F(a)``. Both baselines use it (pandas through ``numpy.searchsorted``, DuckDB through an ``ASOF JOIN``)
because an analyst who has to do millions of rows does it that way; a per-row Python loop over days would
be hopeless at this scale (the bench notes the cost of a row-wise ``apply`` on a small sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from dashboard.metrics.business_hours import Schedule
from dashboard.metrics.policy import Policy

__all__ = ["AGE_BUCKET_UPPER", "IntervalTable", "Rule", "first_response_rules", "interval_table"]

# Backlog (open at an instant): created by then, not finally closed by then, and not between its first close
# and its last reopen. Age buckets (calendar seconds since creation): exclusive upper bounds, the last one
# open-ended.
# Compared with the engine by bucket index (0 = youngest), not by label.
AGE_BUCKET_UPPER: tuple[float, ...] = (3600, 4 * 3600, 24 * 3600, 3 * 86400, 7 * 86400, float("inf"))


@dataclass(frozen=True)
class Rule:
    """One first-response target, as plain values (None = matches anything)."""

    tiers: tuple[str, ...] | None
    priorities: tuple[int, ...] | None
    channels: tuple[str, ...] | None
    target_ms: int
    business: bool
    schedule: str


def first_response_rules(policy: Policy) -> list[Rule]:
    return [
        Rule(
            tiers=t.tier,
            priorities=t.priority,
            channels=tuple(c.lower() for c in t.channel) if t.channel else None,
            target_ms=round(t.target_seconds * 1000),
            business=t.clock == "business",
            schedule=t.schedule,
        )
        for t in policy.targets_for("first_response")
    ]


@dataclass(frozen=True)
class IntervalTable:
    """A schedule's open intervals in UTC epoch ms, with the cumulative business time before/after each."""

    opens: np.ndarray
    closes: np.ndarray
    cum_before: np.ndarray
    cum_end: np.ndarray

    def clock(self, t_ms: np.ndarray) -> np.ndarray:
        """F(t) in ms for int64 epoch-ms values (callers mask nulls themselves)."""
        idx = np.searchsorted(self.opens, t_ms, side="right") - 1
        safe = np.clip(idx, 0, None)
        inside = np.clip(t_ms - self.opens[safe], 0, self.closes[safe] - self.opens[safe])
        return np.where(idx < 0, 0, self.cum_before[safe] + inside)

    def add(self, t_ms: np.ndarray, amount_ms: np.ndarray) -> np.ndarray:
        """The first instant at which ``amount_ms`` business ms have passed since ``t_ms``."""
        goal = self.clock(t_ms) + amount_ms
        idx = np.clip(np.searchsorted(self.cum_end, goal, side="left"), 0, len(self.opens) - 1)
        return np.maximum(self.opens[idx] + (goal - self.cum_before[idx]), t_ms)


def _local_ms(day: date, seconds: int, zone: ZoneInfo) -> int:
    if seconds >= 86400:
        moment = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    else:
        moment = datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60), tzinfo=zone)
    return int(moment.timestamp()) * 1000


def _hours(schedule: Schedule, day: date) -> tuple[tuple[int, int], ...]:
    if day in schedule.holidays:
        return ()
    weekly = schedule.versions[0]
    for version in schedule.versions[1:]:
        if version.effective_from is not None and version.effective_from <= day:
            weekly = version
    return weekly.intervals[day.weekday()]


def interval_table(schedule: Schedule, first_day: date, last_day: date) -> IntervalTable:
    """Open intervals of every local day in [first_day, last_day) in UTC ms (adjacent ones merged)."""
    zone = ZoneInfo(schedule.timezone)
    opens: list[int] = []
    closes: list[int] = []
    day = first_day
    while day < last_day:
        for open_s, close_s in _hours(schedule, day):
            o, c = _local_ms(day, open_s, zone), _local_ms(day, close_s, zone)
            if opens and o <= closes[-1]:  # 24:00 of one day meets 00:00 of the next
                closes[-1] = max(closes[-1], c)
            elif c > o:
                opens.append(o)
                closes.append(c)
        day += timedelta(days=1)
    o_a = np.asarray(opens, dtype=np.int64)
    c_a = np.asarray(closes, dtype=np.int64)
    cum_end = np.cumsum(c_a - o_a)
    return IntervalTable(o_a, c_a, cum_end - (c_a - o_a), cum_end)
