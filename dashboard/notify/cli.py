"""``python -m dashboard notify``: send due digests and SLA alerts, preview or send one rule, check the rules.

    python -m dashboard notify run [--at 2026-11-18T13:00:00Z]     # what is due now; for cron / a CronJob
    python -m dashboard notify preview NAME [--out DIR] [--at ...]  # NAME.eml + NAME.html, chat payloads printed
    python -m dashboard notify send NAME --now [--at ...]           # one rule, now, outside its schedule
    python -m dashboard notify check                                # parse the rules, name missing settings
    python -m dashboard notify status                               # last runs and failures

A cron line that runs it every five minutes (each digest still goes out once per slot)::

    */5 * * * * cd /srv/care-dashboard && .venv/bin/python -m dashboard notify run >> notify.log 2>&1

It reads the data through the core (:class:`dashboard.core.Dashboard`, opened as the report opens it: what the
store holds, no sync, no network), so its figures are the report's and the pages'. ``--at`` defaults to the
core's "now": the wall clock for a tenant, and the demo world's pinned clock (its recorded end) on the demo store
— the demo's data stops there, so a real "now" would find nothing due or at risk; the command says which it used.

Settings come from the environment and the secrets file (``--secrets``, default ``.streamlit/secrets.toml``
when it exists; its values win, as in the app), read by :func:`dashboard.settings.load_settings` like every
other setting: ``CARE_DASHBOARD_NOTIFY`` (the rules file), ``CARE_DASHBOARD_SMTP_URL``,
``CARE_DASHBOARD_WEBHOOK_<NAME>``, and the data source's settings. Exit codes: 0 done, 1 a delivery or a rule
failed (recorded; the other rules went on), 2 bad rules or settings, 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard.errors import DashboardError
from dashboard.notify.errors import NotifyBusy, NotifyConfigError, NotifyError

__all__ = ["add_arguments", "run"]

DEFAULT_SECRETS = Path(".streamlit") / "secrets.toml"


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 instant like 2026-11-18T13:00:00Z") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or an offset like +00:00")
    return value.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboard.tenants import add_tenant_argument

    parser.add_argument("--rules", type=Path, default=None, help="rules file (default: CARE_DASHBOARD_NOTIFY)")
    parser.add_argument("--secrets", type=Path, default=None,
                        help=f"secrets file (TOML) read over the environment (default: {DEFAULT_SECRETS} if present)")
    add_tenant_argument(parser)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_p = sub.add_parser("run", help="send the digests and alerts due now (idempotent per slot)")
    preview = sub.add_parser("preview", help="write a rule's e-mail as .eml and .html and print its chat payloads")
    preview.add_argument("name")
    preview.add_argument("--out", type=Path, default=Path("notify-preview"), help="folder for NAME.eml / NAME.html")
    send = sub.add_parser("send", help="send one rule now, outside its schedule (a test)")
    send.add_argument("name")
    send.add_argument("--now", action="store_true", required=True, help="confirm: send immediately")
    for p in (run_p, preview, send):
        p.add_argument("--at", type=_instant, default=None,
                       help="the instant to evaluate (ISO-8601 with zone; default: now — the demo world's clock "
                            "on the demo store)")
        p.add_argument("--no-charts", action="store_true", dest="no_charts", help="leave the PNG charts out")
    run_p.add_argument("--lock-timeout", type=float, default=60.0, dest="lock_timeout",
                       help="seconds to wait for another run's lock (default 60)")
    sub.add_parser("check", help="parse the rules file and name the settings its channels still need")
    sub.add_parser("status", help="print the last runs and delivery failures")


def _read_secrets(path: Path | None) -> dict[str, Any]:
    file = path if path is not None else DEFAULT_SECRETS
    if path is None and not file.exists():
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotifyConfigError(f"secrets file {file} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        # The text may hold secrets: name the file and the kind of problem only.
        raise NotifyConfigError(f"secrets file {file} cannot be read ({type(exc).__name__})") from None
    return {k: v for k, v in data.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}


def _settings_and_rules(args: argparse.Namespace):  # -> (Settings, NotifyRules)
    from dashboard.notify.rules import configured_rules
    from dashboard.tenants import tenant_settings

    try:
        settings = tenant_settings(getattr(args, "tenant", None), secrets=_read_secrets(args.secrets))
    except ValueError as exc:  # names the setting, never its value
        raise NotifyConfigError(str(exc)) from None
    if args.rules is not None:
        settings = settings.with_overrides(notify_rules_path=args.rules)
    return settings, configured_rules(settings)


def _open_core(settings, *, need_data: bool = True):
    from dashboard.core import Dashboard

    # As the report: what the store holds, no sync and no network; the demo's recorded world gives its "now".
    core = Dashboard.open(settings, demo="read")
    if need_data and core.scan("conversation").head(1).collect().height == 0:
        core.close()
        raise NotifyError(f"the store at {core.store.root} holds no conversations; run `python -m dashboard sync` "
                          "or `python -m dashboard import FILES` first")
    return core


def _check(settings, rules) -> int:
    from dashboard.notify.deliver import Channels
    from dashboard.notify.schedule import next_slot

    channels = Channels.from_settings(settings, formats=rules.webhook_formats)
    now = datetime.now(UTC)
    print(f"{rules.source}: {len(rules.digests)} digest(s), {len(rules.sla_alerts)} SLA alert(s)")
    for digest in rules.digests:
        upcoming = next_slot(digest.schedule, digest.timezone, now)
        print(f"  digest {digest.name}: '{digest.schedule}' ({digest.timezone}), {digest.window}; next "
              f"{upcoming:%Y-%m-%d %H:%M} UTC" if upcoming else f"  digest {digest.name}: no upcoming slot")
    for alert in rules.sla_alerts:
        print(f"  alert {alert.name}: {alert.describe()}")
    webhooks, problems = channels.check(rules)
    for name, hook in webhooks.items():
        print(f"  webhook {name}: {hook.format} format")
    for problem in problems:
        print(f"notify: {problem}", file=sys.stderr)
    return 2 if problems else 0


def _status(core, rules) -> int:
    from dashboard.notify.state import read_state, state_folder
    from dashboard.notify.status import rule_status

    state = read_state(state_folder(core.store.local_dir))
    for row in rule_status(rules, state, core.now()):
        when = f"{row.last_run:%Y-%m-%d %H:%M} UTC ({row.last_status})" if row.last_run else "never"
        print(f"{row.kind} {row.name}: {row.describes}; to {row.recipients}; last run {when}; "
              f"{row.failures} failure(s) recorded")
    for run in state.runs[-10:]:
        print(f"run {run.get('at')} ({run.get('trigger')}): {run.get('sent', 0)} sent, {run.get('failed', 0)} "
              f"failed, {run.get('errors', 0)} rule error(s)")
    for failure in state.failures[-20:]:
        print(f"failure {failure['at']} {failure['rule']} {failure['channel']} ({failure['what']}): "
              f"{failure['reason']}")
    if not state.runs:
        print("no runs recorded yet")
    return 0


def run(args: argparse.Namespace) -> int:
    core = None
    try:
        settings, rules = _settings_and_rules(args)
        if args.action == "check":
            return _check(settings, rules)
        core = _open_core(settings, need_data=args.action != "status")
        if args.action == "status":
            return _status(core, rules)
        from dashboard.notify.runner import Notifier

        notifier = Notifier.for_core(core, rules, charts=not getattr(args, "no_charts", False),
                                     lock_timeout_s=getattr(args, "lock_timeout", 60.0))
        at = args.at or core.now()
        clock = "as given" if args.at else ("the demo world's clock" if core.is_demo else "now")
        print(f"at {at:%Y-%m-%d %H:%M:%S} UTC ({clock})")
        if args.action == "run":
            report = notifier.run(at)
            for outcome in report.outcomes:
                print(outcome.line())
            return 1 if report.failed else 0
        if args.action == "send":
            outcome = notifier.send_now(args.name, at)
            print(outcome.line())
            return 0 if outcome.status == "sent" else 1
        preview = notifier.preview(args.name, at, args.out)
        print(f"subject: {preview.subject}")
        print(f"e-mail: {preview.eml_path} and {preview.html_path}")
        print(json.dumps(preview.payloads, indent=2, ensure_ascii=False))
        return 0
    except NotifyBusy as exc:
        print(f"notify: {exc}", file=sys.stderr)
        return 3
    except DashboardError as exc:  # bad rules or settings, an empty store: the message says what and where
        print(f"notify: {exc}", file=sys.stderr)
        return 2
    finally:
        if core is not None:
            core.close()
