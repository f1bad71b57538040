"""Analytics export views of the world: row selection per export and the JSON/CSV renderings.

Renderings follow what Khoros documents (``khoros-care-api.md`` §12), not what is easiest to read:
- column ids are UPPER_SNAKE_CASE (Khoros' documented ids where there is one: ``ASSIGNED_AGENT_DISPLAY_ID``,
  ``TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS``; our column names in capitals elsewhere), in JSON keys and CSV headers;
- every field is a string (an empty string where there is no value); booleans ``true``/``false``; tags joined
  by ``;``; durations in milliseconds (``*_MILLIS``);
- times are local times in the company's format (``WorldConfig.company_time_format``, e.g.
  ``MM/dd/yyyy HH:mm:ss``) and zone: the ``timezone`` parameter picks another zone, ``timezoneOffset`` a fixed
  offset (no daylight saving), ``locale`` another format (en: ``MM/dd/yyyy``, en_GB/es/fr: ``dd/MM/yyyy``,
  de/tr: ``dd.MM.yyyy``).

Selection rules (the same ones the client and the store assume):
- every export selects rows whose schema ``time_column`` lies in ``[startTime, endTime)`` (and, with
  ``enableBusinessHour=true&businessHourType=true|false``, inside or outside the centre's business hours);
- ``conversation`` honours ``conversationReportType``: ``CREATED`` (created in the window), ``CLOSED`` (final
  close in the window), ``OPEN_AT_END`` (the default: created before ``endTime`` and not closed at that instant,
  judged from the STATUS_CHANGED history, so a past window gets the backlog as it was then).
Rows always show the world as it is *now* (like a real export run today).

JSON downloads are a top-level array of row objects; CSV downloads have a header line.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dashboard.schema import EXPORTS, TIME
from dashboard.simulator.world import World
from dashboard.simulator.world.reference import COMPANY_TIME_FORMATS, LOCALE_TIME_FORMATS

__all__ = ["ANALYTICS_EXPORTS", "ExportRequest", "ExportRequestError", "column_id", "column_ids", "render",
           "select_rows"]

ANALYTICS_EXPORTS = tuple(e for e in EXPORTS if e != "bot_request")
REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")
MAX_RANGE_MS = 31 * 24 * 3600 * 1000


class ExportRequestError(ValueError):
    """A bad export request; the message says which parameter and why."""


DOCUMENTED_IDS = {
    ("conversation", "assigned_agent_id"): "ASSIGNED_AGENT_DISPLAY_ID",
    ("team_performance", "logged_in_seconds"): "TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS",
}
MILLIS_COLUMNS = {("team_performance", "logged_in_seconds")}
"""Columns the world keeps in seconds and the export writes in milliseconds."""


def column_id(export_id: str, name: str) -> str:
    """The id a column has in the export (``reportMetrics``, JSON keys, CSV headers)."""
    return DOCUMENTED_IDS.get((export_id, name), name.upper())


def column_ids(world: World, export_id: str) -> dict[str, str]:
    """Khoros id -> world column, for every column of the export (the author's CRM attributes included)."""
    return {column_id(export_id, c): c for c in world.tables[export_id].columns}


@dataclass(frozen=True)
class ExportRequest:
    export_id: str
    start_ms: int
    end_ms: int
    fmt: str = "json"
    columns: tuple[str, ...] = ()
    """World column names asked for with ``reportMetrics`` (empty: all)."""
    timezone: str | None = None
    timezone_offset_ms: int | None = None
    report_type: str = "OPEN_AT_END"
    priorities: tuple[int, ...] = ()
    work_queue_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    business_hours: bool | None = None
    """``businessHourType``: True = rows inside business hours, False = outside, None = all (24/7)."""
    locale: str | None = None


def _ms_col(ms: int) -> pl.Expr:
    return pl.lit(ms).cast(pl.Int64).cast(TIME)


def select_rows(world: World, req: ExportRequest) -> pl.DataFrame:
    table = world.tables[req.export_id]
    schema = EXPORTS[req.export_id]
    start, end = _ms_col(req.start_ms), _ms_col(req.end_ms)
    if req.export_id == "conversation":
        if req.report_type == "CREATED":
            rows = table.filter((pl.col("created_time") >= start) & (pl.col("created_time") < end))
        elif req.report_type == "CLOSED":
            rows = table.filter((pl.col("closed_time") >= start) & (pl.col("closed_time") < end))
        else:
            closed_at_end = (
                world.tables["conversation_history_action"]
                .filter((pl.col("action") == "STATUS_CHANGED") & (pl.col("action_time") < end))
                .group_by("conversation_id")
                .agg(pl.col("to_value").sort_by("action_time").last().alias("state_at_end"))
                .filter(pl.col("state_at_end") == "CLOSED")
            )
            rows = table.filter(pl.col("created_time") < end).join(
                closed_at_end, on="conversation_id", how="anti", maintain_order="left"
            )
    else:
        t = pl.col(schema.time_column)
        rows = table.filter((t >= start) & (t < end))
    names = schema.names
    if req.priorities and "priority" in names:
        rows = rows.filter(pl.col("priority").is_in(list(req.priorities)))
    if req.work_queue_ids and "work_queue_id" in names:
        rows = rows.filter(pl.col("work_queue_id").is_in(list(req.work_queue_ids)))
    if req.team_ids and "team_id" in names:
        rows = rows.filter(pl.col("team_id").is_in(list(req.team_ids)))
    if req.business_hours is not None and world.calendar is not None:
        rows = _by_business_hours(rows, EXPORTS[req.export_id].time_column, world.calendar, req.business_hours)
    if req.columns:
        rows = rows.select(list(req.columns))
    return rows


def _by_business_hours(rows: pl.DataFrame, column: str, calendar, inside: bool) -> pl.DataFrame:
    """Rows whose ``column`` instant lies inside (or outside) the world's opening intervals."""
    t = rows[column].dt.epoch("ms").to_numpy()
    i = calendar.interval_index(t)
    safe = i.clip(0, max(len(calendar.opens) - 1, 0))
    within = (i >= 0) & (t < calendar.closes[safe]) if len(calendar.opens) else t < 0
    return rows.filter(pl.Series(within if inside else ~within))


def render(frame: pl.DataFrame, req: ExportRequest, world: World, *, drop: tuple[str, ...] = ()) -> bytes:
    """The download body for ``frame`` in the requested format (deterministic bytes). ``drop``: Khoros column
    ids to leave out (a fault: a column the tenant does not export)."""
    cfg = world.config
    pattern = LOCALE_TIME_FORMATS.get((req.locale or "").lower().replace("-", "_"), cfg.company_time_format)
    strftime = COMPANY_TIME_FORMATS[pattern]
    exprs: list[pl.Expr] = []
    for c, dt in frame.schema.items():
        col = pl.col(c)
        if isinstance(dt, pl.Datetime):
            if req.timezone is None and req.timezone_offset_ms is not None:
                # timezoneOffset is a fixed offset: Khoros ignores daylight saving for it.
                local = col + pl.duration(milliseconds=req.timezone_offset_ms)
            else:
                local = col.dt.convert_time_zone(req.timezone or cfg.timezone)
            text = local.dt.strftime(strftime)
        elif isinstance(dt, pl.List):
            text = col.list.join(";")
        elif dt == pl.Boolean:
            text = pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
        elif (req.export_id, c) in MILLIS_COLUMNS:
            text = (col * 1000).cast(pl.String)
        else:
            text = col.cast(pl.String)
        exprs.append(text.fill_null("").alias(column_id(req.export_id, c)))
    out = frame.select(exprs)
    if drop:
        out = out.drop([c for c in out.columns if c in drop])
    if req.fmt == "json":
        return out.write_json().encode() if out.height else b"[]"
    return out.write_csv().encode()
