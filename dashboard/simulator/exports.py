"""Analytics export views of the world: row selection per export and the JSON/CSV renderings.

Selection rules (the same ones the client and the store assume):
- every export selects rows whose schema ``time_column`` lies in ``[startTime, endTime)`` (and, with
  ``enableBusinessHour=true&businessHourType=true|false``, inside or outside the centre's business hours);
- ``conversation`` honours ``conversationReportType``: ``CREATED`` (created in the window), ``CLOSED`` (final
  close in the window), ``OPEN_AT_END`` (the default: created before ``endTime`` and not closed at that instant,
  judged from the STATUS_CHANGED history, so a past window gets the backlog as it was then).
Rows always show the world as it is *now* (like a real export run today).

JSON downloads are a top-level array of row objects with times as epoch ms; CSV downloads have the schema
column ids as header, times as ISO-8601 with the offset of the requested zone, and tags joined by ";".
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dashboard.schema import EXPORTS, TIME
from dashboard.simulator.world import World

__all__ = ["ANALYTICS_EXPORTS", "ExportRequest", "ExportRequestError", "render", "select_rows"]

ANALYTICS_EXPORTS = tuple(e for e in EXPORTS if e != "bot_request")
REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")
MAX_RANGE_MS = 31 * 24 * 3600 * 1000


class ExportRequestError(ValueError):
    """A bad export request; the message says which parameter and why."""


@dataclass(frozen=True)
class ExportRequest:
    export_id: str
    start_ms: int
    end_ms: int
    fmt: str = "json"
    columns: tuple[str, ...] = ()
    timezone: str | None = None
    timezone_offset_ms: int | None = None
    report_type: str = "OPEN_AT_END"
    priorities: tuple[int, ...] = ()
    work_queue_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    business_hours: bool | None = None
    """``businessHourType``: True = rows inside business hours, False = outside, None = all (24/7)."""


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


def _time_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c, dt in frame.schema.items() if isinstance(dt, pl.Datetime)]


def render(frame: pl.DataFrame, req: ExportRequest) -> bytes:
    """The download body for ``frame`` in the requested format (deterministic bytes)."""
    times = _time_columns(frame)
    if req.fmt == "json":
        out = frame.with_columns([pl.col(c).dt.epoch("ms") for c in times])
        return out.write_json().encode() if out.height else b"[]"
    exprs: list[pl.Expr] = []
    for c in times:
        if req.timezone:
            local = pl.col(c).dt.convert_time_zone(req.timezone)
            exprs.append(local.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").alias(c))
        else:
            # timezoneOffset is a fixed offset (Khoros ignores daylight saving for it); none means UTC.
            offset = req.timezone_offset_ms or 0
            shifted = pl.col(c) + pl.duration(milliseconds=offset)
            exprs.append(
                (shifted.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f") + pl.lit(_offset_text(offset))).alias(c)
            )
    for c, dt in frame.schema.items():
        if isinstance(dt, pl.List):
            exprs.append(pl.col(c).list.join(";").alias(c))
    return frame.with_columns(exprs).write_csv().encode()


def _offset_text(offset_ms: int) -> str:
    sign = "+" if offset_ms >= 0 else "-"
    minutes = abs(offset_ms) // 60000
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
