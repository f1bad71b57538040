"""The metric engine: pure Polars functions, LazyFrame in -> LazyFrame out (definitions: DESIGN.md).

- :mod:`~dashboard.metrics.business_hours` — schedules and the cumulative business clock ``BH(a, b)``.
- :mod:`~dashboard.metrics.policy` — the SLA policy TOML (schedules + targets).
- :mod:`~dashboard.metrics.conversations` — one row per conversation (first inbound, clock start, first
  response, tier / priority at start, assignment, closes); customer bursts for next response.
- :mod:`~dashboard.metrics.sla` — evaluation per conversation × metric and attainment per group.
- :mod:`~dashboard.metrics.stats` — nearest-rank percentiles and Wilson intervals (one implementation).
"""

from dashboard.metrics.business_hours import (
    Schedule,
    ScheduleError,
    add_business_seconds,
    business_clock_ms,
    business_seconds,
    is_business_time,
    make_schedule,
)
from dashboard.metrics.conversations import BOT_RULES, UNKNOWN_TIER, conversation_facts, customer_bursts
from dashboard.metrics.policy import METRICS, Policy, PolicyError, Target, load_policy, parse_policy
from dashboard.metrics.sla import STATUSES, attainment_by, evaluate, in_window, resolve_as_of, window_bounds
from dashboard.metrics.stats import PERCENTILE_METHOD, nearest_rank, wilson_interval

__all__ = [
    "BOT_RULES",
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
    "attainment_by",
    "business_clock_ms",
    "business_seconds",
    "conversation_facts",
    "customer_bursts",
    "evaluate",
    "in_window",
    "is_business_time",
    "load_policy",
    "make_schedule",
    "nearest_rank",
    "parse_policy",
    "resolve_as_of",
    "wilson_interval",
    "window_bounds",
]
