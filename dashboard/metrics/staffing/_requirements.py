"""Agents needed per hour and channel group (Erlang C or workload), agents available, and the gap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from dashboard.metrics._planning import PlanningError, check_probability
from dashboard.metrics.business_hours import Schedule, business_clock, clock_ms_from_epoch
from dashboard.metrics.occupancy import occupancy_by
from dashboard.metrics.staffing._arrivals import (
    CHANNEL_GROUPS,
    HOUR,
    MODELS,
    REALTIME_CHANNELS,
    WEEK,
    _eager,
    channel_group,
)
from dashboard.metrics.staffing._queueing import _erlang_c_agents_array, poisson_quantile


@dataclass(frozen=True)
class GroupAssumptions:
    """What the plan for one channel group rests on (all measured, or chosen by the user)."""

    channel_group: str
    target_seconds: float
    """The first-response target the group is planned for."""
    clock: str
    """``business`` or ``calendar``: the target's clock."""
    busy_seconds_per_conversation: float
    """Agent time one conversation takes (time in hand ÷ concurrency)."""
    first_touch_seconds: float = 0.0
    """Median time from assignment to the first reply (Erlang C: the customer's wait is the target less this)."""
    schedule: Schedule | None = None
    """The business schedule of a business-clock target."""
    target_name: str = ""

    @property
    def model(self) -> str:
        return MODELS[self.channel_group]

    def __post_init__(self) -> None:
        if self.channel_group not in CHANNEL_GROUPS:
            raise PlanningError(f"channel group {self.channel_group!r}: use one of {', '.join(CHANNEL_GROUPS)}")
        if self.clock not in ("business", "calendar"):
            raise PlanningError(f"{self.channel_group}: clock {self.clock!r} is not business or calendar")
        if self.clock == "business" and self.schedule is None:
            raise PlanningError(f"{self.channel_group}: a business-clock target needs its schedule")
        if not self.target_seconds > 0:
            raise PlanningError(f"{self.channel_group}: the target must be positive, got {self.target_seconds}")
        if not self.busy_seconds_per_conversation > 0:
            raise PlanningError(f"{self.channel_group}: no measured handling time (is there any handling in the "
                                "history window, and agent states?)")


def _open_seconds(hours: pl.DataFrame, assumption: GroupAssumptions) -> tuple[np.ndarray, np.ndarray]:
    """Per hour: the business-clock position (seconds) at the hour's end, and the open seconds in the hour."""
    start_ms = hours["hour_start"].dt.epoch("ms").to_numpy().astype(np.int64)
    end_ms = hours["hour_end"].dt.epoch("ms").to_numpy().astype(np.int64)
    if assumption.clock == "calendar":
        return end_ms / 1000.0, (end_ms - start_ms) / 1000.0
    clock = business_clock(assumption.schedule)
    f = pl.DataFrame({"s": start_ms, "e": end_ms}).select(
        clock_ms_from_epoch(pl.col("s"), clock).alias("fs"), clock_ms_from_epoch(pl.col("e"), clock).alias("fe"))
    fs, fe = f["fs"].to_numpy().astype(np.float64), f["fe"].to_numpy().astype(np.float64)
    return fe / 1000.0, (fe - fs) / 1000.0


def _workload_agents(hours: pl.DataFrame, a: GroupAssumptions, attainment: float, occupancy_cap: float,
                     warmup: int) -> tuple[np.ndarray, np.ndarray]:
    x_end, open_s = _open_seconds(hours, a)
    arrivals = hours["forecast"].to_numpy().astype(np.float64)
    cum = np.cumsum(arrivals)
    target = a.target_seconds
    window_start = x_end - target
    # side="left": arrivals whose clock starts exactly at the window's start (the night's arrivals, which all
    # start at the opening) are inside the window that ends one target length after the opening
    j = np.searchsorted(x_end, window_start, side="left") - 1
    before = np.where(j >= 0, cum[np.clip(j, 0, None)], 0.0)
    nxt = np.clip(j + 1, 0, len(arrivals) - 1)
    prev_end = np.where(j >= 0, x_end[np.clip(j, 0, None)], x_end[0] - open_s[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        partial = np.where(open_s[nxt] > 0, arrivals[nxt] * np.clip((window_start - prev_end) / open_s[nxt], 0, 1), 0)
    in_window = np.maximum(cum - before - partial, 0.0)
    counts = np.array([poisson_quantile(m, attainment) for m in in_window], dtype=np.float64)
    agents = np.ceil(counts * a.busy_seconds_per_conversation / target / occupancy_cap - 1e-9)
    agents = np.where(open_s > 0, agents, 0.0)
    return agents[warmup:], in_window[warmup:]


def _erlang_agents(hours: pl.DataFrame, a: GroupAssumptions, attainment: float,
                   warmup: int) -> tuple[np.ndarray, np.ndarray]:
    _, open_s = _open_seconds(hours, a)
    arrivals = hours["forecast"].to_numpy().astype(np.float64)
    # Arrivals in closed hours wait for the opening: they join the next open hour.
    carried = np.zeros_like(arrivals)
    waiting = 0.0
    for i in range(len(arrivals)):
        if open_s[i] > 0:
            carried[i] = arrivals[i] + waiting
            waiting = 0.0
        else:
            waiting += arrivals[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        traffic = np.where(open_s > 0, carried * a.busy_seconds_per_conversation / open_s, 0.0)
    answer = max(a.target_seconds - a.first_touch_seconds, 0.0)
    agents = _erlang_c_agents_array(traffic, a.busy_seconds_per_conversation, answer, attainment).astype(np.float64)
    return agents[warmup:], traffic[warmup:]


def staffing_requirements(
    forecast: pl.DataFrame | pl.LazyFrame,
    assumptions: Sequence[GroupAssumptions],
    *,
    attainment: float = 0.8,
    occupancy_cap: float = 0.85,
) -> pl.DataFrame:
    """Agents needed per forecast hour and channel group (see the module docstring for both models).

    ``forecast``: :func:`seasonal_forecast` (at least 7 days: the plan's first hours look back one target
    length, and the week before the plan is taken to look like its first week). Columns: the hour grid,
    ``channel_group``, ``model``, ``forecast``, ``load`` (Erlangs for Erlang C; conversations in the last target
    length for the workload model), ``target_seconds``, ``agents_needed``.
    """
    check_probability("attainment", attainment)
    check_probability("occupancy_cap", occupancy_cap, allow_one=True)
    frame = _eager(forecast)
    out = []
    for a in assumptions:
        hours = frame.filter(pl.col("channel_group") == a.channel_group).sort("hour_start")
        if hours.is_empty():
            continue
        first_week = hours.filter(pl.col("hour_start") < hours["hour_start"][0] + WEEK)
        if hours["hour_start"][-1] - hours["hour_start"][0] < WEEK - timedelta(hours=2):
            raise PlanningError("staffing_requirements needs a forecast of at least 7 days")
        if a.target_seconds > 6 * 86400:
            raise PlanningError(f"{a.channel_group}: a target of {a.target_seconds / 86400:.1f} days is longer than "
                                "the week the plan can look back")
        # The week before the plan, taken as a copy of its first week: windows at the plan's start see arrivals.
        warm = first_week.with_columns(pl.col("hour_start", "hour_end") - WEEK)
        extended = pl.concat([warm, hours])
        if a.model == "erlang_c":
            agents, load = _erlang_agents(extended, a, attainment, warm.height)
        else:
            agents, load = _workload_agents(extended, a, attainment, occupancy_cap, warm.height)
        out.append(hours.with_columns(
            model=pl.lit(a.model),
            load=pl.Series(load),
            target_seconds=pl.lit(float(a.target_seconds)),
            agents_needed=pl.Series(agents).cast(pl.Int64),
        ))
    if not out:
        raise PlanningError("no channel group to plan for")
    return pl.concat(out).sort("hour_start", "channel_group")


def available_by_hour_of_week(hours: pl.LazyFrame | pl.DataFrame, *, end: date, weeks: int = 4) -> pl.DataFrame:
    """Agents available per local hour of the week, the mean over the ``weeks`` weeks (local days) before ``end``.

    ``hours``: :func:`dashboard.metrics.occupancy.occupancy_hours`. An agent available for half an hour counts
    as half an agent. Columns: ``weekday``, ``hour``, ``available_agents``.
    """
    frame = _eager(hours).filter((pl.col("local_date") >= end - timedelta(days=7 * weeks))
                                 & (pl.col("local_date") < end))
    per_hour = occupancy_by(frame.lazy(), ["hour_start", "weekday", "hour"]).collect()
    # a mean over the occurrences of the hour of the week: a local hour that happens twice (the end of daylight
    # saving) is two occurrences, one that is skipped (its start) is none
    return (
        per_hour.group_by("weekday", "hour")
        .agg(available_agents=(pl.col("available_seconds") / HOUR).mean())
        .sort("weekday", "hour")
    )


def staffing_gap(requirements: pl.DataFrame, available: pl.DataFrame) -> pl.DataFrame:
    """Per forecast hour: agents needed (all channel groups), agents available in the same hour of the week in
    recent weeks, and ``short_by`` = needed − available where positive (``surplus`` the other way).

    Columns: ``hour_start``, ``local_start``, ``local_date``, ``weekday``, ``hour``, ``forecast``,
    ``agents_needed``, ``available_agents``, ``short_by``, ``surplus``.
    """
    needed = requirements.group_by("hour_start", "local_start", "local_date", "weekday", "hour").agg(
        pl.col("forecast").sum(), pl.col("agents_needed").sum())
    return (
        needed.join(available, on=["weekday", "hour"], how="left")
        .with_columns(pl.col("available_agents").fill_null(0.0))
        .with_columns(
            short_by=(pl.col("agents_needed") - pl.col("available_agents")).clip(lower_bound=0.0),
            surplus=(pl.col("available_agents") - pl.col("agents_needed")).clip(lower_bound=0.0),
        )
        .sort("hour_start")
    )


def prevailing_targets(evaluated: pl.LazyFrame, realtime_channels: Sequence[str] = REALTIME_CHANNELS) -> pl.DataFrame:
    """Per channel group, the first-response target most of its conversations were held to (from
    :func:`dashboard.metrics.sla.evaluate` over the history): the default the plan is made for.

    Columns: ``channel_group``, ``target_name``, ``target_seconds``, ``clock``, ``schedule``, ``share`` (of the
    group's targeted conversations held to it).
    """
    targeted = evaluated.filter(pl.col("target_seconds").is_not_null()).with_columns(
        channel_group=channel_group(pl.col("network"), realtime_channels))
    counts = targeted.group_by("channel_group", "target_name", "target_seconds", "clock", "schedule").agg(
        n=pl.len())
    return (
        counts.with_columns(share=pl.col("n") / pl.col("n").sum().over("channel_group"))
        .sort(["channel_group", "n", "target_seconds"], descending=[False, True, False])
        .unique(subset="channel_group", keep="first", maintain_order=True)
        .select("channel_group", "target_name", "target_seconds", "clock", "schedule", "share")
        .collect()
    )
