"""Import export files downloaded from the Khoros UI (CSV or a JSON array) into the store.

Headers are matched through the schema's alias table (``"Conversation ID"`` -> ``conversation_id``). Rows that
do not parse go to the store's quarantine with the file, the line and the reason; the good rows are merged
into their days (an imported row replaces a stored row with the same key).

Files from the Khoros UI are written the way Khoros documents exports: every field a string, times in the
company's format and zone. Pass that as a :class:`~dashboard.schema.TimeReading` (``import --time-format
--time-zone``, or the settings ``KHOROS_EXPORT_TIME_FORMAT`` / ``KHOROS_EXPORT_TIMEZONE``); a date that could
be read two ways, or a local time with no zone to place it, stops the import (see :mod:`dashboard.schema`).
Keys Khoros may not export are derived: an author row without ``updated_time`` applies from the beginning of
time, a history action without ``action_id`` gets a key from its content (so importing a file twice changes
nothing).

An import never half-applies: every file is read and parsed first — a file that cannot be read, lacks a
required column or has times that cannot be read without a setting stops the whole import before anything is
written — then all affected days are staged and renamed together (:meth:`Store.replace_days`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from dashboard.errors import DashboardError
from dashboard.schema import SchemaError, TimeReading, export_schema, parse_export_bytes
from dashboard.store import Store

__all__ = ["FileReport", "ImportFailed", "ImportReport", "import_files"]


class ImportFailed(DashboardError, ValueError):
    """A file cannot be imported (unreadable, unknown format, missing required column, times that need a
    setting). Nothing was written."""


@dataclass
class FileReport:
    path: str
    fmt: str
    rows: int
    quarantined: int
    notices: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    export_id: str
    files: list[FileReport]
    rows: int
    """Good rows read from the files."""
    days: int
    """Days written."""
    quarantined: int
    stored_before: int
    stored_after: int

    def __str__(self) -> str:
        return (f"{self.export_id}: {self.rows:,} rows from {len(self.files)} file(s) into {self.days} day(s), "
                f"{self.quarantined:,} quarantined; {self.stored_before:,} -> {self.stored_after:,} rows stored")


def _blank_text_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """An empty CSV field is a missing value, as it is null in a JSON export (the CSV reader keeps "")."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
                              for c in text)


def detect_format(path: Path, body: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "json"
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"[":
        return "json"
    if head == b"{":
        raise ImportFailed(f"{path}: a JSON object; export files are a JSON array of rows (or CSV)")
    return "csv"


def import_files(store: Store, export_id: str, paths: Iterable[str | Path], *, now: datetime | None = None,
                 times: TimeReading | None = None) -> ImportReport:
    """Import ``paths`` (CSV or JSON arrays) as ``export_id``; ``times`` says how their time text is written."""
    schema = export_schema(export_id)
    if export_id == "bot_request":
        raise ImportFailed("bot_request records come from the Bot API, not from export files")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImportFailed("no files given")
    frames: list[pl.DataFrame] = []
    reports: list[FileReport] = []
    quarantines: list[tuple[str, pl.DataFrame]] = []
    for path in paths:
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise ImportFailed(f"{path}: cannot read ({exc.strerror or exc})") from None
        fmt = detect_format(path, body)
        try:
            result = parse_export_bytes(export_id, body, fmt, source=str(path), times=times)
        except SchemaError as exc:
            raise ImportFailed(str(exc)) from None
        frames.append(_blank_text_to_null(result.frame) if fmt == "csv" else result.frame)
        reports.append(FileReport(str(path), fmt, result.frame.height, result.quarantine.height, result.notices))
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        quarantines.append((f"import-{path.stem}-{digest}", result.quarantine))

    combined = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    stored_before = store.scan(export_id).select(pl.len()).collect().item()
    day_col = combined[schema.time_column].dt.date() if combined.height else pl.Series([], dtype=pl.Date)
    combined = combined.with_columns(day_col.alias("__day")) if combined.height else combined
    days: list[date] = sorted(set(day_col.to_list()))
    entries = store.day_entries(export_id)
    fetched = now or datetime.now(UTC)
    names = ", ".join(p.name for p in paths)
    frames_by_day: dict[date, pl.DataFrame] = {}
    meta: dict[date, dict] = {}
    with store.lock("import"):
        for day in days:
            new = combined.filter(pl.col("__day") == day).drop("__day")
            existing = store.read_day(export_id, day)
            merged = pl.concat([existing, new], how="diagonal_relaxed") if existing.height else new
            merged = merged.unique(subset=list(schema.key), keep="last", maintain_order=True)
            frames_by_day[day] = merged
            previous = entries.get(day)
            if previous is not None and str(previous.get("source", "")).startswith("sync"):
                # Keep the sync's entry (its settle state); only the row count changes.
                entry = {**previous, "rows": merged.height}
            else:
                entry = {"rows": merged.height, "fetched_at": fetched, "source": f"import {names}"[:300],
                         "failures": 0}
            meta[day] = entry
        for name, rows in quarantines:
            store.write_quarantine(export_id, name, rows)
        store.replace_days(export_id, frames_by_day, meta)
    stored_after = store.scan(export_id).select(pl.len()).collect().item()
    return ImportReport(export_id, reports, int(combined.height), len(days), sum(r.quarantined for r in reports),
                        int(stored_before), int(stored_after))
