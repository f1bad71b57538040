"""Columns of every export we use, in one place, and the parser that types them.

Khoros does not publish the column lists of its Analytics exports (gap 1 in ``shared/khoros-care-api.md``),
so this module is the single definition: the simulator writes these columns, the store keeps them and the
metrics read them. When the real lists are known, this is the one file to correct.

What Khoros does document, and how it is read here (``khoros-care-api.md`` §12):

- **Column ids** are case-sensitive UPPER_SNAKE_CASE in its examples (``CONVERSATION_ID``, ``STATUS``). Our
  names are their lower-case form; headers are matched case- and punctuation-insensitively, the documented
  ids that are not simply ours in capitals are aliases (``ASSIGNED_AGENT_DISPLAY_ID``), and so are the
  display names of files exported from the Khoros UI ("Conversation ID"). When a file has both our id and
  an alias of it, our id wins.
- **Every field is a string.** Numbers, booleans, lists (``;``-separated) and times are typed from text.
- **Durations** come as millisecond strings (``TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS``); a column matched
  through such a header is converted to our unit (``logged_in_seconds``).
- **Times are formatted per the company's setting** (for example ``MM/dd/yyyy HH:mm:ss`` in the company's
  zone). ISO-8601 with an offset and epoch milliseconds are always read. Any other time text is read with a
  :class:`TimeReading`: a format (``KHOROS_EXPORT_TIME_FORMAT``, ``import --time-format``; strftime or
  Khoros' ``MM/dd/yyyy`` style) and the zone it was written in (``KHOROS_EXPORT_TIMEZONE``, ``import
  --time-zone``). **A date is never guessed**: without a format, a value that reads two ways
  (``05/01/2026``: 1 May or 5 January) stops the parse — even when other values of the file would settle it —
  as does a local time with no zone configured; the :class:`TimeFormatError` names the setting and the
  option, and nothing of the file is read. Text that reads one way only (``11/23/2026``) is read. In the
  hour a daylight-saving change repeats (01:00-02:00 on the fall-back night), a local time is read as its
  first occurrence and a notice counts such values (a sync avoids them: it asks Khoros for UTC).
- **Keys Khoros may not export are derived, never required**: an author row without ``updated_time`` applies
  from the beginning of time (:data:`BEGINNING_OF_TIME`); a history action without ``action_id`` gets a
  stable key from its content (so importing the same file twice changes nothing).

Parsing never loses good rows: a row whose required value is missing or does not parse goes to a quarantine
frame with the row number and a reason naming the column and the value; every other row is kept. A missing
required *column* is a :class:`SchemaError` naming it, because then no row can be right.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from dashboard.errors import DashboardError

__all__ = [
    "BEGINNING_OF_TIME",
    "EXPORTS",
    "FORMAT_HINT",
    "QUARANTINE_SCHEMA",
    "TIME",
    "TIME_FORMAT_CANDIDATES",
    "ZONE_HINT",
    "Column",
    "ColumnMatch",
    "ExportSchema",
    "ParseResult",
    "SchemaError",
    "TimeDetection",
    "TimeFormatError",
    "TimeReading",
    "describe_time_format",
    "detect_time_format",
    "empty_frame",
    "export_schema",
    "match_columns",
    "parse_csv_bytes",
    "parse_export_bytes",
    "parse_json_bytes",
    "parse_rows",
    "read_times",
    "to_strftime",
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


BEGINNING_OF_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""``updated_time`` of an author row that carries none: its values apply to every conversation."""


class SchemaError(DashboardError, ValueError):
    """An export as a whole does not fit its schema (e.g. a required column is missing)."""


class TimeFormatError(SchemaError):
    """An export's times cannot be read without a setting (a date format, a time zone); names both the
    setting and the import option. Nothing of the file was read."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""
    ms_aliases: tuple[str, ...] = ()
    """Headers that carry this (seconds) column in milliseconds, as Khoros' ``*_MILLIS`` columns do."""

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


def _c(name: str, kind: Kind, required: bool = False, *aliases: str, doc: str = "",
       ms_aliases: tuple[str, ...] = ()) -> Column:
    return Column(name, kind, required, aliases, doc, ms_aliases)


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
                _c("assigned_agent_id", "str", False, "Assigned Agent ID", "Agent ID", "ASSIGNED_AGENT_DISPLAY_ID",
                   doc="the agent id the other exports use; Khoros documents ASSIGNED_AGENT_DISPLAY_ID (assumed "
                       "the same id)"),
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
                _c("action_id", "str", False, "Action ID",
                   doc="derived from the action's content when the export has none"),
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
                _c("updated_time", "time", False, "Updated Time", "Last Updated",
                   doc="when these attribute values became effective; one row per author version; without it "
                       "a row applies from the beginning of time"),
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
                _c("logged_in_seconds", "int", False, "Logged In Seconds",
                   ms_aliases=("TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS", "Logged In Time Millis")),
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


# --------------------------------------------------------------------------------------------------------------
# Times


_JAVA_TOKENS = (  # Khoros shows the company's format the Java way; longest tokens first
    ("yyyy", "%Y"), ("SSS", "%3f"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("hh", "%I"), ("mm", "%M"),
    ("ss", "%S"), ("M", "%m"), ("d", "%d"), ("H", "%H"), ("h", "%I"), ("m", "%M"), ("s", "%S"), ("a", "%p"),
)
_STRFTIME_OK = re.compile(r"%[YmdHIMSpfbBjy%]|%3f|%\.f|%\.3f")


def to_strftime(pattern: str) -> str:
    """A time format as strftime: ``%m/%d/%Y %H:%M:%S`` as it is, or Khoros' ``MM/dd/yyyy HH:mm:ss`` style
    translated. Raises ``ValueError`` naming what it cannot read."""
    pattern = pattern.strip()
    if not pattern:
        raise ValueError("a time format cannot be empty")
    if "%" in pattern:
        directives = re.findall(r"%.", _STRFTIME_OK.sub("", pattern))
        if directives:
            raise ValueError(f"time format {pattern!r}: unsupported directive {directives[0]!r}")
        return pattern
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "'":  # quoted literal text, e.g. 'T'
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError(f"time format {pattern!r}: unclosed quote")
            out.append(pattern[i + 1:end].replace("%", "%%"))
            i = end + 1
            continue
        for token, directive in _JAVA_TOKENS:
            if pattern.startswith(token, i):
                out.append(directive)
                i += len(token)
                break
        else:
            if pattern[i].isalpha():
                raise ValueError(f"time format {pattern!r}: unknown letter {pattern[i]!r} (use yyyy MM dd HH hh mm "
                                 "ss SSS a, or a strftime format like %m/%d/%Y %H:%M:%S)")
            out.append("%%" if pattern[i] == "%" else pattern[i])
            i += 1
    return "".join(out)


def _check_zone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not an IANA time zone name (like America/New_York or UTC)") from None
    return zone


@dataclass(frozen=True)
class TimeReading:
    """How to read time text that is neither ISO-8601 with an offset nor epoch ms.

    ``format``: strftime (or Khoros' ``MM/dd/yyyy HH:mm:ss`` style), None = deduce from the file, never guess.
    ``zone``: the IANA zone the times were written in; ``offset_ms``: a fixed offset instead (Khoros'
    ``timezoneOffset``, which ignores daylight saving). Naive times need one of the two.
    """

    format: str | None = None
    zone: str | None = None
    offset_ms: int | None = None

    def __post_init__(self) -> None:
        if self.format is not None:
            object.__setattr__(self, "format", to_strftime(self.format))
        if self.zone is not None:
            _check_zone(self.zone)


FORMAT_HINT = "KHOROS_EXPORT_TIME_FORMAT (import: --time-format)"
ZONE_HINT = "KHOROS_EXPORT_TIMEZONE (import: --time-zone)"

_DATES = ("%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y")
_CLOCKS = ("%H:%M:%S%.f", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
TIME_FORMAT_CANDIDATES = tuple(f"{d} {c}" for d in _DATES for c in _CLOCKS)
"""Formats a file's times are tried against when no format is configured (a date never has two readings
silently: see :func:`detect_time_format`)."""

_EPOCH = re.compile(r"^-?\d+$")
_ISO_AWARE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
_ISO_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_ISO_SPACE = r"^(\d{4}-\d{2}-\d{2}) "
_SANE_YEARS = (1990, 2200)


def describe_time_format(fmt: str) -> str:
    """A strftime format the way Khoros writes it (``MM/dd/yyyy HH:mm:ss``), for messages."""
    out = fmt
    # An optional fraction of a second (%.f) is left out: Khoros' formats are written without one.
    for directive, token in (("%Y", "yyyy"), ("%m", "MM"), ("%d", "dd"), ("%H", "HH"), ("%I", "hh"), ("%M", "mm"),
                             ("%S", "ss"), ("%.f", ""), ("%3f", "SSS"), ("%p", "a")):
        out = out.replace(directive, token)
    return out


def _strptime(values: pl.Series, fmt: str) -> pl.Series:
    parsed = values.str.strptime(pl.Datetime("ms"), fmt, strict=False)
    if "%Y" in fmt:  # %Y takes any digit count: "11/23/26" must not become the year 26
        year = parsed.dt.year()
        parsed = parsed.set((year < _SANE_YEARS[0]) | (year > _SANE_YEARS[1]), None)
    return parsed


@dataclass
class TimeDetection:
    """What a set of time texts looks like: the kinds found and the formats that read every non-ISO value."""

    epoch: int = 0
    iso_aware: int = 0
    iso_naive: int = 0
    other: int = 0
    """Values that are neither epoch ms nor ISO-8601."""
    candidates: list[str] = field(default_factory=list)
    """Formats (strftime) that read every ``other`` value that any format reads."""
    unreadable: list[str] = field(default_factory=list)
    """A few ``other`` values no format reads."""
    conflict: tuple[str, dict[str, datetime]] | None = None
    """A value the candidates read differently, with each reading."""

    @property
    def ambiguous(self) -> bool:
        return self.conflict is not None

    @property
    def needs_zone(self) -> bool:
        return bool(self.iso_naive or self.other)

    @property
    def format(self) -> str | None:
        """The one format the values allow (None when none is needed, or when it is ambiguous)."""
        return self.candidates[0] if self.candidates and not self.ambiguous else None


def detect_time_format(values: pl.Series | Iterable[str | None], *, sample: int = 2000) -> TimeDetection:
    """Which formats read ``values`` (text), and whether they leave one reading: the deduction the parser
    makes when no format is configured, and what ``doctor`` reports."""
    series = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    text = series.cast(pl.String).str.strip_chars().drop_nulls()
    text = text.filter(text != "").unique(maintain_order=True)  # the first problem named is the file's first
    found = TimeDetection()
    if text.is_empty():
        return found
    epoch = text.str.contains(_EPOCH.pattern)
    aware = text.str.contains(_ISO_AWARE.pattern)
    naive = text.str.contains(_ISO_NAIVE.pattern)
    other = text.filter(~(epoch | aware | naive))
    found.epoch, found.iso_aware, found.iso_naive, found.other = (
        int(epoch.sum()), int(aware.sum()), int(naive.sum()), other.len())
    if other.is_empty():
        return found
    # Formats that read anything in a sample, then those that read every value any of them reads.
    probe = other.head(sample)
    tried = [f for f in TIME_FORMAT_CANDIDATES if _strptime(probe, f).null_count() < probe.len()]
    if len(tried) < len(TIME_FORMAT_CANDIDATES) and probe.len() < other.len():
        tried = [f for f in TIME_FORMAT_CANDIDATES if _strptime(other, f).null_count() < other.len()]
    parsed = {f: _strptime(other, f) for f in tried}
    readable = pl.Series([False] * other.len())
    for series_f in parsed.values():
        readable = readable | series_f.is_not_null()
    found.unreadable = other.filter(~readable).head(3).to_list()
    found.candidates = [f for f, series_f in parsed.items() if series_f.filter(readable).null_count() == 0]
    if parsed:
        # A value that two formats read as different instants is ambiguous on its own ("05/01/2026"), whatever
        # the rest of the file says: the date is never guessed, not even from its neighbours.
        readings = pl.DataFrame(parsed)
        spread = readings.select(lo=pl.min_horizontal(pl.all()), hi=pl.max_horizontal(pl.all()))
        differs = (spread["lo"] != spread["hi"]).fill_null(False)
        if differs.any():
            i = int(differs.arg_max() or 0)
            found.conflict = (other[i], {f: r for f, r in readings.row(i, named=True).items() if r is not None})
    if found.conflict is None and not found.candidates and readable.any():
        # Values in several formats: no single one reads them all.
        found.conflict = (other.filter(readable)[0], {})
    return found


@dataclass(frozen=True)
class _TimePlan:
    """The decision for one file: how its time text is read."""

    text_format: str | None
    zone: str | None
    offset_ms: int | None


def _plan_times(export_id: str, source: str, columns: dict[str, pl.Series], reading: TimeReading,
                notices: list[str]) -> _TimePlan:
    """Decide how this file's time text is read, or raise :class:`TimeFormatError` (nothing read)."""
    where = f"{export_id} export" + (f" in {source}" if source else "")
    text_format = reading.format
    naive_example: tuple[str, str] | None = None
    problems: list[str] = []
    zone_probe: str | None = text_format  # a format that reads the text, to find times without a zone
    if text_format is None:
        all_values = pl.concat([v.cast(pl.String) for v in columns.values()]) if columns else pl.Series([],
                                                                                                       dtype=pl.String)
        found = detect_time_format(all_values)
        zone_probe = found.candidates[0] if found.candidates else None
        if found.ambiguous:
            value, readings = found.conflict  # type: ignore[misc]
            column = next((c for c, v in columns.items() if value in set(v.cast(pl.String).str.strip_chars())), "?")
            if readings:
                shown = "; ".join(f"{describe_time_format(f)}: {t:%Y-%m-%d %H:%M:%S}" for f, t in readings.items())
                problems.append(f"column {column}: the time {value!r} reads more than one way ({shown}); set "
                                f"{FORMAT_HINT}, e.g. '%m/%d/%Y %H:%M:%S'")
            else:
                problems.append(f"column {column}: times are written in more than one format (e.g. {value!r}); "
                                f"set {FORMAT_HINT}")
        elif found.format is not None:
            text_format = found.format
            notices.append(f"time format read from the values: {describe_time_format(text_format)} (no value "
                           f"reads another way; set {FORMAT_HINT} so that every file is read the same)")
    for name, series in columns.items():
        # Times without a zone: naive ISO-8601, and the text the format reads (unreadable text is quarantined).
        values = series.cast(pl.String).str.strip_chars()
        naive = values.str.contains(_ISO_NAIVE.pattern)
        if zone_probe is not None:
            naive = naive | _strptime(values, zone_probe).is_not_null()
        if naive.any():
            naive_example = (name, values.filter(naive)[0])
            break
    if naive_example is not None and reading.zone is None and reading.offset_ms is None:
        column, value = naive_example
        problems.append(f"column {column}: the time {value!r} has no zone; set {ZONE_HINT} to the zone the export "
                        "was written in (the company's zone in Khoros, e.g. America/New_York)")
    if problems:
        raise TimeFormatError(f"{where}: " + "; ".join(problems) + ". Nothing was read from this file.")
    return _TimePlan(text_format, reading.zone, reading.offset_ms)


def _localize(naive: pl.Expr, plan: _TimePlan) -> pl.Expr:
    if plan.zone is not None:
        # The repeated hour of a fall-back night reads as its first occurrence; a skipped hour cannot exist.
        return naive.dt.replace_time_zone(plan.zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
            "UTC")
    if plan.offset_ms is not None:
        return naive.dt.replace_time_zone("UTC") - pl.duration(milliseconds=plan.offset_ms)
    return pl.lit(None, dtype=TIME)


def _time_expr(raw: pl.Expr, dtype: pl.DataType, plan: _TimePlan) -> pl.Expr:
    if dtype.is_numeric():
        return raw.cast(pl.Int64, strict=False).cast(TIME)
    s = raw.cast(pl.String).str.strip_chars()
    as_ms = pl.when(s.str.contains(_EPOCH.pattern)).then(s.cast(pl.Int64, strict=False)).cast(TIME)
    t_form = s.str.replace(_ISO_SPACE, "${1}T")
    aware = pl.coalesce(
        t_form.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="ms", strict=False),
        t_form.str.to_datetime("%Y-%m-%dT%H:%M%#z", time_unit="ms", strict=False),
    ).dt.convert_time_zone("UTC")
    naive = pl.coalesce(
        t_form.str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.f", strict=False),
        t_form.str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M", strict=False),
    )
    if plan.text_format is not None:
        naive = pl.coalesce(naive, s.str.strptime(pl.Datetime("ms"), plan.text_format, strict=False))
    return pl.coalesce(as_ms, aware.cast(TIME), _localize(naive, plan).cast(TIME))


def read_times(values: pl.Series | Iterable[str | None], times: TimeReading) -> pl.Series:
    """Time texts as UTC instants, read as the parser reads them with ``times`` (no deduction: a text that
    needs a format ``times`` lacks is null, as is one that does not read)."""
    series = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    plan = _TimePlan(times.format, times.zone, times.offset_ms)
    return series.cast(pl.String).to_frame("t").select(_time_expr(pl.col("t"), pl.String(), plan)).to_series()


def _repeated_hour_count(raw: pl.DataFrame, columns: list[str], plan: _TimePlan) -> int:
    """Naive times in a repeated (fall-back) hour of the zone: read as the first occurrence; counted for a
    notice."""
    if plan.zone is None or not columns:
        return 0
    count = 0
    for c in columns:
        s = pl.col(c).cast(pl.String).str.strip_chars()
        t_form = s.str.replace(_ISO_SPACE, "${1}T")
        naive = pl.coalesce(t_form.str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.f", strict=False),
                            *([s.str.strptime(pl.Datetime("ms"), plan.text_format, strict=False)]
                              if plan.text_format else []))
        either = naive.dt.replace_time_zone(plan.zone, ambiguous="earliest", non_existent="null")
        strict = naive.dt.replace_time_zone(plan.zone, ambiguous="null", non_existent="null")
        count += raw.select((either.is_not_null() & strict.is_null()).sum()).item()
    return int(count)


# --------------------------------------------------------------------------------------------------------------
# Parsing


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


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _header_map(schema: ExportSchema, headers: Iterable[str]) -> tuple[dict[str, str], list[str], set[str]]:
    """Map file headers to column names; return (mapping, unknown headers, headers carrying milliseconds).

    Our own id beats an alias when a file has both (``ASSIGNED_AGENT_ID`` and ``ASSIGNED_AGENT_DISPLAY_ID``)."""
    lookup: dict[str, tuple[str, int, bool]] = {}
    for c in schema.columns:
        names = [(c.name, False), *((a, False) for a in c.aliases), *((a, True) for a in c.ms_aliases)]
        for rank, (alias, millis) in enumerate(names):
            lookup.setdefault(_norm(alias), (c.name, rank, millis))
    best: dict[str, tuple[int, str, bool]] = {}
    unknown: list[str] = []
    for h in headers:
        hit = lookup.get(_norm(h))
        if hit is None:
            unknown.append(h)
            continue
        target, rank, millis = hit
        if target in best and best[target][0] <= rank:
            unknown.append(h)
            continue
        if target in best:
            unknown.append(best[target][1])
        best[target] = (rank, h, millis)
    mapping = {h: target for target, (_, h, _) in best.items()}
    millis_headers = {h for _, (_, h, millis) in best.items() if millis}
    ordered = [h for h in headers if h in mapping]
    return {h: mapping[h] for h in ordered}, [h for h in headers if h in unknown], millis_headers


@dataclass(frozen=True)
class ColumnMatch:
    """How a file's headers match an export's columns (what ``doctor`` reports)."""

    matched: dict[str, str]
    """File header -> our column."""
    unknown: list[str]
    """Headers that match no column."""
    missing_required: list[str]
    missing_optional: list[str]


def match_columns(export_id: str, headers: Iterable[str]) -> ColumnMatch:
    """Match ``headers`` the way the parser does (case- and punctuation-insensitive, aliases, our id first)."""
    schema = export_schema(export_id)
    mapping, unknown, _ = _header_map(schema, list(headers))
    found = set(mapping.values())
    return ColumnMatch(mapping, unknown, [c.name for c in schema.columns if c.required and c.name not in found],
                       [c.name for c in schema.columns if not c.required and c.name not in found])


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
