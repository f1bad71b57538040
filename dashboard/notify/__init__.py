"""Telling people without being asked: scheduled digests and SLA breach alerts, by e-mail and chat.

Rules live in a TOML file (``CARE_DASHBOARD_NOTIFY``; format in :mod:`dashboard.notify.rules`). A job runs
``python -m dashboard notify run`` every few minutes (cron, a Kubernetes CronJob); it sends each digest once per
slot of its cron schedule and each SLA alert as its episode says, and records what it sent beside the store
(:mod:`dashboard.notify.state`). Everything it reports it asks the core for (:class:`dashboard.core.Dashboard`:
facts, policy, tier order, request records, "now"): digest figures come from the report CLI's function
(:mod:`dashboard.notify.content`), breach alerts follow the Live queue's at-risk list
(:mod:`dashboard.notify.sla_alerts`), and alert episodes are the automation monitor's machinery
(:mod:`dashboard.alerts.episodes`). SMTP and webhook URLs are settings (environment or secrets file, read by
:func:`dashboard.settings.load_settings`) and never appear in a message, a log line, the state or a page
(:mod:`dashboard.notify.deliver`).

Modules, in the order data flows: ``rules`` (+ ``_values``) → ``schedule`` → ``content`` / ``sla_alerts`` →
``render`` / ``alert_messages`` → ``deliver`` → ``state``; ``runner`` ties them together (``Notifier.for_core``),
``status`` lists the rules for the Data page (``dashboard.views.notify``), ``cli`` is the command.

Errors (all :class:`dashboard.errors.DashboardError`)::

    NotifyError                 the notifier failed on purpose; message names the file, rule or channel
    ├── RulesError              the rules file is invalid: file, line and reason (a ConfigFileError, a ValueError)
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
