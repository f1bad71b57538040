"""The ``Store``: hive-partitioned Parquet per export and day, a manifest, quarantine and freshness.

Layout under ``root`` (= ``data_dir / "store" / tenant``)::

    export=<id>/day=YYYY-MM-DD/part.parquet     the rows of one export whose time column falls on that UTC day
    export=<id>/_manifest.json                  per day: rows, fetched_at, source, job ids, failures
    _quarantine/export=<id>/<name>.parquet      rows that did not parse, with source, line and reason
    _failures.json                              windows a sync could not fetch (forgotten once fetched)

Every file is written to a temp name in the same folder and renamed into place, so a crash or ``kill -9``
leaves either the old file or the new one, never half of one. A day's file is written before its manifest
entry: a day whose entry is missing is simply fetched again (and its file replaced whole), so nothing is
duplicated and nothing is lost. Manifest updates take an ``fcntl`` lock so two processes (the CLI and the app)
can write the same store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.errors import StoreError
from dashboard.schema import EXPORTS, QUARANTINE_SCHEMA, export_schema

__all__ = ["FAILURES_SCHEMA", "FRESHNESS_SCHEMA", "MANIFEST_SCHEMA", "Store", "open_store", "store_root"]

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
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _atomic_write_parquet(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.write_parquet(tmp, statistics=True)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


class Store:
    """A tenant's synced and imported exports."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # Customer data: the owner-only folder guards every file inside it.
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._sweep_temp_files()

    # ---- paths -------------------------------------------------------------------------------------------

    def export_dir(self, export_id: str) -> Path:
        export_schema(export_id)
        return self.root / f"export={export_id}"

    def day_path(self, export_id: str, day: date) -> Path:
        return self.export_dir(export_id) / f"day={day.isoformat()}" / "part.parquet"

    def _manifest_path(self, export_id: str) -> Path:
        return self.export_dir(export_id) / "_manifest.json"

    @contextlib.contextmanager
    def lock(self, name: str = "manifest") -> Iterator[None]:
        """An exclusive lock across threads and processes (``fcntl``) on ``root/.<name>.lock``."""
        fd = os.open(self.root / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def try_lock(self, name: str) -> int | None:
        """A non-blocking exclusive lock; returns the fd to pass to :meth:`unlock`, or None if it is held."""
        fd = os.open(self.root / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    @staticmethod
    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _sweep_temp_files(self, older_than_s: float = 3600.0) -> None:
        """Temp files of writers that were killed (an hour old, so a live writer is never disturbed)."""
        cutoff = time.time() - older_than_s
        for tmp in self.root.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()

    # ---- manifest ----------------------------------------------------------------------------------------

    def _read_manifest(self, export_id: str) -> dict[str, dict[str, Any]]:
        path = self._manifest_path(export_id)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise StoreError(f"store manifest {path} is not valid JSON ({exc}); delete it to re-sync") from None
        days = data.get("days") if isinstance(data, dict) else None
        return days if isinstance(days, dict) else {}

    def day_entries(self, export_id: str) -> dict[date, dict[str, Any]]:
        """Manifest entries of one export by day (``fetched_at`` as an aware datetime)."""
        out: dict[date, dict[str, Any]] = {}
        for day, entry in self._read_manifest(export_id).items():
            e = dict(entry)
            e["fetched_at"] = datetime.fromisoformat(e["fetched_at"])
            out[date.fromisoformat(day)] = e
        return out

    def record_days(self, export_id: str, entries: dict[date, dict[str, Any]]) -> None:
        """Add or replace manifest entries (``rows``, ``fetched_at`` datetime, ``source``, job ids, failures)."""
        with self.lock():
            days = self._read_manifest(export_id)
            for day, entry in entries.items():
                e = dict(entry)
                e["fetched_at"] = _iso(e["fetched_at"])
                days[day.isoformat()] = e
            body = {"export": export_id, "days": dict(sorted(days.items()))}
            _atomic_write_bytes(self._manifest_path(export_id), json.dumps(body, indent=1).encode())

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

    # ---- data ----------------------------------------------------------------------------------------------

    def write_day(self, export_id: str, day: date, frame: pl.DataFrame, meta: dict[str, Any] | None = None) -> None:
        """Replace one day of one export atomically; with ``meta`` also record its manifest entry.

        ``frame`` must have the schema's columns (extra attribute columns allowed for the author export);
        it is de-duplicated on the schema's key (last row wins) and sorted by time, then key.
        """
        typed = self._typed(export_id, day, frame)
        path = self.day_path(export_id, day)
        if typed.height:
            _atomic_write_parquet(path, typed)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if meta is not None:
            entry = {"rows": typed.height, "fetched_at": datetime.now(UTC), "source": "", **meta}
            entry["rows"] = typed.height
            self.record_days(export_id, {day: entry})

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

    def replace_days(self, export_id: str, frames: dict[date, pl.DataFrame], meta: dict[date, dict[str, Any]]
                     ) -> None:
        """Replace several days at once: every file is staged first, then all are renamed, then the manifest.

        Everything that can fail (typing, Parquet encoding, a full disk) happens while staging; only renames
        follow, so an error leaves the store exactly as it was.
        """
        staged: list[tuple[Path, Path]] = []
        emptied: list[Path] = []
        try:
            for day, frame in frames.items():
                typed = self._typed(export_id, day, frame)
                path = self.day_path(export_id, day)
                if not typed.height:
                    emptied.append(path)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                typed.write_parquet(tmp, statistics=True)
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                staged.append((tmp, path))
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, path in staged:
            os.replace(tmp, path)
        for path in emptied:
            path.unlink(missing_ok=True)
        self.record_days(export_id, meta)

    def read_day(self, export_id: str, day: date) -> pl.DataFrame:
        path = self.day_path(export_id, day)
        if not path.exists():
            return pl.DataFrame(schema=export_schema(export_id).polars_schema)
        return pl.read_parquet(path)

    def day_files(self, export_id: str) -> list[Path]:
        return sorted(self.export_dir(export_id).glob("day=*/part.parquet"))

    def scan(self, export_id: str) -> pl.LazyFrame:
        """All stored rows of an export, typed per the schema, de-duplicated on its key (latest day wins)."""
        schema = export_schema(export_id)
        files = self.day_files(export_id)
        if not files:
            return pl.LazyFrame(schema=schema.polars_schema)
        if schema.extra_attributes:
            # Attribute columns may differ between days: align them by name.
            frame = pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")
        else:
            frame = pl.scan_parquet(files, hive_partitioning=False, schema=dict(schema.polars_schema))
        if len(files) > 1:
            frame = frame.unique(subset=list(schema.key), keep="last", maintain_order=True)
        return frame

    # ---- quarantine, failures, freshness ------------------------------------------------------------------

    def write_quarantine(self, export_id: str, name: str, rows: pl.DataFrame) -> None:
        """Replace the quarantine file ``name`` of an export (empty ``rows`` deletes it)."""
        path = self.root / "_quarantine" / f"export={export_id}" / f"{_SAFE.sub('_', name)[:120]}.parquet"
        if rows.height:
            _atomic_write_parquet(path, rows.select([pl.col(c).cast(t) for c, t in QUARANTINE_SCHEMA.items()]))
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def quarantine(self) -> pl.DataFrame:
        """Every quarantined row (export, source, line, reason, raw)."""
        files = sorted((self.root / "_quarantine").glob("export=*/*.parquet"))
        if not files:
            return pl.DataFrame(schema=QUARANTINE_SCHEMA)
        return pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")

    def _failures_path(self) -> Path:
        return self.root / "_failures.json"

    def failures(self) -> list[dict[str, Any]]:
        """Windows a sync could not fetch and no later sync has fetched, oldest first: dicts with export,
        first_day, last_day (ISO dates), reason and at (ISO instant). ``pl.DataFrame(store.failures())`` or
        :meth:`failures_frame` for a typed frame."""
        try:
            data = json.loads(self._failures_path().read_bytes())
        except (FileNotFoundError, ValueError):
            return []
        keys = ("export", "first_day", "last_day", "reason", "at")
        return [{k: f.get(k) for k in keys} for f in data if isinstance(f, dict)] if isinstance(data, list) else []

    def failures_frame(self) -> pl.DataFrame:
        rows = [{**f, "first_day": date.fromisoformat(f["first_day"]), "last_day": date.fromisoformat(f["last_day"]),
                 "at": datetime.fromisoformat(f["at"])} for f in self.failures()]
        return pl.DataFrame(rows, schema=FAILURES_SCHEMA)

    def update_failures(self, export_id: str, *, failed: tuple[date, date, str] | None = None,
                        fetched: tuple[date, date] | None = None) -> None:
        """Record a failed window, and/or forget the export's failures that a fetched window overlaps."""
        if failed is None and not self._failures_path().exists():
            return
        with self.lock("failures"):
            try:
                kept = json.loads(self._failures_path().read_bytes())
            except (FileNotFoundError, ValueError):
                kept = []
            if fetched is not None:
                a, b = fetched[0].isoformat(), fetched[1].isoformat()
                kept = [f for f in kept
                        if not (f.get("export") == export_id and f["first_day"] <= b and a <= f["last_day"])]
            if failed is not None:
                kept = [f for f in kept if not (f.get("export") == export_id and f["first_day"] == failed[0].isoformat()
                                                and f["last_day"] == failed[1].isoformat())]
                kept.append({"export": export_id, "first_day": failed[0].isoformat(),
                             "last_day": failed[1].isoformat(), "reason": failed[2][:500],
                             "at": _iso(datetime.now(UTC))})
            _atomic_write_bytes(self._failures_path(), json.dumps(kept, indent=1).encode())

    def freshness(self) -> pl.DataFrame:
        """Per export: last successful sync, rows and days stored, windows whose last sync failed."""
        failed_by_export: dict[str, int] = {}
        for f in self.failures():
            failed_by_export[f["export"]] = failed_by_export.get(f["export"], 0) + 1
        rows = []
        for export_id in EXPORTS:
            entries = self.day_entries(export_id)
            if not entries and not failed_by_export.get(export_id):
                continue
            synced = [e["fetched_at"] for e in entries.values() if str(e.get("source", "")).startswith("sync")]
            rows.append({"export": export_id, "last_success": max(synced) if synced else None,
                         "rows": sum(int(e.get("rows", 0)) for e in entries.values()), "days": len(entries),
                         "failed_windows": int(failed_by_export.get(export_id, 0))})
        return pl.DataFrame(rows, schema=FRESHNESS_SCHEMA)


def store_root(settings: Any) -> Path:
    """Where the configured data source's store lives: ``data_dir / "store" / <name>``.

    A tenant's name is ``settings.tenant`` (company key and host). The demo's is its seed and size only: one
    demo world per data folder, whose end instant is recorded inside the store when the world is made
    (``dashboard.source``), so every process and every restart finds the same folder and the same world.
    """
    name = settings.with_overrides(simulator_end=None).tenant if settings.use_simulator else settings.tenant
    return Path(settings.data_dir) / "store" / _SAFE.sub("_", name)


def open_store(settings: Any) -> Store:
    """The configured data source's store (see :func:`store_root`)."""
    return Store(store_root(settings))
