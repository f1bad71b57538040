"""The whole staffing plan from the exports and the policy: one call for the view, the report and notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from dashboard.metrics._planning import PlanningError, check_probability
from dashboard.metrics.occupancy import handling_by_category, handling_segments, occupancy_hours
from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import evaluate
from dashboard.metrics.staffing._arrivals import (
    CHANNEL_GROUPS,
    REALTIME_CHANNELS,
    _bounds,
    backtest_forecast,
    channel_group,
    forecast_wape,
    hourly_arrivals,
    seasonal_forecast,
)
from dashboard.metrics.staffing._requirements import (
    GroupAssumptions,
    available_by_hour_of_week,
    prevailing_targets,
    staffing_gap,
    staffing_requirements,
)
from dashboard.metrics.stats import nearest_rank
from dashboard.schema import TIME


@dataclass(frozen=True)
class StaffingPlan:
    """Everything the staffing view, the report and a notebook show, from one call of :func:`plan_staffing`."""

    history: pl.DataFrame
    """Hourly arrivals over the history (:func:`hourly_arrivals`)."""
    forecast: pl.DataFrame
    backtest: pl.DataFrame
    wape: float | None
    """WAPE of the forecast of all arrivals per hour on the held-back weeks (null when none arrived)."""
    naive_wape: float | None
    wape_by_group: pl.DataFrame
    assumptions: tuple[GroupAssumptions, ...]
    handling: pl.DataFrame
    """:func:`dashboard.metrics.occupancy.handling_by_category` over the recent weeks."""
    requirements: pl.DataFrame
    available: pl.DataFrame
    gap: pl.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def assumptions_table(self) -> pl.DataFrame:
        return pl.DataFrame(
            [{"channel_group": a.channel_group, "model": a.model, "target_name": a.target_name,
              "target_seconds": a.target_seconds, "clock": a.clock,
              "schedule": a.schedule.name if a.schedule else None,
              "busy_seconds_per_conversation": a.busy_seconds_per_conversation,
              "first_touch_seconds": a.first_touch_seconds} for a in self.assumptions],
            schema={"channel_group": pl.String, "model": pl.String, "target_name": pl.String,
                    "target_seconds": pl.Float64, "clock": pl.String, "schedule": pl.String,
                    "busy_seconds_per_conversation": pl.Float64, "first_touch_seconds": pl.Float64},
        )


def plan_staffing(
    facts: pl.LazyFrame,
    incoming_post: pl.LazyFrame,
    response: pl.LazyFrame,
    actions: pl.LazyFrame,
    agent_states: pl.LazyFrame,
    policy: Policy,
    *,
    end: date,
    tz: str,
    attainment: float = 0.8,
    horizon_days: int = 14,
    weeks: int = 4,
    holdout_weeks: int = 2,
    occupancy_cap: float = 0.85,
    realtime_channels: Sequence[str] = REALTIME_CHANNELS,
    targets: dict[str, tuple[float, str]] | None = None,
    as_of: datetime | None = None,
) -> StaffingPlan:
    """The staffing plan for the ``horizon_days`` local days from ``end`` on, from the history before ``end``.

    Forecast from the last ``weeks`` weeks; its WAPE from the ``holdout_weeks`` before ``end`` forecast from the
    ``weeks`` weeks before them (so ``weeks + holdout_weeks`` weeks of history are needed); handle time,
    concurrency, first touch and available agents measured over the last ``weeks`` weeks. ``targets``
    overrides the prevailing first-response target per channel group: ``{"realtime": (seconds, clock)}``
    (a business clock uses the policy's default schedule).
    """
    check_probability("attainment", attainment)
    end_utc, _ = _bounds(end, end + timedelta(days=1), tz)
    history_start = end - timedelta(days=7 * (weeks + holdout_weeks))
    recent_start = end - timedelta(days=7 * weeks)
    history = hourly_arrivals(facts, start=history_start, end=end, tz=tz,
                              realtime_channels=realtime_channels).collect()
    forecast = seasonal_forecast(history, end=end, tz=tz, horizon_days=horizon_days, weeks=weeks)
    backtest = backtest_forecast(history, end=end, tz=tz, holdout_weeks=holdout_weeks, weeks=weeks)
    overall = forecast_wape(backtest).row(0, named=True)

    segments = handling_segments(facts, incoming_post, response, actions).collect().lazy()
    moment = as_of or end_utc

    def group(network: pl.Expr) -> pl.Expr:
        return channel_group(network, realtime_channels)

    handling = handling_by_category(segments, agent_states, start=recent_start, end=end, tz=tz, as_of=moment,
                                    category=group, categories=list(CHANNEL_GROUPS)).collect()
    recent_lo, _ = _bounds(recent_start, end, tz)
    recent = facts.filter((pl.col("clock_start") >= pl.lit(recent_lo).cast(TIME))
                          & (pl.col("clock_start") < pl.lit(end_utc).cast(TIME)))
    touch = (
        recent.with_columns(channel_group=group(pl.col("network")),
                            _touch=(pl.col("agent_first_touch_time") - pl.col("first_assigned_time"))
                            .dt.total_milliseconds() / 1000.0)
        .group_by("channel_group").agg(first_touch_seconds=nearest_rank(pl.col("_touch"), 0.5))
        .collect()
    )
    prevailing = prevailing_targets(evaluate(recent, policy, "first_response", as_of=end_utc), realtime_channels)
    notes: list[str] = []
    assumptions: list[GroupAssumptions] = []
    for name in CHANNEL_GROUPS:
        cost = handling.filter(pl.col("category") == name)
        busy = cost["busy_seconds_per_conversation"][0] if cost.height else None
        arrivals = float(forecast.filter(pl.col("channel_group") == name)["forecast"].sum())
        if busy is None or not busy > 0:
            if arrivals > 0:
                notes.append(f"{name}: no handling measured in the last {weeks} weeks, so no agents are planned "
                             f"for its {arrivals:.0f} forecast conversations")
            continue
        if targets and name in targets:
            seconds, clock = targets[name]
            target_name, schedule = "chosen target", policy.default_schedule
        else:
            row = prevailing.filter(pl.col("channel_group") == name)
            if row.is_empty():
                notes.append(f"{name}: no first-response target of the policy matched its conversations")
                continue
            seconds, clock = row["target_seconds"][0], row["clock"][0]
            target_name, schedule = row["target_name"][0], policy.schedules.get(row["schedule"][0])
        touch_row = touch.filter(pl.col("channel_group") == name)
        first_touch = touch_row["first_touch_seconds"][0] if touch_row.height else None
        assumptions.append(GroupAssumptions(
            channel_group=name, target_seconds=float(seconds), clock=clock, busy_seconds_per_conversation=busy,
            first_touch_seconds=float(first_touch or 0.0), schedule=schedule if clock == "business" else None,
            target_name=target_name,
        ))
    if not assumptions:
        raise PlanningError(f"nothing to plan: no handling was measured in the {weeks} weeks before {end}")
    requirements = staffing_requirements(forecast, assumptions, attainment=attainment, occupancy_cap=occupancy_cap)
    occupancy = occupancy_hours(segments, agent_states, start=recent_start, end=end, tz=tz, as_of=moment)
    available = available_by_hour_of_week(occupancy, end=end, weeks=weeks)
    return StaffingPlan(
        history=history,
        forecast=forecast,
        backtest=backtest,
        wape=overall["wape"],
        naive_wape=overall["naive_wape"],
        wape_by_group=forecast_wape(backtest, ["channel_group"]),
        assumptions=tuple(assumptions),
        handling=handling,
        requirements=requirements,
        available=available,
        gap=staffing_gap(requirements, available),
        notes=tuple(notes),
    )
