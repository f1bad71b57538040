"""Parsing: bytes or rows of an export -> typed rows, quarantined rows with line and reason, and notices."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dashboard.schema._columns import (
    BEGINNING_OF_TIME,
    QUARANTINE_SCHEMA,
    TIME,
    ExportSchema,
    Kind,
    SchemaError,
    _header_map,
    _norm,
    export_schema,
)
from dashboard.schema._csv import EncodingRefused, decode_text, read_frame, read_records
from dashboard.schema._times import (
    TIME_RANGE,
    TimeReading,
    _plan_times,
    _repeated_hour_count,
    _time_expr,
    _TimePlan,
    describe_time_format,
    epoch_seconds,
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
            value = raw.cast(pl.Int64, strict=False)  # beyond Int64 (a JSON integer of any size): unreadable
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
    export_id: str, raw: pl.DataFrame, *, source: str = "", line_offset: int = 1, times: TimeReading | None = None,
    lines: Sequence[int] | None = None,
) -> ParseResult:
    """Type a frame of raw values (any dtypes, file headers) against an export's schema.

    ``line_offset`` is the line number of the first row in the source (2 for a CSV with a header line, 1 for
    the first element of a JSON array); ``lines`` gives each row's line instead (a CSV whose records span lines).
    ``times`` says how to read time text (see the package docstring).
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
    extras = _attribute_names(schema, [h for h in unknown if schema.extra_attributes], notices)
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
    # A file's headers are whatever it says (even "__row"): work on positional names, never on the headers.
    headers = raw.columns
    inner = {h: f"_h{i}" for i, h in enumerate(headers)}
    raw = raw.rename(inner)
    # Each value is converted once (into a column of its own), then checked, then kept or quarantined.
    converted: list[pl.Expr] = []
    typed: list[pl.Expr] = []
    values: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    problems: list[pl.Expr] = []
    seconds: list[pl.Expr] = []
    for i, c in enumerate(schema.columns):
        if c.name not in reverse:
            typed.append(pl.lit(None, dtype=c.dtype).alias(c.name))
            continue
        header = reverse[c.name]
        dtype = raw.schema[inner[header]]
        col = pl.col(inner[header])
        converted.append(_convert(col, c.kind, dtype, plan, millis=header in millis_headers).alias(f"__v{i}"))
        value = pl.col(f"__v{i}")
        typed.append(value.alias(c.name))
        blank = _is_blank(col, dtype)
        bad_value = (~blank) & value.is_null()
        shown = _as_string(col, dtype).str.slice(0, 60)
        values[c.name] = (value, shown)
        how = c.kind
        if c.kind == "time" and plan.text_format:
            how = f"time ({describe_time_format(plan.text_format)})"
        problems.append(
            pl.when(bad_value)
            .then(pl.format("{}: cannot read '{}' as {}", pl.lit(c.name), shown, pl.lit(how)))
            .otherwise(None)
        )
        if c.kind == "time":
            outside = value.is_not_null() & ((value < TIME_RANGE[0]) | (value >= TIME_RANGE[1]))
            problems.append(pl.when(outside).then(pl.format(
                "{}: '{}' is not between {} and {} (a placeholder such as epoch 0, or a broken value)",
                pl.lit(c.name), shown, pl.lit(f"{TIME_RANGE[0]:%Y-%m-%d}"), pl.lit(f"{TIME_RANGE[1]:%Y-%m-%d}")))
                .otherwise(None))
            seconds.append(epoch_seconds(col, dtype).sum().alias(c.name))
        if c.required:
            problems.append(pl.when(blank).then(pl.lit(f"{c.name}: required value is empty")).otherwise(None))
    for earlier, later in schema.order:
        if earlier in values and later in values:
            (first, first_shown), (then, then_shown) = values[earlier], values[later]
            problems.append(pl.when(then < first).then(pl.format(
                "{}: '{}' is before {} '{}'", pl.lit(later), then_shown, pl.lit(earlier), first_shown)).otherwise(None))
    for h, name in extras.items():
        text = _as_string(pl.col(inner[h]), raw.schema[inner[h]])
        typed.append(pl.when(text.str.strip_chars() != "").then(text).alias(name))  # blank: no value

    n = raw.height
    if seconds and n:
        for column, count in raw.select(seconds).row(0, named=True).items():
            if count:
                notices.append(f"{count} {column} value(s) are epoch seconds, not milliseconds (told apart by "
                               "magnitude: below 10^11), and were read as seconds")
    reason = pl.concat_str(problems, separator="; ", ignore_nulls=True) if problems else pl.lit(None, pl.String)
    checked = raw.with_row_index("__row").with_columns(converted).with_columns(
        pl.when(reason == "").then(None).otherwise(reason).alias("__reason"))
    good = _derive_keys(export_id, checked.filter(pl.col("__reason").is_null()).select(typed), notices)
    bad = checked.filter(pl.col("__reason").is_not_null())
    if bad.height:
        row_lines = ([lines[i] for i in bad["__row"].to_list()] if lines is not None
                     else (bad["__row"].cast(pl.Int64) + line_offset).to_list())
        originals = bad.select([pl.col(inner[h]).alias(h) for h in headers])
        quarantine = _quarantine_frame(export_id, source, originals, bad["__reason"].to_list(), row_lines)
        notices.append(f"{bad.height} of {n} rows quarantined")
    else:
        quarantine = empty_quarantine()
    return ParseResult(good, quarantine, notices, dict(mapping), list(unknown), plan.text_format)


def _attribute_name(header: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")
    return name or "attribute"


def _attribute_names(schema: ExportSchema, headers: list[str], notices: list[str]) -> dict[str, str]:
    """Header -> attribute column name; headers that become the same name (``region`` and ``Region ``), or a
    column of the export's, get a numbered name of their own, and a notice says so."""
    taken = set(schema.names)
    out: dict[str, str] = {}
    for h in headers:
        base = name = _attribute_name(h)
        n = 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        if name != base:
            clash = next((k for k, v in out.items() if v == base), base)
            notices.append(f"attribute header {h!r} reads as {base!r} like {clash!r}: kept apart as {name!r}")
        taken.add(name)
        out[h] = name
    return out


def _quarantine_frame(export_id: str, source: str, originals: pl.DataFrame, reasons: list[str], lines: list[int]
                      ) -> pl.DataFrame:
    raws = [json.dumps(r, default=str)[:2000] for r in originals.to_dicts()]
    return pl.DataFrame(
        {"export": [export_id] * len(reasons), "source": [source] * len(reasons), "line": lines, "reason": reasons,
         "raw": raws},
        schema=QUARANTINE_SCHEMA,
    )


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def empty_frame(export_id: str) -> pl.DataFrame:
    return pl.DataFrame(schema=export_schema(export_id).polars_schema)


_INT64 = (-(2**63), 2**63 - 1)


def _fit_row(row: Any) -> Any:
    """A decoded JSON row whose integers beyond Int64 become text, so that the value is quarantined by name."""
    if not isinstance(row, dict):
        return row
    return {k: str(v) if isinstance(v, int) and not isinstance(v, bool) and not _INT64[0] <= v <= _INT64[1] else v
            for k, v in row.items()}


def parse_rows(export_id: str, rows: list[dict[str, Any]], *, source: str = "", times: TimeReading | None = None
               ) -> ParseResult:
    """Type a list of row objects (a JSON export already decoded). An element that is not an object is
    quarantined with its position."""
    if not rows:
        return ParseResult(empty_frame(export_id), empty_quarantine())
    objects = [i for i, r in enumerate(rows) if isinstance(r, dict)]
    not_objects = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    fitted = [_fit_row(rows[i]) for i in objects]
    try:
        raw = pl.DataFrame(fitted, infer_schema_length=None, strict=False)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        # Values of clashing kinds in one column (an object here, a number there): read every value as text.
        raw = pl.DataFrame([{k: None if v is None else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                             for k, v in r.items()} for r in fitted], infer_schema_length=None)
    if not objects:
        raw = pl.DataFrame()
    result = parse_frame(export_id, raw, source=source, times=times, lines=[i + 1 for i in objects]) \
        if objects else ParseResult(empty_frame(export_id), empty_quarantine())
    if not_objects:
        bad = pl.DataFrame({"export": export_id, "source": source, "line": [i + 1 for i in not_objects],
                            "reason": "not an object of named values",
                            "raw": [json.dumps(rows[i], default=str)[:2000] for i in not_objects]},
                           schema=QUARANTINE_SCHEMA)
        result.quarantine = pl.concat([result.quarantine, bad]).sort("line")
    return result


def parse_json_bytes(export_id: str, body: bytes, *, source: str = "", times: TimeReading | None = None
                     ) -> ParseResult:
    """Parse a JSON export download: a top-level array of row objects."""
    where = f"{export_id} export{' in ' + source if source else ''}"
    stripped = body.strip()
    if not stripped or stripped == b"[]":
        return ParseResult(empty_frame(export_id), empty_quarantine())
    if not stripped.startswith(b"["):
        raise SchemaError(f"{where}: expected a JSON array of rows")
    try:
        raw = pl.read_json(io.BytesIO(stripped), infer_schema_length=None)
    except (Exception, pl.exceptions.PanicException):  # an odd but valid file: read it value by value below
        raw = None
    if raw is not None and not any(isinstance(t, pl.Int128 | pl.UInt64 | pl.UInt128) for t in raw.dtypes):
        return parse_frame(export_id, raw, source=source, line_offset=1, times=times)
    try:
        rows = json.loads(stripped)
    except ValueError as exc:
        raise SchemaError(f"{where}: not valid JSON ({_short(exc)})") from None
    if not isinstance(rows, list):
        raise SchemaError(f"{where}: expected a JSON array of rows")
    return parse_rows(export_id, rows, source=source, times=times)


def parse_csv_bytes(export_id: str, body: bytes, *, source: str = "", times: TimeReading | None = None
                    ) -> ParseResult:
    """Parse a CSV export (header line first). Every value is read as text, then typed; records that are not
    right (fields that do not match the header, an unbalanced quote) are quarantined by line (see
    :mod:`dashboard.schema._csv`)."""
    where = f"{export_id} export{' in ' + source if source else ''}"
    try:
        text, notices = decode_text(body)
        fast = read_frame(text, body if body[:1] not in (b"\xef", b"\xfe", b"\xff", b"\x00") else None)
        records = read_records(text) if fast is None else fast[2]
    except EncodingRefused as exc:
        raise SchemaError(f"{where}: {exc}. Nothing was read from this file.") from None
    if not records.header:
        return ParseResult(empty_frame(export_id), empty_quarantine(), records.notices + notices)
    if fast is not None:
        raw, lines = fast[0], fast[1]
    else:
        header = _unique_headers(records.header)
        columns = list(zip(*records.rows, strict=True)) if records.rows else [() for _ in header]
        raw = pl.DataFrame([pl.Series(h, list(c), dtype=pl.String) for h, c in zip(header, columns, strict=True)])
        lines = records.lines
    result = parse_frame(export_id, raw, source=source, times=times, lines=lines)
    result.notices[:0] = notices + records.notices
    if records.bad:
        bad = pl.DataFrame({"export": export_id, "source": source, "line": [b[0] for b in records.bad],
                            "reason": [b[1] for b in records.bad], "raw": [b[2] for b in records.bad]},
                           schema=QUARANTINE_SCHEMA)
        result.quarantine = pl.concat([result.quarantine, bad]).sort("line")
        result.notices.append(f"{len(records.bad)} CSV line(s) that do not fit the header quarantined")
    return result


def _unique_headers(header: list[str]) -> list[str]:
    """A header repeated in the file gets a numbered name, so both columns are kept and the copy is reported."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        if h in seen:
            seen[h] += 1
            out.append(f"{h} ({seen[h]})")
        else:
            seen[h] = 1
            out.append(h)
    return out


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
