"""Alerts: the automation monitor's rules, and the one episode machinery every alert shares.

- :mod:`dashboard.alerts.monitor`: ``[[alerts]]`` of the policy file on Bot API request records (error rate,
  failures, latency, DOWN), evaluated by the Automation page on each refresh (:func:`evaluate_alerts`);
- :mod:`dashboard.alerts.episodes`: firing, reminding after a back-off, resolving, quiet hours, delivery-aware
  state (:func:`plan` / :func:`commit`) — used by the monitor and by the notifier's SLA breach alerts
  (:mod:`dashboard.notify`), so there is one back-off machinery, not two.

Errors: :class:`AlertRuleError` (a :class:`dashboard.errors.DashboardError`) names the file, entry, line and key.
"""

from __future__ import annotations

from dashboard.alerts.episodes import REMEMBER, Condition, Transition, commit, iso, migrate_state, parse_iso, plan
from dashboard.alerts.monitor import (
    ALERT_KINDS,
    DEFAULT_ALERT_RULES,
    DEFAULT_BACKOFF,
    DOWN_LOOKBACK,
    SEVERITIES,
    AlertRule,
    AlertRuleError,
    FiringAlert,
    evaluate_alerts,
    load_alert_rules,
    parse_alert_rules,
)

__all__ = [
    "ALERT_KINDS",
    "DEFAULT_ALERT_RULES",
    "DEFAULT_BACKOFF",
    "DOWN_LOOKBACK",
    "REMEMBER",
    "SEVERITIES",
    "AlertRule",
    "AlertRuleError",
    "Condition",
    "FiringAlert",
    "Transition",
    "commit",
    "evaluate_alerts",
    "iso",
    "load_alert_rules",
    "migrate_state",
    "parse_alert_rules",
    "parse_iso",
    "plan",
]
