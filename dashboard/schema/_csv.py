"""CSV files as people save them: encodings, line endings, delimiters, and records that are not right.

Files exported from the Khoros UI are UTF-8 with commas, but they pass through spreadsheets before they are
imported. What this module reads, and what it refuses:

- **Encodings.** UTF-8 (with or without a byte-order mark) and UTF-16 / UTF-32 with a byte-order mark (Excel's
  "Unicode Text") are read. Anything else (Windows-1252 from Excel's "CSV (Comma delimited)", UTF-16 without a
  mark) is refused with the line and byte that are not UTF-8 and what to save the file as: a guessed
  encoding would garble names without a word.
- **Line endings.** ``\\r\\n``, ``\\n`` and a lone ``\\r`` (Excel's "CSV Macintosh") all end a line.
- **Delimiter.** A comma; a header line with no comma but tabs (Excel's "Unicode Text") or semicolons (Excel
  in locales whose decimal mark is a comma) is read with that delimiter, and a notice says so.
- **Records.** A record with more or fewer fields than the header is quarantined with its line, never read
  as missing values. A quote that does not close (an unbalanced ``"``) quarantines only the line it opens on
  and reading goes on at the next line, so one bad line never swallows the rest of the file; a quoted field
  may still span lines (message text), as long as the record it ends has the header's number of fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl

__all__ = ["CsvRecords", "EncodingRefused", "decode_text", "read_frame", "read_records"]

MAX_RECORD_LINES = 1000
MAX_RECORD_CHARS = 1_000_000
"""A quoted field longer than this is an unbalanced quote, not message text."""
_RAW_SHOWN = 2000

# The csv module refuses fields over 128 KiB by default; a record's own bound (above) is the limit here.
if csv.field_size_limit() < MAX_RECORD_CHARS:
    csv.field_size_limit(MAX_RECORD_CHARS)

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+\Z")
_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
SAVE_AS = 'save it as "CSV UTF-8 (Comma delimited)" (Excel: File > Save As) and import it again'


class EncodingRefused(ValueError):
    """The bytes are not text we can read without guessing; the message says where and what to do."""


def decode_text(body: bytes) -> tuple[str, list[str]]:
    """The file's text and notices about how it was read; raises :class:`EncodingRefused`."""
    for bom, codec, name in _BOMS:
        if body.startswith(bom):
            try:
                text = body[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise EncodingRefused(f"the file starts with a {name} byte-order mark but byte {exc.start + len(bom)} "
                                      f"is not {name}; {SAVE_AS}") from None
            return text, ([] if name == "UTF-8" else [f"read as {name} (the file's byte-order mark)"])
    head = body[:4096]
    if head.count(b"\x00") > len(head) // 4:
        raise EncodingRefused(f"the file looks like UTF-16 without a byte-order mark (every other byte is zero); "
                              f"{SAVE_AS}")
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise EncodingRefused(f"line {line} is not UTF-8 (byte 0x{body[exc.start]:02X}); the file was saved in another "
                              f"encoding (Excel's \"CSV (Comma delimited)\" writes Windows-1252): {SAVE_AS}") from None


@dataclass
class CsvRecords:
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    """The file line each row starts on (1-based)."""
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    """Quarantined lines: (line, reason, the line's text)."""
    notices: list[str] = field(default_factory=list)


def _physical_lines(text: str) -> list[str]:
    return _LINE.findall(text)


def _delimiter(header_line: str, notices: list[str]) -> str:
    if "," in header_line:
        return ","
    for delimiter, name in (("\t", "tab"), (";", "semicolon")):
        if delimiter in header_line:
            notices.append(f"the header has no comma: fields are read as {name}-separated")
            return delimiter
    return ","


class _TooLong(Exception):
    pass


def _bounded(lines: list[str], start: int) -> Iterator[str]:
    """The lines from ``start`` for one record: a quote left open past the bounds is an unbalanced quote."""
    chars = 0
    for i in range(start, min(len(lines), start + MAX_RECORD_LINES)):
        chars += len(lines[i])
        if chars > MAX_RECORD_CHARS:
            break
        yield lines[i]
    else:
        if start + MAX_RECORD_LINES >= len(lines):
            return  # the end of the file: the csv module says whether a quote is still open
    raise _TooLong


def _record(lines: list[str], i: int, delimiter: str) -> tuple[list[str] | None, int]:
    """The record that starts on line ``i``: (fields, lines it spans), or (None, 1) for an unbalanced quote."""
    line = lines[i]
    if '"' not in line:
        return line.rstrip("\r\n").split(delimiter), 1
    reader = csv.reader(_bounded(lines, i), delimiter=delimiter, strict=True)
    try:
        fields = next(reader)
    except (csv.Error, _TooLong, StopIteration):
        return None, 1
    return fields, reader.line_num


_QUOTED = r'"(?:[^"]|"")*"'


def read_frame(text: str, body: bytes | None = None) -> tuple[pl.DataFrame, list[int], CsvRecords] | None:
    """The common case fast: every record on one line, quotes balanced on each line. Returns the good rows as
    a frame of text (columns named by the header), each row's file line, and the lines that do not fit (in a
    :class:`CsvRecords` with no rows); None when a quote runs over a line end (message text, or an unbalanced
    quote): :func:`read_records` reads those files record by record. ``body`` is ``text`` as UTF-8 bytes, if
    the caller has them."""
    notices: list[str] = []
    if "\r" in text:
        if "\n" not in text:
            notices.append('lines end with a carriage return only (Excel "CSV Macintosh"); read as lines')
            text, body = text.replace("\r", "\n"), None
        elif text.count("\r") != text.count("\r\n"):
            return None
    first_end = text.find("\n")
    header_line = text[: first_end if first_end >= 0 else len(text)].rstrip("\r")
    if not header_line.strip():
        return None
    delimiter = _delimiter(header_line, notices)
    try:
        header = next(csv.reader([header_line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        return None
    if len(set(header)) != len(header):
        return None
    rest = text.split("\n")[1:]
    if rest and rest[-1] == "":
        rest.pop()  # the file's last line ends like every other
    lines = pl.Series("line", rest, dtype=pl.String).str.strip_chars_end("\r")
    outside = lines.str.replace_all(_QUOTED, "")  # what is left of a line once its quoted fields are taken out
    if outside.str.contains('"', literal=True).any():
        return None
    blank = lines.str.strip_chars() == ""
    fields = outside.str.count_matches(delimiter, literal=True) + 1
    good = (~blank) & (fields == len(header))
    numbers = pl.int_range(2, lines.len() + 2, eager=True)
    bad_rows = pl.DataFrame({"line": numbers, "fields": fields, "text": lines}).filter((~blank) & (~good))
    bad = [(n, f"expected {len(header)} fields, found {k}", t[:_RAW_SHOWN]) for n, k, t in bad_rows.iter_rows()]
    kept = lines.filter(good)
    if kept.is_empty():
        frame = pl.DataFrame({h: pl.Series([], dtype=pl.String) for h in header})
    else:
        data = body if (body is not None and not bad and not blank.any()) else (
            header_line + "\n" + "\n".join(kept.to_list()) + "\n").encode()
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False, separator=delimiter, quote_char='"',
                                truncate_ragged_lines=False)
        except pl.exceptions.PolarsError:
            return None
        if frame.height != kept.len():
            return None
    return frame, numbers.filter(good).to_list(), CsvRecords(header, [], [], bad, notices)


def read_records(text: str) -> CsvRecords:
    """The header and every record of a CSV text; records that are not right are kept apart with their line."""
    notices: list[str] = []
    if "\r" in text and "\n" not in text:
        notices.append('lines end with a carriage return only (Excel "CSV Macintosh"); read as lines')
    lines = _physical_lines(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return CsvRecords([], [], [], [], notices)
    delimiter = _delimiter(lines[first], notices)
    header, span = _record(lines, first, delimiter)
    if header is None:
        raise EncodingRefused(f"line {first + 1}: the header line has a quote that does not close")
    width = len(header)
    out = CsvRecords(header, [], [], [], notices)
    i = first + span
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fields, span = _record(lines, i, delimiter)
        if fields is None:
            out.bad.append((i + 1, "a quote opens on this line and does not close (an unbalanced quote); the lines "
                                   "after it are read on their own", line.rstrip("\r\n")[:_RAW_SHOWN]))
            i += 1
        elif len(fields) != width:
            reason = f"expected {width} fields, found {len(fields)}"
            if span > 1:
                # A quoted "field" running over lines into a record of the wrong size: the quote that opened it
                # is the fault; the lines it swallowed are read again on their own.
                reason += " (a quote on this line runs over the next lines: an unbalanced quote?)"
                span = 1
            out.bad.append((i + 1, reason, line.rstrip("\r\n")[:_RAW_SHOWN]))
            i += span
        else:
            out.rows.append(fields)
            out.lines.append(i + 1)
            i += span
    return out
