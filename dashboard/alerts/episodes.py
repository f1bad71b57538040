"""Firing, reminding and resolving: the one back-off machinery of every alert, kept per key across evaluations.

Both kinds of alert use it: the automation monitor's rules (:mod:`dashboard.alerts.monitor`, evaluated on every
refresh of the Automation page, state in the session) and the SLA alerts of the notifier
(:mod:`dashboard.notify`, evaluated by ``notify run``, state in the store's notification state file). A condition
that holds is announced when it is new and reminded after the back-off while it lasts; an *episode* ends when it
stops holding, with a "resolved" message where the caller wants one; quiet hours hold a message back instead of
dropping it; and the state only advances when the announcement was delivered. No Streamlit, no I/O.

State per key (a JSON-able dict): ``since`` (when the condition was first seen holding), ``last_notified``
(None until a message about it was delivered), ``closed`` (when the episode ended; kept for :data:`REMEMBER` so
a conversation told about once is not told again). Instants are ISO-8601 UTC strings (:func:`iso`). The
monitor's state before this module (``key -> last notified``, a datetime or an ISO string) is read as an open
episode notified then (:func:`migrate_state`).

:func:`plan` reads the state and says what to announce; :func:`commit` writes it once the caller knows whether
the announcement was delivered — an undelivered one is planned again on the next evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

__all__ = ["REMEMBER", "Condition", "Transition", "commit", "iso", "migrate_state", "parse_iso", "plan"]

REMEMBER = timedelta(days=7)


def iso(t: datetime) -> str:
    """An instant as the state writes it: ISO-8601 in UTC, to the second, with ``Z``."""
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str | None) -> datetime | None:
    """An instant the state wrote (a naive one, from an older state, is UTC)."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def migrate_state(state: MutableMapping[str, Any]) -> None:
    """Bring entries of the monitor's former state (``key -> last notified``, a datetime or an ISO string) to
    episode entries in place: an open episode that was last told about then. Entries already in shape, and
    values that are no instant at all (dropped), leave nothing behind to trip :func:`plan`."""
    for key, value in list(state.items()):
        if isinstance(value, Mapping):
            continue
        when = value if isinstance(value, datetime) else _instant_or_none(value)
        if when is None:
            del state[key]
            continue
        told = iso(when if when.tzinfo is not None else when.replace(tzinfo=UTC))
        state[key] = {"since": told, "last_notified": told, "closed": None}


def _instant_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Condition:
    """One thing that holds now: an alert's key (a conversation × metric, or ``episode``) and what to say."""

    key: str
    message: str
    since: datetime | None = None
    value: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Transition:
    kind: Literal["firing", "reminder", "resolved", "close"]
    """``close`` ends an episode nobody was told about (or one whose end is not announced): nothing to send."""
    key: str
    condition: Condition | None
    since: datetime | None

    @property
    def announced(self) -> bool:
        return self.kind != "close"


def _open(entry: Mapping[str, Any] | None) -> bool:
    return entry is not None and not entry.get("closed")


def plan(
    state: Mapping[str, Mapping[str, Any]],
    firing: Sequence[Condition],
    as_of: datetime,
    *,
    backoff: timedelta | None,
    quiet: bool = False,
    decidable: bool = True,
    announce_resolved: bool = True,
    again_after_close: bool = True,
) -> list[Transition]:
    """What to announce at ``as_of``, given the conditions that hold and the state.

    ``backoff`` None: tell once, no reminders. ``quiet``: inside quiet hours nothing is announced (and nothing
    is lost: it is planned again later). ``decidable`` false: the data cannot say whether the condition holds
    (e.g. too few decided conversations), so open episodes stay open. ``again_after_close`` false: a key whose
    episode closed within :data:`REMEMBER` does not fire again (a conversation is told about once).
    """
    out: list[Transition] = []
    holding = {c.key for c in firing}
    for condition in firing:
        entry = state.get(condition.key)
        if entry is not None and not _open(entry) and not again_after_close:
            continue
        if quiet:
            continue
        if not _open(entry) or entry.get("last_notified") is None:
            out.append(Transition("firing", condition.key, condition,
                                  parse_iso(entry.get("since")) if _open(entry) else condition.since or as_of))
            continue
        last = parse_iso(entry["last_notified"])
        if backoff is not None and last is not None and as_of - last >= backoff:
            out.append(Transition("reminder", condition.key, condition, parse_iso(entry.get("since"))))
    if decidable:
        for key, entry in state.items():
            if key in holding or not _open(entry):
                continue
            told = entry.get("last_notified") is not None
            if told and announce_resolved:
                if not quiet:
                    out.append(Transition("resolved", key, None, parse_iso(entry.get("since"))))
            else:
                out.append(Transition("close", key, None, parse_iso(entry.get("since"))))
    return out


def commit(
    state: MutableMapping[str, dict[str, Any]],
    firing: Sequence[Condition],
    transitions: Sequence[Transition],
    as_of: datetime,
    *,
    delivered: bool,
    again_after_close: bool = True,
) -> None:
    """Record ``as_of``'s conditions and, when ``delivered``, the announced transitions; drop old closed keys."""
    for condition in firing:
        entry = state.get(condition.key)
        if entry is None or (not _open(entry) and again_after_close):
            state[condition.key] = {"since": iso(condition.since or as_of), "last_notified": None, "closed": None}
    for transition in transitions:
        entry = state.get(transition.key)
        if entry is None:
            continue
        if transition.kind == "close" or (transition.kind == "resolved" and delivered):
            entry["closed"] = iso(as_of)
        elif transition.kind in ("firing", "reminder") and delivered:
            entry["last_notified"] = iso(as_of)
    for key in [k for k, e in state.items() if e.get("closed") and as_of - parse_iso(e["closed"]) > REMEMBER]:
        del state[key]
