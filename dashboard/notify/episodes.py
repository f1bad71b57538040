"""Firing, reminding and resolving: the back-off state of alerts, kept per key across runs.

This is the automation monitor's rule (:mod:`dashboard.alerts`: a condition that holds notifies when it is new
or its back-off has passed, state keyed by a string, kept by the caller) extended by what SLA alerts need and
the monitor does not have yet: an *episode* that ends with a "resolved" message, quiet hours that hold a
message back instead of dropping it, and state that only advances when the message was delivered. It is
written to replace the back-off bookkeeping inside ``alerts.evaluate_alerts`` (so both kinds of alert share
it) once that module's owner has moved it there; it has no Streamlit and no I/O.

State per key (a JSON-able dict): ``since`` (when the condition was first seen holding), ``last_notified``
(None until a message about it was delivered), ``closed`` (when the episode ended; kept for ``remember`` so a
conversation told about once is not told again).

:func:`plan` reads the state and says what to announce; :func:`commit` writes it once the caller knows whether
the announcement was delivered — an undelivered one is planned again on the next run.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from dashboard.notify.state import iso, parse_iso

__all__ = ["Condition", "Transition", "commit", "plan"]

REMEMBER = timedelta(days=7)


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
