"""Running the rules: what is due at an instant, sent once per slot, each rule on its own.

:meth:`Notifier.run` (``notify run``, for cron or a Kubernetes CronJob every few minutes) takes the state's lock,
then for every digest whose slot is due (:func:`dashboard.notify.schedule.due_slot`) sends it to each of its
channels that has not had it yet, and for every SLA alert rule evaluates it and announces what its episodes say
(:mod:`dashboard.alerts.episodes`, the machinery the automation monitor uses too). Each channel's outcome is
written to the state right away. A rule or a channel that fails is recorded (for the Data page and ``notify
status``) and the run goes on with the next: one failure never blocks the other rules. A failed digest channel
is tried again by the next runs while its slot is due, at most :data:`MAX_RUNS_PER_SLOT` runs; an alert that
reached none of its channels is announced again by the next run.

:meth:`Notifier.send_now` sends one rule at once, outside its schedule (a test, or a digest asked for), and
:meth:`Notifier.preview` renders it without sending: the e-mail as ``.eml`` and ``.html``, and the chat payloads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.alerts import commit, plan
from dashboard.errors import DashboardError
from dashboard.notify.alert_messages import alert_footer, alert_message, alert_test_message
from dashboard.notify.content import DigestContent, build_digest
from dashboard.notify.deliver import Channels, DeliveryPolicy, SmtpSettings, post_webhook, send_email
from dashboard.notify.errors import DeliveryError, NotifyConfigError
from dashboard.notify.render import (
    DIGEST_PAGE,
    ChatMessage,
    RenderedEmail,
    chat_payload,
    dashboard_link,
    digest_chat,
    digest_email,
    simple_email,
)
from dashboard.notify.rules import DigestRule, NotifyRules, SlaAlertRule, configured_rules
from dashboard.notify.schedule import digest_window, due_slot, next_slot, slot_key
from dashboard.notify.sla_alerts import SlaEvaluation, evaluate_sla_alert
from dashboard.notify.state import NotifyState, iso, locked_state, read_state, state_folder

__all__ = ["MAX_RUNS_PER_SLOT", "Delivery", "Notifier", "Outcome", "Preview", "RunReport"]

log = logging.getLogger("dashboard.notify")

MAX_RUNS_PER_SLOT = 3
"""Runs that try a failed digest channel for one slot (each with its own retries) before it is left failed."""


# --------------------------------------------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True)
class Delivery:
    channel: str
    ok: bool
    attempts: int
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    rule: str
    kind: str
    """``digest`` or ``sla_alert``."""
    status: str
    """``sent``, ``partial`` (some channels failed), ``failed``, ``skipped`` (nothing due or nothing to say),
    ``error`` (the rule could not be evaluated)."""
    detail: str
    deliveries: tuple[Delivery, ...] = ()

    def line(self) -> str:
        channels = "; ".join(f"{d.channel} {'ok' if d.ok else 'FAILED: ' + (d.reason or '')}" for d in self.deliveries)
        return f"{self.kind} {self.rule}: {self.status} — {self.detail}" + (f" [{channels}]" if channels else "")


@dataclass(frozen=True)
class RunReport:
    at: datetime
    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> bool:
        return any(o.status in ("failed", "partial", "error") for o in self.outcomes)

    @property
    def sent(self) -> int:
        return sum(1 for o in self.outcomes for d in o.deliveries if d.ok)


@dataclass(frozen=True)
class Preview:
    rule: str
    subject: str
    eml_path: Path | None
    html_path: Path | None
    payloads: Mapping[str, dict[str, Any]]
    """Chat payloads by format (``slack``, ``teams``)."""


# --------------------------------------------------------------------------------------------------------------
# The notifier


class Notifier:
    """The rules of one rules file, over one core's data (:class:`dashboard.core.Dashboard`: facts, policy, tier
    order, request records, ``now()``), sending through ``channels``. Its state lives beside the core's store
    (``<store root>/_notify``), or in ``state_dir`` (a core over tables in memory has no store)."""

    def __init__(
        self,
        rules: NotifyRules,
        core: Any,
        channels: Channels,
        *,
        state_dir: str | Path | None = None,
        policy: DeliveryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        charts: bool = True,
        lock_timeout_s: float = 60.0,
    ) -> None:
        self.rules = rules
        self.core = core
        self.channels = channels
        if state_dir is None:
            store = getattr(core, "store", None)
            if store is None:
                raise NotifyConfigError("the notifier keeps what it sent beside the store; this data source has "
                                        "none, so give it a state folder")
            self.folder = state_folder(store.local_dir)
        else:
            self.folder = Path(state_dir)
        self.policy = policy or DeliveryPolicy()
        self.sleep = sleep
        self.charts = charts
        self.lock_timeout_s = lock_timeout_s

    @classmethod
    def for_core(cls, core: Any, rules: NotifyRules | None = None, **options: Any) -> Notifier:
        """The configured notifier of ``core``: the rules file and channels its settings name (the environment
        and the secrets file), the state beside its store. ``options``: as for the constructor."""
        rules = rules if rules is not None else configured_rules(core.settings)
        return cls(rules, core, Channels.from_settings(core.settings, rules.webhook_formats), **options)

    # ---- public --------------------------------------------------------------------------------------------

    def run(self, at: datetime) -> RunReport:
        """Send what is due at ``at``; idempotent per slot and per alert state."""
        at = _utc(at)
        outcomes: list[Outcome] = []
        with locked_state(self.folder, timeout_s=self.lock_timeout_s) as state:
            for digest in self.rules.digests:
                outcomes.append(self._guarded(digest, state, at, lambda r=digest: self._run_digest(r, state, at)))
            for alert in self.rules.sla_alerts:
                outcomes.append(self._guarded(alert, state, at, lambda r=alert: self._run_alert(r, state, at)))
            for outcome in outcomes:
                state.record_outcome(outcome.rule, at=at, status=outcome.status, detail=outcome.line())
            state.record_run({"at": iso(at), "trigger": "run", "sent": sum(1 for o in outcomes for d in o.deliveries
                                                                           if d.ok),
                              "failed": sum(1 for o in outcomes for d in o.deliveries if not d.ok),
                              "errors": sum(1 for o in outcomes if o.status == "error")})
            state.prune(at)
            state.save()
        for outcome in outcomes:
            (log.warning if outcome.status in ("failed", "partial", "error") else log.info)("%s", outcome.line())
        return RunReport(at, tuple(outcomes))

    def send_now(self, name: str, at: datetime) -> Outcome:
        """Send rule ``name`` now, outside its schedule: a digest for the window it would cover at ``at``; an
        alert's current evaluation, marked as a test, without touching its episodes."""
        at = _utc(at)
        rule = self.rules.rule(name)
        with locked_state(self.folder, timeout_s=self.lock_timeout_s) as state:
            if isinstance(rule, DigestRule):
                content = self._digest_content(rule, at)
                deliveries = self._deliver_digest(rule, content, None, state, at, list(self._digest_channels(rule)))
                outcome = _outcome(rule, "digest", deliveries, f"sent on demand for {content.window_label}")
            else:
                evaluation = self._evaluate(rule, at)
                message = alert_test_message(rule, evaluation, self.rules.dashboard_url)
                deliveries = self._deliver_message(rule, message, state, at, what="test")
                outcome = _outcome(rule, "sla_alert", deliveries, f"test: {evaluation.summary}")
            state.record_outcome(rule.name, at=at, status=outcome.status, detail=outcome.line())
            state.record_run({"at": iso(at), "trigger": f"send {rule.name}",
                              "sent": sum(1 for d in deliveries if d.ok),
                              "failed": sum(1 for d in deliveries if not d.ok), "errors": 0})
            state.save()
        return outcome

    def preview(self, name: str, at: datetime, out_dir: str | Path | None = None) -> Preview:
        """Render rule ``name`` as it would be sent at ``at``; write ``NAME.eml`` / ``NAME.html`` into ``out_dir``."""
        at = _utc(at)
        rule = self.rules.rule(name)
        if isinstance(rule, DigestRule):
            content = self._digest_content(rule, at)
            link = self._digest_link(rule, content)
            email = digest_email(content, link=link, charts=self.charts)
            chat = digest_chat(content, link=link)
            headers = {"X-Care-Dashboard-Rule": rule.name, "X-Care-Dashboard-Slot": "preview"}
        else:
            evaluation = self._evaluate(rule, at)
            chat = alert_test_message(rule, evaluation, self.rules.dashboard_url)
            email = simple_email(chat, footer=alert_footer(rule))
            headers = {"X-Care-Dashboard-Rule": rule.name}
        eml_path = html_path = None
        if out_dir is not None:
            folder = Path(out_dir)
            folder.mkdir(parents=True, exist_ok=True)
            message = email.message(sender=self._sender_or_placeholder(), recipients=rule.email or ["(no e-mail)"],
                                    headers=headers)
            eml_path = folder / f"{rule.name}.eml"
            eml_path.write_bytes(bytes(message))
            html_path = folder / f"{rule.name}.html"
            html_path.write_text(email.standalone_html(), encoding="utf-8")
        payloads = {fmt: chat_payload(chat, fmt) for fmt in ("slack", "teams")}
        return Preview(rule.name, email.subject, eml_path, html_path, payloads)

    def status(self) -> NotifyState:
        return read_state(self.folder)

    # ---- digests -------------------------------------------------------------------------------------------

    def _digest_channels(self, rule: DigestRule | SlaAlertRule) -> tuple[str, ...]:
        return (("email",) if rule.email else ()) + tuple(f"webhook:{w}" for w in rule.webhooks)

    def _digest_content(self, rule: DigestRule, slot: datetime) -> DigestContent:
        start, end = digest_window(rule.window, slot, rule.timezone)
        return build_digest(self.core, start=start, end=end, tz=rule.timezone, as_of=slot, filters=rule.filters,
                            sections=rule.sections, bot_rule=rule.bot_rule, rule=rule.name)

    def _digest_link(self, rule: DigestRule, content: DigestContent) -> str | None:
        return dashboard_link(self.rules.dashboard_url, DIGEST_PAGE, start=content.start, end=content.end,
                              tz=rule.timezone, filters=rule.filters)

    def _run_digest(self, rule: DigestRule, state: NotifyState, at: datetime) -> Outcome:
        slot = due_slot(rule.schedule, rule.timezone, at, self.rules.catch_up)
        if slot is None:
            upcoming = next_slot(rule.schedule, rule.timezone, at)
            when = _local(upcoming, rule.timezone) if upcoming else "never"
            return Outcome(rule.name, "digest", "skipped", f"not due (next slot {when})")
        key = slot_key(rule.name, slot)
        pending = []
        for channel in self._digest_channels(rule):
            record = state.channel_record(key, channel)
            if record is None or (record["status"] == "failed" and record.get("runs", 0) < MAX_RUNS_PER_SLOT):
                pending.append(channel)
        if not pending:
            return Outcome(rule.name, "digest", "skipped", f"slot {_local(slot, rule.timezone)} already handled")
        content = self._digest_content(rule, slot)
        deliveries = self._deliver_digest(rule, content, slot, state, at, pending)
        return _outcome(rule, "digest", deliveries, f"slot {_local(slot, rule.timezone)}, {content.window_label}")

    def _deliver_digest(self, rule: DigestRule, content: DigestContent, slot: datetime | None, state: NotifyState,
                        at: datetime, channels: list[str]) -> tuple[Delivery, ...]:
        link = self._digest_link(rule, content)
        headers = {"X-Care-Dashboard-Rule": rule.name,
                   "X-Care-Dashboard-Slot": iso(slot) if slot is not None else "on-demand"}
        deliveries = []
        chat: ChatMessage | None = None
        for channel in channels:
            if channel == "email":
                delivery = self._send_email(rule, lambda: digest_email(content, link=link, charts=self.charts),
                                            headers)
            else:
                chat = chat or digest_chat(content, link=link)
                delivery = self._send_chat(channel.split(":", 1)[1], chat)
            deliveries.append(delivery)
            if slot is not None:
                state.record_channel(slot_key(rule.name, slot), rule.name, slot, channel, sent=delivery.ok, at=at,
                                     attempts=delivery.attempts, error=delivery.reason,
                                     transient=not delivery.ok)
            if not delivery.ok:
                state.record_failure(rule=rule.name, channel=channel, at=at, reason=delivery.reason or "",
                                     attempts=delivery.attempts, transient=True,
                                     what="digest" if slot is not None else "digest (on demand)")
            state.save()  # each channel's outcome is on disk before the next is tried
        return tuple(deliveries)

    # ---- alerts --------------------------------------------------------------------------------------------

    def _evaluate(self, rule: SlaAlertRule, at: datetime) -> SlaEvaluation:
        return evaluate_sla_alert(rule, self.core.facts(rule.bot_rule).lazy(), self.core.policy(), at)

    def _run_alert(self, rule: SlaAlertRule, state: NotifyState, at: datetime) -> Outcome:
        evaluation = self._evaluate(rule, at)
        rule_state = state.alerts.setdefault(rule.name, {})
        quiet = rule.quiet_hours is not None and rule.quiet_hours.contains(at)
        episodic = rule.once == "episode"
        transitions = plan(rule_state, evaluation.conditions, at, backoff=rule.backoff, quiet=quiet,
                           decidable=evaluation.decidable, announce_resolved=episodic, again_after_close=episodic)
        announced = [t for t in transitions if t.announced]
        deliveries: tuple[Delivery, ...] = ()
        if announced:
            message = alert_message(rule, evaluation, announced, self.rules.dashboard_url)
            deliveries = self._deliver_message(rule, message, state, at, what=f"alert ({announced[0].kind})")
        delivered = any(d.ok for d in deliveries)
        commit(rule_state, evaluation.conditions, transitions, at, delivered=delivered, again_after_close=episodic)
        state.save()
        if not announced:
            held = " (quiet hours)" if quiet and evaluation.conditions else ""
            return Outcome(rule.name, "sla_alert", "skipped", f"nothing new to announce{held}: {evaluation.summary}")
        return _outcome(rule, "sla_alert", deliveries, f"{announced[0].kind}: {evaluation.summary}")

    def _deliver_message(self, rule: SlaAlertRule, message: ChatMessage, state: NotifyState, at: datetime, *,
                         what: str) -> tuple[Delivery, ...]:
        deliveries = []
        for channel in self._digest_channels(rule):
            if channel == "email":
                delivery = self._send_email(rule, lambda: simple_email(message, footer=alert_footer(rule)),
                                            {"X-Care-Dashboard-Rule": rule.name})
            else:
                delivery = self._send_chat(channel.split(":", 1)[1], message)
            deliveries.append(delivery)
            if not delivery.ok:
                state.record_failure(rule=rule.name, channel=channel, at=at, reason=delivery.reason or "",
                                     attempts=delivery.attempts, transient=True, what=what)
        return tuple(deliveries)

    # ---- sending -------------------------------------------------------------------------------------------

    def _sender(self, smtp: SmtpSettings) -> str:
        sender = self.rules.email_from or smtp.sender or (smtp.username if smtp.username and "@" in smtp.username
                                                           else None)
        if not sender:
            raise NotifyConfigError("no sender address: set email_from in the rules file (or from= in the SMTP URL)")
        return sender

    def _sender_or_placeholder(self) -> str:
        try:
            return self._sender(self.channels.smtp())
        except NotifyConfigError:
            return self.rules.email_from or "care-dashboard@localhost"

    def _send_email(self, rule: DigestRule | SlaAlertRule, render: Callable[[], RenderedEmail],
                    headers: Mapping[str, str]) -> Delivery:
        try:
            smtp = self.channels.smtp()
            message = render().message(sender=self._sender(smtp), recipients=rule.email, headers=headers)
            attempts = send_email(smtp, message, policy=self.policy, sleep=self.sleep, secrets=self.channels.secrets)
        except DeliveryError as exc:
            return Delivery("email", False, exc.attempts, exc.reason)
        except NotifyConfigError as exc:
            return Delivery("email", False, 0, self.channels.secrets.scrub(str(exc)))
        return Delivery("email", True, attempts)

    def _send_chat(self, name: str, message: ChatMessage) -> Delivery:
        channel = f"webhook:{name}"
        try:
            hook = self.channels.webhook(name)
            attempts = post_webhook(hook, chat_payload(message, hook.format), policy=self.policy, sleep=self.sleep,
                                    secrets=self.channels.secrets)
        except DeliveryError as exc:
            return Delivery(channel, False, exc.attempts, exc.reason)
        except NotifyConfigError as exc:
            return Delivery(channel, False, 0, self.channels.secrets.scrub(str(exc)))
        return Delivery(channel, True, attempts)

    def _guarded(self, rule: DigestRule | SlaAlertRule, state: NotifyState, at: datetime,
                 step: Callable[[], Outcome]) -> Outcome:
        kind = "digest" if isinstance(rule, DigestRule) else "sla_alert"
        try:
            return step()
        except DashboardError as exc:  # said on purpose (a setting, the policy, the store): safe to show
            reason = self.channels.secrets.scrub(str(exc))
        except (pl.exceptions.PolarsError, ValueError, KeyError, OSError) as exc:
            log.exception("notify: rule %s could not be evaluated", rule.name)
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            reason = self.channels.secrets.scrub(f"{type(exc).__name__}: {first_line}")
        state.record_failure(rule=rule.name, channel="-", at=at, reason=reason, attempts=0, transient=True,
                             what=f"{kind} evaluation")
        state.save()
        return Outcome(rule.name, kind, "error", reason)


def _outcome(rule: DigestRule | SlaAlertRule, kind: str, deliveries: tuple[Delivery, ...], detail: str) -> Outcome:
    ok = sum(1 for d in deliveries if d.ok)
    status = "sent" if ok == len(deliveries) else ("failed" if ok == 0 else "partial")
    return Outcome(rule.name, kind, status, detail, deliveries)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the instant must be timezone-aware")
    return at.astimezone(UTC)


def _local(t: datetime | None, tz: str) -> str:
    if t is None:
        return "—"
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")
