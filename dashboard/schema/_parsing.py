"""Parsing: bytes or rows of an export -> typed rows, quarantined rows with line and reason, and notices."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dashboard.schema._columns import (
    BEGINNING_OF_TIME,
    QUARANTINE_SCHEMA,
    TIME,
    Kind,
    SchemaError,
    _header_map,
    _norm,
    export_schema,
)
from dashboard.schema._times import (
    TimeReading,
    _plan_times,
    _repeated_hour_count,
    _time_expr,
    _TimePlan,
    describe_time_format,
)


@dataclass
class ParseResult:
    frame: pl.DataFrame
    """Typed rows, columns in schema order (then extra attributes, as strings)."""
    quarantine: pl.DataFrame
    """Rows that failed, with ``line`` (1-based data row; CSV: file line) and ``reason``."""
    notices: list[str] = field(default_factory=list)
    """Non-fatal observations: unknown columns ignored, aliases used, a time format read from the values."""
    matched: dict[str, str] = field(default_factory=dict)
    """File header -> our column, for every header that matched one."""
    unknown: list[str] = field(default_factory=list)
    """File headers that matched no column (kept as attributes for the author export)."""
    time_format: str | None = None
    """The strftime format time text was read with (configured or read from the values), if any."""



def _as_string(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return expr
    if isinstance(dtype, pl.List):
        return expr.cast(pl.List(pl.String)).list.join(";")
    return expr.cast(pl.String)


def _convert(raw: pl.Expr, kind: Kind, dtype: pl.DataType, plan: _TimePlan, *, millis: bool = False) -> pl.Expr:
    """Expression turning a raw column (any dtype) into ``kind``; unparsable values become null."""
    if kind == "time":
        return _time_expr(raw, dtype, plan)
    if kind == "int":
        if dtype.is_integer():
            value = raw.cast(pl.Int64)
            return (value / 1000).round().cast(pl.Int64) if millis else value
        s = raw.cast(pl.String).str.strip_chars()
        # "3.0" from spreadsheets is an int; "3.5" is not. Milliseconds become whole seconds.
        f = s.cast(pl.Float64, strict=False)
        if millis:
            return (f / 1000).round().cast(pl.Int64, strict=False)
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


_ACTION_CONTENT = ("conversation_id", "action", "action_time", "agent_id", "from_value", "to_value")


def _content_keys(frame: pl.DataFrame) -> pl.Series:
    """A stable id per history action from what it says (same action, same id, in any file or format)."""
    text = frame.select(pl.concat_str(
        [pl.col(c).dt.epoch("ms").cast(pl.String) if c == "action_time" else pl.col(c) for c in _ACTION_CONTENT],
        separator="\x1f", ignore_nulls=False,
    ).fill_null(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in _ACTION_CONTENT],
                              separator="\x1f"))).to_series()
    return pl.Series([f"derived-{hashlib.blake2b(t.encode(), digest_size=12).hexdigest()}" for t in text],
                     dtype=pl.String)


def _derive_keys(export_id: str, frame: pl.DataFrame, notices: list[str]) -> pl.DataFrame:
    if export_id == "author" and frame.height:
        missing = frame["updated_time"].null_count()
        if missing:
            notices.append(f"{missing} author row(s) without updated_time apply from the beginning of time")
            frame = frame.with_columns(pl.col("updated_time").fill_null(pl.lit(BEGINNING_OF_TIME).cast(TIME)))
    if export_id == "conversation_history_action" and frame.height:
        missing = frame["action_id"].null_count()
        if missing:
            notices.append(f"{missing} action(s) without action_id got an id from their content")
            frame = frame.with_columns(
                action_id=pl.when(pl.col("action_id").is_null()).then(_content_keys(frame)).otherwise("action_id"))
    return frame


def parse_frame(
    export_id: str, raw: pl.DataFrame, *, source: str = "", line_offset: int = 1, times: TimeReading | None = None
) -> ParseResult:
    """Type a frame of raw values (any dtypes, file headers) against an export's schema.

    ``line_offset`` is the line number of the first row in the source (2 for a CSV with a header line, 1 for
    the first element of a JSON array). ``times`` says how to read time text (see the module docstring).
    """
    schema = export_schema(export_id)
    mapping, unknown, millis_headers = _header_map(schema, raw.columns)
    notices: list[str] = []
    missing = [c.name for c in schema.columns if c.required and c.name not in mapping.values()]
    if missing:
        where = f" in {source}" if source else ""
        raise SchemaError(
            f"{export_id} export{where}: required column(s) missing: {', '.join(missing)} "
            f"(found: {', '.join(raw.columns) or 'no columns'})"
        )
    renamed = {h: t for h, t in mapping.items() if _norm(h) != _norm(t)}
    if renamed:
        notices.append("columns matched by alias: " + ", ".join(f"{h!r} -> {t}" for h, t in renamed.items()))
    extras = [h for h in unknown if schema.extra_attributes]
    ignored = [h for h in unknown if not schema.extra_attributes]
    if ignored:
        notices.append(f"unknown columns ignored: {', '.join(ignored)}")

    reverse = {t: h for h, t in mapping.items()}
    text_times = {c.name: raw[reverse[c.name]] for c in schema.columns
                  if c.kind == "time" and c.name in reverse and not raw.schema[reverse[c.name]].is_numeric()}
    plan = _plan_times(export_id, source, text_times, times or TimeReading(), notices)
    repeated = _repeated_hour_count(raw, [reverse[c] for c in text_times], plan)
    if repeated:
        notices.append(f"{repeated} time(s) fall in the hour {plan.zone} repeats when daylight saving ends; read "
                       "as its first occurrence (a sync asks for UTC and has none)")
    typed: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for c in schema.columns:
        if c.name not in reverse:
            typed.append(pl.lit(None, dtype=c.dtype).alias(c.name))
            continue
        header = reverse[c.name]
        dtype = raw.schema[header]
        col = pl.col(header)
        value = _convert(col, c.kind, dtype, plan, millis=header in millis_headers)
        typed.append(value.alias(c.name))
        blank = _is_blank(col, dtype)
        bad_value = (~blank) & value.is_null()
        shown = _as_string(col, dtype).str.slice(0, 60)
        how = c.kind
        if c.kind == "time" and plan.text_format:
            how = f"time ({describe_time_format(plan.text_format)})"
        problems.append(
            pl.when(bad_value)
            .then(pl.format("{}: cannot read '{}' as {}", pl.lit(c.name), shown, pl.lit(how)))
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
    good = _derive_keys(export_id, checked.filter(pl.col("__reason").is_null()).select(typed), notices)
    bad = checked.filter(pl.col("__reason").is_not_null())
    quarantine = _quarantine_frame(export_id, source, bad, line_offset) if bad.height else empty_quarantine()
    if n and bad.height:
        notices.append(f"{bad.height} of {n} rows quarantined")
    return ParseResult(good, quarantine, notices, dict(mapping), list(unknown), plan.text_format)


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


def parse_rows(export_id: str, rows: list[dict[str, Any]], *, source: str = "", times: TimeReading | None = None
               ) -> ParseResult:
    """Type a list of row objects (a JSON export already decoded)."""
    if not rows:
        return ParseResult(empty_frame(export_id), empty_quarantine())
    raw = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    return parse_frame(export_id, raw, source=source, line_offset=1, times=times)


def parse_json_bytes(export_id: str, body: bytes, *, source: str = "", times: TimeReading | None = None
                     ) -> ParseResult:
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
    return parse_frame(export_id, raw, source=source, line_offset=1, times=times)


def parse_csv_bytes(export_id: str, body: bytes, *, source: str = "", times: TimeReading | None = None
                    ) -> ParseResult:
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
        return _parse_csv_tolerant(export_id, text_start, source, times)
    return parse_frame(export_id, raw, source=source, line_offset=2, times=times)


def _parse_csv_tolerant(export_id: str, body: bytes, source: str, times: TimeReading | None = None) -> ParseResult:
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
    result = parse_frame(export_id, raw, source=source, line_offset=0, times=times)
    if result.quarantine.height:
        # line_offset 0 made "line" the row index; map it back to the real file line.
        idx = result.quarantine["line"].to_list()
        result.quarantine = result.quarantine.with_columns(
            pl.Series("line", [good_lines[i] for i in idx], dtype=pl.Int64))
    if bad:
        result.quarantine = pl.concat([result.quarantine, pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)]).sort("line")
        result.notices.append(f"{len(bad)} malformed CSV line(s) quarantined")
    return result


def parse_export_bytes(export_id: str, body: bytes, fmt: str, *, source: str = "", times: TimeReading | None = None
                       ) -> ParseResult:
    if fmt.lower() == "json":
        return parse_json_bytes(export_id, body, source=source, times=times)
    if fmt.lower() == "csv":
        return parse_csv_bytes(export_id, body, source=source, times=times)
    raise SchemaError(f"unknown report format {fmt!r} (json or csv)")


def _short(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return msg[:200]
