"""When conversations arrive (daily and weekly seasonality, a few spikes) and when the scripted automation
incidents happen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from dashboard.schema import TIME
from dashboard.simulator.world.model import WorldConfig
from dashboard.simulator.world.reference import DAY, HOUR, HOUR_PROFILE, MINUTE, WEEKDAY_PROFILE


def arrivals(rng: np.random.Generator, cfg: WorldConfig, start_ms: int, now_ms: int) -> tuple[np.ndarray, list]:
    """Arrival instants with daily/weekly seasonality and a few spikes; returns (sorted times, spikes)."""
    first_hour = start_ms // HOUR * HOUR
    hours = np.arange(first_hour, now_ms, HOUR, dtype=np.int64)
    local = pl.Series(hours).cast(TIME).dt.convert_time_zone(cfg.timezone)
    local_hour = local.dt.hour().to_numpy().astype(int)
    weekday = local.dt.weekday().to_numpy().astype(int) - 1  # polars: Monday = 1
    weight = HOUR_PROFILE[local_hour] * WEEKDAY_PROFILE[weekday] * rng.lognormal(0, 0.12, len(hours))
    n_spikes = 1 if cfg.days < 7 else 3
    spikes: list[tuple[int, int, float]] = []
    base = weight.mean()
    for _ in range(n_spikes):
        # A spike is a few hours of 3-4x traffic (an outage, a viral post), inside the period, not at its very end.
        lo = max(0, len(hours) // 10)
        hi = max(lo + 1, len(hours) - 30)
        at = int(rng.integers(lo, hi))
        length = int(rng.integers(3, 7))
        factor = float(rng.uniform(3.0, 4.0))
        weight[at:at + length] += base * factor * HOUR_PROFILE.max()
        spikes.append((int(hours[at]), int(hours[min(at + length, len(hours) - 1)]), factor))
    expected = weight / weight.sum() * cfg.conversations_per_day * cfg.days
    counts = rng.poisson(expected)
    times = np.repeat(hours, counts) + rng.integers(0, HOUR, counts.sum())
    times = np.sort(times[(times >= start_ms) & (times < now_ms)])
    return times, spikes


def place_incidents(rng: np.random.Generator, start_ms: int, now_ms: int) -> list[dict[str, Any]]:
    """Four scripted automation incidents at fixed fractions of the last four weeks (weekday afternoons, UTC).

    The last four weeks, not the whole period: Bot API v3 lists request records of the last 31 days at most,
    so an incident older than that could never reach a freshly synced dashboard.
    """
    start_ms = max(start_ms, now_ms - 28 * DAY)
    span = now_ms - start_ms
    plan = [  # kind, app index, fraction of period from the start, duration, UTC hour
        ("token_expired", 1, 0.20, 3 * HOUR, 14),
        ("bad_deploy_4xx", 2, 0.45, 40 * MINUTE, 16),
        ("endpoint_down", 0, 0.70, 1 * HOUR, 15),
        ("slow", 0, 0.88, 2 * HOUR, 18),
    ]
    incidents = []
    for kind, app, frac, duration, hour in plan:
        t = start_ms + int(span * frac)
        day_start = t // DAY * DAY
        # Prefer a weekday so the hand-offs land on staffed hours.
        for _ in range(3):
            if datetime.fromtimestamp(day_start / 1000, UTC).weekday() < 5:
                break
            day_start += DAY
        begin = day_start + hour * HOUR
        if begin < start_ms or begin + duration > now_ms - HOUR:
            begin = (start_ms + int(span * frac)) // MINUTE * MINUTE
            duration = min(duration, max(10 * MINUTE, (now_ms - begin) // 4))
        incidents.append({"kind": kind, "app_index": app, "start": begin, "end": begin + duration})
    return incidents

