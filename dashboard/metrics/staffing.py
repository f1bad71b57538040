"""Staffing: arrivals per local hour forecast for the next days, and the agents needed to meet the first-response
target at a chosen attainment, compared with the agents that were available in the same hours of recent weeks.

**Arrivals** are conversations that needed a human, placed at their ``clock_start`` (the first inbound post, or
the hand-off from a bot; conversations the bot contained need no agent), counted per local hour and per channel
group (:func:`hourly_arrivals`).

**Forecast** (:func:`seasonal_forecast`): for each hour of the week, the mean of the same local hour of the week
over the last ``weeks`` weeks. Why this model and not a forecasting library: care arrivals are dominated by the
weekly cycle (hour of day × day of week), the hourly counts are small and Poisson-noisy, and two to eight weeks
of history is what a tenant typically has. A seasonal mean is what the well-kept libraries (statsforecast's
``SeasonalWindowAverage``, Prophet with weekly seasonality) reduce to on such data, it can be explained in one
sentence, it needs no fitting, and it adds nothing to install (statsforecast brings numba and llvmlite, about
150 MB; Prophet brings a Stan toolchain) on a 2-core machine. Its error is measured, not assumed: the most
recent ``holdout_weeks`` are held back, forecast from the weeks before them, and compared hour by hour as
**WAPE** = Σ|actual − forecast| ÷ Σ actual (:func:`backtest_forecast`, :func:`forecast_wape`), beside the
error of the naive "same hour last week" forecast.

**Agents needed** (:func:`staffing_requirements`), per channel group:

- **Real-time channels** (:data:`REALTIME_CHANNELS`: owned live chat, where the customer waits on the page):
  **Erlang C**. Conversations arrive at random (Poisson), wait in one queue and are taken by the next free
  agent; the target is how long a customer may wait. The chance that a conversation waits at most ``t`` with
  ``N`` agents and traffic ``A`` Erlangs is ``1 − C(N, A) · exp(−(N − A) · t / h)``; we take the smallest ``N``
  for which that reaches the chosen attainment. ``h`` is the agent time one conversation takes (its time in
  hand divided by the measured concurrency: :func:`dashboard.metrics.occupancy.handling_by_category`), so
  agents who work several chats at once are counted as such. The wait ``t`` is the first-response target less
  the median time from assignment to the first reply (the clock runs on while the agent writes).
- **Asynchronous messaging** (every other channel: social networks, WhatsApp, Apple Messages, SMS): a
  **workload** model. Customers do not wait on the line, targets are hours (often business hours) and the queue
  carries over, so Erlang's steady-state waiting-time law does not describe it; what matters is that the work
  arriving within any span of one target length is done within that span. Agents in an hour = the work that
  arrived in the last target length (in the target's clock: with business hours, the night's arrivals wait
  for the opening), taken at the chosen attainment's quantile of a Poisson count, × agent time per
  conversation ÷ the target length ÷ the occupancy an agent can sustain (``occupancy_cap``).

Agents are rounded up per channel group, and the two groups are planned as separate pools (an agent who does
both makes the plan a little pessimistic). **Available agents** are the mean over recent weeks of the agents
in an available state in the same local hour of the week (from ``raw_agent_states``); **short by** = needed −
available, where positive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from dashboard.metrics._planning import PlanningError, check_probability, local_hour_grid
from dashboard.metrics.business_hours import Schedule, business_clock, clock_ms_from_epoch
from dashboard.metrics.occupancy import handling_by_category, handling_segments, occupancy_by, occupancy_hours
from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import evaluate, window_bounds
from dashboard.metrics.stats import nearest_rank
from dashboard.schema import TIME

__all__ = [
    "ASYNC",
    "CHANNEL_GROUPS",
    "DEFINITIONS",
    "MODELS",
    "REALTIME",
    "REALTIME_CHANNELS",
    "GroupAssumptions",
    "StaffingPlan",
    "available_by_hour_of_week",
    "backtest_forecast",
    "channel_group",
    "erlang_c",
    "erlang_c_agents",
    "erlang_c_service_level",
    "forecast_wape",
    "hourly_arrivals",
    "plan_staffing",
    "poisson_quantile",
    "prevailing_targets",
    "seasonal_forecast",
    "staffing_gap",
    "staffing_requirements",
]

REALTIME = "realtime"
ASYNC = "async"
CHANNEL_GROUPS = (REALTIME, ASYNC)
REALTIME_CHANNELS = ("brand_messenger", "chat", "live_chat", "livechat", "web_chat")
"""Networks planned with Erlang C (the customer waits on the page); every other network is asynchronous."""
MODELS = {REALTIME: "erlang_c", ASYNC: "workload"}
DEFINITIONS: dict[str, str] = {
    "arrivals": "Conversations that needed a human, at their clock start (first inbound post, or the hand-off "
                "from a bot), per local hour.",
    "forecast": "For each hour of the week, the mean of the same local hour over the last weeks.",
    "wape": "Weighted absolute percentage error on held-back recent weeks: Σ|actual − forecast| ÷ Σ actual over "
            "their hours.",
    "erlang_c": "Real-time channels: the fewest agents for which the chosen share of conversations is taken "
                "within the first-response target less the median time from assignment to first reply (Erlang C, "
                "agent time per conversation = time in hand ÷ concurrency).",
    "workload": "Asynchronous channels: the conversations arriving within one target length (Poisson count at "
                "the chosen attainment) × agent time per conversation ÷ the target length ÷ the occupancy cap.",
    "available_agents": "Agents in an available state in the same local hour of the week, averaged over recent "
                        "weeks.",
    "short_by": "Agents needed − agents available, where positive.",
}
"""What each figure means, for the pages' "Explain" and the report's footnotes."""
HOUR = 3600.0
WEEK = timedelta(days=7)


# ---------------------------------------------------------------------------------------------- arrivals


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


# ---------------------------------------------------------------------------------------------- forecast


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


# ---------------------------------------------------------------------------------------------- queueing


def _erlang_b(agents: int, traffic: float) -> float:
    # The stable recursion B(n) = A·B(n−1) / (n + A·B(n−1)); no factorials, no overflow.
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that an arriving conversation waits (Erlang C), ``agents`` servers, ``traffic`` Erlangs;
    1.0 when ``agents <= traffic`` (the queue grows without bound)."""
    if traffic < 0 or agents < 0:
        raise PlanningError(f"Erlang C needs agents >= 0 and traffic >= 0, got {agents}, {traffic}")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = _erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1 - b))


def erlang_c_service_level(agents: int, traffic: float, handle_seconds: float, answer_seconds: float) -> float:
    """Share of conversations taken within ``answer_seconds``: ``1 − C(N, A) · exp(−(N − A) · t / h)``."""
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return 1.0 - erlang_c(agents, traffic) * math.exp(-(agents - traffic) * answer_seconds / handle_seconds)


def _erlang_c_agents_array(traffic: np.ndarray, handle_seconds: float, answer_seconds: float,
                           attainment: float) -> np.ndarray:
    """Smallest agents per element of ``traffic`` meeting the attainment (vectorised over the hours)."""
    need = np.zeros(len(traffic), dtype=np.int64)
    todo = traffic > 0
    b = np.ones(len(traffic))
    n = 0
    while todo.any():
        n += 1
        b = np.where(todo, traffic * b / (n + traffic * b), b)
        stable = todo & (n > traffic)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = n * b / (n - traffic * (1 - b))
            # only stable hours (n > traffic) are read; the clip keeps the others from overflowing
            level = 1.0 - c * np.exp(-np.clip(n - traffic, 0, None) * answer_seconds / handle_seconds)
        done = stable & (level >= attainment)
        need[done] = n
        todo &= ~done
    return need


def erlang_c_agents(traffic: float, handle_seconds: float, answer_seconds: float, attainment: float) -> int:
    """The fewest agents for which at least ``attainment`` of conversations wait at most ``answer_seconds``."""
    check_probability("attainment", attainment)
    if handle_seconds <= 0 or answer_seconds < 0 or traffic < 0:
        raise PlanningError(f"Erlang C needs handle > 0, answer time >= 0, traffic >= 0 (got {handle_seconds}, "
                            f"{answer_seconds}, {traffic})")
    return int(_erlang_c_agents_array(np.array([float(traffic)]), handle_seconds, answer_seconds, attainment)[0])


def poisson_quantile(mean: float, p: float) -> int:
    """The smallest k with P(X <= k) >= p for X ~ Poisson(mean) (exact sum, in log space)."""
    check_probability("p", p)
    if mean < 0:
        raise PlanningError(f"a Poisson mean cannot be negative, got {mean}")
    if mean == 0:
        return 0
    # Below mean − 12·sqrt(mean) the mass is < 1e-30: start there so large means stay cheap.
    k = max(0, int(mean - 12 * math.sqrt(mean)))
    log_mean = math.log(mean)
    total = 0.0
    while True:
        total += math.exp(-mean + k * log_mean - math.lgamma(k + 1))
        if total >= p:
            return k
        k += 1


# ---------------------------------------------------------------------------------------------- requirements


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


# ---------------------------------------------------------------------------------------------- the whole plan


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
