"""What has been sent: a small JSON file beside the store, written atomically, guarded by a lock.

``<store root>/_notify/state.json`` holds

- ``digests``: per slot (``rule@2026-11-18T13:00:00Z``), per channel (``email``, ``webhook:care-leads``): sent
  or failed, when, after how many attempts and runs;
- ``alerts``: per SLA alert rule, the episode state of each key (see :mod:`dashboard.alerts.episodes`);
- ``failures``: the latest delivery failures (rule, channel, reason — never a URL or a password), for the Data
  page;
- ``last``: per rule, when it was last evaluated and what came of it;
- ``runs``: the latest runs with what they sent.

Every write goes to a temporary file in the same folder, is flushed to disk and renamed over the old one
(``os.replace``), so a reader sees the old state or the new one, never half of one. ``notify run`` holds an
exclusive ``fcntl`` lock on ``_notify/.lock`` from reading the state to its last write, so two processes (two
cron jobs that overlap, two pods of a CronJob) cannot both send a slot: the second waits, then reads what the
first recorded. Delivery is recorded channel by channel right after it happens; a process killed between a
send and its record sends that one message again on the next run (at least once, never silently lost).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.alerts.episodes import iso, parse_iso
from dashboard.notify.errors import NotifyBusy, NotifyError

__all__ = ["STATE_VERSION", "NotifyState", "iso", "locked_state", "parse_iso", "read_state", "state_folder"]

STATE_VERSION = 1
KEEP_FAILURES = 200
KEEP_RUNS = 50
KEEP_SLOTS_FOR = timedelta(days=60)


def state_folder(store_root: str | os.PathLike[str]) -> Path:
    """Where a store's notification state lives."""
    return Path(store_root) / "_notify"


@dataclass
class NotifyState:
    path: Path
    digests: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ---- digests ------------------------------------------------------------------------------------------

    def channel_record(self, slot_key: str, channel: str) -> dict[str, Any] | None:
        return self.digests.get(slot_key, {}).get("channels", {}).get(channel)

    def record_channel(self, slot_key: str, rule: str, slot: datetime, channel: str, *, sent: bool, at: datetime,
                       attempts: int, error: str | None = None, transient: bool = False) -> None:
        entry = self.digests.setdefault(slot_key, {"rule": rule, "slot": iso(slot), "channels": {}})
        previous = entry["channels"].get(channel, {})
        entry["channels"][channel] = {
            "status": "sent" if sent else "failed",
            "at": iso(at),
            "attempts": int(previous.get("attempts", 0)) + attempts,
            "runs": int(previous.get("runs", 0)) + 1,
            **({"error": error, "transient": transient} if not sent else {}),
        }

    # ---- failures and runs --------------------------------------------------------------------------------

    def record_failure(self, *, rule: str, channel: str, at: datetime, reason: str, attempts: int,
                       transient: bool, what: str) -> None:
        self.failures.append({"at": iso(at), "rule": rule, "channel": channel, "what": what, "reason": reason,
                              "attempts": attempts, "transient": transient})
        del self.failures[:-KEEP_FAILURES]

    def record_outcome(self, rule: str, *, at: datetime, status: str, detail: str) -> None:
        self.last[rule] = {"at": iso(at), "status": status, "detail": detail}

    def record_run(self, run: dict[str, Any]) -> None:
        self.runs.append(run)
        del self.runs[:-KEEP_RUNS]

    def last_sent(self, rule: str) -> datetime | None:
        """When ``rule`` last delivered something (any channel), from the digest slots and alert episodes."""
        times = [parse_iso(c.get("at")) for e in self.digests.values() if e.get("rule") == rule
                 for c in e.get("channels", {}).values() if c.get("status") == "sent"]
        times += [parse_iso(k.get("last_notified")) for k in self.alerts.get(rule, {}).values()]
        found = [t for t in times if t is not None]
        return max(found) if found else None

    # ---- persistence --------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "digests": self.digests, "alerts": self.alerts,
                "failures": self.failures, "runs": self.runs, "last": self.last}

    def prune(self, now: datetime) -> None:
        cutoff = now - KEEP_SLOTS_FOR
        self.digests = {k: v for k, v in self.digests.items() if (parse_iso(v.get("slot")) or now) >= cutoff}

    def save(self) -> None:
        """Write the whole state atomically (temp file in the same folder, fsync, ``os.replace``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps(self.to_json(), indent=1, sort_keys=True).encode("utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise


def _load(path: Path) -> NotifyState:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return NotifyState(path)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        # Starting afresh would send every digest again; the operator decides (move the file away to reset).
        raise NotifyError(f"{path}{f' line {line}' if line else ''}: the notification state is not valid JSON; "
                          "move it away to start afresh (digests of the current slots will then be sent again)"
                          ) from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise NotifyError(f"{path}: not a notification state of version {STATE_VERSION}")
    return NotifyState(path, digests=dict(data.get("digests", {})), alerts=dict(data.get("alerts", {})),
                       failures=list(data.get("failures", [])), runs=list(data.get("runs", [])),
                       last=dict(data.get("last", {})))


def read_state(folder: str | os.PathLike[str]) -> NotifyState:
    """The state as last written (no lock: a reader sees a whole file, old or new). For pages and ``status``."""
    return _load(Path(folder) / "state.json")


@contextlib.contextmanager
def locked_state(folder: str | os.PathLike[str], *, timeout_s: float = 60.0,
                 poll_s: float = 0.1) -> Iterator[NotifyState]:
    """Hold the notifier's lock, then read the state; the caller saves it (as often as it likes) inside.

    Waits up to ``timeout_s`` for another holder, then raises :class:`NotifyBusy`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise NotifyBusy(f"{folder}: another `notify run` holds the lock (waited {timeout_s:g} s)"
                                     ) from None
                time.sleep(poll_s)
        try:
            yield _load(folder / "state.json")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
