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

from dashboard.metrics.staffing._arrivals import (
    ASYNC,
    CHANNEL_GROUPS,
    MODELS,
    REALTIME,
    REALTIME_CHANNELS,
    backtest_forecast,
    channel_group,
    forecast_wape,
    hourly_arrivals,
    seasonal_forecast,
)
from dashboard.metrics.staffing._plan import StaffingPlan, plan_staffing
from dashboard.metrics.staffing._queueing import erlang_c, erlang_c_agents, erlang_c_service_level, poisson_quantile
from dashboard.metrics.staffing._requirements import (
    GroupAssumptions,
    available_by_hour_of_week,
    prevailing_targets,
    staffing_gap,
    staffing_requirements,
)

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
