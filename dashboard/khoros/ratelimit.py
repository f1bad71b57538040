"""A rate limiter shared by every thread and process on one machine: a sliding-window log in a file.

Khoros counts calls per API family in a sliding window (Analytics 20 per minute, Author and Conversation API
60 per 60 s each). The CLI sync and the dashboard may run at the same time against one tenant, so the quota
is kept in a small JSON file under the data dir, read and rewritten under an exclusive ``fcntl`` lock (plus a
thread lock, since one process may hold several file descriptors). The file is replaced atomically (temp file
+ rename), so a process killed while holding the lock never leaves a torn file; a file that does not parse
is treated as empty.

Each call is logged twice: when it is sent (``acquire``) and again when its answer has arrived
(``complete`` moves the entry to that instant). The server sees the call somewhere in between, so spacing a
new call a full window after the *end* of the oldest logged one keeps us under the server's count even with
network latency. A 429 from the server (someone else used the quota) blocks the family until its
``Retry-After`` (``block``).

The clock and the sleep are injectable so tests run a minute-long window in no time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UNLIMITED_CALLS", "Limit", "SharedRateLimiter"]

UNLIMITED_CALLS = 10_000
"""A limit this high (the embedded demo raises its own simulator's limits) is not tracked: the log would cost
more than it protects."""


@dataclass(frozen=True)
class Limit:
    calls: int
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if self.calls < 1:
            raise ValueError(f"a rate limit allows at least 1 call per window, got {self.calls}")
        if self.window_s <= 0:
            raise ValueError(f"a rate-limit window must be positive, got {self.window_s}")


class SharedRateLimiter:
    """Sliding-window limits per API family, shared through ``path`` by all threads and processes."""

    def __init__(
        self,
        path: Path,
        limits: dict[str, Limit],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin_s: float = 0.05,
    ) -> None:
        self.path = Path(path)
        self.limits = dict(limits)
        self.clock = clock
        self.sleep = sleep
        self.margin_s = margin_s
        self._thread_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    # -- file access -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        with self._thread_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                state = self._read()
                yield state
                self._write(state)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, state: dict) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, separators=(",", ":"))
        os.replace(tmp, self.path)

    def _family(self, state: dict, family: str, now: float) -> dict:
        entry = state.setdefault(family, {})
        calls = entry.setdefault("calls", [])
        window = self.limits[family].window_s
        entry["calls"] = [c for c in calls if isinstance(c, list) and len(c) == 2 and now - c[1] < window]
        return entry

    # -- public ------------------------------------------------------------------------------------------

    def _tracked(self, family: str | None) -> bool:
        return family in self.limits and self.limits[family].calls < UNLIMITED_CALLS

    def acquire(self, family: str | None) -> str | None:
        """Wait until ``family`` may send one more call; log it and return its slot id (None: unlimited)."""
        if not self._tracked(family):
            return None
        limit = self.limits[family]
        while True:
            now = self.clock()
            with self._locked() as state:
                entry = self._family(state, family, now)
                blocked = float(entry.get("blocked_until", 0.0))
                if blocked > now:
                    wait = blocked - now
                elif len(entry["calls"]) < limit.calls:
                    slot = uuid.uuid4().hex[:12]
                    entry["calls"].append([slot, now])
                    return slot
                else:
                    oldest = min(c[1] for c in entry["calls"])
                    wait = oldest + limit.window_s + self.margin_s - now
            self.sleep(max(wait, 0.001))

    def complete(self, family: str | None, slot: str | None) -> None:
        """The answer to ``slot`` has arrived: count the call from now on (see the module docstring)."""
        if slot is None or not self._tracked(family):
            return
        now = self.clock()
        with self._locked() as state:
            entry = self._family(state, family, now)
            for call in entry["calls"]:
                if call[0] == slot:
                    call[1] = max(call[1], now)
                    break

    def block(self, family: str | None, seconds: float) -> None:
        """The server said 429: send nothing in ``family`` for ``seconds`` (every process on this machine)."""
        if not self._tracked(family) or seconds <= 0:
            return
        now = self.clock()
        with self._locked() as state:
            entry = self._family(state, family, now)
            entry["blocked_until"] = max(float(entry.get("blocked_until", 0.0)), now + seconds)

    def seconds_for(self, family: str, calls: int) -> float:
        """A lower bound of the time ``calls`` more calls need under the limit (for ETAs)."""
        if not self._tracked(family) or calls <= 0:
            return 0.0
        limit = self.limits[family]
        now = self.clock()
        with self._locked() as state:
            entry = self._family(state, family, now)
            in_window = len(entry["calls"])
        free_now = max(0, limit.calls - in_window)
        remaining = calls - free_now
        if remaining <= 0:
            return 0.0
        return (remaining // limit.calls + (1 if remaining % limit.calls else 0)) * limit.window_s
