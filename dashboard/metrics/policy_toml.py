"""An SLA policy written back as TOML text, the format :func:`dashboard.metrics.policy.parse_policy` reads.

Two ways:

- :func:`policy_to_toml` writes a whole file from a :class:`~dashboard.metrics.policy.Policy` (schedules, then
  targets in their order, which is the order that decides which target wins).
- :func:`replace_targets` keeps an existing file as it is (its comments, schedules and other tables such as
  ``[[alerts]]``) and writes only its ``[[targets]]`` anew. It checks its own work: the result must parse to the
  new targets and keep every other value of the original, else it raises rather than hand out a file that
  silently lost something.

Nothing here writes to disk: the caller offers the text as a download.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence

from dashboard.metrics._planning import PlanningError
from dashboard.metrics.business_hours import WEEKDAYS, Schedule, WeeklyHours
from dashboard.metrics.policy import Policy, PolicyError, Target, parse_policy

__all__ = ["format_duration", "policy_to_toml", "replace_targets", "targets_to_toml"]

# a table header: dotted bare or quoted keys only, so an array of pairs on its own line is not taken for one
_HEADER = re.compile(r'^\s*\[\[?\s*([A-Za-z0-9_\-. "]+?)\s*\]\]?\s*(#.*)?$')
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def format_duration(seconds: float) -> str:
    """Seconds as the policy's duration text: 5400 -> "1h30m", 144000 -> "40h", 172800 -> "2d", 45 -> "45s"; a
    fraction of a second is written as seconds ("90.5s")."""
    if seconds <= 0:
        raise PlanningError(f"a target must be positive, got {seconds} seconds")
    if seconds != int(seconds):
        return f"{seconds!r}s"
    rest, parts = int(seconds), []
    if rest % 86400 == 0:
        return f"{rest // 86400}d"
    for unit, size in _UNITS[1:]:  # "40h" reads better than "1d16h" for a target in business hours
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string: the same escapes (\" \\ \n \t \uXXXX).
    return json.dumps(value, ensure_ascii=False)


def _value(values: tuple) -> str:
    items = [_string(v) if isinstance(v, str) else str(v) for v in values]
    return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _hours_lines(hours: WeeklyHours) -> list[str]:
    lines = []
    for day, intervals in zip(WEEKDAYS, hours.intervals, strict=True):
        if intervals:
            pairs = ", ".join(f'["{_clock(o)}", "{_clock(c)}"]' for o, c in intervals)
            lines.append(f"{day} = [{pairs}]")
    return lines


def _schedule_toml(schedule: Schedule) -> str:
    name = schedule.name if re.fullmatch(r"[A-Za-z0-9_-]+", schedule.name) else _string(schedule.name)
    lines = [f"[schedules.{name}]", f"timezone = {_string(schedule.timezone)}", *_hours_lines(schedule.versions[0])]
    if schedule.holidays:
        days = [f'"{d.isoformat()}"' for d in sorted(schedule.holidays)]
        rows = [", ".join(days[i:i + 8]) for i in range(0, len(days), 8)]
        lines.append("holidays = [\n" + "".join(f"    {row},\n" for row in rows) + "]")
    for version in schedule.versions[1:]:
        lines += ["", f"[[schedules.{name}.changes]]", f'effective_from = "{version.effective_from.isoformat()}"',
                  *_hours_lines(version)]
    return "\n".join(lines)


def targets_to_toml(targets: Sequence[Target]) -> str:
    """The ``[[targets]]`` tables for ``targets``, in order (the first matching target wins)."""
    blocks = []
    for t in targets:
        lines = ["[[targets]]"]
        if t.name:
            lines.append(f"name = {_string(t.name)}")
        lines.append(f"metric = {_string(t.metric)}")
        for key in ("tier", "priority", "channel"):
            value = getattr(t, key)
            if value is not None:
                lines.append(f"{key} = {_value(value)}")
        lines += [f"target = {_string(format_duration(t.target_seconds))}", f"clock = {_string(t.clock)}",
                  f"schedule = {_string(t.schedule)}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def policy_to_toml(policy: Policy, *, header: str = "") -> str:
    """The whole policy as TOML text (``header``: comment lines put first)."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    schedules = "\n\n".join(_schedule_toml(s) for s in policy.schedules.values())
    text = f"{comment}{schedules}\n\n{targets_to_toml(policy.targets)}"
    _check(text, policy, "the written policy")
    return text


def _target_key(t: Target) -> tuple:
    return (t.metric, t.target_seconds, t.clock, t.schedule, t.tier, t.priority, t.channel, t.name)


def _check(text: str, policy: Policy, what: str) -> Policy:
    try:
        parsed = parse_policy(text, source=what)
    except PolicyError as e:
        raise PlanningError(f"{what} does not read back: {e}") from None
    if [_target_key(t) for t in parsed.targets] != [_target_key(t) for t in policy.targets]:
        raise PlanningError(f"{what} does not read back to the same targets")
    return parsed


def replace_targets(original_text: str, policy: Policy) -> str:
    """``original_text`` (a policy file) with its ``[[targets]]`` tables replaced by ``policy``'s targets, at the
    place of the first one; everything else (comments, schedules, other tables) kept as written.

    Comment lines between targets go with them (they described the old targets); comment lines just above the
    first target, or just above a table that follows a target, stay.
    """
    out: list[str] = []
    block: list[str] = []
    insert_at: int | None = None
    in_targets = False
    for line in original_text.splitlines():
        header = _HEADER.match(line)
        if header and line.lstrip().startswith("[[") and header.group(1).replace(" ", "") == "targets":
            if insert_at is None:
                insert_at = len(out)
            in_targets, block = True, []
            continue
        if header and in_targets:
            trailing: list[str] = []
            while block and (not block[-1].strip() or block[-1].lstrip().startswith("#")):
                trailing.insert(0, block.pop())
            out.extend(trailing)
            in_targets = False
        if in_targets:
            block.append(line)
        else:
            out.append(line)
    new_targets = targets_to_toml(policy.targets).rstrip("\n").splitlines()
    if insert_at is None:
        lines = [*out, "", *new_targets]
    else:
        after = out[insert_at:]
        lines = [*out[:insert_at], *new_targets, *([""] if after and after[0].strip() else []), *after]
    text = "\n".join(lines).rstrip("\n") + "\n"
    _check(text, policy, "the policy with the new targets")
    try:
        before = tomllib.loads(original_text)
    except tomllib.TOMLDecodeError as e:
        raise PlanningError(f"the original policy is not valid TOML: {e}") from None
    written = tomllib.loads(text)
    before.pop("targets", None)
    written.pop("targets", None)
    if before != written:
        raise PlanningError("replacing the targets would change other parts of the policy file; download the "
                            "whole policy instead")
    return text
