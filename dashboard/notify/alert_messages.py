"""What an SLA alert says: one chat message (and e-mail) per rule and run, from its evaluation and the episode
transitions it announces. Every string is plain text; :mod:`dashboard.notify.render` shapes it per channel.

- ``once = "conversation"``: "N conversation clock(s) will breach within 30m", one line per new conversation;
- an episode: its summary when it starts, "still firing since …" after each back-off, "[resolved] …" with when it
  began and how long it lasted when it ends;
- a test (``notify send NAME --now``, the Data page): what the rule sees right now, marked as a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.alerts import Transition
from dashboard.notify.render import ALERT_PAGE, ChatMessage, dashboard_link
from dashboard.notify.rules import SlaAlertRule
from dashboard.notify.sla_alerts import SlaEvaluation, risk_line
from dashboard.views.kpi import format_duration

__all__ = ["MAX_LISTED", "alert_footer", "alert_message", "alert_test_message"]

MAX_LISTED = 20
"""Conversations listed in one alert message; the rest are counted."""
LINK_LABEL = "Open the live queue"


def _local(t: datetime | None, tz: str) -> str:
    return "—" if t is None else t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def _link(rule: SlaAlertRule, dashboard_url: str | None) -> str | None:
    return dashboard_link(dashboard_url, ALERT_PAGE, tz=rule.timezone, filters=rule.filters)


def _facts(rule: SlaAlertRule, evaluation: SlaEvaluation) -> tuple[tuple[str, str], ...]:
    facts = [("Rule", rule.describe()), ("As of", _local(evaluation.as_of, rule.timezone))]
    if rule.filters:
        facts.append(("Filters", "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in rule.filters.items())))
    return tuple(facts)


def _risk_lines(evaluation: SlaEvaluation, keys: set[str] | None = None) -> tuple[str, ...]:
    if evaluation.rule.kind != "breach_soon":
        return ()
    rows = [r for r in evaluation.rows.iter_rows(named=True)
            if keys is None or f"{r['conversation_id']}|{r['metric']}" in keys]
    lines = [risk_line(r) for r in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        lines.append(f"… and {len(rows) - MAX_LISTED} more")
    return tuple(lines)


def alert_message(rule: SlaAlertRule, evaluation: SlaEvaluation, announced: Sequence[Transition],
                  dashboard_url: str | None) -> ChatMessage:
    """The message announcing ``announced`` (the run's firing / reminder / resolved transitions of ``rule``)."""
    tag = f"[{rule.severity}]"
    kinds = {t.kind for t in announced}
    facts = _facts(rule, evaluation)
    link = _link(rule, dashboard_url)
    if rule.once == "conversation":
        keys = {t.key for t in announced}
        within = format_duration(rule.within.total_seconds() if rule.within else 0)
        title = f"{tag} {rule.name}: {len(keys)} conversation clock(s) will breach within {within}"
        return ChatMessage(title, rule.describe(), facts, _risk_lines(evaluation, keys), link, LINK_LABEL,
                           rule.severity)
    transition = announced[0]
    since = _local(transition.since, rule.timezone) if transition.since else "—"
    if "firing" in kinds:
        title = f"{tag} {rule.name}: {evaluation.summary}"
    elif "reminder" in kinds:
        title = f"{tag} still firing since {since}: {rule.name}: {evaluation.summary}"
    else:
        lasted = format_duration((evaluation.as_of - transition.since).total_seconds()) if transition.since else "—"
        title = f"[resolved] {rule.name}: {evaluation.summary}"
        facts = (*facts, ("Began", since), ("Lasted", lasted))
        return ChatMessage(title, "The condition no longer holds.", facts, (), link, LINK_LABEL, "info")
    return ChatMessage(title, rule.describe(), facts, _risk_lines(evaluation), link, LINK_LABEL, rule.severity)


def alert_test_message(rule: SlaAlertRule, evaluation: SlaEvaluation, dashboard_url: str | None) -> ChatMessage:
    """What ``rule`` sees right now, marked as a test (it changes no episode)."""
    holds = "holds" if evaluation.conditions else ("cannot be judged" if not evaluation.decidable else "does not hold")
    return ChatMessage(f"[test] {rule.name}: {evaluation.summary}", f"A test of this alert rule; right now it {holds}.",
                       _facts(rule, evaluation), _risk_lines(evaluation), _link(rule, dashboard_url), LINK_LABEL,
                       "info")


def alert_footer(rule: SlaAlertRule) -> str:
    quiet = f" Quiet hours {rule.quiet_hours.describe()}." if rule.quiet_hours else ""
    return f"Alert rule {rule.name} of the Khoros Care Dashboard.{quiet}"
