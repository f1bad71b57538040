"""One writer per store at a time, whoever it is: sync, import, repair, the demo's fill, a sweep.

Locally the lease is an ``fcntl`` lock on ``root/.writer.lock``: the kernel releases it when its process dies
(``kill -9`` included), so a lease can never be left behind. The file also says who holds it (purpose, process,
since when), for the message of whoever waits. On object storage (issue 14) the same lease is an object taken
by a conditional write (``If-None-Match: *``), holding the same fields plus an expiry that the holder renews;
a waiter takes over an expired lease with ``If-Match`` on the expired version.

The lease is re-entrant within a thread (a sync inside the demo's fill, a set-aside inside an import), and
exclusive between threads and processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from dashboard.errors import StoreBusy

__all__ = ["LEASE_FILE", "WriterLease", "holder_of"]

LEASE_FILE = ".writer.lock"
_POLL_S = 0.05


class WriterLease:
    """The lease of one store root (see the module docstring); :meth:`hold` is the context manager."""

    _held: ClassVar[dict[str, tuple[int, int, int]]] = {}  # root -> (thread id, depth, fd), per process
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LEASE_FILE
        self._key = str(self.root.resolve())

    def held_here(self) -> bool:
        """Whether this thread holds the lease (writes may go ahead)."""
        with self._guard:
            held = self._held.get(self._key)
            return held is not None and held[0] == threading.get_ident()

    @contextlib.contextmanager
    def hold(self, purpose: str, *, wait_s: float | None = None,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lease for ``purpose``; waits for the holder (at most ``wait_s`` seconds, None: as long as it
        takes, 0: not at all), calling ``on_wait(who)`` once when it has to wait. Raises :class:`StoreBusy`."""
        me = threading.get_ident()
        with self._guard:
            held = self._held.get(self._key)
            if held is not None and held[0] == me:
                self._held[self._key] = (me, held[1] + 1, held[2])
                reentered = True
            else:
                reentered = False
        if reentered:
            try:
                yield
            finally:
                with self._guard:
                    tid, depth, fd = self._held[self._key]
                    self._held[self._key] = (tid, depth - 1, fd)
            return
        fd = self._acquire(purpose, wait_s, on_wait)
        with self._guard:
            self._held[self._key] = (me, 1, fd)
        try:
            yield
        finally:
            with self._guard:
                self._held.pop(self._key, None)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _acquire(self, purpose: str, wait_s: float | None, on_wait: Callable[[str], None] | None) -> int:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = None if wait_s is None else time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = holder_of(self.root)
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreBusy(f"the store {self.root} is being written by {who}; try again when it is "
                                    "done") from None
                if on_wait is not None and not told:
                    on_wait(who)
                    told = True
                time.sleep(_POLL_S)
        record = {"purpose": purpose[:200], "pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        return fd


def holder_of(root: Path) -> str:
    """Who holds the lease, as words ("sync (process 4242 on host, since 2026-11-20T10:02:03+00:00)")."""
    try:
        record = json.loads((Path(root) / LEASE_FILE).read_bytes() or b"{}")
    except (OSError, ValueError):
        record = {}
    if not record:
        return "another writer"
    return (f"{record.get('purpose', 'another writer')} (process {record.get('pid', '?')} on "
            f"{record.get('host', '?')}, since {record.get('since', '?')})")
