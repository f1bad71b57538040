"""SLA policy: business schedules and service-level targets, loaded from a TOML file.

The file (documented example: ``dashboard/default_policy.toml``)::

    [schedules.default]
    timezone = "America/New_York"
    monday = [["09:00", "17:00"]]      # [open, close] pairs per weekday; an absent weekday is closed
    holidays = ["2026-11-26"]

    [[schedules.default.changes]]      # optional: new weekly hours from a date on (history is kept)
    effective_from = "2027-01-04"
    monday = [["08:00", "18:00"]]

    [[targets]]                        # the first matching target wins; an absent key matches anything
    metric = "first_response"          # first_response | next_response | time_to_assign | resolution
    tier = "Platinum"                  # or a list of tiers
    priority = [4, 5]                  # or one priority
    channel = "twitter"                # the network; or a list
    target = "30m"                     # s, m, h, d; compound like "1h30m" too
    clock = "business"                 # business (uses the schedule) | calendar
    schedule = "default"

Optionally ``tiers = ["Platinum", "Gold", ...]`` orders the tiers best served first (default: the order the
targets name them). Other top-level tables (e.g. ``[[alerts]]``, read by the automation module) are accepted
and ignored here.
A file that does not parse, or that names an unknown metric, schedule, key or clock, raises
:class:`PolicyError` with the file, the line and the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard.errors import ConfigFileError
from dashboard.metrics.business_hours import WEEKDAYS, Schedule, ScheduleError, WeeklyHours, as_date
from dashboard.metrics.conversations import UNKNOWN_TIER

__all__ = [
    "CLOCKS",
    "DEFAULT_POLICY_PATH",
    "METRICS",
    "Policy",
    "PolicyError",
    "Target",
    "load_policy",
    "parse_duration",
    "parse_policy",
]

METRICS = ("first_response", "next_response", "time_to_assign", "resolution")
CLOCKS = ("business", "calendar")
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent.parent / "default_policy.toml"

_TARGET_KEYS = {"metric", "tier", "priority", "channel", "target", "clock", "schedule", "name"}
_SCHEDULE_KEYS = {"timezone", "holidays", "changes", *WEEKDAYS}
_CHANGE_KEYS = {"effective_from", *WEEKDAYS}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


class PolicyError(ConfigFileError):
    """The policy file is invalid; ``line`` is 1-based when known."""


@dataclass(frozen=True)
class Target:
    """One target rule. ``None`` in a matching field means "any"."""

    metric: str
    target_seconds: float
    clock: str
    schedule: str
    tier: tuple[str, ...] | None = None
    priority: tuple[int, ...] | None = None
    channel: tuple[str, ...] | None = None
    name: str = ""
    line: int | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        parts = [self.metric]
        for key in ("tier", "priority", "channel"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={'/'.join(map(str, value))}")
        return " ".join(parts)


@dataclass(frozen=True, eq=False)
class Policy:
    schedules: Mapping[str, Schedule]
    targets: tuple[Target, ...]
    source: str = "<policy>"
    tiers: tuple[str, ...] | None = None
    """The file's ``tiers = [...]`` (best served first), when it names them."""

    @property
    def tier_order(self) -> tuple[str, ...]:
        """Tiers best served first: the file's ``tiers`` list, else the order in which its targets name them;
        the group of authors without a tier (``unknown``) last. Tenants name their tiers differently, so no
        other module keeps a list of tier names."""
        named = list(self.tiers or ())
        if self.tiers is None:
            for target in self.targets:
                named += [t for t in target.tier or () if t not in named]
        return (*[t for t in named if t != UNKNOWN_TIER], UNKNOWN_TIER)

    def order_tiers(self, tiers: Iterable[str]) -> list[str]:
        """``tiers`` in :attr:`tier_order`; tiers the policy does not name follow, alphabetically."""
        values = list(dict.fromkeys(tiers))
        known = [t for t in self.tier_order if t in values]
        return known + sorted(t for t in values if t not in self.tier_order)

    def targets_for(self, metric: str) -> tuple[Target, ...]:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
        return tuple(t for t in self.targets if t.metric == metric)

    @property
    def fingerprint(self) -> str:
        """A digest of everything that decides an evaluation (targets in order, their names, schedules), not of
        where the file is or how it is laid out: kept evaluations of another policy are never taken for this
        one's."""
        targets = [(t.metric, t.target_seconds, t.clock, t.schedule, t.tier, t.priority, t.channel, t.name)
                   for t in self.targets]
        schedules = sorted((name, s.timezone, repr(s.versions), sorted(s.holidays))
                           for name, s in self.schedules.items())
        text = repr((targets, schedules, self.default_schedule.name))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def default_schedule(self) -> Schedule:
        """The schedule named ``default``, else the first one: business figures for calendar targets use it."""
        if "default" in self.schedules:
            return self.schedules["default"]
        return next(iter(self.schedules.values()))


def parse_duration(value: object) -> float:
    """'30m', '1h30m', '2d', '45s' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration {value!r} is negative")
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    if not text or _DURATION_RE.sub("", text):
        raise ValueError(f"{value!r} is not a duration like '30m', '4h', '1h30m', '2d'")
    return float(sum(float(n) * _UNITS[u] for n, u in _DURATION_RE.findall(text)))


class _Locator:
    """Finds the line of a table or key in the TOML text, to name it in semantic errors."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        # (header path, occurrence index, line number) for each table header
        self.headers: list[tuple[str, int, int]] = []
        counts: dict[str, int] = {}
        for number, line in enumerate(self.lines, start=1):
            m = self._HEADER.match(line)
            if m:
                path = re.sub(r"\s*\.\s*", ".", m.group(2)).replace('"', "")
                index = counts.get(path, 0)
                counts[path] = index + 1
                self.headers.append((path, index, number))

    def table(self, path: str, index: int = 0) -> int | None:
        for p, i, number in self.headers:
            if p == path and i == index:
                return number
        return None

    def key(self, path: str, index: int, key: str) -> int | None:
        start = self.table(path, index)
        if start is None:
            return None
        following = [n for _, _, n in self.headers if n > start]
        end = min(following) if following else len(self.lines) + 1
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start + 1, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return start


def _as_tuple(value: Any, kind: type, what: str) -> tuple:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if kind is int:
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise ValueError(f"{what}: {item!r} is not a priority (0-5)")
            try:
                number = int(item)
            except ValueError:
                raise ValueError(f"{what}: {item!r} is not a priority (0-5)") from None
            if not 0 <= number <= 5:
                raise ValueError(f"{what}: priority {number} is outside 0-5")
            out.append(number)
        else:
            if not isinstance(item, str) or not item.strip():
                raise ValueError(f"{what}: {item!r} is not a name")
            out.append(item.strip())
    if not out:
        raise ValueError(f"{what}: empty list (leave the key out to match anything)")
    return tuple(out)


def _parse_schedule(name: str, table: Any, loc: _Locator, source: str) -> Schedule:
    path = f"schedules.{name}"
    line = loc.table(path) or loc.table("schedules")
    if not isinstance(table, dict):
        raise PolicyError(source, line, f"schedule {name!r} must be a table")
    unknown = sorted(set(table) - _SCHEDULE_KEYS)
    if unknown:
        raise PolicyError(source, loc.key(path, 0, unknown[0]),
                          f"schedule {name!r}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_SCHEDULE_KEYS))})")
    if "timezone" not in table:
        raise PolicyError(source, line, f"schedule {name!r}: timezone is required (an IANA name like "
                          "'America/New_York')")
    try:
        base = WeeklyHours.from_mapping({d: table[d] for d in WEEKDAYS if d in table}, None, where=path)
    except ScheduleError as e:
        bad_day = next((d for d in WEEKDAYS if f".{d}" in str(e)), None)
        raise PolicyError(source, loc.key(path, 0, bad_day) if bad_day else line, str(e)) from None
    versions = [base]
    changes = table.get("changes", [])
    if not isinstance(changes, list):
        raise PolicyError(source, loc.key(path, 0, "changes"), f"schedule {name!r}: changes must be [[{path}.changes]]")
    for i, change in enumerate(changes):
        cline = loc.table(f"{path}.changes", i) or line
        if not isinstance(change, dict) or "effective_from" not in change:
            raise PolicyError(source, cline, f"schedule {name!r}: each change needs effective_from = YYYY-MM-DD")
        unknown = sorted(set(change) - _CHANGE_KEYS)
        if unknown:
            raise PolicyError(source, cline, f"schedule {name!r} change: unknown key {unknown[0]!r}")
        try:
            day = as_date(change["effective_from"])
            versions.append(WeeklyHours.from_mapping({d: change[d] for d in WEEKDAYS if d in change}, day,
                                                     where=f"{path}.changes[{i}]"))
        except (ScheduleError, ValueError) as e:
            raise PolicyError(source, cline, str(e)) from None
    versions[1:] = sorted(versions[1:], key=lambda v: v.effective_from)  # type: ignore[arg-type,return-value]
    holidays = table.get("holidays", [])
    if not isinstance(holidays, list):
        raise PolicyError(source, loc.key(path, 0, "holidays"), f"schedule {name!r}: holidays must be a list of dates")
    try:
        holiday_days = frozenset(as_date(h) for h in holidays)
    except ValueError as e:
        raise PolicyError(source, loc.key(path, 0, "holidays"), f"schedule {name!r}: {e}") from None
    try:
        return Schedule(name, str(table["timezone"]), tuple(versions), holiday_days)
    except ScheduleError as e:
        raise PolicyError(source, loc.key(path, 0, "timezone"), str(e)) from None


def _parse_target(i: int, table: Any, schedules: Mapping[str, Schedule], loc: _Locator, source: str) -> Target:
    line = loc.table("targets", i)

    def fail(key: str | None, reason: str) -> PolicyError:
        return PolicyError(source, loc.key("targets", i, key) if key else line, f"target #{i + 1}: {reason}")

    if not isinstance(table, dict):
        raise fail(None, "must be a table ([[targets]])")
    unknown = sorted(set(table) - _TARGET_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_TARGET_KEYS))})")
    for required in ("metric", "target"):
        if required not in table:
            raise fail(None, f"{required} is required")
    metric = table["metric"]
    if metric not in METRICS:
        raise fail("metric", f"unknown metric {metric!r} (known: {', '.join(METRICS)})")
    try:
        seconds = parse_duration(table["target"])
    except ValueError as e:
        raise fail("target", str(e)) from None
    if seconds <= 0:
        raise fail("target", "target must be positive")
    clock = table.get("clock", "business")
    if clock not in CLOCKS:
        raise fail("clock", f"unknown clock {clock!r} (known: {', '.join(CLOCKS)})")
    default_schedule = "default" if "default" in schedules else next(iter(schedules), None)
    schedule = table.get("schedule", default_schedule)
    if schedule is None:
        raise fail(None, "no schedule defined; add a [schedules.default] table")
    if schedule not in schedules:
        raise fail("schedule", f"unknown schedule {schedule!r} (defined: {', '.join(schedules) or 'none'})")
    matches: dict[str, tuple | None] = {}
    for key, kind in (("tier", str), ("priority", int), ("channel", str)):
        if key in table:
            try:
                matches[key] = _as_tuple(table[key], kind, key)
            except ValueError as e:
                raise fail(key, str(e)) from None
        else:
            matches[key] = None
    return Target(
        metric=metric,
        target_seconds=seconds,
        clock=clock,
        schedule=schedule,
        tier=matches["tier"],
        priority=matches["priority"],
        channel=tuple(c.lower() for c in matches["channel"]) if matches["channel"] else None,
        name=str(table.get("name", "")),
        line=line,
    )


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse policy TOML text; raise :class:`PolicyError` naming the line and the reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # Python 3.11 puts the position only in the message: "... (at line 7, column 12)"
        found = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = getattr(e, "lineno", None) or (int(found.group(1)) if found else None)
        reason = getattr(e, "msg", None) or (str(e)[: found.start()].strip() if found else str(e))
        raise PolicyError(source, line, f"not valid TOML: {reason}") from None
    loc = _Locator(text)
    for key, value in data.items():
        is_table = isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict)
                                                                                         for v in value))
        if key not in ("schedules", "targets", "tiers") and not is_table:
            line = next((n for n, raw in enumerate(loc.lines, 1) if re.match(rf"^\s*{re.escape(key)}\s*=", raw)), None)
            raise PolicyError(source, line, f"unknown top-level key {key!r} (expected [schedules.NAME] and "
                              "[[targets]] tables)")
    raw_schedules = data.get("schedules", {})
    if not isinstance(raw_schedules, dict) or not raw_schedules:
        raise PolicyError(source, loc.table("schedules"), "at least one [schedules.NAME] table is required")
    schedules = {name: _parse_schedule(name, table, loc, source) for name, table in raw_schedules.items()}
    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list) or not raw_targets:
        raise PolicyError(source, None, "at least one [[targets]] table is required")
    targets = tuple(_parse_target(i, t, schedules, loc, source) for i, t in enumerate(raw_targets))
    tiers = data.get("tiers")
    if tiers is not None and (not isinstance(tiers, list) or not tiers
                              or not all(isinstance(t, str) and t.strip() for t in tiers)):
        line = next((n for n, raw in enumerate(loc.lines, 1) if re.match(r"^\s*tiers\s*=", raw)), None)
        raise PolicyError(source, line, "tiers must be a list of tier names, best served first")
    return Policy(schedules=schedules, targets=targets, source=source,
                  tiers=tuple(t.strip() for t in tiers) if tiers is not None else None)


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load the SLA policy file at ``path`` (None: the shipped default). Which file a tenant uses
    (``CARE_DASHBOARD_POLICY``) is the core's to decide: :meth:`dashboard.core.Dashboard.policy`."""
    file = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(str(file), None, "policy file not found") from None
    except UnicodeDecodeError as e:
        raise PolicyError(str(file), None, f"not UTF-8 text ({e.reason})") from None
    return parse_policy(text, source=str(file))
