"""When conversations arrive (daily and weekly seasonality, a spike a week) and when the scripted automation
incidents happen — all placed on the absolute calendar (UTC days and weeks since the epoch), never relative to the
world's start or end, so a world ending later has exactly the same arrivals and incidents up to the earlier end."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dashboard.schema import TIME
from dashboard.simulator.world.draws import Keyed
from dashboard.simulator.world.reference import (
    DAY,
    HOUR,
    HOUR_PROFILE,
    INCIDENT_WEEKS,
    MINUTE,
    SPIKE_FACTOR,
    SPIKE_HOURS,
    WEEK,
    WEEKDAY_PROFILE,
)

__all__ = ["KEY_SHIFT", "arrivals", "place_incidents", "spikes_between", "week_of"]

KEY_SHIFT = 24
"""A conversation's key is ``hour << KEY_SHIFT | place in that hour``: stable whatever else the world holds."""
_MONDAY = 4 * DAY
"""1970-01-05 (the first Monday after the epoch), where the simulator's weeks start (UTC)."""
_NOISE_SIGMA = 0.12
_BASE = float(HOUR_PROFILE.mean() * WEEKDAY_PROFILE.mean())
"""The mean hourly weight: a spike adds a multiple of it."""
_SPIKE_MASS = _BASE * np.mean(SPIKE_FACTOR) * HOUR_PROFILE.max() * np.mean(SPIKE_HOURS)
_DAILY_WEIGHT = HOUR_PROFILE.sum() * WEEKDAY_PROFILE.mean() * np.exp(_NOISE_SIGMA ** 2 / 2) + _SPIKE_MASS / 7
"""The expected weight of a day, spikes included: ``conversations_per_day`` is the long-run mean."""


def week_of(t_ms: int | np.ndarray) -> int | np.ndarray:
    """The simulator's week number (weeks start on Mondays 00:00 UTC)."""
    return (np.asarray(t_ms) - _MONDAY) // WEEK


def spikes_between(seed: int, start_ms: int, end_ms: int) -> list[tuple[int, int, float]]:
    """One spike a week (a few hours of 3-4x traffic: an outage, a viral post): (start, end, factor) of every
    spike that overlaps ``[start_ms, end_ms)``, from the weeks' own keyed draws."""
    weeks = np.arange(week_of(start_ms) - 1, week_of(end_ms) + 1, dtype=np.int64)
    draw = Keyed(seed, weeks)
    at = _MONDAY + weeks * WEEK + draw.integers("spike.hour", 0, 7 * 24) * HOUR
    length = draw.integers("spike.hours", SPIKE_HOURS[0], SPIKE_HOURS[-1] + 1) * HOUR
    factor = draw.uniform("spike.factor", SPIKE_FACTOR[0], SPIKE_FACTOR[1])
    return [(int(a), int(a + n), float(f)) for a, n, f in zip(at, length, factor, strict=True)
            if a + n > start_ms and a < end_ms]


def arrivals(seed: int, timezone: str, conversations_per_day: int, start_ms: int, now_ms: int
             ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, float]]]:
    """Arrival instants in ``[start_ms, now_ms)`` with daily/weekly seasonality and the weeks' spikes; returns
    (sorted times, their keys, the spikes).

    Each UTC day draws its hours' noise, counts and instants from a generator of its own (seeded by the world's
    seed and the day), so a day's conversations are the same in every world that holds the day."""
    first_day, last_day = start_ms // DAY, (now_ms - 1) // DAY
    hours = np.arange(first_day * 24, (last_day + 1) * 24, dtype=np.int64)
    hour_ms = hours * HOUR
    local = pl.Series(hour_ms).cast(TIME).dt.convert_time_zone(timezone)
    profile = HOUR_PROFILE[local.dt.hour().to_numpy().astype(int)] * WEEKDAY_PROFILE[
        local.dt.weekday().to_numpy().astype(int) - 1]  # polars: Monday = 1
    spikes = spikes_between(seed, int(hour_ms[0]), int(hour_ms[-1] + HOUR))
    extra = np.zeros(len(hours))
    for s_start, s_end, factor in spikes:
        extra[(hour_ms >= s_start) & (hour_ms < s_end)] += _BASE * factor * HOUR_PROFILE.max()
    times: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    for i, day in enumerate(range(first_day, last_day + 1)):
        rng = np.random.default_rng([seed, 0xA551, day])
        part = slice(24 * i, 24 * i + 24)
        weight = profile[part] * rng.lognormal(0.0, _NOISE_SIGMA, 24) + extra[part]
        counts = rng.poisson(weight / _DAILY_WEIGHT * conversations_per_day)
        offsets = rng.integers(0, HOUR, counts.sum())
        place = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        times.append(np.repeat(hour_ms[part], counts) + offsets)
        keys.append((np.repeat(hours[part], counts) << KEY_SHIFT) | place)
    t = np.concatenate(times) if times else np.zeros(0, np.int64)
    k = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    order = np.lexsort((k, t))
    t, k = t[order], k[order]
    inside = (t >= start_ms) & (t < now_ms)
    return t[inside], k[inside], spikes


def place_incidents(seed: int, start_ms: int, now_ms: int) -> list[dict[str, Any]]:
    """The scripted automation incidents that start in ``[start_ms, now_ms)`` (the last may still be going on).

    Every week has two (``INCIDENT_WEEKS``: token expired and endpoint down in even weeks, a bad deploy and a slow
    period in odd ones), on a weekday afternoon (UTC) drawn from the week's key, so any three weeks of the world
    show all four kinds, and the last four weeks — what Bot API v3 lists (31 days at most) — show each twice."""
    weeks = np.arange(week_of(start_ms), week_of(now_ms) + 1, dtype=np.int64)
    incidents = []
    for week in weeks.tolist():
        draw = Keyed(seed, np.asarray([week]))
        for slot, (kind, app, first_weekday, hour, duration) in enumerate(INCIDENT_WEEKS[week % 2]):
            weekday = first_weekday + int(draw.integers(f"incident.{slot}.day", 0, 2)[0])
            minute = int(draw.integers(f"incident.{slot}.minute", 0, 45)[0])
            begin = _MONDAY + week * WEEK + weekday * DAY + hour * HOUR + minute * MINUTE
            if start_ms <= begin < now_ms:
                incidents.append({"kind": kind, "app_index": app, "start": begin, "end": begin + duration})
    return sorted(incidents, key=lambda inc: inc["start"])
