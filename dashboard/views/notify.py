"""Digests and alerts on the Data page: the rules, when each last ran and sent, what failed, and a test send.

The rules file is the one the settings name (``CARE_DASHBOARD_NOTIFY``); what ran and failed is the notifier's
state beside the store (:mod:`dashboard.notify.state`, written by ``python -m dashboard notify run``). A test
send is :meth:`dashboard.notify.Notifier.send_now` at the core's "now" (the demo world's clock on the demo).
Nothing here shows a secret: channels are named by their setting, failure reasons were scrubbed when recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.alerts import parse_iso
from dashboard.errors import DashboardError
from dashboard.notify import Channels, Notifier, NotifyState, read_state, rule_status, state_folder
from dashboard.notify.rules import configured_rules
from dashboard.views.data import Outcome

__all__ = ["NotifyView", "build_notify", "send_test"]

SHOWN_FAILURES = 50
SHOWN_RUNS = 20
PAGE_LOCK_TIMEOUT_S = 5.0
"""A page waits this long for a running ``notify run`` before saying so (cron's runs wait a minute)."""
SETUP = ("No digests or alerts are configured. Point CARE_DASHBOARD_NOTIFY (environment or "
         ".streamlit/secrets.toml) at a rules file — dashboard/notify/example-notify.toml is a start — and let cron "
         "run `python -m dashboard notify run` every few minutes (README: Digests and alerts).")


@dataclass(frozen=True)
class NotifyView:
    message: str | None
    """Why nothing is listed (no rules file, or one that does not parse: file, line and reason); else None."""
    source: str = ""
    rules: pl.DataFrame | None = None
    """One row per rule: what it does, where it sends, its next slot, last run, last status, last send, failures."""
    failures: pl.DataFrame | None = None
    """The latest delivery and evaluation failures, newest first (reasons hold no secret)."""
    runs: pl.DataFrame | None = None
    missing: list[str] = field(default_factory=list)
    """Channel settings the rules need and the settings lack (names only)."""
    names: list[str] = field(default_factory=list)
    clock: str = ""


def _local(t: datetime | None, tz: str) -> str:
    return "—" if t is None else f"{t.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


def _parsed(text: str | None) -> datetime | None:
    try:
        return parse_iso(text)
    except ValueError:
        return None


def build_notify(core) -> NotifyView:
    settings = core.settings
    if settings.notify_rules_path is None:
        return NotifyView(message=SETUP)
    try:
        rules = configured_rules(settings)
    except DashboardError as exc:  # the file and line of what is wrong
        return NotifyView(message=f"The rules file cannot be used: {exc}", source=str(settings.notify_rules_path))
    tz = settings.timezone
    state, state_error = NotifyState(Path("-")), None  # nothing ran yet (or no store to keep it)
    if core.store is not None:
        try:
            state = read_state(state_folder(core.store.local_dir))
        except DashboardError as exc:  # a damaged state file names itself
            state_error = str(exc)
    now = core.now()
    rows = []
    for row in rule_status(rules, state, now):
        rows.append({
            "rule": row.name, "kind": row.kind.replace("_", " "), "what": row.describes, "to": row.recipients,
            "next slot": _local(row.next_slot, tz) if row.kind == "digest" else "each run",
            "last run": _local(row.last_run, tz), "last status": row.last_status or "never ran",
            "last sent": _local(row.last_sent, tz), "failures": row.failures,
            "last failure": row.last_failure or "",
        })
    _, missing = Channels.from_settings(settings, rules.webhook_formats).check(rules)
    failures = runs = None
    if state.failures:
        failures = pl.DataFrame([
            {"at": _local(_parsed(f.get("at")), tz), "rule": f.get("rule", ""), "channel": f.get("channel", ""),
             "what": f.get("what", ""), "attempts": f.get("attempts", 0), "reason": f.get("reason", "")}
            for f in reversed(state.failures[-SHOWN_FAILURES:])
        ])
    if state.runs:
        runs = pl.DataFrame([
            {"at": _local(_parsed(r.get("at")), tz), "trigger": r.get("trigger", ""), "sent": r.get("sent", 0),
             "failed": r.get("failed", 0), "rule errors": r.get("errors", 0)}
            for r in reversed(state.runs[-SHOWN_RUNS:])
        ])
    clock = (f"Times in {tz}. 'Now' is {_local(now, tz)}"
             + (" — the demo world's clock; a test send evaluates the rules there." if core.is_demo else "."))
    if state_error:
        clock += f" The notification state cannot be read: {state_error}"
    return NotifyView(message=None, source=str(settings.notify_rules_path), rules=pl.DataFrame(rows),
                      failures=failures, runs=runs, missing=missing, names=[r["rule"] for r in rows], clock=clock)


def send_test(core, name: str) -> Outcome:
    """Send rule ``name`` now, outside its schedule, as ``notify send NAME --now`` does (a digest for the window
    it would cover now; an alert's current evaluation marked as a test, its episodes left alone)."""
    notifier = Notifier.for_core(core, lock_timeout_s=PAGE_LOCK_TIMEOUT_S)
    outcome = notifier.send_now(name, core.now())
    channels = "; ".join(f"{d.channel}: {'sent' if d.ok else 'FAILED — ' + (d.reason or '')}"
                         for d in outcome.deliveries)
    ok = outcome.status == "sent"
    label = {"sent": "Test sent", "partial": "Test sent to some channels", "failed": "Test not sent"}.get(
        outcome.status, f"Test {outcome.status}")
    return Outcome(ok, label, f"{label}: {outcome.detail}", [channels] if channels else [])
