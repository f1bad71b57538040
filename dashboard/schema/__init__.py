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

The package's parts, each a section of what was one module: :mod:`~dashboard.schema._columns` (the columns of
every export, header matching), :mod:`~dashboard.schema._times` (time formats and zones),
:mod:`~dashboard.schema._parsing` (bytes and rows -> typed rows + quarantine).
"""

from dashboard.schema._columns import (
    BEGINNING_OF_TIME,
    EXPORTS,
    QUARANTINE_SCHEMA,
    REFERENCE_TABLES,
    TIME,
    Column,
    ColumnMatch,
    ExportSchema,
    SchemaError,
    TimeFormatError,
    export_schema,
    match_columns,
)
from dashboard.schema._parsing import (
    ParseResult,
    empty_frame,
    empty_quarantine,
    parse_csv_bytes,
    parse_export_bytes,
    parse_frame,
    parse_json_bytes,
    parse_rows,
)
from dashboard.schema._times import (
    FORMAT_HINT,
    TIME_FORMAT_CANDIDATES,
    ZONE_HINT,
    TimeDetection,
    TimeReading,
    describe_time_format,
    detect_time_format,
    read_times,
    to_strftime,
)

__all__ = [
    "BEGINNING_OF_TIME",
    "EXPORTS",
    "FORMAT_HINT",
    "QUARANTINE_SCHEMA",
    "REFERENCE_TABLES",
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
    "empty_quarantine",
    "export_schema",
    "match_columns",
    "parse_csv_bytes",
    "parse_export_bytes",
    "parse_frame",
    "parse_json_bytes",
    "parse_rows",
    "read_times",
    "to_strftime",
]
