"""Import export files downloaded from the Khoros UI (CSV or a JSON array) into the store.

Headers are matched through the schema's alias table (``"Conversation ID"`` -> ``conversation_id``). Rows that
do not parse go to the store's quarantine with the file, the line and the reason.

**Merged by key, never erasing.** An imported row is merged into the stored row with the same key: the file's
values win for the columns the file has (an empty field there is an empty value), and a column the file does
not have keeps the stored value — a file with only the required columns never erases a stored priority, queue,
agent or close time. A key that is new is added. The report says what changed: rows added, rows updated (and
which columns, how many values), rows the file left as they were, and the columns kept as stored. A day a sync
fetched keeps its sync entry (and so its settle state): the next sync replaces it with the API's rows as before.

Files from the Khoros UI are written the way Khoros documents exports: every field a string, times in the
company's format and zone. Pass that as a :class:`~dashboard.schema.TimeReading` (``import --time-format
--time-zone``, or the settings ``KHOROS_EXPORT_TIME_FORMAT`` / ``KHOROS_EXPORT_TIMEZONE``); a date that could
be read two ways, or a local time with no zone to place it, stops the import (see :mod:`dashboard.schema`).
Keys Khoros may not export are derived: an author row without ``updated_time`` applies from the beginning of
time, a history action without ``action_id`` gets a key from its content (so importing a file twice changes
nothing).

**All or nothing.** Every file is read and parsed first — a file that cannot be read, lacks a required column,
is not text we can read or has times that cannot be read without a setting stops the whole import before
anything is written — then, holding the store's writer lease (a sync or another import waits), every changed
day and the files' quarantined rows are committed together in one manifest write (:meth:`Store.commit`): a kill
at any point leaves the store as before or as after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from dashboard.errors import DashboardError
from dashboard.schema import ParseResult, SchemaError, TimeReading, export_schema, parse_export_bytes
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
    added: int = 0
    """Keys the store did not hold."""
    updated: int = 0
    """Stored rows whose values the files changed."""
    unchanged: int = 0
    """Stored rows the files held with the same values."""
    changed_values: dict[str, int] = field(default_factory=dict)
    """Column -> stored values the files changed."""
    kept_columns: list[str] = field(default_factory=list)
    """Columns the files do not have: every stored value kept."""

    def __str__(self) -> str:
        text = (f"{self.export_id}: {self.rows:,} rows from {len(self.files)} file(s) into {self.days} day(s), "
                f"{self.quarantined:,} quarantined: {self.added:,} added, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged; {self.stored_before:,} -> {self.stored_after:,} rows stored")
        if self.changed_values:
            text += "; values changed: " + ", ".join(f"{c} {n:,}" for c, n in self.changed_values.items())
        if self.kept_columns:
            text += "; not in the file(s), kept as stored: " + ", ".join(self.kept_columns)
        return text


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
                 times: TimeReading | None = None, on_wait: Callable[[str], None] | None = None,
                 wait_s: float | None = None) -> ImportReport:
    """Import ``paths`` (CSV or JSON arrays) as ``export_id``; ``times`` says how their time text is written.
    When another writer holds the store, ``on_wait(who)`` is told once and the import waits for it (at most
    ``wait_s`` seconds, then :class:`~dashboard.errors.StoreBusy`; None: as long as it takes)."""
    export_schema(export_id)
    if export_id == "bot_request":
        raise ImportFailed("bot_request records come from the Bot API, not from export files")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImportFailed("no files given")
    parsed: list[tuple[pl.DataFrame, set[str]]] = []
    reports: list[FileReport] = []
    quarantines: dict[str, pl.DataFrame] = {}
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
        frame = _blank_text_to_null(result.frame) if fmt == "csv" else result.frame
        parsed.append((frame, _columns_given(export_id, result, frame)))
        reports.append(FileReport(str(path), fmt, frame.height, result.quarantine.height, result.notices))
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        quarantines[f"import-{path.stem}-{digest}"] = result.quarantine

    names = ", ".join(p.name for p in paths)
    with store.writer(f"import {names}"[:200], on_wait=on_wait, wait_s=wait_s):
        store.check([export_id])  # a damaged day is set aside, not merged into
        stored_before = store.scan(export_id).select(pl.len()).collect().item()
        merge = _merge(store, export_id, parsed)
        entries = store.day_entries(export_id)
        fetched = now or datetime.now(UTC)
        meta: dict[date, dict] = {}
        for day in merge.frames:
            previous = entries.get(day)
            if previous is not None and str(previous.get("source", "")).startswith("sync"):
                # Keep the sync's entry (its settle state); the commit counts the rows again.
                meta[day] = {k: v for k, v in previous.items() if k not in ("file", "bytes", "sha256", "rows")}
            else:
                meta[day] = {"fetched_at": fetched, "source": f"import {names}"[:300], "failures": 0}
        store.commit(export_id, days=merge.frames, meta=meta, quarantine=quarantines, purpose=f"import {names}"[:200])
        stored_after = store.scan(export_id).select(pl.len()).collect().item()
    rows = sum(frame.height for frame, _ in parsed)
    given = set().union(*(cols for _, cols in parsed))
    kept = [c for c in merge.columns if c not in given]
    return ImportReport(export_id, reports, rows, len(merge.frames), sum(r.quarantined for r in reports),
                        int(stored_before), int(stored_after), merge.added, merge.updated, merge.unchanged,
                        merge.changed_values, kept if stored_before else [])


def _columns_given(export_id: str, result: ParseResult, frame: pl.DataFrame) -> set[str]:
    """Our columns a file has a value for (its matched headers, its attributes, and keys we derive)."""
    schema = export_schema(export_id)
    given = set(result.matched.values()) | {c for c in frame.columns if c not in schema.names}
    return given | set(schema.key) | {schema.time_column}


@dataclass
class _Merged:
    frames: dict[date, pl.DataFrame]
    columns: list[str]
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_values: dict[str, int] = field(default_factory=dict)


def _merge(store: Store, export_id: str, files: list[tuple[pl.DataFrame, set[str]]]) -> _Merged:
    """The affected days after merging each file in turn into the stored rows by key (see the module docstring)."""
    schema = export_schema(export_id)
    keys = list(schema.key)
    files = [(frame.unique(subset=keys, keep="last", maintain_order=True), given) for frame, given in files]
    wanted = pl.concat([frame.select(keys) for frame, _ in files]).unique()
    # Every stored row a file names, wherever it is stored (its time may have moved it to another day).
    hits = store.scan_with_day(export_id).join(wanted.lazy(), on=keys, how="semi").select("__day").unique().collect()
    days = set(hits["__day"].to_list())
    for frame, _ in files:
        days |= set(frame[schema.time_column].dt.date().to_list())
    stored = [store.read_day(export_id, day).with_columns(pl.lit(day).alias("__day")) for day in sorted(days)]
    state = pl.concat(stored, how="diagonal_relaxed") if stored else pl.DataFrame()
    if state.is_empty():
        state = pl.DataFrame(schema={**schema.polars_schema, "__day": pl.Date()})
    out = _Merged({}, [c for c in schema.names if c not in keys])
    for frame, given in files:
        new = frame.with_columns(pl.col(schema.time_column).dt.date().alias("__day"))
        kept = [c for c in state.columns if c != "__day" and c not in given and c not in keys]
        if kept:  # what the file does not say comes from the stored row (null for a key the store lacks)
            new = new.drop([c for c in kept if c in new.columns]).join(state.select(keys + kept), on=keys, how="left",
                                                                       nulls_equal=True)
        old = state.join(new.select(keys), on=keys, how="semi", nulls_equal=True)
        out.added += new.height - old.height
        if old.height:
            columns = [c for c in new.columns if c in old.columns and c not in keys]
            paired = new.join(old, on=keys, how="inner", suffix="__old", nulls_equal=True)
            changed = paired.select([pl.col(c).ne_missing(pl.col(f"{c}__old")).alias(c) for c in columns])
            any_change = changed.select(pl.any_horizontal(pl.all())).to_series() if columns else pl.Series([False])
            out.updated += int(any_change.sum())
            out.unchanged += int((~any_change).sum())
            for c in columns:
                n = int(changed[c].sum())
                if n and c != "__day":
                    out.changed_values[c] = out.changed_values.get(c, 0) + n
        state = pl.concat([state.join(new.select(keys), on=keys, how="anti", nulls_equal=True), new],
                          how="diagonal_relaxed")
    for day in sorted(days):
        out.frames[day] = state.filter(pl.col("__day") == day).drop("__day")
    out.columns = [c for c in state.columns if c != "__day" and c not in keys]
    return out
