"""Reading the rules file's values: TOML decoding with the line of an error, the line of an entry or key, and
one small parser per kind of value (each raising ValueError with a reason that never quotes a secret)."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, time, timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from dashboard.filters import FILTER_COLUMNS
from dashboard.metrics.policy import parse_duration
from dashboard.notify.errors import RulesError

WEBHOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
SECRET_HINT = re.compile(r"url|password|passwd|secret|token|smtp|credential|key", re.IGNORECASE)
WHERE_SECRETS_GO = (
    "SMTP and webhook URLs and credentials are secrets: set them in the environment or the secrets "
    "file (CARE_DASHBOARD_SMTP_URL, CARE_DASHBOARD_WEBHOOK_<NAME>), not in the rules file")


# --------------------------------------------------------------------------------------------------------------
# Finding lines


class Locator:
    """The line of an array-of-tables entry, a table or a key in the TOML text, to name it in errors."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[str, int, int]] = []  # (dotted path, occurrence, line)
        counts: dict[str, int] = {}
        for number, line in enumerate(self.lines, start=1):
            match = self._HEADER.match(line)
            if match:
                path = re.sub(r"\s*\.\s*", ".", match.group(2)).replace('"', "").replace("'", "")
                index = counts.get(path, 0)
                counts[path] = index + 1
                self.headers.append((path, index, number))

    def table(self, path: str, index: int = 0) -> int | None:
        return next((n for p, i, n in self.headers if p == path and i == index), None)

    def key(self, path: str | None, index: int, key: str) -> int | None:
        """The line of ``key = ...`` inside the table (top level when ``path`` is None); else the table's line."""
        start = 0 if path is None else self.table(path, index)
        if start is None:
            return None
        # The table runs to the next header that is not one of its own sub-tables ([digests.filters]).
        own = f"{path}." if path else None
        following = [n for p, _, n in self.headers if n > start and not (own and p.startswith(own))]
        if path is None:
            following = [n for _, _, n in self.headers]
        end = min(following) if following else len(self.lines) + 1
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start + 1, end):
            if pattern.match(self.lines[number - 1]):
                return number
        sub = self.table(f"{path}.{key}" if path else key, index if path else 0)
        return sub if sub is not None else (start or None)


def shown(value: Any) -> str:
    """A value quoted in an error, unless it may be a secret (a URL or something with credentials in it)."""
    text = str(value)
    if "://" in text or re.search(r"[^@\s]+:[^@\s]+@", text):
        return "a URL (not shown)"
    return repr(value) if len(text) <= 80 else repr(text[:77] + "...")


# --------------------------------------------------------------------------------------------------------------
# Values


def string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' must be a non-empty string, got {shown(value)}")
    return value.strip()


def zone(value: Any, key: str = "timezone") -> str:
    name = string(value, key)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{key}' {name!r} is not an IANA time zone (like 'America/New_York')") from None
    return name


def string_list(value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = tuple(string(v, key) for v in items)
    if len(set(out)) != len(out):
        raise ValueError(f"'{key}' lists a value twice")
    return out


def emails(value: Any) -> tuple[str, ...]:
    out = []
    for item in value if isinstance(value, list) else [value]:
        text = string(item, "email")
        _, address = parseaddr(text)
        if "\r" in text or "\n" in text or address.count("@") != 1 or not address.split("@")[0] or (
                "." not in address.split("@")[1]):
            raise ValueError(f"'email': {shown(text)} is not an e-mail address")
        try:
            Address(addr_spec=address)
        except (ValueError, IndexError):
            raise ValueError(f"'email': {shown(text)} is not an e-mail address") from None
        out.append(address)
    if len(set(out)) != len(out):
        raise ValueError("'email' lists an address twice")
    return tuple(out)


def webhook_names(value: Any) -> tuple[str, ...]:
    names = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and "://" in item:
            raise ValueError(f"'webhooks' holds a URL: name the webhook instead (e.g. \"care-leads\") and "
                             f"{WHERE_SECRETS_GO}")
        name = string(item, "webhooks")
        if not WEBHOOK_NAME.match(name):
            raise ValueError(f"'webhooks': {shown(name)} is not a webhook name (letters, digits, '-' and '_'; "
                             "its URL is read from CARE_DASHBOARD_WEBHOOK_<NAME>)")
        names.append(name)
    if len(set(names)) != len(names):
        raise ValueError("'webhooks' lists a name twice")
    return tuple(names)


def filters(value: Any) -> dict[str, tuple]:
    if not isinstance(value, dict):
        raise ValueError("'filters' must be a table, e.g. filters = { tier = [\"Platinum\"] }")
    out: dict[str, tuple] = {}
    for dimension, chosen in value.items():
        if dimension not in FILTER_COLUMNS:
            raise ValueError(f"unknown filter {dimension!r} (known: {', '.join(FILTER_COLUMNS)})")
        items = chosen if isinstance(chosen, list) else [chosen]
        if not items:
            raise ValueError(f"filter {dimension!r}: empty list (leave the filter out to match everything)")
        if dimension == "priority":
            priorities = []
            for item in items:
                if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 5:
                    raise ValueError(f"filter 'priority': {shown(item)} is not a priority (an integer 0-5)")
                priorities.append(item)
            out[dimension] = tuple(priorities)
        else:
            out[dimension] = string_list(items, f"filters.{dimension}")
    return out


def duration(value: Any, key: str) -> timedelta:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"'{key}': {exc}") from None
    if seconds <= 0:
        raise ValueError(f"'{key}' must be longer than zero")
    return timedelta(seconds=seconds)


def clock_time(value: Any, key: str) -> time:
    text = string(value, key)
    match = _HHMM.match(text)
    if not match:
        raise ValueError(f"'{key}' must be a local time HH:MM (00:00-23:59), got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


def cron(value: Any) -> str:
    text = string(value, "schedule")
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"'schedule' {text!r} must have five fields: minute hour day-of-month month day-of-week")
    try:
        CronSim(" ".join(fields), datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"'schedule' {text!r} is not a cron expression: {exc}") from None
    return " ".join(fields)


def choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"'{key}' must be one of {', '.join(choices)}, got {shown(value)}")
    return value


# --------------------------------------------------------------------------------------------------------------
def decode(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 puts the position only in the message: "... (at line 7, column 12)"
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        reason = getattr(exc, "msg", None) or (str(exc)[: found.start()].strip() if found else str(exc))
        raise RulesError(source, line, f"not valid TOML: {reason}") from None


def dashboard_url(value: Any) -> str:
    text = string(value, "dashboard_url")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("'dashboard_url' must be an http(s) URL like https://care.example.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("'dashboard_url' must not hold credentials, a query or a fragment")
    return text.rstrip("/")


def email_from(value: Any) -> str:
    text = string(value, "email_from")
    _, address = parseaddr(text)
    if "\r" in text or "\n" in text or address.count("@") != 1:
        raise ValueError(f"'email_from' {shown(text)} is not an address like 'Care <care@example.com>'")
    return text
