"""The metric engine: pure Polars functions, LazyFrame in -> LazyFrame out (definitions: DESIGN.md).

- :mod:`~dashboard.metrics.business_hours` — schedules and the cumulative business clock ``BH(a, b)``.
- :mod:`~dashboard.metrics.policy` — the SLA policy TOML (schedules + targets).
- :mod:`~dashboard.metrics.conversations` — one row per conversation (first inbound, clock start, first
  response, tier / priority at start, assignment, closes); customer bursts for next response.
- :mod:`~dashboard.metrics.sla` — evaluation per conversation × metric and attainment per group.
- :mod:`~dashboard.metrics.stats` — nearest-rank percentiles and Wilson intervals (one implementation).
- :mod:`~dashboard.metrics.backlog` — open at an instant by age, the at-risk list, breaches due per hour.
- :mod:`~dashboard.metrics.agents` — the agent leaderboard, time in states, agents by state now, handle time.
- :mod:`~dashboard.metrics.volume` — arrivals per day and channel, the heatmap, the KPI summary.
- :mod:`~dashboard.metrics.automation` — automation health, error groups, incidents and their impact.
- :mod:`~dashboard.metrics.author_panel` — one author's profile and service history (the iFrame panel).
- :mod:`~dashboard.metrics.tar` — Khoros' "time to agent response" computed to its definition, beside ours.
- Planning (errors: :class:`dashboard.errors.PlanningError`): :mod:`~dashboard.metrics.reasons` (contact reasons
  by tag or disposition), :mod:`~dashboard.metrics.occupancy` (occupancy and concurrency per agent, team, hour),
  :mod:`~dashboard.metrics.staffing` (forecast, its WAPE, Erlang C / workload, the gap),
  :mod:`~dashboard.metrics.whatif` and :mod:`~dashboard.metrics.policy_toml` (edited targets re-scored, the
  policy written back as TOML).

Nothing here reads files or settings: the core (:mod:`dashboard.core`) decides which policy, tiers and data.
"""

from dashboard.metrics.agents import (
    AVAILABLE_STATES,
    agent_leaderboard,
    agent_names,
    agent_state_hours,
    agent_state_seconds,
    agent_state_timeline,
    agents_available,
    agents_by_state,
    handle_time_by_agent,
)
from dashboard.metrics.backlog import AGE_BUCKETS, at_risk, backlog_by_age, breaches_due, open_at, open_at_day_ends
from dashboard.metrics.business_hours import (
    Schedule,
    ScheduleError,
    add_business_seconds,
    business_clock_ms,
    business_seconds,
    is_business_time,
    make_schedule,
)
from dashboard.metrics.conversations import (
    BOT_RULES,
    FACT_EXPORTS,
    UNKNOWN_TIER,
    conversation_facts,
    customer_bursts,
    pending_intervals,
)
from dashboard.metrics.policy import METRICS, Policy, PolicyError, Target, load_policy, parse_policy
from dashboard.metrics.sla import (
    STATUSES,
    attainment_by,
    attainment_by_metric,
    attainment_by_period,
    compare_attainment,
    evaluate,
    evaluate_window,
    in_window,
    met_all,
    resolve_as_of,
    window_bounds,
)
from dashboard.metrics.stats import PERCENTILE_METHOD, difference_interval, nearest_rank, wilson_interval
from dashboard.metrics.volume import KPI_UNITS, arrivals_heatmap, conversations_by_day, kpi_summary, previous_window

__all__ = [
    "AGE_BUCKETS",
    "AVAILABLE_STATES",
    "BOT_RULES",
    "FACT_EXPORTS",
    "KPI_UNITS",
    "METRICS",
    "PERCENTILE_METHOD",
    "STATUSES",
    "UNKNOWN_TIER",
    "Policy",
    "PolicyError",
    "Schedule",
    "ScheduleError",
    "Target",
    "add_business_seconds",
    "agent_leaderboard",
    "agent_names",
    "agent_state_hours",
    "agent_state_seconds",
    "agent_state_timeline",
    "agents_available",
    "agents_by_state",
    "arrivals_heatmap",
    "at_risk",
    "attainment_by",
    "attainment_by_metric",
    "attainment_by_period",
    "backlog_by_age",
    "breaches_due",
    "business_clock_ms",
    "business_seconds",
    "compare_attainment",
    "conversation_facts",
    "conversations_by_day",
    "customer_bursts",
    "difference_interval",
    "evaluate",
    "evaluate_window",
    "handle_time_by_agent",
    "in_window",
    "is_business_time",
    "kpi_summary",
    "load_policy",
    "make_schedule",
    "met_all",
    "nearest_rank",
    "open_at",
    "open_at_day_ends",
    "parse_policy",
    "pending_intervals",
    "previous_window",
    "resolve_as_of",
    "wilson_interval",
    "window_bounds",
]
