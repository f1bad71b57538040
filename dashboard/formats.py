"""How times and durations read, everywhere a person reads them: pages, charts, downloads' captions and the CLI.

One time format (24 h, in the report time zone), one date format, one way to write a duration — defined here so
that views, chart builders and the CLI cannot drift apart. Python's ``strftime`` and d3's time format (Vega)
read the same directives, and :data:`DURATION_LABEL_EXPR` is :func:`format_duration` as a Vega expression.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["DATE_FORMAT", "DURATION_LABEL_EXPR", "TIME_FORMAT", "duration_ticks", "format_duration", "local_text",
           "report_zone_problem"]

TIME_FORMAT = "%a %d %b %H:%M"
"""The one way a time reads (24 h, in the report time zone)."""
DATE_FORMAT = "%d %b %Y"


def format_duration(seconds: float | None) -> str:
    """``"45s"``, ``"12m"``, ``"3h 05m"``, ``"2d 4h"``; "—" for none."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = float(seconds)
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.0f}s"
    if s < 3600:
        return f"{sign}{s / 60:.0f}m"
    if s < 86400:
        h, m = divmod(round(s / 60), 60)
        return f"{sign}{h}h {m:02d}m"
    d, h = divmod(round(s / 3600), 24)
    return f"{sign}{d}d {h}h"


# format_duration for an axis of seconds (non-negative ticks), so a chart's durations read like the tables'.
DURATION_LABEL_EXPR = (
    "datum.value < 60 ? format(datum.value, '.0f') + 's'"
    " : datum.value < 3600 ? format(datum.value / 60, '.0f') + 'm'"
    " : datum.value < 86400 ? floor(round(datum.value / 60) / 60) + 'h '"
    " + pad(toString(round(datum.value / 60) % 60), 2, '0', 'left') + 'm'"
    " : floor(round(datum.value / 3600) / 24) + 'd ' + (round(datum.value / 3600) % 24) + 'h'"
)

_NICE_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 4 * 3600, 6 * 3600, 12 * 3600, 86400,
               2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400)


def duration_ticks(largest: float | None, most: int = 8) -> tuple[float, list[float]]:
    """A round step (1 min, 5 min, 1 h, 1 d, ...) and the ticks 0, step, 2·step ... covering ``largest`` seconds,
    at most ``most`` + 1 of them: an axis of seconds whose labels read as whole durations."""
    top = max(float(largest or 0.0), 1.0)
    step = next((s for s in _NICE_STEPS if top / s <= most), _NICE_STEPS[-1] * math.ceil(top / most / _NICE_STEPS[-1]))
    count = math.ceil(top / step)
    return float(step), [float(step * i) for i in range(count + 1)]


def local_text(moment: datetime | None, tz: str, fmt: str = TIME_FORMAT) -> str:
    """One instant as the reader's clock shows it, in ``tz``; "—" for none."""
    return "—" if moment is None else moment.astimezone(ZoneInfo(tz)).strftime(fmt)


def report_zone_problem(name: str) -> str | None:
    """Why ``name`` is not a report time zone, or None when it is one. A report zone is an IANA region name
    (``America/New_York``) or UTC: never a fixed offset or a legacy abbreviation (``EST``, ``EST5EDT``,
    ``Etc/GMT+5``), which ignore daylight saving or read the sign backwards."""
    from zoneinfo import available_timezones

    if name in ("UTC", "Etc/UTC"):
        return None
    if name not in available_timezones():
        return f"unknown time zone {name!r} (use an IANA name like America/New_York)"
    if "/" not in name or name.startswith(("Etc/", "SystemV/")):
        return (f"{name!r} is a fixed offset or a legacy abbreviation, not a region's time zone (use an IANA name "
                "like America/New_York, which follows daylight saving)")
    return None
