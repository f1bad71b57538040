"""Alert rules on automation request records: parsed from the policy file, evaluated on each refresh.

Rules live in the SLA policy TOML file (``CARE_DASHBOARD_POLICY``, default ``dashboard/default_policy.toml``)
as an ``[[alerts]]`` array; :mod:`dashboard.metrics.policy` ignores it and this module reads it. A file
without ``[[alerts]]`` gets :data:`DEFAULT_ALERT_RULES`; ``alerts = []`` turns alerting off. Example::

    [[alerts]]
    name = "High error rate"        # optional; shown on the page
    kind = "error_rate"             # errors ÷ attempts >= threshold_pct over window, with min_attempts
    threshold_pct = 20
    window = "15m"
    min_attempts = 10               # default 10

    [[alerts]]
    kind = "failures"               # at least `count` errors within window
    count = 5
    window = "5m"
    app_id = "my-bot-app-id"        # optional: only this app id (default: every app id)
    origin = "KHOROS"               # optional: KHOROS | BOT (default: both)

    [[alerts]]
    kind = "latency"                # nearest-rank p95 latency >= p95_s over window, with min_attempts
    p95_s = 5
    window = "15m"

    [[alerts]]
    kind = "down"                   # our recomputed health has been DOWN for longer than `for`
    for = "5m"
    severity = "critical"           # info | warning | critical (default: critical for down, else warning)
    backoff = "1h"                  # re-alert no more often than this while it keeps firing (default 30m)

Durations are "30s", "15m", "1h30m", "2d" or seconds. Rules are evaluated per app id and origin (the scope of
:mod:`dashboard.metrics.automation`). :func:`evaluate_alerts` returns every alert whose condition holds now;
``notify`` is true when it is new or its back-off has passed — the page shows all of them and announces only
those. The back-off state is a plain dict (``"<rule>|<app_id>|<origin>" -> last notified``) the caller keeps,
e.g. in Streamlit session state.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.errors import DashboardError
from dashboard.metrics import automation
from dashboard.metrics.policy import DEFAULT_POLICY_PATH, parse_duration
from dashboard.metrics.stats import nearest_rank
from dashboard.schema import TIME

__all__ = [
    "ALERT_KINDS",
    "DEFAULT_ALERT_RULES",
    "AlertRule",
    "AlertRuleError",
    "FiringAlert",
    "evaluate_alerts",
    "load_alert_rules",
    "parse_alert_rules",
]

ALERT_KINDS = ("error_rate", "failures", "latency", "down")
DOWN_LOOKBACK = timedelta(hours=12)
"""How far back the DOWN rule looks: a longer outage still fires, its "since" is then at most this old."""
SEVERITIES = ("info", "warning", "critical")
DEFAULT_BACKOFF = timedelta(minutes=30)
_KEYS = {
    "error_rate": {"threshold_pct", "window", "min_attempts"},
    "failures": {"count", "window"},
    "latency": {"p95_s", "window", "min_attempts"},
    "down": {"for"},
}
_COMMON = {"name", "kind", "app_id", "origin", "backoff", "severity"}


class AlertRuleError(DashboardError, ValueError):
    """An ``[[alerts]]`` entry is invalid; the message names the file, the entry (and its line) and the key."""


@dataclass(frozen=True)
class AlertRule:
    name: str
    kind: str
    window: timedelta
    """error_rate / failures / latency: the look-back; down: how long DOWN must last (``for``)."""
    threshold: float = 0.0
    """error_rate: percent; failures: a count; latency: p95 seconds; down: unused."""
    min_attempts: int = 10
    app_id: str | None = None
    origin: str | None = None
    backoff: timedelta = DEFAULT_BACKOFF
    severity: str = "warning"

    def describe(self) -> str:
        minutes = _span(self.window)
        if self.kind == "error_rate":
            return f"error rate ≥ {self.threshold:g} % over {minutes} (at least {self.min_attempts} attempts)"
        if self.kind == "failures":
            return f"{self.threshold:g} or more failures within {minutes}"
        if self.kind == "latency":
            return f"p95 latency ≥ {self.threshold:g} s over {minutes} (at least {self.min_attempts} requests)"
        return f"DOWN for more than {minutes}"


@dataclass(frozen=True)
class FiringAlert:
    rule: AlertRule
    app_id: str
    origin: str
    value: float
    """error_rate: percent; failures: count; latency: p95 seconds; down: seconds DOWN so far."""
    since: datetime | None
    message: str
    notify: bool

    @property
    def key(self) -> str:
        return _state_key(self.rule, self.app_id, self.origin)


DEFAULT_ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule("Bot DOWN", "down", timedelta(minutes=5), severity="critical"),
    AlertRule("High error rate", "error_rate", timedelta(minutes=15), threshold=20.0, min_attempts=10),
    AlertRule("Failure burst", "failures", timedelta(minutes=5), threshold=10.0),
    AlertRule("Slow bot", "latency", timedelta(minutes=15), threshold=5.0, min_attempts=10),
)


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _human(delta: timedelta) -> str:
    total = round(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _state_key(rule: AlertRule, app_id: str, origin: str) -> str:
    return f"{rule.name}|{app_id}|{origin}"


# --------------------------------------------------------------------------------------------------------------
# Parsing


def _entry_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"^\s*\[\[\s*alerts\s*\]\]", line)]


def parse_alert_rules(doc: Mapping[str, Any], source: str = "<policy>", text: str = "") -> list[AlertRule]:
    """Rules from a parsed policy document (``doc["alerts"]``); :data:`DEFAULT_ALERT_RULES` when absent."""
    if "alerts" not in doc:
        return list(DEFAULT_ALERT_RULES)
    entries = doc["alerts"]
    if not isinstance(entries, list):
        raise AlertRuleError(f"{source}: 'alerts' must be an array of tables ([[alerts]])")
    lines = _entry_lines(text)
    rules: list[AlertRule] = []
    for index, entry in enumerate(entries):
        line = f" line {lines[index]}" if index < len(lines) else ""
        where = f"{source}{line}: alerts[{index + 1}]"
        try:
            rules.append(_parse_rule(entry, index))
        except (ValueError, TypeError) as exc:
            raise AlertRuleError(f"{where}: {exc}") from None
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise AlertRuleError(f"{source}: alert names must be unique; repeated: {', '.join(duplicates)}")
    return rules


def _number(entry: Mapping[str, Any], key: str, *, minimum: float, integer: bool = False) -> float:
    if key not in entry:
        raise ValueError(f"missing key '{key}'")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise ValueError(f"'{key}' must be {'an integer' if integer else 'a number'}, got {value!r}")
    if value < minimum:
        raise ValueError(f"'{key}' must be at least {minimum:g}, got {value!r}")
    return float(value)


def _duration(entry: Mapping[str, Any], key: str, default: timedelta | None = None) -> timedelta:
    if key not in entry:
        if default is None:
            raise ValueError(f"missing key '{key}'")
        return default
    seconds = parse_duration(entry[key])
    if seconds <= 0:
        raise ValueError(f"'{key}' must be longer than zero")
    return timedelta(seconds=seconds)


def _parse_rule(entry: Any, index: int) -> AlertRule:
    if not isinstance(entry, dict):
        raise TypeError("each alert must be a table")
    kind = entry.get("kind")
    if kind not in ALERT_KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(ALERT_KINDS)}; got {kind!r}")
    unknown = sorted(set(entry) - _COMMON - _KEYS[kind])
    if unknown:
        raise ValueError(f"unknown key(s) for kind {kind}: {', '.join(unknown)}")
    for key in ("app_id", "origin", "name"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise ValueError(f"'{key}' must be a non-empty string")
    origin = entry.get("origin")
    if origin is not None and origin not in ("KHOROS", "BOT"):
        raise ValueError(f"'origin' must be KHOROS or BOT, got {origin!r}")
    severity = entry.get("severity", "critical" if kind == "down" else "warning")
    if severity not in SEVERITIES:
        raise ValueError(f"'severity' must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    common: dict[str, Any] = {
        "app_id": entry.get("app_id"),
        "origin": origin,
        "backoff": _duration(entry, "backoff", DEFAULT_BACKOFF),
        "severity": severity,
    }
    if kind == "error_rate":
        threshold = _number(entry, "threshold_pct", minimum=0)
        if threshold > 100:
            raise ValueError(f"'threshold_pct' is a percentage (0-100), got {threshold:g}")
        rule = AlertRule("", kind, _duration(entry, "window"), threshold=threshold,
                         min_attempts=int(_number(entry, "min_attempts", minimum=1, integer=True))
                         if "min_attempts" in entry else 10, **common)  # fmt: skip
    elif kind == "failures":
        rule = AlertRule("", kind, _duration(entry, "window"),
                         threshold=_number(entry, "count", minimum=1, integer=True), **common)  # fmt: skip
    elif kind == "latency":
        rule = AlertRule("", kind, _duration(entry, "window"), threshold=_number(entry, "p95_s", minimum=0),
                         min_attempts=int(_number(entry, "min_attempts", minimum=1, integer=True))
                         if "min_attempts" in entry else 10, **common)  # fmt: skip
    else:
        rule = AlertRule("", kind, _duration(entry, "for"), **common)
    name = entry.get("name") or f"{kind} #{index + 1}: {rule.describe()}"
    return replace(rule, name=name)


def load_alert_rules(path: Path | str | None = None) -> list[AlertRule]:
    """Rules from the policy file at ``path`` (default: the bundled default policy)."""
    path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    if not path.exists():
        if path == DEFAULT_POLICY_PATH:
            return list(DEFAULT_ALERT_RULES)
        raise AlertRuleError(f"{path}: policy file not found")
    text = path.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AlertRuleError(f"{path}: not valid TOML: {exc}") from None
    return parse_alert_rules(doc, str(path), text)


# --------------------------------------------------------------------------------------------------------------
# Evaluation


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def evaluate_alerts(
    records: pl.LazyFrame,
    rules: Sequence[AlertRule],
    as_of: datetime,
    state: MutableMapping[str, Any],
    *,
    slow_after_s: float | None = automation.DEFAULT_SLOW_AFTER_S,
) -> list[FiringAlert]:
    """Every alert whose condition holds at ``as_of``, most severe first. ``state`` (rule|app|origin -> last
    notified, datetimes or ISO strings) is read for the back-off and updated for the alerts that notify."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if not rules:
        return []
    by = ["app_id", "origin"]
    found: list[tuple[AlertRule, str, str, float, datetime | None, str]] = []
    counted = [r for r in rules if r.kind in ("error_rate", "failures", "latency")]
    if counted:
        longest = max(r.window for r in counted)
        recent = automation.attempts(records, as_of, slow_after_s=slow_after_s).filter(
            pl.col("t") > pl.lit(as_of - longest).cast(TIME)
        ).select(*by, "t", "is_error", "latency_ms").collect()  # fmt: skip
        for rule in counted:
            cutoff = as_of - rule.window
            frame = recent.filter(pl.col("t") > pl.lit(cutoff).cast(TIME))
            per_scope = frame.group_by(by).agg(
                attempts=pl.len(),
                errors=pl.col("is_error").sum(),
                error_rate=automation.error_rate(pl.col("is_error").sum(), pl.len()),
                first_error=pl.col("t").filter("is_error").min(),
                p95_ms=nearest_rank(pl.col("latency_ms"), 0.95),
                first_slow=pl.col("t").filter(pl.col("latency_ms") >= rule.threshold * 1000).min(),
            )
            for row in per_scope.iter_rows(named=True):
                if not _in_scope(rule, row["app_id"], row["origin"]):
                    continue
                if rule.kind == "error_rate":
                    rate = 100.0 * row["error_rate"]
                    # (the threshold is a percentage; a rate equal to it up to float rounding fires)
                    if row["attempts"] >= rule.min_attempts and rate >= rule.threshold - 1e-9:
                        found.append((rule, row["app_id"], row["origin"], rate, row["first_error"],
                                      f"error rate {rate:.0f} % ({row['errors']} of {row['attempts']} attempts) "
                                      f"over the last {_span(rule.window)}"))  # fmt: skip
                elif rule.kind == "latency":
                    p95_s = (row["p95_ms"] or 0) / 1000
                    if row["attempts"] >= rule.min_attempts and p95_s >= rule.threshold:
                        found.append((rule, row["app_id"], row["origin"], p95_s, row["first_slow"],
                                      f"p95 latency {p95_s:.1f} s over the last {_span(rule.window)} "
                                      f"({row['attempts']} requests)"))  # fmt: skip
                elif row["errors"] >= rule.threshold:
                    found.append((rule, row["app_id"], row["origin"], float(row["errors"]), row["first_error"],
                                  f"{row['errors']} failures in the last {_span(rule.window)}"))  # fmt: skip
    downs = [r for r in rules if r.kind == "down"]
    if downs:
        lookback = max(DOWN_LOOKBACK, max(r.window for r in downs) + timedelta(hours=1))
        recent_records = records.filter(pl.col("created_time") > pl.lit(as_of - lookback).cast(TIME))
        current = (
            automation.health_timeline(recent_records, as_of, slow_after_s=slow_after_s)
            .filter(pl.col("current") & (pl.col("state") == automation.DOWN))
            .collect()
        )
        for rule in downs:
            for row in current.iter_rows(named=True):
                lasted = as_of - row["start"]
                if _in_scope(rule, row["app_id"], row["origin"]) and lasted > rule.window:
                    found.append((rule, row["app_id"], row["origin"], lasted.total_seconds(), row["start"],
                                  f"DOWN for {_human(lasted)}"))  # fmt: skip
    alerts = []
    for rule, app_id, origin, value, since, text in found:
        key = _state_key(rule, app_id, origin)
        last = _as_datetime(state.get(key))
        notify = last is None or as_of - last >= rule.backoff
        if notify:
            state[key] = as_of
        alerts.append(FiringAlert(rule, app_id, origin, value, since, f"{app_id} ({origin}): {text}", notify))
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(alerts, key=lambda a: (order[a.rule.severity], a.app_id, a.origin, a.rule.name))


def _in_scope(rule: AlertRule, app_id: str, origin: str) -> bool:
    return (rule.app_id is None or rule.app_id == app_id) and (rule.origin is None or rule.origin == origin)
