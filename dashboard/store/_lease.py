"""One writer per store at a time, whoever it is: sync, import, repair, the demo's fill, a sweep.

Locally the lease is an ``fcntl`` lock on ``root/.writer.lock``: the kernel releases it when its process dies
(``kill -9`` included), so a lease can never be left behind. The file also says who holds it (purpose, process,
since when), for the message of whoever waits. On object storage (issue 14, :class:`ObjectLease`) the same lease
is an object taken by a conditional write (``If-None-Match: *``), holding the same fields plus an expiry that the
holder renews; a waiter takes over an expired lease with ``If-Match`` on the expired version.

The lease is re-entrant within a thread (a sync inside the demo's fill, a set-aside inside an import), and
exclusive between threads and processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from dashboard.errors import StoreBusy

__all__ = ["LEASE_FILE", "LEASE_TTL_S", "ObjectLease", "WriterLease", "holder_of"]

log = logging.getLogger(__name__)

LEASE_FILE = ".writer.lock"
_POLL_S = 0.05


class _Lease:
    """Re-entrant within a thread, exclusive between threads and processes; subclasses take and give back the
    lease itself (:meth:`_acquire` returns a handle that :meth:`_release` gets)."""

    _held: ClassVar[dict[str, tuple[int, int, Any]]] = {}  # key -> (thread id, depth, handle), per process
    _guard: ClassVar[threading.Lock] = threading.Lock()
    _key: str

    def held_here(self) -> bool:
        """Whether this thread holds the lease (writes may go ahead)."""
        with self._guard:
            held = self._held.get(self._key)
            return held is not None and held[0] == threading.get_ident() and self._valid(held[2])

    def _valid(self, handle: Any) -> bool:
        return True

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
                    tid, depth, handle = self._held[self._key]
                    self._held[self._key] = (tid, depth - 1, handle)
            return
        handle = self._acquire(purpose, wait_s, on_wait)
        with self._guard:
            self._held[self._key] = (me, 1, handle)
        try:
            yield
        finally:
            with self._guard:
                self._held.pop(self._key, None)
            self._release(handle)

    def _acquire(self, purpose: str, wait_s: float | None, on_wait: Callable[[str], None] | None) -> Any:
        raise NotImplementedError

    def _release(self, handle: Any) -> None:
        raise NotImplementedError


def _record(purpose: str) -> dict[str, Any]:
    return {"purpose": purpose[:200], "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds")}


class WriterLease(_Lease):
    """The lease of one local store root (see the module docstring); :meth:`hold` is the context manager."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LEASE_FILE
        self._key = str(self.root.resolve())

    def _release(self, fd: int) -> None:
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
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_record(purpose)).encode(), 0)
        return fd


LEASE_TTL_S = 30.0
"""How long a lease object on a bucket holds without renewal (its holder renews it every third of that)."""


@dataclass
class _ObjectHandle:
    record: dict[str, Any]
    version: str
    lost: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    renewer: threading.Thread | None = None


class ObjectLease(_Lease):
    """The lease as an object on a bucket (``<store>/.writer.lock``): holder, purpose, ``expires_at``.

    Taken by a create-only PUT; renewed every third of its time to live by a PUT conditional on the ETag it
    holds; taken over by a waiter only once it has expired (or its holder is a process of this host that is
    gone, e.g. ``kill -9``: no need to wait out the expiry) with a PUT conditional on the expired version;
    released by a delete. Two waiters racing for an expired lease: the conditional PUT lets one win. A holder
    that could not renew in time (a paused process) has lost the lease: its commits refuse (and each commit
    is conditional on the manifest's version besides, so it could not overwrite a newer one)."""

    def __init__(self, files: Any, name: str = LEASE_FILE, *, ttl_s: float = LEASE_TTL_S) -> None:
        self.files = files
        self.rel = name
        self.ttl_s = ttl_s
        self._key = f"{files.url}/{name}"

    def _valid(self, handle: _ObjectHandle) -> bool:
        return handle.lost is None

    def lost_to(self) -> str | None:
        """Who took the lease from this thread while it held it (None: it did not lose it)."""
        with self._guard:
            held = self._held.get(self._key)
        return held[2].lost if held is not None and held[2].lost else None

    def holder(self) -> str:
        data, _ = self.files.read(self.rel)
        return _describe(_parse(data))

    def _body(self, record: dict[str, Any]) -> bytes:
        expires = datetime.now(UTC).timestamp() + self.ttl_s
        return json.dumps({**record, "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()}).encode()

    def _acquire(self, purpose: str, wait_s: float | None,
                 on_wait: Callable[[str], None] | None) -> _ObjectHandle:
        record = {**_record(purpose), "token": uuid.uuid4().hex}
        deadline = None if wait_s is None else time.monotonic() + wait_s
        told = False
        while True:
            version = self.files.put_if(self.rel, self._body(record), None)
            if version is None:
                data, current = self.files.read(self.rel)
                held = _parse(data)
                if data is not None and _gone(held):
                    version = self.files.put_if(self.rel, self._body(record), current)
            if version is not None:
                handle = _ObjectHandle(record, version)
                handle.renewer = threading.Thread(target=self._renew, args=(handle,), daemon=True,
                                                  name=f"lease {self._key}")
                handle.renewer.start()
                return handle
            who = _describe(held)
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreBusy(f"the store {self.files.url} is being written by {who}; try again when it is "
                                "done")
            if on_wait is not None and not told:
                on_wait(who)
                told = True
            time.sleep(_OBJECT_POLL_S)

    def _renew(self, handle: _ObjectHandle) -> None:
        while not handle.stop.wait(self.ttl_s / 3):
            try:
                version = self.files.put_if(self.rel, self._body(handle.record), handle.version)
            except Exception as exc:  # a network error: try again at the next beat (the lease has 2 more)
                log.warning("could not renew the store lease %s: %s", self._key, exc)
                continue
            if version is None:
                data, _ = self.files.read(self.rel)
                handle.lost = _describe(_parse(data))
                log.error("the store lease %s was taken over by %s", self._key, handle.lost)
                return
            handle.version = version

    def _release(self, handle: _ObjectHandle) -> None:
        handle.stop.set()
        if handle.renewer is not None:
            handle.renewer.join()
        if handle.lost is not None:
            return
        data, _ = self.files.read(self.rel)
        if _parse(data).get("token") == handle.record["token"]:
            self.files.delete(self.rel)


_OBJECT_POLL_S = 0.2


def _parse(data: bytes | None) -> dict[str, Any]:
    try:
        record = json.loads(data or b"{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _gone(record: dict[str, Any]) -> bool:
    """Whether a lease record no longer holds: expired (or unreadable), or its process on this host is gone."""
    try:
        expires = datetime.fromisoformat(record["expires_at"])
    except (KeyError, TypeError, ValueError):
        return True
    if expires <= datetime.now(UTC):
        return True
    if record.get("host") == socket.gethostname() and isinstance(record.get("pid"), int):
        try:
            os.kill(record["pid"], 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
    return False


def _describe(record: dict[str, Any]) -> str:
    if not record:
        return "another writer"
    return (f"{record.get('purpose', 'another writer')} (process {record.get('pid', '?')} on "
            f"{record.get('host', '?')}, since {record.get('since', '?')})")


def holder_of(root: Path) -> str:
    """Who holds the lease, as words ("sync (process 4242 on host, since 2026-11-20T10:02:03+00:00)")."""
    try:
        record = json.loads((Path(root) / LEASE_FILE).read_bytes() or b"{}")
    except (OSError, ValueError):
        record = {}
    return _describe(record)
