"""Telling people without being asked: scheduled digests and SLA breach alerts, by e-mail and chat.

Rules live in a TOML file (``CARE_DASHBOARD_NOTIFY``; format in :mod:`dashboard.notify.rules`). A job runs
``python -m dashboard notify run`` every few minutes (cron, a Kubernetes CronJob); it sends each digest once per
slot of its cron schedule and each SLA alert as its episode says, and records what it sent beside the store
(:mod:`dashboard.notify.state`). Digest figures come from the same metric functions as the report CLI
(:mod:`dashboard.notify.content`); breach alerts follow the at-risk list of the Live queue
(:mod:`dashboard.notify.sla_alerts`). SMTP and webhook URLs come from the environment or the secrets file only
and never appear in a message, a log line or the state (:mod:`dashboard.notify.deliver`).

Modules, in the order data flows: ``rules`` (+ ``_values``) → ``schedule`` → ``data`` → ``content`` /
``sla_alerts`` + ``episodes`` → ``render`` / ``alert_messages`` → ``deliver`` → ``state``; ``runner`` ties them
together, ``status`` lists the rules for the Data page, ``cli`` is the command.

Errors (all :class:`dashboard.errors.DashboardError`)::

    NotifyError                 the notifier failed on purpose; message names the file, rule or channel
    ├── RulesError              the rules file is invalid: file, line and reason (also a ValueError)
    ├── NotifyConfigError       a delivery setting is missing or unusable: names it, never its value
    ├── DeliveryError           a channel failed after its retries; ``transient`` says if a retry may help
    └── NotifyBusy              another ``notify run`` holds this store's notification lock
"""

from __future__ import annotations

from dashboard.alerts import Condition, Transition
from dashboard.notify.content import DigestContent, build_digest, create_digest_charts
from dashboard.notify.deliver import (
    Channels,
    DeliveryPolicy,
    Secrets,
    SmtpSettings,
    Webhook,
    post_webhook,
    send_email,
)
from dashboard.notify.errors import DeliveryError, NotifyBusy, NotifyConfigError, NotifyError, RulesError
from dashboard.notify.render import ChatMessage, dashboard_link, digest_chat, digest_email, render_png
from dashboard.notify.rules import DigestRule, NotifyRules, QuietHours, SlaAlertRule, load_rules, parse_rules
from dashboard.notify.runner import Delivery, Notifier, Outcome, Preview, RunReport
from dashboard.notify.schedule import digest_window, due_slot, latest_slot, next_slot
from dashboard.notify.sla_alerts import SlaEvaluation, evaluate_sla_alert
from dashboard.notify.state import NotifyState, read_state, state_folder
from dashboard.notify.status import RuleStatus, rule_status

__all__ = [
    "Channels",
    "ChatMessage",
    "Condition",
    "Delivery",
    "DeliveryError",
    "DeliveryPolicy",
    "DigestContent",
    "DigestRule",
    "Notifier",
    "NotifyBusy",
    "NotifyConfigError",
    "NotifyError",
    "NotifyRules",
    "NotifyState",
    "Outcome",
    "Preview",
    "QuietHours",
    "RuleStatus",
    "RulesError",
    "RunReport",
    "Secrets",
    "SlaAlertRule",
    "SlaEvaluation",
    "SmtpSettings",
    "Transition",
    "Webhook",
    "build_digest",
    "create_digest_charts",
    "dashboard_link",
    "digest_chat",
    "digest_email",
    "digest_window",
    "due_slot",
    "evaluate_sla_alert",
    "latest_slot",
    "load_rules",
    "next_slot",
    "parse_rules",
    "post_webhook",
    "read_state",
    "render_png",
    "rule_status",
    "send_email",
    "state_folder",
]
