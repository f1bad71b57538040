"""Columns of every export we use, in one place, and the parser that types them.

Khoros does not publish the column lists of its Analytics exports (gap 1 in
``shared/khoros-care-api.md``), so this module is the single definition: the
simulator writes these columns, the client asks for them (``reportMetrics``),
the store keeps them and the metrics read them. When the real lists are known,
this is the one file to correct.

Column ids are lower_snake_case like Khoros' ``reportMetrics`` ids. Files
exported from the Khoros UI carry display-name headers ("Conversation ID"), so
every column also has aliases; headers are matched case- and
punctuation-insensitively.

Parsing never loses good rows: a row whose required value is missing or does
not parse goes to a quarantine frame with the row number and a reason naming
the column and the value; every other row is kept. A missing required
*column* is a :class:`SchemaError` naming it, because then no row can be right.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

__all__ = [
    "EXPORTS",
    "QUARANTINE_SCHEMA",
    "TIME",
    "Column",
    "ExportSchema",
    "ParseResult",
    "SchemaError",
    "empty_frame",
    "export_schema",
    "parse_csv_bytes",
    "parse_export_bytes",
    "parse_json_bytes",
    "parse_rows",
]

TIME = pl.Datetime("ms", "UTC")
"""Every instant inside the product: UTC, millisecond precision."""

Kind = Literal["str", "int", "float", "bool", "time", "list"]

_DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "time": TIME,
    "list": pl.List(pl.String()),
}


class SchemaError(ValueError):
    """An export as a whole does not fit its schema (e.g. a required column is missing)."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""

    @property
    def dtype(self) -> pl.DataType:
        return _DTYPES[self.kind]


@dataclass(frozen=True)
class ExportSchema:
    export_id: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    """Columns that identify a row; the store de-duplicates on them."""
    time_column: str
    """The instant that places a row in a day partition."""
    extra_attributes: bool = False
    """Keep unknown columns as string attributes (the author export's CRM attributes)."""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, kind: Kind, required: bool = False, *aliases: str, doc: str = "") -> Column:
    return Column(name, kind, required, aliases, doc)


EXPORTS: dict[str, ExportSchema] = {
    s.export_id: s
    for s in [
        ExportSchema(
            "conversation",
            "conversation",
            (
                _c("conversation_id", "str", True, "Conversation ID", "Conversation UUID"),
                _c("conversation_display_id", "int", False, "Conversation Display ID", "Conversation Number"),
                _c("author_id", "str", True, "Author ID", "Author UUID"),
                _c("network", "str", True, "Network", "Channel"),
                _c("priority", "int", False, "Priority", doc="priority now (0-5); history is in actions"),
                _c("work_queue_id", "int", False, "Work Queue ID", "Queue ID"),
                _c("team_id", "int", False, "Team ID"),
                _c("status", "str", True, "Status", "Conversation Status", doc="OPEN | PENDING | CLOSED"),
                _c("created_time", "time", True, "Created Time", "Created Date", "Create Date"),
                _c("closed_time", "time", False, "Closed Time", "Closed Date", "Close Date",
                   doc="final close; null while open"),
                _c("assigned_agent_id", "str", False, "Assigned Agent ID", "Agent ID"),
                _c("tags", "list", False, "Tags", "Conversation Tags"),
                _c("disposition", "str", False, "Disposition"),
            ),
            key=("conversation_id",),
            time_column="created_time",
        ),
        ExportSchema(
            "incoming_post",
            "inbound message",
            (
                _c("post_id", "str", True, "Post ID", "Message ID"),
                _c("conversation_id", "str", True, "Conversation ID"),
                _c("author_id", "str", True, "Author ID"),
                _c("network", "str", True, "Network", "Channel"),
                _c("received_time", "time", True, "Received Time", "Received Date"),
                _c("priority", "int", False, "Priority", doc="conversation priority when received"),
                _c("work_queue_id", "int", False, "Work Queue ID"),
                _c("is_public", "bool", False, "Is Public", "Public"),
            ),
            key=("post_id",),
            time_column="received_time",
        ),
        ExportSchema(
            "response",
            "outbound message",
            (
                _c("response_id", "str", True, "Response ID"),
                _c("conversation_id", "str", True, "Conversation ID"),
                _c("responder_type", "str", True, "Responder Type", doc="AGENT | BOT"),
                _c("agent_id", "str", False, "Agent ID"),
                _c("bot_app_id", "str", False, "Bot App ID", "App ID"),
                _c("published_time", "time", True, "Published Time", "Publish Date", "Response Date"),
                _c("in_reply_to_post_id", "str", False, "In Reply To Post ID", "In Reply To"),
                _c("is_public", "bool", True, "Is Public", "Public",
                   doc="false for private notes; only public responses stop response clocks"),
            ),
            key=("response_id",),
            time_column="published_time",
        ),
        ExportSchema(
            "conversation_history_action",
            "action",
            (
                _c("action_id", "str", True, "Action ID"),
                _c("conversation_id", "str", True, "Conversation ID"),
                _c("action", "str", True, "Action", "Action Type",
                   doc="ASSIGNED | QUEUE_CHANGED | STATUS_CHANGED | PRIORITY_CHANGED | HANDOFF_TO_AGENT | "
                       "CONTROL_TO_BOT | CLOSED | REOPENED"),
                _c("action_time", "time", True, "Action Time", "Action Date"),
                _c("agent_id", "str", False, "Agent ID"),
                _c("from_value", "str", False, "From Value", "From"),
                _c("to_value", "str", False, "To Value", "To"),
            ),
            key=("action_id",),
            time_column="action_time",
        ),
        ExportSchema(
            "author",
            "author version",
            (
                _c("author_id", "str", True, "Author ID", "Author UUID"),
                _c("network", "str", True, "Network"),
                _c("handle", "str", False, "Handle", "Screen Name"),
                _c("display_name", "str", False, "Display Name", "Name"),
                _c("tier", "str", False, "Tier", "Customer Tier"),
                _c("updated_time", "time", True, "Updated Time", "Last Updated",
                   doc="when these attribute values became effective; one row per author version"),
            ),
            key=("author_id", "updated_time"),
            time_column="updated_time",
            extra_attributes=True,
        ),
        ExportSchema(
            "raw_agent_states",
            "agent state interval",
            (
                _c("agent_id", "str", True, "Agent ID"),
                _c("agent_name", "str", False, "Agent Name"),
                _c("team_id", "int", False, "Team ID"),
                _c("state", "str", True, "State", "Agent State"),
                _c("start_time", "time", True, "Start Time", "State Start"),
                _c("end_time", "time", False, "End Time", "State End", doc="null while the state lasts"),
            ),
            key=("agent_id", "start_time"),
            time_column="start_time",
        ),
        ExportSchema(
            "team_performance",
            "agent x window",
            (
                _c("agent_id", "str", True, "Agent ID"),
                _c("agent_name", "str", False, "Agent Name"),
                _c("team_id", "int", False, "Team ID"),
                _c("window_start", "time", True, "Window Start", "Start Time"),
                _c("responses", "int", False, "Responses"),
                _c("conversations_closed", "int", False, "Conversations Closed"),
                _c("logged_in_seconds", "int", False, "Logged In Seconds"),
            ),
            key=("agent_id", "window_start"),
            time_column="window_start",
        ),
        # Not an Analytics export: Bot API v3 request records, kept in the store the same way.
        ExportSchema(
            "bot_request",
            "automation request record",
            (
                _c("request_id", "str", True, "id"),
                _c("app_id", "str", True, "appId"),
                _c("origin", "str", True, doc="KHOROS | BOT"),
                _c("state", "str", True, doc="SUCCESS | PENDING | ERROR"),
                _c("http_code", "int", False, "code"),
                _c("message", "str", False),
                _c("event_type", "str", False),
                _c("network_key", "str", False, "networkKey"),
                _c("external_id", "str", False, "externalId"),
                _c("conversation_id", "str", False),
                _c("payload", "str", False),
                _c("created_time", "time", True, "createdEpochMillis"),
                _c("completed_time", "time", False, "completedEpochMillis"),
                _c("last_updated_time", "time", False, "lastUpdatedEpochMillis"),
            ),
            key=("request_id",),
            time_column="created_time",
        ),
    ]
}


def export_schema(export_id: str) -> ExportSchema:
    try:
        return EXPORTS[export_id]
    except KeyError:
        raise SchemaError(f"unknown export {export_id!r}; known: {', '.join(sorted(EXPORTS))}") from None


QUARANTINE_SCHEMA = pl.Schema(
    {"export": pl.String(), "source": pl.String(), "line": pl.Int64(), "reason": pl.String(), "raw": pl.String()}
)


@dataclass
class ParseResult:
    frame: pl.DataFrame
    """Typed rows, columns in schema order (then extra attributes, as strings)."""
    quarantine: pl.DataFrame
    """Rows that failed, with ``line`` (1-based data row; CSV: file line) and ``reason``."""
    notices: list[str] = field(default_factory=list)
    """Non-fatal observations: unknown columns ignored, aliases used."""


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _header_map(schema: ExportSchema, headers: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Map file headers to column names; return (mapping, unknown headers)."""
    lookup: dict[str, str] = {}
    for c in schema.columns:
        for alias in (c.name, *c.aliases):
            lookup.setdefault(_norm(alias), c.name)
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for h in headers:
        target = lookup.get(_norm(h))
        if target is not None and target not in mapping.values():
            mapping[h] = target
        else:
            unknown.append(h)
    return mapping, unknown


def _as_string(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return expr
    if isinstance(dtype, pl.List):
        return expr.cast(pl.List(pl.String)).list.join(";")
    return expr.cast(pl.String)


def _convert(raw: pl.Expr, kind: Kind, dtype: pl.DataType) -> pl.Expr:
    """Expression turning a raw column (any dtype) into ``kind``; unparsable values become null."""
    if kind == "time":
        if dtype.is_numeric():
            return raw.cast(pl.Int64, strict=False).cast(TIME)
        s = raw.cast(pl.String).str.strip_chars()
        as_ms = s.cast(pl.Int64, strict=False).cast(TIME)
        as_iso = s.str.to_datetime(time_unit="ms", time_zone="UTC", strict=False)
        return pl.coalesce(as_ms, as_iso)
    if kind == "int":
        if dtype.is_integer():
            return raw.cast(pl.Int64)
        s = raw.cast(pl.String).str.strip_chars()
        # "3.0" from spreadsheets is an int; "3.5" is not.
        f = s.cast(pl.Float64, strict=False)
        return pl.when(f == f.floor()).then(f.cast(pl.Int64, strict=False))
    if kind == "float":
        return raw.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False) if dtype == pl.String else raw.cast(
            pl.Float64, strict=False
        )
    if kind == "bool":
        if dtype == pl.Boolean:
            return raw
        s = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        return pl.when(s.is_in(["true", "1", "yes", "y", "t"])).then(True).when(
            s.is_in(["false", "0", "no", "n", "f"])
        ).then(False)
    if kind == "list":
        # A blank or missing list value is an empty list (a conversation with no tags), in JSON and CSV alike.
        empty = pl.lit([], dtype=pl.List(pl.String))
        if isinstance(dtype, pl.List):
            return raw.cast(pl.List(pl.String)).fill_null(empty)
        s = raw.cast(pl.String).str.strip_chars()
        return pl.when(s.is_null() | (s == "")).then(empty).otherwise(
            s.str.split(";").list.eval(pl.element().str.strip_chars())
        )
    # str: an empty field is a missing value, whichever CSV path read it
    if isinstance(dtype, pl.List):
        return raw.cast(pl.List(pl.String)).list.join(";")
    text = raw.cast(pl.String)
    return pl.when(text.str.strip_chars() != "").then(text)


def _is_blank(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return raw.is_null() | (raw.str.strip_chars() == "")
    return raw.is_null()


def parse_frame(
    export_id: str, raw: pl.DataFrame, *, source: str = "", line_offset: int = 1
) -> ParseResult:
    """Type a frame of raw values (any dtypes, file headers) against an export's schema.

    ``line_offset`` is the line number of the first row in the source (2 for a CSV
    with a header line, 1 for the first element of a JSON array).
    """
    schema = export_schema(export_id)
    mapping, unknown = _header_map(schema, raw.columns)
    notices: list[str] = []
    missing = [c.name for c in schema.columns if c.required and c.name not in mapping.values()]
    if missing:
        where = f" in {source}" if source else ""
        raise SchemaError(
            f"{export_id} export{where}: required column(s) missing: {', '.join(missing)} "
            f"(found: {', '.join(raw.columns) or 'no columns'})"
        )
    renamed = {h: t for h, t in mapping.items() if h != t}
    if renamed:
        notices.append("columns matched by alias: " + ", ".join(f"{h!r} -> {t}" for h, t in renamed.items()))
    extras = [h for h in unknown if schema.extra_attributes]
    ignored = [h for h in unknown if not schema.extra_attributes]
    if ignored:
        notices.append(f"unknown columns ignored: {', '.join(ignored)}")

    reverse = {t: h for h, t in mapping.items()}
    typed: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for c in schema.columns:
        if c.name not in reverse:
            typed.append(pl.lit(None, dtype=c.dtype).alias(c.name))
            continue
        header = reverse[c.name]
        dtype = raw.schema[header]
        col = pl.col(header)
        value = _convert(col, c.kind, dtype)
        typed.append(value.alias(c.name))
        blank = _is_blank(col, dtype)
        bad_value = (~blank) & value.is_null()
        shown = _as_string(col, dtype).str.slice(0, 60)
        problems.append(
            pl.when(bad_value)
            .then(pl.format("{}: cannot read '{}' as {}", pl.lit(c.name), shown, pl.lit(c.kind)))
            .otherwise(None)
        )
        if c.required:
            problems.append(pl.when(blank).then(pl.lit(f"{c.name}: required value is empty")).otherwise(None))
    for h in extras:
        typed.append(_as_string(pl.col(h), raw.schema[h]).alias(_attribute_name(h)))

    n = raw.height
    checked = raw.with_row_index("__row").with_columns(
        (pl.concat_str(problems, separator="; ", ignore_nulls=True) if problems else pl.lit(None, pl.String))
        .alias("__reason")
    )
    checked = checked.with_columns(pl.when(pl.col("__reason") == "").then(None).otherwise(pl.col("__reason")).alias(
        "__reason"))
    good = checked.filter(pl.col("__reason").is_null()).select(typed)
    bad = checked.filter(pl.col("__reason").is_not_null())
    quarantine = _quarantine_frame(export_id, source, bad, line_offset) if bad.height else empty_quarantine()
    if n and bad.height:
        notices.append(f"{bad.height} of {n} rows quarantined")
    return ParseResult(good, quarantine, notices)


def _attribute_name(header: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")
    return name or "attribute"


def _quarantine_frame(export_id: str, source: str, bad: pl.DataFrame, line_offset: int) -> pl.DataFrame:
    data_cols = [c for c in bad.columns if not c.startswith("__")]
    raws = [json.dumps(r, default=str)[:2000] for r in bad.select(data_cols).to_dicts()]
    return pl.DataFrame(
        {
            "export": [export_id] * bad.height,
            "source": [source] * bad.height,
            "line": (bad["__row"].cast(pl.Int64) + line_offset).to_list(),
            "reason": bad["__reason"].to_list(),
            "raw": raws,
        },
        schema=QUARANTINE_SCHEMA,
    )


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def empty_frame(export_id: str) -> pl.DataFrame:
    return pl.DataFrame(schema=export_schema(export_id).polars_schema)


def parse_rows(export_id: str, rows: list[dict[str, Any]], *, source: str = "") -> ParseResult:
    """Type a list of row objects (a JSON export already decoded)."""
    if not rows:
        return ParseResult(empty_frame(export_id), empty_quarantine())
    raw = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    return parse_frame(export_id, raw, source=source, line_offset=1)


def parse_json_bytes(export_id: str, body: bytes, *, source: str = "") -> ParseResult:
    """Parse a JSON export download: a top-level array of row objects."""
    stripped = body.strip()
    if not stripped or stripped == b"[]":
        return ParseResult(empty_frame(export_id), empty_quarantine())
    if not stripped.startswith(b"["):
        raise SchemaError(f"{export_id} export{' in ' + source if source else ''}: expected a JSON array of rows")
    try:
        raw = pl.read_json(io.BytesIO(stripped), infer_schema_length=None)
    except Exception as exc:  # polars raises several types for malformed JSON
        raise SchemaError(
            f"{export_id} export{' in ' + source if source else ''}: not valid JSON ({_short(exc)})"
        ) from None
    return parse_frame(export_id, raw, source=source, line_offset=1)


def parse_csv_bytes(export_id: str, body: bytes, *, source: str = "") -> ParseResult:
    """Parse a CSV export (header line first). Every value is read as text, then typed."""
    text_start = body.lstrip(b"\xef\xbb\xbf")
    if not text_start.strip():
        return ParseResult(empty_frame(export_id), empty_quarantine())
    try:
        raw = pl.read_csv(
            io.BytesIO(text_start),
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.ComputeError:
        # Ragged or badly quoted files: fall back to the csv module, which lets us
        # quarantine just the malformed lines instead of refusing the file.
        return _parse_csv_tolerant(export_id, text_start, source)
    return parse_frame(export_id, raw, source=source, line_offset=2)


def _parse_csv_tolerant(export_id: str, body: bytes, source: str) -> ParseResult:
    text = body.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return ParseResult(empty_frame(export_id), empty_quarantine())
    good_rows: list[list[str]] = []
    good_lines: list[int] = []
    bad: list[dict[str, Any]] = []
    for values in reader:
        line = reader.line_num
        if len(values) != len(header):
            bad.append({"export": export_id, "source": source, "line": line,
                        "reason": f"expected {len(header)} fields, found {len(values)}",
                        "raw": ",".join(values)[:2000]})
            continue
        good_rows.append(values)
        good_lines.append(line)
    raw = pl.DataFrame(good_rows, schema=header, orient="row") if good_rows else pl.DataFrame(
        schema={h: pl.String for h in header})
    result = parse_frame(export_id, raw, source=source, line_offset=0)
    if result.quarantine.height:
        # line_offset 0 made "line" the row index; map it back to the real file line.
        idx = result.quarantine["line"].to_list()
        result.quarantine = result.quarantine.with_columns(
            pl.Series("line", [good_lines[i] for i in idx], dtype=pl.Int64))
    if bad:
        result.quarantine = pl.concat([result.quarantine, pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)]).sort("line")
        result.notices.append(f"{len(bad)} malformed CSV line(s) quarantined")
    return result


def parse_export_bytes(export_id: str, body: bytes, fmt: str, *, source: str = "") -> ParseResult:
    if fmt.lower() == "json":
        return parse_json_bytes(export_id, body, source=source)
    if fmt.lower() == "csv":
        return parse_csv_bytes(export_id, body, source=source)
    raise SchemaError(f"unknown report format {fmt!r} (json or csv)")


def _short(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return msg[:200]
