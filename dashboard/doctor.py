"""``python -m dashboard doctor``: is this dashboard ready for its Khoros tenant? One line per check.

For the configured tenant — or, with no ``KHOROS_*_URL`` set, the bundled simulator started the way the app
starts it (:func:`dashboard.source.open_source`) — it checks:

- each API family's credentials and permissions: Analytics Reports (with ``companyKey``), Care v2, the Author
  and Conversation APIs, and Bot API v3 (creating or fetching the app's token with the Bot API user, then the
  app's health with that token);
- the bot token's expiry;
- that ``/config/timezones`` lists the zone the client asks exports in (UTC);
- a one-hour export of each type: the columns found against the ones we read, unknown columns, and whether
  its times fall in the hour asked for when read as UTC;
- the time format of every export time seen: whether it reads one way or two, and whether
  ``KHOROS_EXPORT_TIME_FORMAT`` reads it;
- the rate limits it ran into (429 answers) and the clock skew against the server's ``Date`` header.

Each check is ``OK``, ``WARN`` or ``FAIL``; a failure says what to change. :func:`run_doctor` returns the
checks (the Data page can show them); the command prints them and exits 0 only when nothing failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import polars as pl

__all__ = ["Check", "add_arguments", "checks_frame", "run", "run_doctor"]

OK, WARN, FAIL = "OK", "WARN", "FAIL"
EXPORT_IDS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
              "raw_agent_states", "team_performance")
SKEW_WARN_S = 5.0
SKEW_FAIL_S = 60.0
"""iFrame payloads dated more than 60 s in the future are refused, and token expiry is judged on our clock."""
TOKEN_REFRESH_DAYS = 7
_SETTING_OF = {"analytics": "KHOROS_ANALYTICS_URL", "care": "KHOROS_CARE_URL", "author": "KHOROS_CARE_URL",
               "conversation": "KHOROS_CARE_URL", "bot": "KHOROS_BOT_API_URL"}
_API_NAME = {"analytics": "Analytics Reports API", "care": "Care v2 API", "author": "Author API",
             "conversation": "Conversation API", "bot": "Bot API v3"}
_WHO = {"analytics": "KHOROS_USERNAME / KHOROS_PASSWORD (a user of type Analytics that Khoros Support enabled) "
                     "and KHOROS_COMPANY_KEY (Account Admin > General Settings > Analytics API Settings)",
        "care": "KHOROS_USERNAME / KHOROS_PASSWORD", "author": "KHOROS_USERNAME / KHOROS_PASSWORD",
        "conversation": "KHOROS_USERNAME / KHOROS_PASSWORD",
        "bot": "KHOROS_BOT_USERNAME / KHOROS_BOT_PASSWORD (a Care user with the Bot API role)"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    """OK | WARN | FAIL"""
    detail: str
    fix: str = ""
    """What to change (failures and warnings)."""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name}: {self.detail}"
        return text + (f" -> {self.fix}" if self.fix else "")


def _hour_before(now: datetime) -> tuple[datetime, datetime]:
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


def _probe_checks(client: Any, now: datetime, add: Callable[[Check], None]) -> list[Any]:
    from dashboard.khoros import Probe

    probes: list[Probe] = client.probes(now=now)
    for p in probes:
        name, api = p.family, _API_NAME[p.family]
        what = f"{p.method} {p.url}"
        if p.family == "conversation" and p.status == 404:
            add(Check(name, OK, f"{api} answers ({what}: no conversation 1, as expected)"))
        elif p.ok:
            add(Check(name, OK, f"{api}: credentials accepted ({what})"))
        elif p.status is None:
            add(Check(name, FAIL, f"{api} not reached: {p.message}",
                      f"check {_SETTING_OF[p.family]} and that this machine can reach it"))
        elif p.status == 401:
            add(Check(name, FAIL, f"{api} refused the credentials ({what}: HTTP 401 {p.message})",
                      f"check {_WHO[p.family]}"))
        elif p.status == 403:
            add(Check(name, FAIL, f"{api}: no permission ({what}: HTTP 403 {p.message})",
                      f"ask Khoros Support to enable the {api} for this API user"
                      + (" (the Bot API role)" if p.family == "bot" else "")))
        elif p.status == 404:
            add(Check(name, FAIL, f"{api} not found at {what} (HTTP 404)", f"check {_SETTING_OF[p.family]}"))
        else:
            add(Check(name, FAIL, f"{api}: {what} answered HTTP {p.status} {p.message}",
                      "try again later; if it persists, ask Khoros Support"))
    return probes


def _token_check(client: Any, now: datetime, add: Callable[[Check], None]) -> None:
    if not client.bot_app_id:
        add(Check("bot token", WARN, "no bot app id configured: automation health and request records are not "
                  "synced", "set KHOROS_BOT_APP_ID (and KHOROS_BOT_USERNAME / KHOROS_BOT_PASSWORD)"))
        return
    status = client.bot_token_status()
    if status["state"] == "missing":
        return  # creating it failed: the bot probe says why
    left = timedelta(seconds=status["seconds_left"])
    when = f"expires {status['expires_at']:%Y-%m-%d %H:%M} UTC, in {left.days} days"
    if left <= timedelta(0):
        add(Check("bot token", FAIL, f"the token of {status['app_id']} has expired",
                  "invalidate it and create a new one (DELETE /bots/v3/tokens/appId, then POST /api/v2/tokens)"))
    elif left <= timedelta(days=TOKEN_REFRESH_DAYS):
        add(Check("bot token", WARN, f"the token of {status['app_id']} {when}",
                  "the client refreshes it before use; Khoros recommends refreshing weekly"))
    else:
        add(Check("bot token", OK, f"the token of {status['app_id']} {when}"))


def _csv_columns(body: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _export_checks(client: Any, now: datetime, add: Callable[[Check], None]) -> dict[str, list[str]]:
    """One hour of each export; returns the raw time texts seen, by ``export.column``."""
    from dashboard import schema
    from dashboard.khoros import KhorosError

    start, end = _hour_before(now)
    hour = f"{start:%Y-%m-%d %H:%M}..{end:%H:%M} UTC"
    times: dict[str, list[str]] = {}
    for export_id in EXPORT_IDS:
        filters = {"report_type": "CREATED"} if export_id == "conversation" else {}
        try:
            # CSV: its header names the columns even when the hour has no rows.
            download = client.run_export(export_id, start, end, fmt="csv", **filters)
        except KhorosError as exc:
            add(Check(f"export {export_id}", FAIL, f"one-hour export ({hour}) failed: {exc}",
                      "see the API checks above; a job that keeps failing is for Khoros Support"))
            continue
        headers, rows = _csv_columns(download.body)
        match = schema.match_columns(export_id, headers)
        known = len(schema.export_schema(export_id).columns)
        found = f"{len(set(match.matched.values()))} of {known} columns, {len(rows)} row(s) in {hour}"
        aliases = [f"{h} -> {c}" for h, c in match.matched.items() if h.lower() != c]
        for header, column in match.matched.items():
            if schema.export_schema(export_id).column(column).kind == "time":
                times[f"{export_id}.{column}"] = [r.get(header) or "" for r in rows]
        notes = []
        extra = schema.export_schema(export_id).extra_attributes
        if match.unknown:
            kind = "kept as attributes" if extra else "unknown, ignored"
            notes.append(f"{kind}: {', '.join(match.unknown)}")
        if match.missing_optional:
            notes.append(f"missing (left empty): {', '.join(match.missing_optional)}")
        if aliases and not match.unknown:
            notes.append(f"matched by Khoros' ids: {', '.join(aliases)}")
        if match.missing_required:
            add(Check(f"export {export_id}", FAIL, f"{found}; required column(s) missing: "
                      f"{', '.join(match.missing_required)} (found {', '.join(headers) or 'none'})",
                      "if Khoros names them otherwise, add those ids as aliases in dashboard/schema.py; if the "
                      "columns are turned off for the company, ask Khoros Support to enable them"))
        elif match.unknown or match.missing_optional:
            status = OK if extra and not match.missing_optional else WARN
            add(Check(f"export {export_id}", status, f"{found}; " + "; ".join(notes),
                      "" if status == OK else "the dashboard reads without them; figures that need them stay "
                      "empty (add aliases in dashboard/schema.py if Khoros names them otherwise)"))
        else:
            add(Check(f"export {export_id}", OK, f"{found}" + (f"; {notes[0]}" if notes else "")))
    return times


def _time_checks(client: Any, times: dict[str, list[str]], now: datetime, add: Callable[[Check], None]) -> None:
    from dashboard import schema

    values = [v for texts in times.values() for v in texts if v and v.strip()]
    configured = client.export_time_format
    found = schema.detect_time_format(values)
    shown = f"{len(values)} time value(s) in the hour"
    if not values:
        add(Check("time format", WARN, "no export had a row in the last hour: the time format is not checked",
                  "run doctor again when the tenant has traffic"))
        return
    readings = ", ".join(schema.describe_time_format(f) for f in found.candidates) or "none of the known formats"
    if configured:
        setting = f"KHOROS_EXPORT_TIME_FORMAT={schema.describe_time_format(configured)}"
        read = schema.read_times(values, schema.TimeReading(configured, "UTC"))
        unread = [v for v, t in zip(values, read, strict=True) if t is None]
        if unread:
            add(Check("time format", FAIL, f"{setting} does not read {len(unread)} of {shown}, e.g. {unread[0]!r} "
                      f"(the values fit: {readings})",
                      "set KHOROS_EXPORT_TIME_FORMAT to the company's format in Khoros"))
        else:
            add(Check("time format", OK, f"{setting} reads all {shown}"))
    elif found.other == 0:
        add(Check("time format", OK, f"ISO-8601 / epoch ms: all {shown} read without a setting"))
    elif found.ambiguous:
        value, both = found.conflict  # type: ignore[misc]
        two = " or ".join(f"{t:%Y-%m-%d %H:%M}" for t in both.values())
        add(Check("time format", FAIL, f"ambiguous: {value!r} reads as {two} ({readings}); a sync would stop on it",
                  "set KHOROS_EXPORT_TIME_FORMAT to the company's format in Khoros, e.g. MM/dd/yyyy HH:mm:ss"))
    else:
        add(Check("time format", FAIL, f"not ambiguous in this hour ({readings}), but the first date with a day "
                  "of 12 or less would stop a sync", f"set KHOROS_EXPORT_TIME_FORMAT={readings.split(', ')[0]}"))
    # Read as UTC (what the client asks for), every time must fall in the hour it asked for.
    fmt = configured or found.format
    if fmt or found.other == 0:
        start, end = _hour_before(now)
        outside = [v for key, texts in times.items() if _selects_rows(key)
                   for v in texts if v and (t := _read_utc(v, fmt)) is not None and not start <= t < end]
        if outside:
            add(Check("time zone", FAIL, f"{len(outside)} time(s) read as UTC fall outside the hour asked for, e.g. "
                      f"{outside[0]!r}: the tenant does not write the zone it was asked for (timezone=UTC)",
                      "tell Khoros Support; meanwhile sync cannot place rows in their days"))
        else:
            add(Check("time zone", OK, "export times come in UTC, as asked (timezone=UTC)"))


def _selects_rows(key: str) -> bool:
    """Columns by which the export selects its rows (their values lie in the window asked for)."""
    from dashboard import schema

    export_id, column = key.split(".")
    return schema.export_schema(export_id).time_column == column and export_id != "team_performance"


def _read_utc(value: str, fmt: str | None) -> datetime | None:
    from dashboard import schema

    return schema.read_times([value], schema.TimeReading(fmt, "UTC"))[0]


def _zone_list_check(client: Any, add: Callable[[Check], None]) -> None:
    from dashboard.khoros import REQUEST_TIMEZONE, KhorosError

    try:
        zones = client.timezones()
    except KhorosError as exc:
        add(Check("time zones", FAIL, f"cannot list /config/timezones: {exc}", "see the Analytics check above"))
        return
    if REQUEST_TIMEZONE in zones:
        add(Check("time zones", OK, f"/config/timezones lists {REQUEST_TIMEZONE} (the zone exports are asked in)"))
    else:
        add(Check("time zones", FAIL, f"/config/timezones does not list {REQUEST_TIMEZONE} ({len(zones)} zones)",
                  "tell the project: the client asks for timezone=UTC; it needs another id from that list"))


def _rate_check(client: Any, settings: Any, add: Callable[[Check], None]) -> None:
    stats = client.stats
    limits = (f"limits {settings.rate_analytics_per_min}/min Analytics, {settings.rate_care_per_min}/min Author, "
              "Conversation and Care")
    if stats.throttled:
        add(Check("rate limits", WARN, f"{stats.throttled} of {stats.requests} requests were answered 429; "
                  f"{limits}", "another process may be using the quota, or KHOROS_RATE_* allow more than the tenant "
                  "does: lower them"))
    else:
        add(Check("rate limits", OK, f"no 429 in {stats.requests} requests ({stats.retries} retries); {limits}"))


def _clock_check(probes: list[Any], add: Callable[[Check], None]) -> None:
    skews = [p.clock_skew_s for p in probes if p.clock_skew_s is not None]
    if not skews:
        add(Check("clock", WARN, "no answer had a Date header: clock skew not checked"))
        return
    skew = max(skews, key=abs)
    side = "ahead of" if skew > 0 else "behind"
    text = (f"the server's clock is {round(abs(skew))} s {side} this machine's" if abs(skew) >= 1
            else "the server's clock agrees with this machine's (within the Date header's 1 s)")
    if abs(skew) > SKEW_FAIL_S:
        add(Check("clock", FAIL, text, "set this machine's clock (NTP): iFrame payloads more than 60 s off are "
                  "refused and token expiry is misjudged"))
    elif abs(skew) > SKEW_WARN_S:
        add(Check("clock", WARN, text, "set this machine's clock (NTP)"))
    else:
        add(Check("clock", OK, text))


def run_doctor(settings: Any | None = None, *, transport: Any | None = None, now: datetime | None = None,
               on_check: Callable[[Check], None] | None = None, poll: Any | None = None) -> list[Check]:
    """Every check, in order (``on_check`` sees each as it is made). ``transport``: talk to a tenant (or a
    simulator app) through this httpx transport instead of the network; ``poll``: how to poll export jobs
    (a ``PollPolicy``; tests poll a simulator fast)."""
    from dashboard.khoros import KhorosClient, KhorosError
    from dashboard.settings import load_settings

    checks: list[Check] = []

    def add(check: Check) -> None:
        checks.append(check)
        if on_check:
            on_check(check)

    source = None
    try:
        settings = settings or load_settings()
    except ValueError as exc:
        add(Check("settings", FAIL, str(exc), "fix the setting named"))
        return checks
    try:
        if settings.use_simulator:
            from dashboard.source import open_source

            # The demo world as recorded (nothing is synced or written), served in process.
            source = open_source(settings, demo="read")
            settings = source.settings
            add(Check("data source", OK, f"the bundled simulator ({settings.tenant}), in process: "
                      "no KHOROS_*_URL is set", ""))
            client = source.new_client(use_cache=False, poll=poll)
            now = now or source.now()
            if not client.bot_app_id:
                client.bot_app_id = source.bot_app_ids()[0]
        else:
            missing = settings.missing_for_tenant()
            if missing:
                add(Check("settings", FAIL, f"tenant settings missing: {', '.join(missing)}",
                          "set them (README: Connect a Khoros Care tenant)"))
                return checks
            add(Check("data source", OK, f"Khoros Care tenant {settings.tenant}"))
            client = KhorosClient.from_settings(settings, use_cache=False, transport=transport, poll=poll)
            now = now or datetime.now(UTC)
        try:
            probes = _probe_checks(client, now, add)
            _token_check(client, now, add)
            if any(p.family == "analytics" and p.ok for p in probes):
                _zone_list_check(client, add)
                times = _export_checks(client, now, add)
                _time_checks(client, times, now, add)
            else:
                add(Check("exports", FAIL, "not tried: the Analytics Reports API refused the credentials",
                          "fix the Analytics check first"))
            _rate_check(client, settings, add)
            _clock_check(probes, add)
        except KhorosError as exc:  # a failure no check expected: still one line, with what failed
            add(Check("doctor", FAIL, str(exc), "see the checks above"))
        finally:
            client.close()
    finally:
        if source is not None:
            source.close()
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboard.tenants import add_tenant_argument

    parser.add_argument("--quiet", action="store_true", help="print only the failures and warnings")
    add_tenant_argument(parser)


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    quiet = getattr(args, "quiet", False)

    def show(check: Check) -> None:
        if not quiet or check.status != OK:
            print(check.line(), file=out, flush=True)

    from dashboard.tenants import tenant_settings

    try:
        # One tenant's checks, with that tenant's credentials only (its name heads the output).
        settings = tenant_settings(getattr(args, "tenant", None))
    except ValueError as exc:
        show(Check("settings", FAIL, str(exc), "fix the setting named"))
        print("1 checks: 0 OK, 0 WARN, 1 FAIL", file=out)
        return 1
    if settings.listed:
        print(f"tenant {settings.tenant_name}", file=out)
    checks = run_doctor(settings, on_check=show)
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    print(f"{len(checks)} checks: {len(checks) - failed - warned} OK, {warned} WARN, {failed} FAIL", file=out)
    return 1 if failed else 0


def checks_frame(checks: list[Check]) -> pl.DataFrame:
    """The checks as a table (``check, status, detail, fix``), for a page to show as text."""
    return pl.DataFrame([{"check": c.name, "status": c.status, "detail": c.detail, "fix": c.fix} for c in checks],
                        schema={"check": pl.String, "status": pl.String, "detail": pl.String, "fix": pl.String})
