"""Times: a company's time format (strftime or Khoros' ``MM/dd/yyyy`` style), what a file's time text looks like,
the decision how to read it (never a guess), and the expressions that read it into UTC instants."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from dashboard.schema._columns import TIME, TimeFormatError

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
TIME_RANGE = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
"""Instants a Khoros export can hold: a time outside is a placeholder (epoch 0) or a broken value (year 2200), and
its row is quarantined rather than given a day partition of its own."""
EPOCH_SECONDS_BELOW = 100_000_000_000
"""An epoch number below this (10^11) is in seconds, not milliseconds: 10^11 ms is March 1973, before any
Khoros data, and 10^11 s is the year 5138. Every in-range instant has exactly one reading by magnitude."""


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


def _epoch_number(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The epoch number a value is (numeric, or digit text), else null."""
    if dtype.is_numeric():
        return raw.cast(pl.Int64, strict=False)
    s = raw.cast(pl.String).str.strip_chars()
    return pl.when(s.str.contains(_EPOCH.pattern)).then(s.cast(pl.Int64, strict=False))


def _from_epoch(number: pl.Expr) -> pl.Expr:
    """Epoch milliseconds, or seconds told apart by magnitude (:data:`EPOCH_SECONDS_BELOW`)."""
    return pl.when(number.abs() < EPOCH_SECONDS_BELOW).then(number * 1000).otherwise(number).cast(TIME)


def epoch_seconds(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where a value is an epoch number in seconds (read as such) that lands inside :data:`TIME_RANGE`."""
    number = _epoch_number(raw, dtype)
    instant = _from_epoch(number)
    return ((number.abs() < EPOCH_SECONDS_BELOW) & (instant >= TIME_RANGE[0]) & (instant < TIME_RANGE[1])
            ).fill_null(False)


def _time_expr(raw: pl.Expr, dtype: pl.DataType, plan: _TimePlan) -> pl.Expr:
    if dtype.is_numeric():
        return _from_epoch(_epoch_number(raw, dtype))
    s = raw.cast(pl.String).str.strip_chars()
    as_ms = _from_epoch(_epoch_number(raw, dtype))
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
