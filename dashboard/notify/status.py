"""The rules as the Data page (and ``notify status``) lists them: what each does, where it sends, when it last
ran and sent, and what failed — from the rules file and the state, without Streamlit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.notify.rules import DigestRule, NotifyRules
from dashboard.notify.schedule import next_slot
from dashboard.notify.state import NotifyState, parse_iso

__all__ = ["RuleStatus", "rule_status"]


@dataclass(frozen=True)
class RuleStatus:
    name: str
    kind: str
    """``digest`` or ``sla_alert``."""
    describes: str
    recipients: str
    """E-mail addresses and webhook names (never URLs)."""
    next_slot: datetime | None
    last_run: datetime | None
    last_status: str | None
    last_sent: datetime | None
    failures: int
    """Failures recorded for this rule (of the state's latest :data:`~dashboard.notify.state.KEEP_FAILURES`)."""
    last_failure: str | None


def rule_status(rules: NotifyRules, state: NotifyState, at: datetime) -> list[RuleStatus]:
    """Every rule with its schedule, its last run and send, and its recorded failures."""
    rows = []
    for rule in (*rules.digests, *rules.sla_alerts):
        if isinstance(rule, DigestRule):
            kind, describes = "digest", f"{rule.window} digest, cron '{rule.schedule}' ({rule.timezone})"
            upcoming = next_slot(rule.schedule, rule.timezone, at)
        else:
            kind, describes, upcoming = "sla_alert", rule.describe(), None
        last = state.last.get(rule.name, {})
        failures = [f for f in state.failures if f.get("rule") == rule.name]
        latest = failures[-1] if failures else None
        rows.append(RuleStatus(
            name=rule.name, kind=kind, describes=describes,
            recipients=", ".join([*rule.email, *(f"webhook {w}" for w in rule.webhooks)]),
            next_slot=upcoming, last_run=parse_iso(last.get("at")), last_status=last.get("status"),
            last_sent=state.last_sent(rule.name), failures=len(failures),
            last_failure=f"{latest['at']} {latest['channel']}: {latest['reason']}" if latest else None,
        ))
    return rows
