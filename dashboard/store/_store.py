"""The ``Store``: Parquet per export and day, found through a manifest that is the store's one commit point.

Layout under ``root`` (= ``data_dir / "store" / <tenant label>``)::

    export=<id>/_manifest.json                      what the export holds (see :mod:`._manifest`): the commit
    export=<id>/day=YYYY-MM-DD/part-<uuid>.parquet  one day's rows; written once, never changed
    _quarantine/export=<id>/<name>-<uuid>.parquet   rows that did not parse (source, line, reason, raw)
    _damaged/export=<id>/day=YYYY-MM-DD/...         files that could not be read, set aside (kept, not deleted)
    .writer.lock                                    the writer lease (:mod:`._lease`)

**What a write promises.** Every write (a sync window, an import, a repair, a set-aside) holds the writer lease,
writes its new files under new unique names, and then commits by replacing the export's manifest in one step
(written aside, ``fsync``, renamed over the old one). A kill at any point leaves the store as it was (the new
files are named by nothing and swept later) or as it is after the commit: never half of it. Readers read a
manifest and then the files it names, which stay in place for an hour after a commit stops naming them (the
sweep's grace), so a reader never meets a missing or half-written file.

The same design carries over to object storage unchanged (issue 14): a new file is a PUT under a unique key; the
commit is ONE conditional PUT of the manifest object (``If-Match`` its version, ``If-None-Match: *`` for the
first); the lease is an object taken by a conditional PUT with an expiry; a set-aside is a copy and a delete;
the sweep lists and deletes. Only :class:`_LocalFiles` knows it is on a local disk.

**Damage.** A day file that is missing, has another size than its manifest says, or whose Parquet footer does
not read is *damaged*: readers skip it (every page and the CLI keep working on the other days), name it in
:meth:`Store.damaged`, and a writer sets it aside: the file moves to ``_damaged/``, the day leaves the manifest
(so the next sync fetches it again: ``python -m dashboard repair`` does that for every damaged day), and the
manifest records what was set aside and why. :meth:`Store.check` with ``deep=True`` also reads every row and
compares each file's SHA-256 with the one recorded when it was written.

Stores written before (layout 1: ``day=<d>/part.parquet`` found by listing, ``_failures.json``) are migrated on
open, in place: their files are named in a layout-2 manifest as they are; nothing is moved or rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.errors import StoreBusy, StoreError
from dashboard.schema import EXPORTS, QUARANTINE_SCHEMA, export_schema
from dashboard.store._derived import DERIVED_DIR, DerivedManifest
from dashboard.store._lease import LEASE_TTL_S, ObjectLease, WriterLease, holder_of
from dashboard.store._manifest import LAYOUT, Manifest
from dashboard.store._objects import ObjectFiles, is_store_url

__all__ = ["DAMAGED_SCHEMA", "FAILURES_SCHEMA", "FRESHNESS_SCHEMA", "MANIFEST_SCHEMA", "Damage", "Store",
           "StoreBusy", "open_store", "store_location", "store_root"]

MANIFEST_SCHEMA = pl.Schema({
    "export": pl.String(), "day": pl.Date(), "rows": pl.Int64(), "fetched_at": pl.Datetime("ms", "UTC"),
    "source": pl.String(), "workflow_id": pl.String(), "run_id": pl.String(), "failures": pl.Int64(),
    "as_of": pl.Datetime("ms", "UTC"),
})
FRESHNESS_SCHEMA = pl.Schema({
    "export": pl.String(), "last_success": pl.Datetime("ms", "UTC"), "rows": pl.Int64(), "days": pl.Int64(),
    "failed_windows": pl.Int64(),
})
FAILURES_SCHEMA = pl.Schema({
    "export": pl.String(), "first_day": pl.Date(), "last_day": pl.Date(), "reason": pl.String(),
    "at": pl.Datetime("ms", "UTC"),
})
DAMAGED_SCHEMA = pl.Schema({
    "export": pl.String(), "day": pl.Date(), "file": pl.String(), "reason": pl.String(), "source": pl.String(),
    "set_aside": pl.String(), "at": pl.Datetime("ms", "UTC"),
})
"""A damaged day: the file, why, what had written it, where it was set aside (null: not yet) and when."""
GRACE_S = 3600.0
"""How long a file no manifest names any more is kept: readers of an older manifest may still be reading it."""
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_MANIFEST = "_manifest.json"
_LEGACY_FAILURES = "_failures.json"

# Footers already read, by (path, size, mtime): files are never changed in place, so once is enough per process.
_FOOTERS_READ: set[tuple[str, int, str]] = set()
_FOOTERS_GUARD = threading.Lock()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Damage:
    export_id: str
    day: date
    file: str
    """Relative to the store root."""
    reason: str


class _LocalFiles:
    """The store's few file operations on a local disk (:class:`~dashboard.store._objects.ObjectFiles` implements
    the same on a bucket)."""

    options: dict[str, str] = {}  # noqa: RUF012 (read only: a local disk needs no storage options)

    def __init__(self, root: Path) -> None:
        self.root = root

    def locate(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> tuple[bytes | None, str | None]:
        """The file's bytes (None: there is none); no version locally (the lease and the generation suffice)."""
        try:
            return (self.root / rel).read_bytes(), None
        except FileNotFoundError:
            return None, None

    def stat(self, rel: str) -> tuple[int, str] | None:
        """(size, version: the modification time) of the file, None when there is none."""
        try:
            st = (self.root / rel).stat()
        except FileNotFoundError:
            return None
        return st.st_size, str(st.st_mtime_ns)

    def put(self, rel: str, data: bytes) -> None:
        """Write ``rel`` whatever is there, in one step (records that are not commits: the demo world's)."""
        self.commit(rel, data, None)

    def write_new(self, rel: str, data: bytes) -> None:
        """A new file under a name no one else uses; durable before it returns."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_durably(path, data)

    def settle(self, rels: Iterable[str]) -> None:
        """Make the folder entries of new files durable (once per folder), before a commit names them."""
        folders = {(self.root / rel).parent for rel in rels}
        for folder in sorted(folders | {f.parent for f in folders}):
            _fsync_dir(folder)

    def commit(self, rel: str, data: bytes, version: str | None = None) -> None:
        """Replace ``rel`` in one step (the caller holds the lease and checked the generation it replaces; a
        bucket also checks ``version``, the one the caller read)."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        _write_durably(tmp, data)
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    def move(self, rel: str, new_rel: str) -> None:
        target = self.root / new_rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.root / rel, target)

    def delete(self, rel: str) -> None:
        path = self.root / rel
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # an emptied day folder

    def listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Files under ``prefix`` with their modification time (for the sweep only: readers never list)."""
        base = self.root / prefix
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file():
                    yield path.relative_to(self.root).as_posix(), path.stat().st_mtime


def _write_durably(path: Path, data: bytes) -> None:
    """A new file (never an existing one) with ``data``, on disk before this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=True)
    return buffer.getvalue()


class Store:
    """A tenant's synced and imported exports (see the module docstring)."""

    def __init__(self, root: Path | str, *, local_dir: Path | None = None, lease_ttl_s: float = LEASE_TTL_S
                 ) -> None:
        """A store in a local folder ``root``, or on a bucket when ``root`` is a URL (``s3://bucket/prefix``,
        see :mod:`dashboard.store._objects`); ``local_dir`` is a local folder for what this machine keeps beside
        a bucket store (the notifier's state), ``lease_ttl_s`` how long a bucket's writer lease lasts unrenewed."""
        self._files: _LocalFiles | ObjectFiles
        self._lease: WriterLease | ObjectLease
        if is_store_url(root):
            self.root: Path | str = str(root).rstrip("/")
            self.is_local = False
            self._files = ObjectFiles(self.root)
            self._lease = ObjectLease(self._files, ttl_s=lease_ttl_s)
            self._lease_ttl_s = lease_ttl_s
            self._local_dir = Path(local_dir) if local_dir is not None else None
        else:
            self.root = Path(root)
            self.is_local = True
            # Customer data: the owner-only folder guards every file inside it.
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._files = _LocalFiles(self.root)
            self._lease = WriterLease(self.root)
            self._local_dir = self.root
        self._suspects: dict[tuple[str, date], Damage] = {}
        self._suspects_guard = threading.Lock()
        self._sweep_temp_files()
        if self._needs_migration():
            with self.writer("migrate the store to layout 2"):
                self._migrate()

    # ---- paths and locks ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The store's own name (the tenant label: its folder's or its prefix's last part)."""
        return self.root.name if isinstance(self.root, Path) else self.root.rsplit("/", 1)[-1]

    @property
    def storage_options(self) -> dict[str, str] | None:
        """What Polars needs to read this store's files (``storage_options``; None for a local folder)."""
        if self.is_local:
            return None
        return dict(self._files.options) or None

    def location(self, rel: str) -> Path | str:
        """Where a stored file is, for a reader: a local path, or a URL to read with :attr:`storage_options`."""
        return self._files.locate(rel)

    def scan_parquet(self, source: Any, **options: Any) -> pl.LazyFrame:
        """``pl.scan_parquet`` of files of this store (locations from :meth:`location` and the like)."""
        return pl.scan_parquet(source, storage_options=self.storage_options, **options)

    def read_parquet(self, source: Any, **options: Any) -> pl.DataFrame:
        """``pl.read_parquet`` of files of this store."""
        return pl.read_parquet(source, storage_options=self.storage_options, **options)

    @property
    def local_dir(self) -> Path:
        """A local folder for what this machine keeps beside the store (the notifier's state): the store's own
        folder, or for a bucket the folder a local store of the tenant would have."""
        if self._local_dir is None:
            raise StoreError(f"the store at {self.root} has no local folder for this machine's state (open it "
                             "with open_store, or pass local_dir)")
        self._local_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._local_dir

    def read_object(self, rel: str) -> bytes | None:
        """A small record kept in the store that is not data (the demo world's); None when there is none."""
        return self._files.read(rel)[0]

    def write_object(self, rel: str, data: bytes) -> None:
        """Replace a small record (not a commit: readers do not find data through it)."""
        self._files.put(rel, data)

    def remove(self, tops: Iterable[str]) -> None:
        """Delete everything under the top-level names ``tops`` (folders or files), as the one writer: what the
        demo world's replacement clears."""
        tops = set(tops)
        with self.writer("replace the demo world"):
            if isinstance(self.root, Path):
                for child in self.root.iterdir():
                    if child.name in tops or any(t.endswith("=") and child.name.startswith(t) for t in tops):
                        if child.is_dir():
                            shutil.rmtree(child)
                        else:
                            child.unlink()
                return
            for rel, _ in list(self._files.listing("")):
                top = rel.split("/", 1)[0]
                if top in tops or any(t.endswith("=") and top.startswith(t) for t in tops):
                    self._files.delete(rel)

    def export_dir(self, export_id: str) -> Path | str:
        export_schema(export_id)
        return self._files.locate(f"export={export_id}")

    def _manifest_rel(self, export_id: str) -> str:
        export_schema(export_id)
        return f"export={export_id}/{_MANIFEST}"

    def day_path(self, export_id: str, day: date) -> Path | str | None:
        """The committed file of a day (None: the day holds no rows, or is not in the store); a URL on a bucket
        (read it with :attr:`storage_options`)."""
        entry = self._read(export_id).days.get(day.isoformat())
        return self._files.locate(entry["file"]) if entry and entry.get("file") else None

    def day_files(self, export_id: str) -> list[Path | str]:
        """The committed files of an export, oldest day first."""
        return [self._files.locate(e["file"]) for _, e in sorted(self._read(export_id).days.items())
                if e.get("file")]

    def writer(self, purpose: str, *, wait_s: float | None = None,
               on_wait: Callable[[str], None] | None = None) -> contextlib.AbstractContextManager[None]:
        """The writer lease (one writer per store: sync, import, repair, the demo's fill); waits ``wait_s``
        seconds at most (None: as long as it takes), calling ``on_wait(who holds it)`` once if it waits."""
        return self._lease.hold(purpose, wait_s=wait_s, on_wait=on_wait)

    def writer_holder(self) -> str:
        if isinstance(self._lease, ObjectLease):
            return self._lease.holder()
        return holder_of(self.root)

    @contextlib.contextmanager
    def lock(self, name: str = "manifest") -> Iterator[None]:
        """A named exclusive lock across threads and processes (``fcntl``) on ``root/.<name>.lock``, for
        coordination that is not a write of the store (making the demo world); on a bucket a lease object
        ``.<name>.lock`` like the writer's. Writes take :meth:`writer`."""
        if isinstance(self._files, ObjectFiles):
            with ObjectLease(self._files, f".{name}.lock", ttl_s=self._lease_ttl_s).hold(f"lock {name}"):
                yield
            return
        fd = os.open(self.root / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _sweep_temp_files(self, older_than_s: float = GRACE_S) -> None:
        """Temp files of writers that were killed (an hour old, so a live writer is never disturbed); a bucket
        has none (a commit is one PUT)."""
        if not isinstance(self.root, Path):
            return
        cutoff = time.time() - older_than_s
        for tmp in self.root.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()

    # ---- the manifest --------------------------------------------------------------------------------------

    def _read(self, export_id: str) -> Manifest:
        return self._read_versioned(export_id)[0]

    def _read_versioned(self, export_id: str) -> tuple[Manifest, str | None]:
        rel = self._manifest_rel(export_id)
        data, version = self._files.read(rel)
        if data is None:
            return Manifest(export_id), None
        return Manifest.from_json(export_id, data, where=str(self._files.locate(rel))), version

    def _check_lease(self) -> None:
        if self._lease.held_here():
            return
        lost = self._lease.lost_to() if isinstance(self._lease, ObjectLease) else None
        if lost:
            raise StoreError(f"the writer lease of the store {self.root} was taken over by {lost} (this writer did "
                             "not renew it in time); nothing was committed")
        raise StoreError("a store commit needs the writer lease (Store.writer)")

    def _commit(self, manifest: Manifest, expected_generation: int) -> None:
        """Write ``manifest`` as the next generation: the commit point of every write."""
        self._check_lease()
        current, version = self._read_versioned(manifest.export_id)
        if current.generation != expected_generation:
            raise StoreError(f"the {manifest.export_id} manifest changed under the writer lease (generation "
                             f"{current.generation}, expected {expected_generation}); nothing was committed")
        manifest.generation = expected_generation + 1
        manifest.layout = LAYOUT
        # On a bucket the PUT is conditional on the version read (If-Match): no commit can overwrite another's.
        self._files.commit(self._manifest_rel(manifest.export_id), manifest.to_json(), *_version(version))

    def day_entries(self, export_id: str) -> dict[date, dict[str, Any]]:
        """Manifest entries of one export by day (``fetched_at`` as an aware datetime)."""
        out: dict[date, dict[str, Any]] = {}
        for day, entry in self._read(export_id).days.items():
            e = dict(entry)
            e["fetched_at"] = datetime.fromisoformat(e["fetched_at"]) if e.get("fetched_at") else _now()
            out[date.fromisoformat(day)] = e
        return out

    def manifest(self) -> pl.DataFrame:
        """One row per export and day: rows, fetched_at (wall clock), source, workflow_id, run_id, failures
        (job re-runs), as_of (the data's "now" when fetched: the world's clock in the demo)."""
        rows: list[dict[str, Any]] = []
        for export_id in EXPORTS:
            for day, e in sorted(self.day_entries(export_id).items()):
                as_of = e.get("as_of")
                rows.append({"export": export_id, "day": day, "rows": int(e.get("rows", 0)),
                             "fetched_at": e["fetched_at"], "source": e.get("source"),
                             "workflow_id": e.get("workflow_id"), "run_id": e.get("run_id"),
                             "failures": int(e.get("failures", 0)),
                             "as_of": datetime.fromisoformat(as_of) if isinstance(as_of, str) else None})
        return pl.DataFrame(rows, schema=MANIFEST_SCHEMA)

    def data_version(self) -> str:
        """Changes with every commit (each replaces a manifest, the kept facts' too): the key of every cached
        figure."""
        if not isinstance(self.root, Path):
            # One HEAD per manifest: its ETag changes with every commit.
            versions = [self._files.stat(rel) for rel in (*map(self._manifest_rel, EXPORTS), self._derived_rel())]
            digest = hashlib.sha256(repr(versions).encode()).hexdigest()[:16]
            return f"{self.name}:{digest}"
        marks = list(self.root.glob(f"export=*/{_MANIFEST}"))
        newest = max((p.stat().st_mtime_ns for p in marks), default=0)
        try:
            kept = (self.root / self._derived_rel()).stat().st_mtime_ns
        except FileNotFoundError:
            kept = 0
        return f"{self.root.name}:{newest}:{len(marks)}|facts:{kept}"

    # ---- derived data (the kept facts): the same commit rules, one manifest of its own ----------------------

    def _derived_rel(self) -> str:
        return f"{DERIVED_DIR}/{_MANIFEST}"

    def derived(self) -> DerivedManifest:
        """The derived-data manifest as committed (see :mod:`dashboard.store._derived`); empty when none."""
        return self._derived_versioned()[0]

    def _derived_versioned(self) -> tuple[DerivedManifest, str | None]:
        rel = self._derived_rel()
        data, version = self._files.read(rel)
        if data is None:
            return DerivedManifest(), None
        return DerivedManifest.from_json(data, where=str(self._files.locate(rel))), version

    def write_derived_file(self, name: str, data: bytes) -> str:
        """A new derived file ``facts/<name>-<uuid>.parquet`` (durable, named by nothing until a commit);
        returns its path relative to the root. Needs the writer lease."""
        if not self._lease.held_here():
            self._check_lease()
        rel = f"{DERIVED_DIR}/{name}-{uuid.uuid4().hex}.parquet"
        self._files.write_new(rel, data)
        return rel

    def commit_derived(self, manifest: DerivedManifest, expected_generation: int, staged: Iterable[str] = (),
                       retire: Iterable[str] = ()) -> None:
        """Replace the derived-data manifest by ``manifest`` (generation ``expected_generation`` + 1), retiring
        ``retire`` (files it no longer names): the commit point of every change of derived data."""
        staged = list(staged)
        self._check_lease()
        current_manifest, version = self._derived_versioned()
        current = current_manifest.generation
        if current != expected_generation:
            raise StoreError(f"the derived-data manifest changed under the writer lease (generation {current}, "
                             f"expected {expected_generation}); nothing was committed")
        at = _iso(_now())
        named = set(manifest.files())
        manifest.retired = [r for r in manifest.retired if r.get("file") not in named]
        manifest.retired += [{"file": rel, "at": at} for rel in dict.fromkeys(retire) if rel not in named]
        manifest.generation = expected_generation + 1
        try:
            self._files.settle(staged)
            self._files.commit(self._derived_rel(), manifest.to_json(), *_version(version))
        except BaseException:
            if self.derived().generation == expected_generation:  # not committed: its files are no one's
                for rel in staged:
                    with contextlib.suppress(OSError):
                        self._files.delete(rel)
            raise

    def discard_derived(self, staged: Iterable[str]) -> None:
        """Delete derived files a failed computation wrote and no commit names."""
        named = self.derived().files()
        for rel in staged:
            if rel not in named:
                with contextlib.suppress(OSError):
                    self._files.delete(rel)

    def derived_path(self, rel: str) -> Path | str:
        """Where a derived file is, for a reader (see :meth:`location`)."""
        return self._files.locate(rel)

    def exists(self, rel: str) -> bool:
        return self._files.stat(rel) is not None

    # ---- writing: one commit per call -------------------------------------------------------------------------

    def commit(self, export_id: str, *, days: dict[date, pl.DataFrame] | None = None,
               meta: dict[date, dict[str, Any]] | None = None, quarantine: dict[str, pl.DataFrame] | None = None,
               failed: tuple[date, date, str] | None = None, fetched: tuple[date, date] | None = None,
               purpose: str = "write") -> None:
        """Change one export in one commit: replace ``days`` (an empty frame empties a day), their manifest
        entries (``meta``: rows, fetched_at, source, job ids...), named quarantine files (an empty frame removes
        one), record a ``failed`` window and forget the failures a ``fetched`` window covers.

        Everything that can fail (typing, encoding, a full disk) happens before the commit, and the files it
        wrote are removed again: an error leaves the store exactly as it was."""
        days, meta, quarantine = days or {}, meta or {}, quarantine or {}
        with self.writer(purpose):
            current = self._read(export_id)
            expected = current.generation
            staged: list[str] = []
            entries: dict[str, dict[str, Any]] = {}
            quarantined: dict[str, dict[str, Any] | None] = {}
            try:
                for day, frame in days.items():
                    typed = self._typed(export_id, day, frame)
                    entry: dict[str, Any] = {"file": None, "bytes": None, "sha256": None}
                    old = current.days.get(day.isoformat()) or {}
                    if typed.height and self._holds(old, typed):  # the same rows: the file stays
                        entry = {k: old.get(k) for k in ("file", "bytes", "sha256")}
                    elif typed.height:
                        data = _parquet_bytes(typed)
                        rel = f"export={export_id}/day={day.isoformat()}/part-{uuid.uuid4().hex}.parquet"
                        self._files.write_new(rel, data)
                        staged.append(rel)
                        entry = {"file": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                    entries[day.isoformat()] = {**entry, "rows": typed.height}
                for name, rows in quarantine.items():
                    if not rows.height:
                        quarantined[name] = None
                        continue
                    rows = rows.select([pl.col(c).cast(t) for c, t in QUARANTINE_SCHEMA.items()])
                    if self._holds(current.quarantine.get(name) or {}, rows):
                        continue
                    data = _parquet_bytes(rows)
                    rel = f"_quarantine/export={export_id}/{_SAFE.sub('_', name)[:100]}-{uuid.uuid4().hex[:12]}.parquet"
                    self._files.write_new(rel, data)
                    staged.append(rel)
                    quarantined[name] = {"file": rel, "rows": rows.height}
            except BaseException:
                for rel in staged:
                    with contextlib.suppress(OSError):
                        self._files.delete(rel)
                raise
            manifest = current
            at = _iso(_now())
            for key, files in entries.items():
                day = date.fromisoformat(key)
                old = manifest.days.get(key)
                given = meta.get(day)
                base = dict(old) if (old is not None and given is None) else {"fetched_at": _now(), "source": ""}
                manifest.days[key] = _jsonable({**base, **(given or {}), **files})
                if old and old.get("file") and old["file"] != files["file"]:
                    manifest.retired.append({"file": old["file"], "at": at})
                if str(manifest.days[key].get("source", "")).startswith("sync"):
                    manifest.damaged.pop(key, None)  # fetched again (an import alone may not hold the whole day)
            for day, given in meta.items():  # entries of days whose rows do not change
                if day.isoformat() not in entries:
                    old = manifest.days.get(day.isoformat(), {})
                    merged = {"fetched_at": _now(), "source": "", "rows": 0, **old, **given, "file": old.get("file")}
                    if old.get("file"):
                        merged["rows"] = old.get("rows", 0)  # the rows are the file's
                    manifest.days[day.isoformat()] = _jsonable(merged)
            for name, entry in quarantined.items():
                old = manifest.quarantine.pop(name, None)
                if old and old.get("file"):
                    manifest.retired.append({"file": old["file"], "at": at})
                if entry is not None:
                    manifest.quarantine[name] = entry
            if fetched is not None:
                a, b = fetched[0].isoformat(), fetched[1].isoformat()
                manifest.failures = [f for f in manifest.failures if not (f["first_day"] <= b and a <= f["last_day"])]
            if failed is not None:
                first, last = failed[0].isoformat(), failed[1].isoformat()
                manifest.failures = [f for f in manifest.failures
                                     if not (f["first_day"] == first and f["last_day"] == last)]
                manifest.failures.append({"first_day": first, "last_day": last, "reason": failed[2][:500], "at": at})
            try:
                self._files.settle(staged)
                self._commit(manifest, expected)
            except BaseException:
                if self._read(export_id).generation == expected:  # not committed: its files are no one's
                    for rel in staged:
                        with contextlib.suppress(OSError):
                            self._files.delete(rel)
                raise
            with self._suspects_guard:
                for key in entries:
                    self._suspects.pop((export_id, date.fromisoformat(key)), None)

    def _holds(self, entry: dict[str, Any], rows: pl.DataFrame) -> bool:
        """Whether the committed file of ``entry`` holds exactly ``rows`` (a rewrite would change nothing)."""
        rel = entry.get("file")
        if not rel or entry.get("rows", rows.height) != rows.height or self._problem(rel, entry) is not None:
            return False
        try:
            return self.read_parquet(self._files.locate(rel)).equals(rows)
        except (Exception, pl.exceptions.PanicException):
            return False

    def write_day(self, export_id: str, day: date, frame: pl.DataFrame, meta: dict[str, Any] | None = None) -> None:
        """Replace one day of one export (one commit); ``meta`` are its manifest entry's fields.

        ``frame`` must have the schema's columns (extra attribute columns allowed for the author export);
        it is de-duplicated on the schema's key (last row wins) and sorted by time, then key.
        """
        self.commit(export_id, days={day: frame}, meta={day: meta} if meta is not None else None,
                    purpose=f"write {export_id} {day}")

    def replace_days(self, export_id: str, frames: dict[date, pl.DataFrame], meta: dict[date, dict[str, Any]]
                     ) -> None:
        """Replace several days of one export in one commit (see :meth:`commit`)."""
        self.commit(export_id, days=frames, meta=meta, purpose=f"write {export_id}")

    def record_days(self, export_id: str, entries: dict[date, dict[str, Any]]) -> None:
        """Add or update manifest entries (``rows``, ``fetched_at`` datetime, ``source``, job ids, failures) of
        days whose files stay as they are."""
        self.commit(export_id, meta=entries, purpose=f"record {export_id} days")

    def write_quarantine(self, export_id: str, name: str, rows: pl.DataFrame) -> None:
        """Replace the quarantine file ``name`` of an export (empty ``rows`` removes it)."""
        self.commit(export_id, quarantine={name: rows}, purpose=f"quarantine {export_id}")

    def update_failures(self, export_id: str, *, failed: tuple[date, date, str] | None = None,
                        fetched: tuple[date, date] | None = None) -> None:
        """Record a failed window, and/or forget the export's failures that a fetched window overlaps."""
        if failed is None and not self._read(export_id).failures:
            return
        self.commit(export_id, failed=failed, fetched=fetched, purpose=f"record {export_id} failures")

    def _typed(self, export_id: str, day: date, frame: pl.DataFrame) -> pl.DataFrame:
        schema = export_schema(export_id)
        missing = [c for c in schema.names if c not in frame.columns]
        if missing:
            raise StoreError(f"write_day({export_id}, {day}): missing columns {', '.join(missing)}")
        extra = [c for c in frame.columns if c not in schema.names]
        if extra and not schema.extra_attributes:
            raise StoreError(f"write_day({export_id}, {day}): unknown columns {', '.join(extra)}")
        typed = frame.select(
            [pl.col(c).cast(dt) for c, dt in schema.polars_schema.items()] + [pl.col(c).cast(pl.String) for c in extra]
        )
        return typed.unique(subset=list(schema.key), keep="last", maintain_order=True).sort(
            [schema.time_column, *schema.key], nulls_last=True)

    # ---- reading -------------------------------------------------------------------------------------------

    def _problem(self, rel: str, entry: dict[str, Any]) -> str | None:
        """Why a committed file cannot be read (cheap checks: presence, size, Parquet footer), or None."""
        path = self._files.locate(rel)
        try:
            stat = self._files.stat(rel)
        except OSError as exc:
            return f"the file cannot be read ({exc.strerror or exc})"
        if stat is None:
            return "the file is missing"
        size, version = stat
        expected = entry.get("bytes")
        if isinstance(expected, int) and size != expected:
            return f"the file has {size:,} bytes where {expected:,} were written"
        mark = (str(path), size, version)
        with _FOOTERS_GUARD:
            if mark in _FOOTERS_READ:
                return None
        try:
            if isinstance(path, Path):
                pl.read_parquet_schema(path)
            else:
                pl.read_parquet_metadata(path, storage_options=self.storage_options)
        except (Exception, pl.exceptions.PanicException) as exc:  # Polars names several kinds of bad Parquet
            return f"not readable as Parquet ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})"
        with _FOOTERS_GUARD:
            _FOOTERS_READ.add(mark)
        return None

    def _readable_files(self, export_id: str) -> list[tuple[date, Path | str]]:
        """The committed files of an export that read; damaged ones are noted (and set aside when no writer is
        busy)."""
        manifest = self._read(export_id)
        out: list[tuple[date, Path | str]] = []
        found: list[Damage] = []
        for key, entry in sorted(manifest.days.items()):
            rel = entry.get("file")
            if not rel:
                continue
            problem = self._problem(rel, entry)
            if problem is None:
                out.append((date.fromisoformat(key), self._files.locate(rel)))
            else:
                found.append(Damage(export_id, date.fromisoformat(key), rel, problem))
        if found:
            with self._suspects_guard:
                for d in found:
                    self._suspects[(d.export_id, d.day)] = d
            self._set_aside_if_free(found)
        return out

    def readable_rels(self, export_id: str) -> dict[date, str]:
        """The committed day files of an export that read, as names relative to the store (see
        :meth:`readable_files`)."""
        named = {str(self._files.locate(e["file"])): e["file"] for e in self._read(export_id).days.values()
                 if e.get("file")}
        return {day: named[str(where)] for day, where in self._readable_files(export_id)}

    def readable_files(self, export_id: str) -> list[tuple[date, Path | str]]:
        """The committed day files of an export that read (damaged ones are left out, named and set aside as
        :meth:`scan` does), oldest day first: what a scan reads."""
        return self._readable_files(export_id)

    def scan(self, export_id: str) -> pl.LazyFrame:
        """All stored rows of an export, typed per the schema, de-duplicated on its key (latest day wins).
        A damaged day is left out (see :meth:`damaged`)."""
        schema = export_schema(export_id)
        files = [path for _, path in self._readable_files(export_id)]
        if not files:
            return pl.LazyFrame(schema=schema.polars_schema)
        if schema.extra_attributes:
            # Attribute columns may differ between days: align them by name.
            frame = pl.concat([self.scan_parquet(f) for f in files], how="diagonal_relaxed")
        else:
            frame = self.scan_parquet(files, hive_partitioning=False, schema=dict(schema.polars_schema))
        if len(files) > 1:
            frame = frame.unique(subset=list(schema.key), keep="last", maintain_order=True)
        return frame

    def scan_with_day(self, export_id: str) -> pl.LazyFrame:
        """Like :meth:`scan` but every row with the ``__day`` it is stored under, not de-duplicated."""
        schema = export_schema(export_id)
        files = self._readable_files(export_id)
        empty = pl.LazyFrame(schema={**schema.polars_schema, "__day": pl.Date()})
        if not files:
            return empty
        parts = [self.scan_parquet(path).with_columns(pl.lit(day).alias("__day")) for day, path in files]
        return pl.concat([empty, *parts], how="diagonal_relaxed")

    def read_day(self, export_id: str, day: date) -> pl.DataFrame:
        """The rows stored for a day (an empty typed frame when there are none); a StoreError names a damaged
        file."""
        entry = self._read(export_id).days.get(day.isoformat())
        if not entry or not entry.get("file"):
            return pl.DataFrame(schema=export_schema(export_id).polars_schema)
        problem = self._problem(entry["file"], entry)
        if problem is None:
            try:
                return self.read_parquet(self._files.locate(entry["file"]))
            except (Exception, pl.exceptions.PanicException) as exc:
                problem = f"not readable as Parquet ({str(exc).splitlines()[0][:160]})"
        raise StoreError(f"{export_id} {day}: {self._files.locate(entry['file'])}: {problem}; run `python -m dashboard "
                         "repair`")

    # ---- quarantine, failures, freshness ------------------------------------------------------------------

    def quarantine(self) -> pl.DataFrame:
        """Every quarantined row (export, source, line, reason, raw)."""
        frames = []
        for export_id in EXPORTS:
            for entry in self._read(export_id).quarantine.values():
                with contextlib.suppress(OSError, pl.exceptions.PolarsError):
                    frames.append(self.read_parquet(self._files.locate(entry["file"])))
        if not frames:
            return pl.DataFrame(schema=QUARANTINE_SCHEMA)
        return pl.concat(frames, how="vertical_relaxed")

    def failures(self) -> list[dict[str, Any]]:
        """Windows a sync could not fetch and no later sync has fetched, oldest first: dicts with export,
        first_day, last_day (ISO dates), reason and at (ISO instant). ``pl.DataFrame(store.failures())`` or
        :meth:`failures_frame` for a typed frame."""
        out = [{"export": export_id, **{k: f.get(k) for k in ("first_day", "last_day", "reason", "at")}}
               for export_id in EXPORTS for f in self._read(export_id).failures]
        return sorted(out, key=lambda f: str(f["at"]))

    def failures_frame(self) -> pl.DataFrame:
        rows = [{**f, "first_day": date.fromisoformat(f["first_day"]), "last_day": date.fromisoformat(f["last_day"]),
                 "at": datetime.fromisoformat(f["at"])} for f in self.failures()]
        return pl.DataFrame(rows, schema=FAILURES_SCHEMA)

    def freshness(self) -> pl.DataFrame:
        """Per export: last successful sync, rows and days stored, windows whose last sync failed."""
        rows = []
        for export_id in EXPORTS:
            entries = self.day_entries(export_id)
            failed = len(self._read(export_id).failures)
            if not entries and not failed:
                continue
            synced = [e["fetched_at"] for e in entries.values() if str(e.get("source", "")).startswith("sync")]
            rows.append({"export": export_id, "last_success": max(synced) if synced else None,
                         "rows": sum(int(e.get("rows", 0)) for e in entries.values()), "days": len(entries),
                         "failed_windows": failed})
        return pl.DataFrame(rows, schema=FRESHNESS_SCHEMA)

    # ---- damage: found, set aside, fetched again ------------------------------------------------------------

    def damaged(self) -> pl.DataFrame:
        """Days whose file could not be read and that no sync has fetched again: the ones set aside (recorded
        in the manifest) and the ones readers found since (``set_aside`` null until a writer moves them)."""
        rows: list[dict[str, Any]] = []
        seen: set[tuple[str, date]] = set()
        for export_id in EXPORTS:
            for key, d in self._read(export_id).damaged.items():
                day = date.fromisoformat(key)
                seen.add((export_id, day))
                rows.append({"export": export_id, "day": day, "file": d.get("file"), "reason": d.get("reason"),
                             "source": d.get("source"), "set_aside": d.get("set_aside"),
                             "at": datetime.fromisoformat(d["at"]) if d.get("at") else None})
        with self._suspects_guard:
            suspects = [d for k, d in self._suspects.items() if k not in seen]
        for d in suspects:
            entry = self._read(d.export_id).days.get(d.day.isoformat())
            if entry is None or entry.get("file") != d.file:
                continue  # replaced since
            rows.append({"export": d.export_id, "day": d.day, "file": d.file, "reason": d.reason,
                         "source": entry.get("source"), "set_aside": None, "at": None})
        return pl.DataFrame(rows, schema=DAMAGED_SCHEMA).sort("export", "day")

    def check(self, exports: Iterable[str] | None = None, *, deep: bool = False, set_aside: bool = True
              ) -> list[Damage]:
        """Find damaged day files (``deep``: also read every row and compare each file's SHA-256) and set them
        aside when no other writer is busy (``set_aside=False``: only say which); returns what was found."""
        found: list[Damage] = []
        for export_id in exports or EXPORTS:
            manifest = self._read(export_id)
            for key, entry in sorted(manifest.days.items()):
                rel = entry.get("file")
                if not rel:
                    continue
                problem = self._problem(rel, entry)
                if problem is None and deep:
                    problem = self._deep_problem(rel, entry)
                if problem is not None:
                    found.append(Damage(export_id, date.fromisoformat(key), rel, problem))
        if found:
            with self._suspects_guard:
                for d in found:
                    self._suspects[(d.export_id, d.day)] = d
            if set_aside:
                self._set_aside_if_free(found)
        return found

    def _deep_problem(self, rel: str, entry: dict[str, Any]) -> str | None:
        try:
            data, _ = self._files.read(rel)
        except OSError as exc:
            return f"the file cannot be read ({exc.strerror or exc})"
        if data is None:
            return "the file is missing"
        recorded = entry.get("sha256")
        if recorded and hashlib.sha256(data).hexdigest() != recorded:
            return "the file's content is not what was written (its SHA-256 differs)"
        try:
            pl.read_parquet(io.BytesIO(data))
        except (Exception, pl.exceptions.PanicException) as exc:
            return f"not readable as Parquet ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})"
        return None

    def _set_aside_if_free(self, found: list[Damage]) -> None:
        """Set damaged files aside now if this thread may write (it holds the lease, or no one does)."""
        try:
            with self.writer("set damaged files aside", wait_s=0):
                self.set_aside(found)
        except StoreBusy:
            pass  # the writer that is busy sets them aside when it next reads them (or repair does)

    def set_aside(self, damages: Iterable[Damage]) -> list[Damage]:
        """Move damaged files to ``_damaged/`` (kept, not deleted) and drop their days from the manifest, so the
        next sync fetches them again; returns the ones moved."""
        damages = list(damages)
        moved: list[Damage] = []
        with self.writer("set damaged files aside"):
            for export_id in sorted({d.export_id for d in damages}):
                manifest = self._read(export_id)
                expected = manifest.generation
                changed = False
                for d in damages:
                    if d.export_id != export_id:
                        continue
                    key = d.day.isoformat()
                    entry = manifest.days.get(key)
                    if entry is None or entry.get("file") != d.file:
                        continue  # replaced meanwhile
                    aside = f"_damaged/export={export_id}/day={key}/{uuid.uuid4().hex[:8]}-{Path(d.file).name}"
                    with contextlib.suppress(FileNotFoundError):
                        self._files.move(d.file, aside)
                    if not self.exists(aside):
                        aside = None  # it was missing: nothing to keep
                    manifest.days.pop(key)
                    manifest.damaged[key] = {"file": d.file, "set_aside": aside, "reason": d.reason,
                                             "source": entry.get("source"), "at": _iso(_now())}
                    changed = True
                    moved.append(d)
                if changed:
                    self._commit(manifest, expected)
        with self._suspects_guard:
            for d in moved:
                self._suspects.pop((d.export_id, d.day), None)
        return moved

    # ---- sweep and migration -----------------------------------------------------------------------------------

    def sweep(self, grace_s: float = GRACE_S) -> int:
        """Delete files no manifest names (retired by a commit, or left by a killed writer) once they are older
        than ``grace_s``; returns how many. Holds the writer lease."""
        cutoff = time.time() - grace_s
        deleted = 0
        with self.writer("sweep old files"):
            for export_id in EXPORTS:
                manifest = self._read(export_id)
                expected = manifest.generation
                keep_retired = []
                for r in manifest.retired:
                    at = datetime.fromisoformat(r["at"]).timestamp() if r.get("at") else 0.0
                    if at < cutoff:
                        self._files.delete(r["file"])
                        deleted += 1
                    else:
                        keep_retired.append(r)
                if len(keep_retired) != len(manifest.retired):
                    manifest.retired = keep_retired
                    self._commit(manifest, expected)
                named = manifest.files() | {self._manifest_rel(export_id)}
                for prefix in (f"export={export_id}", f"_quarantine/export={export_id}"):
                    deleted += self._sweep_unnamed(prefix, named, cutoff)
            derived = self.derived()
            expected = derived.generation
            keep = [r for r in derived.retired
                    if (datetime.fromisoformat(r["at"]).timestamp() if r.get("at") else 0.0) >= cutoff]
            if len(keep) != len(derived.retired):
                for r in derived.retired:
                    if r not in keep:
                        self._files.delete(r["file"])
                        deleted += 1
                derived.retired = keep
                self.commit_derived(derived, expected)
            deleted += self._sweep_unnamed(DERIVED_DIR, derived.files() | {self._derived_rel()}, cutoff)
        return deleted

    def _sweep_unnamed(self, prefix: str, named: set[str], cutoff: float) -> int:
        deleted = 0
        for rel, mtime in list(self._files.listing(prefix)):
            name = rel.rsplit("/", 1)[-1]
            if rel in named or name.startswith(".") or mtime >= cutoff:
                continue
            if name.endswith(".parquet"):
                self._files.delete(rel)
                deleted += 1
        return deleted

    def _needs_migration(self) -> bool:
        if not isinstance(self.root, Path):
            return False  # layout 1 never was on a bucket
        if (self.root / _LEGACY_FAILURES).exists():
            return True
        for folder in self.root.glob("export=*"):
            export_id = folder.name.split("=", 1)[1]
            if export_id not in EXPORTS:
                continue
            path = folder / _MANIFEST
            if not path.exists():
                if any(folder.glob("day=*/part.parquet")):
                    return True
                continue
            try:
                if json.loads(path.read_bytes()).get("layout", 1) < LAYOUT:
                    return True
            except (ValueError, AttributeError):
                continue  # a damaged manifest: reading it says so
        return any((self.root / "_quarantine").glob("export=*/*.parquet")) and not self._quarantine_named()

    def _quarantine_named(self) -> bool:
        named = {q["file"] for e in EXPORTS for q in self._read(e).quarantine.values()}
        return all(p.relative_to(self.root).as_posix() in named
                   for p in (self.root / "_quarantine").glob("export=*/*.parquet"))

    def _migrate(self) -> None:
        """Layout 1 -> 2 in place: the files stay where they are and are named in the manifest (each export one
        commit); days with a file but no entry (written without one) are named too, as not synced."""
        try:
            legacy_failures = json.loads((self.root / _LEGACY_FAILURES).read_bytes())
        except (FileNotFoundError, ValueError):
            legacy_failures = []
        for export_id in EXPORTS:
            folder = self.root / f"export={export_id}"
            quarantine_dir = self.root / "_quarantine" / f"export={export_id}"
            failures = [f for f in legacy_failures if isinstance(f, dict) and f.get("export") == export_id]
            if not folder.exists() and not quarantine_dir.exists() and not failures:
                continue
            manifest = self._read(export_id)
            expected = manifest.generation
            if manifest.layout < LAYOUT:
                for key, entry in list(manifest.days.items()):
                    legacy = folder / f"day={key}" / "part.parquet"
                    entry["file"] = legacy.relative_to(self.root).as_posix() if legacy.exists() else None
                for legacy in sorted(folder.glob("day=*/part.parquet")):
                    key = legacy.parent.name.split("=", 1)[1]
                    if key not in manifest.days:
                        manifest.days[key] = {
                            "file": legacy.relative_to(self.root).as_posix(),
                            "rows": int(pl.scan_parquet(legacy).select(pl.len()).collect().item()),
                            "fetched_at": _iso(datetime.fromtimestamp(legacy.stat().st_mtime, UTC)),
                            "source": "store layout 1 (no manifest entry)"}
            named = {q["file"] for q in manifest.quarantine.values()}
            for path in sorted(quarantine_dir.glob("*.parquet")):
                rel = path.relative_to(self.root).as_posix()
                if rel not in named:
                    manifest.quarantine[path.stem] = {"file": rel, "rows": pl.scan_parquet(path).select(pl.len())
                                                      .collect().item()}
            known = {(f["first_day"], f["last_day"]) for f in manifest.failures}
            manifest.failures += [{k: f.get(k) for k in ("first_day", "last_day", "reason", "at")} for f in failures
                                  if (f.get("first_day"), f.get("last_day")) not in known]
            self._commit(manifest, expected)
        (self.root / _LEGACY_FAILURES).unlink(missing_ok=True)


def _version(version: str | None) -> tuple[str, ...]:
    """The version argument of a commit: none for a first one (a bucket then writes only if nothing is there)."""
    return () if version is None else (version,)


def _jsonable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in entry.items()}


def tenant_folder_name(settings: Any) -> str:
    """The store folder's name: the tenant label (no credential), safe as a file name."""
    name = settings.with_overrides(simulator_end=None).tenant if settings.use_simulator else settings.tenant
    return _SAFE.sub("_", name)


def store_root(settings: Any) -> Path:
    """Where the configured data source's store lives on this machine: ``data_dir / "store" / <tenant label>``
    (with ``CARE_DASHBOARD_STORE_URL`` set, the store is on the bucket and this folder keeps only what this
    machine keeps beside it: the audit log, the notifier's state; see :func:`store_location`).

    A tenant's label is ``settings.tenant``: ``CARE_DASHBOARD_TENANT_NAME``, else a short hash of the company key
    and host (never the key itself). The demo's is its seed and size only: one demo world per data folder,
    whose end instant is recorded inside the store when the world is made (``dashboard.source``), so every
    process and every restart finds the same folder and the same world.
    """
    return Path(settings.data_dir) / "store" / tenant_folder_name(settings)


def store_location(settings: Any) -> Path | str:
    """Where the tenant's store is: ``<CARE_DASHBOARD_STORE_URL>/<tenant label>`` on a bucket, else
    :func:`store_root`."""
    url = getattr(settings, "store_url", None)
    if url:
        return f"{url.rstrip('/')}/{tenant_folder_name(settings)}"
    return store_root(settings)


def open_store(settings: Any) -> Store:
    """The configured data source's store (see :func:`store_location`). A local folder an older version named
    after the company key (or the hash label, before a name was configured) is renamed to the label first, so
    the key is in no path."""
    location = store_location(settings)
    if not isinstance(location, Path):
        return Store(location, local_dir=store_root(settings))
    root = location
    if not root.exists():
        for name in getattr(settings, "previous_store_folders", []):
            old = root.parent / _SAFE.sub("_", name)
            if old.is_dir():
                os.replace(old, root)  # one rename: the folder is there under one name or the other
                break
    return Store(root)
