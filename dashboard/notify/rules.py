"""The rules file (``CARE_DASHBOARD_NOTIFY``, TOML): scheduled digests and SLA breach alerts.

::

    dashboard_url = "https://care.example.com"     # optional: where "Open in the dashboard" links point
    email_from = "Care dashboard <care@example.com>"
    timezone = "America/New_York"                   # optional: default zone of the rules below
    catch_up = "6h"                                 # optional: how late a missed digest is still sent

    [webhooks.care-leads]                           # optional: the format of a named webhook
    format = "teams"                                # slack | teams (default: from the URL's host)

    [[digests]]
    name = "daily-care"
    schedule = "0 8 * * *"                          # cron (5 fields), in the time zone below
    timezone = "America/New_York"
    window = "yesterday"                            # yesterday | last_week | month_to_date | last_28_days
    email = ["lead@example.com"]
    webhooks = ["care-leads"]                       # URL from CARE_DASHBOARD_WEBHOOK_CARE_LEADS
    filters = { tier = ["Platinum", "Gold"] }       # optional: tier, priority, queue, channel, team, agent
    sections = ["kpis", "tiers", "queues", "incidents"]

    [[sla_alerts]]
    name = "platinum-about-to-breach"
    kind = "breach_soon"                            # open conversations that will breach within `within`
    within = "30m"
    metrics = ["first_response"]                    # default: first_response, time_to_assign, resolution
    once = "conversation"                           # conversation (one message per conversation) | episode
    filters = { tier = ["Platinum"] }
    quiet_hours = { start = "22:00", end = "07:00" }  # in the rule's time zone; nothing is sent inside
    webhooks = ["care-leads"]

    [[sla_alerts]]
    name = "first-response-attainment"
    kind = "attainment_below"                       # attainment over a rolling window below threshold_pct
    metric = "first_response"
    threshold_pct = 85
    window = "4h"                                   # conversations whose first inbound post is in the window
    min_decided = 20                                # fewer achieved + breached: not judged (default 10)
    backoff = "2h"                                  # remind no more often than this while it lasts (default 30m)
    email = ["lead@example.com"]

Every rule needs at least one recipient (``email`` or ``webhooks``). Webhook and SMTP URLs are secrets: they
come from the environment or the secrets file (``CARE_DASHBOARD_WEBHOOK_<NAME>``, ``CARE_DASHBOARD_SMTP_URL``),
never from this file, which is rejected if it holds one. A file that does not parse, or a rule that is wrong,
raises :class:`RulesError` with the file, the line and the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.metrics.conversations import BOT_RULES
from dashboard.metrics.policy import METRICS
from dashboard.notify import _values as v
from dashboard.notify.errors import NotifyConfigError, RulesError
from dashboard.settings import WEBHOOK_PREFIX

__all__ = [
    "ALERT_KINDS",
    "DEFAULT_CATCH_UP",
    "ONCE",
    "SECTIONS",
    "SEVERITIES",
    "WEBHOOK_FORMATS",
    "WINDOWS",
    "DigestRule",
    "NotifyRules",
    "QuietHours",
    "SlaAlertRule",
    "configured_rules",
    "load_rules",
    "parse_rules",
    "webhook_env_name",
]

WINDOWS = ("yesterday", "last_week", "month_to_date", "last_28_days")
SECTIONS = ("kpis", "tiers", "queues", "incidents")
ALERT_KINDS = ("breach_soon", "attainment_below")
ONCE = ("conversation", "episode")
WEBHOOK_FORMATS = ("slack", "teams")
SEVERITIES = ("info", "warning", "critical")
RISK_METRICS = ("first_response", "time_to_assign", "resolution")
"""Metrics whose running clocks the at-risk list follows (next response is per reply, not per conversation)."""
DEFAULT_CATCH_UP = timedelta(hours=6)
DEFAULT_BACKOFF = timedelta(minutes=30)
DEFAULT_MIN_DECIDED = 10

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOP_KEYS = {"dashboard_url", "email_from", "timezone", "catch_up", "webhooks", "digests", "sla_alerts"}
_RECIPIENT_KEYS = {"email", "webhooks"}
_DIGEST_KEYS = {"name", "schedule", "timezone", "window", "filters", "sections", "bot_rule", *_RECIPIENT_KEYS}
_ALERT_COMMON = {"name", "kind", "filters", "timezone", "quiet_hours", "severity", "backoff", "bot_rule",
                 *_RECIPIENT_KEYS}
_ALERT_KEYS = {
    "breach_soon": {"within", "metrics", "once"},
    "attainment_below": {"metric", "threshold_pct", "window", "min_decided"},
}


def webhook_env_name(name: str) -> str:
    """``care-leads`` -> ``CARE_DASHBOARD_WEBHOOK_CARE_LEADS``: where a named webhook's URL is read from."""
    return WEBHOOK_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time in which alerts wait; ``start`` after ``end`` spans midnight."""

    start: time
    end: time
    timezone: str

    def contains(self, instant: datetime) -> bool:
        local = instant.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def describe(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M} ({self.timezone})"


@dataclass(frozen=True)
class DigestRule:
    name: str
    schedule: str
    """A five-field cron expression, read in :attr:`timezone` (daylight saving as Debian's cron does it)."""
    timezone: str
    window: str
    email: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    filters: Mapping[str, tuple] = field(default_factory=dict, hash=False)
    sections: tuple[str, ...] = SECTIONS
    bot_rule: str = "human"
    line: int | None = None

    kind = "digest"


@dataclass(frozen=True)
class SlaAlertRule:
    name: str
    kind: str
    """``breach_soon`` or ``attainment_below``."""
    timezone: str
    email: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()
    filters: Mapping[str, tuple] = field(default_factory=dict, hash=False)
    quiet_hours: QuietHours | None = None
    severity: str = "warning"
    backoff: timedelta | None = DEFAULT_BACKOFF
    """Remind no more often than this while an episode lasts; None: tell once (``once = "conversation"``)."""
    once: str = "episode"
    within: timedelta | None = None
    metrics: tuple[str, ...] = RISK_METRICS
    metric: str = "first_response"
    threshold_pct: float = 0.0
    window: timedelta | None = None
    min_decided: int = DEFAULT_MIN_DECIDED
    bot_rule: str = "human"
    line: int | None = None

    def describe(self) -> str:
        if self.kind == "breach_soon":
            minutes = round(self.within.total_seconds() / 60) if self.within else 0
            return f"open conversations that will breach {', '.join(self.metrics)} within {minutes} min"
        hours = self.window.total_seconds() / 3600 if self.window else 0
        return (f"{self.metric} attainment below {self.threshold_pct:g} % over the last {hours:g} h "
                f"(at least {self.min_decided} decided)")


@dataclass(frozen=True)
class NotifyRules:
    digests: tuple[DigestRule, ...] = ()
    sla_alerts: tuple[SlaAlertRule, ...] = ()
    dashboard_url: str | None = None
    email_from: str | None = None
    catch_up: timedelta = DEFAULT_CATCH_UP
    webhook_formats: Mapping[str, str] = field(default_factory=dict, hash=False)
    source: str = "<rules>"

    def rule(self, name: str) -> DigestRule | SlaAlertRule:
        for rule in (*self.digests, *self.sla_alerts):
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in (*self.digests, *self.sla_alerts)) or "none"
        raise RulesError(self.source, None, f"no rule named {name!r} (rules: {known})")

    @property
    def webhook_names(self) -> tuple[str, ...]:
        names = {w for rule in (*self.digests, *self.sla_alerts) for w in rule.webhooks}
        return tuple(sorted(names))


# Rules


class _Fail(ValueError):
    """A reason tied to a key (for its line)."""

    def __init__(self, key: str | None, reason: str) -> None:
        self.key = key
        super().__init__(reason)


def _keyed(key: str, parse, *args):
    try:
        return parse(*args)
    except ValueError as exc:
        raise _Fail(key, str(exc)) from None


def _check_keys(entry: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for key in sorted(set(entry) - allowed):
        if v.SECRET_HINT.search(key):
            raise _Fail(key, f"{what}: key {key!r} is not allowed here: {v.WHERE_SECRETS_GO}")
        raise _Fail(key, f"{what}: unknown key {key!r} (known: {', '.join(sorted(allowed))})")


def _recipients(entry: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    email = _keyed("email", v.emails, entry["email"]) if "email" in entry else ()
    webhooks = _keyed("webhooks", v.webhook_names, entry["webhooks"]) if "webhooks" in entry else ()
    if not email and not webhooks:
        raise _Fail(None, "needs at least one recipient: email = [...] or webhooks = [...]")
    return email, webhooks


def _name(entry: Mapping[str, Any]) -> str:
    if "name" not in entry:
        raise _Fail(None, "'name' is required")
    name = _keyed("name", v.string, entry["name"], "name")
    if not _NAME.match(name):
        raise _Fail("name", f"'name' {name!r} may hold letters, digits, '.', '-' and '_' (it names the rule on "
                            "the command line)")
    return name


def _parse_digest(entry: Mapping[str, Any], default_tz: str) -> DigestRule:
    _check_keys(entry, _DIGEST_KEYS, "digest")
    name = _name(entry)
    for required in ("schedule", "window"):
        if required not in entry:
            raise _Fail(None, f"'{required}' is required")
    email, webhooks = _recipients(entry)
    sections = _keyed("sections", v.string_list, entry["sections"], "sections") if "sections" in entry else SECTIONS
    for section in sections:
        if section not in SECTIONS:
            raise _Fail("sections", f"unknown section {section!r} (known: {', '.join(SECTIONS)})")
    return DigestRule(
        name=name,
        schedule=_keyed("schedule", v.cron, entry["schedule"]),
        timezone=_keyed("timezone", v.zone, entry["timezone"]) if "timezone" in entry else default_tz,
        window=_keyed("window", v.choice, entry["window"], "window", WINDOWS),
        email=email,
        webhooks=webhooks,
        filters=_keyed("filters", v.filters, entry["filters"]) if "filters" in entry else {},
        sections=tuple(s for s in SECTIONS if s in sections),
        bot_rule=_keyed("bot_rule", v.choice, entry.get("bot_rule", "human"), "bot_rule", BOT_RULES),
    )


def _quiet_hours(value: Any, zone: str) -> QuietHours:
    if not isinstance(value, dict):
        raise ValueError("'quiet_hours' must be a table: { start = \"22:00\", end = \"07:00\" }")
    unknown = sorted(set(value) - {"start", "end", "timezone"})
    if unknown:
        raise ValueError(f"'quiet_hours': unknown key {unknown[0]!r} (known: start, end, timezone)")
    if "start" not in value or "end" not in value:
        raise ValueError("'quiet_hours' needs start and end (local times HH:MM)")
    start, end = v.clock_time(value["start"], "quiet_hours.start"), v.clock_time(value["end"], "quiet_hours.end")
    if start == end:
        raise ValueError("'quiet_hours': start and end are the same time")
    return QuietHours(start, end, v.zone(value["timezone"], "quiet_hours.timezone") if "timezone" in value else zone)


def _parse_alert(entry: Mapping[str, Any], default_tz: str) -> SlaAlertRule:
    name = _name(entry)
    kind = entry.get("kind")
    if kind not in ALERT_KINDS:
        raise _Fail("kind" if "kind" in entry else None,
                    f"'kind' must be one of {', '.join(ALERT_KINDS)}, got {v.shown(kind)}")
    _check_keys(entry, _ALERT_COMMON | _ALERT_KEYS[kind], f"sla alert of kind {kind}")
    email, webhooks = _recipients(entry)
    zone = _keyed("timezone", v.zone, entry["timezone"]) if "timezone" in entry else default_tz
    common: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "timezone": zone,
        "email": email,
        "webhooks": webhooks,
        "filters": _keyed("filters", v.filters, entry["filters"]) if "filters" in entry else {},
        "quiet_hours": _keyed("quiet_hours", _quiet_hours, entry["quiet_hours"], zone)
        if "quiet_hours" in entry else None,
        "severity": _keyed("severity", v.choice, entry.get("severity", "warning"), "severity", SEVERITIES),
        "bot_rule": _keyed("bot_rule", v.choice, entry.get("bot_rule", "human"), "bot_rule", BOT_RULES),
    }
    backoff = _keyed("backoff", v.duration, entry["backoff"], "backoff") if "backoff" in entry else DEFAULT_BACKOFF
    if kind == "breach_soon":
        if "within" not in entry:
            raise _Fail(None, "'within' is required (e.g. within = \"30m\")")
        metrics = _keyed("metrics", v.string_list, entry["metrics"], "metrics") if "metrics" in entry else RISK_METRICS
        for metric in metrics:
            if metric not in RISK_METRICS:
                raise _Fail("metrics", f"'metrics': {metric!r} has no running clock per conversation (use "
                                       f"{', '.join(RISK_METRICS)})")
        once = _keyed("once", v.choice, entry.get("once", "conversation"), "once", ONCE)
        if once == "conversation" and "backoff" in entry:
            raise _Fail("backoff", "'backoff' applies to once = \"episode\"; a conversation is told about once")
        return SlaAlertRule(**common, once=once, backoff=None if once == "conversation" else backoff,
                            within=_keyed("within", v.duration, entry["within"], "within"), metrics=metrics)
    for required in ("threshold_pct", "window"):
        if required not in entry:
            raise _Fail(None, f"'{required}' is required")
    threshold = entry["threshold_pct"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 100:
        raise _Fail("threshold_pct", f"'threshold_pct' is a percentage (0-100], got {v.shown(threshold)}")
    min_decided = entry.get("min_decided", DEFAULT_MIN_DECIDED)
    if isinstance(min_decided, bool) or not isinstance(min_decided, int) or min_decided < 1:
        raise _Fail("min_decided", f"'min_decided' must be a whole number of at least 1, got {v.shown(min_decided)}")
    return SlaAlertRule(
        **common, once="episode", backoff=backoff,
        metric=_keyed("metric", v.choice, entry.get("metric", "first_response"), "metric", METRICS),
        threshold_pct=float(threshold), window=_keyed("window", v.duration, entry["window"], "window"),
        min_decided=min_decided,
    )


def parse_rules(text: str, source: str = "<rules>", *, default_timezone: str = "UTC") -> NotifyRules:
    """Parse a rules file's text; raise :class:`RulesError` naming the line and the reason."""
    data = v.decode(text, source)
    loc = v.Locator(text)

    def top_fail(key: str, reason: str) -> RulesError:
        return RulesError(source, loc.key(None, 0, key), reason)

    for key in sorted(set(data) - _TOP_KEYS):
        if v.SECRET_HINT.search(key):
            raise top_fail(key, f"key {key!r} is not allowed here: {v.WHERE_SECRETS_GO}")
        raise top_fail(key, f"unknown top-level key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    settings: dict[str, Any] = {}
    for key, parse in (("dashboard_url", v.dashboard_url), ("email_from", v.email_from), ("timezone", v.zone),
                       ("catch_up", lambda value: v.duration(value, "catch_up"))):
        if key in data:
            try:
                settings[key] = parse(data[key])
            except ValueError as exc:
                raise top_fail(key, str(exc)) from None
    zone = settings.pop("timezone", default_timezone)

    formats: dict[str, str] = {}
    raw_webhooks = data.get("webhooks", {})
    if not isinstance(raw_webhooks, dict):
        raise top_fail("webhooks", "'webhooks' must be tables: [webhooks.NAME] with format = \"slack\" or \"teams\"")
    for name, table in raw_webhooks.items():
        line = loc.table(f"webhooks.{name}") or loc.table("webhooks")
        if not v.WEBHOOK_NAME.match(name):
            raise RulesError(source, line, f"[webhooks.{name}]: not a webhook name (letters, digits, '-', '_')")
        if not isinstance(table, dict):
            raise RulesError(source, line, f"[webhooks.{name}] must be a table with format = \"slack\" or \"teams\"")
        for key in sorted(set(table) - {"format"}):
            reason = v.WHERE_SECRETS_GO if v.SECRET_HINT.search(key) else "the only key is format"
            raise RulesError(source, loc.key(f"webhooks.{name}", 0, key) or line,
                             f"[webhooks.{name}]: key {key!r} is not allowed: {reason}")
        if table.get("format") not in WEBHOOK_FORMATS:
            raise RulesError(source, loc.key(f"webhooks.{name}", 0, "format") or line,
                             f"[webhooks.{name}]: format must be slack or teams, got {v.shown(table.get('format'))}")
        formats[name] = table["format"]

    def entries(kind: str, parse) -> list:
        raw = data.get(kind, [])
        if not isinstance(raw, list):
            raise top_fail(kind, f"'{kind}' must be an array of tables: [[{kind}]]")
        parsed = []
        for index, entry in enumerate(raw):
            line = loc.table(kind, index)
            if not isinstance(entry, dict):
                raise RulesError(source, line, f"{kind}[{index + 1}] must be a table ([[{kind}]])")
            label = f"{kind}[{index + 1}]" + (f" {entry['name']!r}" if isinstance(entry.get("name"), str) else "")
            try:
                rule = parse(entry, zone)
            except _Fail as exc:
                at = loc.key(kind, index, exc.key) if exc.key else line
                raise RulesError(source, at, f"{label}: {exc}") from None
            parsed.append(_with_line(rule, line))
        return parsed

    digests = entries("digests", _parse_digest)
    alerts = entries("sla_alerts", _parse_alert)
    seen: dict[str, int | None] = {}
    for rule in (*digests, *alerts):
        if rule.name in seen:
            raise RulesError(source, rule.line, f"rule name {rule.name!r} is used twice (also line {seen[rule.name]})")
        seen[rule.name] = rule.line
    return NotifyRules(digests=tuple(digests), sla_alerts=tuple(alerts), webhook_formats=formats, source=source,
                       **settings)


def _with_line(rule, line: int | None):
    return replace(rule, line=line)


def load_rules(path: str | os.PathLike[str], *, default_timezone: str = "UTC") -> NotifyRules:
    """Read and parse the rules file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(str(file), None, "rules file not found (CARE_DASHBOARD_NOTIFY)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(str(file), None, f"cannot read the rules file ({type(exc).__name__})") from None
    return parse_rules(text, str(file), default_timezone=default_timezone)


def configured_rules(settings: Any) -> NotifyRules:
    """The rules file the settings name (``CARE_DASHBOARD_NOTIFY``, environment or secrets file), parsed with the
    configured time zone as the rules' default."""
    if settings.notify_rules_path is None:
        raise NotifyConfigError("no rules file: set CARE_DASHBOARD_NOTIFY (environment or secrets file) to a "
                                "TOML file of [[digests]] and [[sla_alerts]] (dashboard/notify/example-notify.toml)")
    return load_rules(settings.notify_rules_path, default_timezone=settings.timezone)
