"""The audit: who signed in, downloaded rows, synced, imported, sent a test, and when the SLA policy changed.

Each record says who (the signed-in person's e-mail, else their name or subject), when (UTC), which action, the
tenant, and what — names, counts, days, outcomes; never the data itself (no row, no customer text, no secret).

Records are append-only, under names no other process uses: one small JSON-lines file per process and day,
``<store root>/_audit/day=YYYY-MM-DD/<host>-<pid>-<random>.jsonl``. Nothing is ever rewritten in place, so
several app replicas and the CLI can write beside each other without a lock, and a reader finds everything by
listing the prefix. The same layout carries over to object storage (issue 14): a replica then puts one small
object per record (or per batch) under the same prefix, with the same unique names.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from dashboard.errors import DashboardError

__all__ = [
    "ACTIONS",
    "AUDIT_FOLDER",
    "AuditError",
    "AuditEvent",
    "AuditLog",
    "audit_log",
    "audited",
]

AUDIT_FOLDER = "_audit"
ACTIONS = {
    "sign_in": "Signed in",
    "sign_in_refused": "Sign-in refused",
    "sign_out": "Signed out",
    "download": "Downloaded rows",
    "sync": "Synced",
    "import": "Imported files",
    "advance_demo": "Brought the demo up to now",
    "new_demo_world": "New demo world",
    "notify_test": "Sent a test",
    "policy_in_force": "SLA policy in force",
    "policy_changed": "SLA policy changed",
}
"""Every action the audit records, with how the Data page names it."""
MAX_TEXT = 200
"""A value longer than this is cut: the audit says what, it never holds a document."""
SYSTEM = "system"
"""The user of records no person caused (the policy file changed on disk)."""
log = logging.getLogger("dashboard.audit")
T = TypeVar("T")
Scalar = str | int | float | bool | None


class AuditError(DashboardError):
    """The audit cannot be written (or read); the message names the folder. An action that must leave a trace
    (a download of rows) is refused rather than done without one."""


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    user: str
    action: str
    tenant: str
    what: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"v": 1, "at": self.at.astimezone(UTC).isoformat(timespec="milliseconds"),
                           "user": self.user, "action": self.action, "tenant": self.tenant, "what": dict(self.what)},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> AuditEvent:
        doc = json.loads(line)
        at = datetime.fromisoformat(doc["at"])
        if not (isinstance(doc.get("user"), str) and isinstance(doc.get("action"), str)
                and isinstance(doc.get("what", {}), dict)):
            raise ValueError("not an audit record")
        return cls(at=at, user=doc["user"], action=doc["action"], tenant=str(doc.get("tenant", "")),
                   what=doc.get("what", {}))

    def describe(self) -> str:
        """``what`` as one line of text: ``key: value`` pairs."""
        def shown(value: Any) -> str:
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

        return "; ".join(f"{key}: {shown(value)}" for key, value in self.what.items() if value not in (None, [], ""))


def _clean(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_clean(v, key) for v in value][:50]
    # A frame, bytes or an object here would be data, not a description of it.
    raise TypeError(f"audit value {key!r} must be text, a number or a list of them, not {type(value).__name__}")


_PROCESS: tuple[int, str] | None = None
_LOCKS: dict[Path, threading.Lock] = {}
"""One lock per audit folder: sessions are threads of one process, appending to the process's one file."""
_LOCKS_GUARD = threading.Lock()


def _process_name() -> str:
    """``<host>-<pid>-<random>``: unique to this process (and renewed in a forked child)."""
    global _PROCESS
    pid = os.getpid()
    if _PROCESS is None or _PROCESS[0] != pid:
        host = "".join(c if c.isalnum() or c in "-." else "_" for c in socket.gethostname())[:40] or "host"
        _PROCESS = (pid, f"{host}-{pid}-{secrets.token_hex(4)}")
    return _PROCESS[1]


class AuditLog:
    """The audit of one store (``<store root>/_audit``): :meth:`record` appends, :meth:`latest` reads."""

    def __init__(self, folder: str | os.PathLike[str], *, tenant: str = "",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.folder = Path(folder)
        self.tenant = tenant
        self._clock = clock

    def _lock(self) -> threading.Lock:
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(self.folder.resolve(), threading.Lock())

    def record(self, user: str, action: str, **what: Scalar | list[Scalar]) -> AuditEvent:
        """Append one record; raises :class:`AuditError` when it cannot be written."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        event = AuditEvent(at=self._clock(), user=str(user)[:MAX_TEXT], action=action, tenant=self.tenant,
                           what={k: _clean(v, k) for k, v in what.items()})
        day = self.folder / f"day={event.at.astimezone(UTC):%Y-%m-%d}"
        path = day / f"{_process_name()}.jsonl"
        line = (event.as_json() + "\n").encode("utf-8")
        try:
            with self._lock():
                day.mkdir(parents=True, exist_ok=True)
                # One write of a whole line to a file only this process appends to: a reader sees whole lines,
                # and a crash can cut at most the last one (which a reader skips).
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
        except OSError as exc:
            log.error("audit record not written to %s: %s", path, exc.strerror)
            raise AuditError(f"the audit could not be written to {self.folder} ({exc.strerror})") from None
        return event

    def latest(self, limit: int = 50, *, actions: Iterable[str] | None = None) -> list[AuditEvent]:
        """The newest ``limit`` records (of ``actions``, when given), newest first, found by listing the folder's
        days newest first. A line that does not read (a writer killed mid-line) is skipped and logged."""
        wanted = set(actions) if actions is not None else None
        try:
            days = sorted((p for p in self.folder.glob("day=*") if p.is_dir()), reverse=True)
        except OSError as exc:
            raise AuditError(f"the audit in {self.folder} cannot be read ({exc.strerror})") from None
        found: list[AuditEvent] = []
        for day in days:
            for path in sorted(day.glob("*.jsonl")):
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError as exc:
                    log.warning("audit file %s skipped: %s", path, exc.strerror)
                    continue
                for number, raw in enumerate(text.splitlines(), 1):
                    if not raw.strip():
                        continue
                    try:
                        event = AuditEvent.from_json(raw)
                    except (ValueError, KeyError, TypeError):
                        log.warning("audit line skipped: %s line %d does not read", path, number)
                        continue
                    if wanted is None or event.action in wanted:
                        found.append(event)
            if len(found) >= limit:  # older days cannot hold newer records
                break
        found.sort(key=lambda e: e.at, reverse=True)
        return found[:limit]


def audit_log(settings: Any) -> AuditLog:
    """The configured tenant's audit: in its store's ``_audit/`` (found from the settings, without opening the
    store, so a sign-in is recorded before any data is read)."""
    from dashboard.access import tenant_of
    from dashboard.store import store_root

    return AuditLog(store_root(settings) / AUDIT_FOLDER, tenant=tenant_of(settings))


def audited(produce: Callable[[], T], record: Callable[[], object]) -> Callable[[], T]:
    """``produce``, recorded first: a download's bytes are made only once its record is written (an error writing
    it refuses the download: rows do not leave without a trace)."""
    def run() -> T:
        record()
        return produce()

    return run
