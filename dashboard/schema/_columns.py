"""The columns of every export: names, kinds, aliases, keys, and how a file's headers match them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import polars as pl

from dashboard.errors import DashboardError

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
    order: tuple[tuple[str, str], ...] = ()
    """(earlier, later) time columns: a row whose later time is before its earlier one cannot be true."""

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
            order=(("created_time", "closed_time"),),
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
            order=(("start_time", "end_time"),),
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


REFERENCE_TABLES: dict[str, ExportSchema] = {
    s.export_id: s
    for s in [
        # Reference data the sync fetches (khoros-care-api.md §2.1, §5), kept in the store like an export: one
        # "day" per day it was fetched, so an id no longer listed keeps its last known name (dashboard/store/
        # reference.py). Not Analytics exports: EXPORTS does not list them.
        ExportSchema(
            "reference_work_queue",
            "work queue (GET /api/v2/workqueues/active)",
            (
                _c("work_queue_id", "int", True, "id"),
                _c("name", "str", False),
                _c("archived", "bool", False),
                _c("description", "str", False),
                _c("uuid", "str", False),
                _c("fetched_time", "time", True, doc="when the listing holding this row was fetched"),
            ),
            key=("work_queue_id",),
            time_column="fetched_time",
        ),
        ExportSchema(
            "reference_team",
            "team (GET /api/public/teams)",
            (
                _c("team_id", "int", True, "teamId"),
                _c("name", "str", False),
                _c("description", "str", False),
                _c("members", "int", False, "numberOfMembers"),
                _c("uuid", "str", False),
                _c("fetched_time", "time", True, doc="when the listing holding this row was fetched"),
            ),
            key=("team_id",),
            time_column="fetched_time",
        ),
    ]
}


def export_schema(export_id: str) -> ExportSchema:
    """The schema of an export, or of a reference table the store keeps the same way."""
    try:
        return EXPORTS[export_id] if export_id in EXPORTS else REFERENCE_TABLES[export_id]
    except KeyError:
        raise SchemaError(f"unknown export {export_id!r}; known: {', '.join(sorted(EXPORTS))}") from None


QUARANTINE_SCHEMA = pl.Schema(
    {"export": pl.String(), "source": pl.String(), "line": pl.Int64(), "reason": pl.String(), "raw": pl.String()}
)



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

