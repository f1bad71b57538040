"""Typed answers of the Care v2 and Bot v3 calls (plain frozen dataclasses; ``raw`` keeps the full payload)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AgentStateType",
    "Author",
    "BotHealth",
    "BotToken",
    "Conversation",
    "CurrentTar",
    "DisplayIdLookup",
    "ExportDownload",
    "Probe",
    "Tag",
    "Team",
    "WorkQueue",
    "from_ms",
]


def from_ms(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


@dataclass(frozen=True)
class ExportDownload:
    """One Analytics export file, as downloaded (bytes untouched)."""

    body: bytes
    fmt: str
    workflow_id: str
    run_id: str
    requests: int
    """HTTP requests this export cost (run, polls, download, retries; 0 when served from the cache)."""
    export_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    jobs: int = 1
    """Jobs run (more than one when a job FAILED)."""
    from_cache: bool = False
    links: int = 1
    """Download links asked for (more than one when a pre-signed link had expired)."""
    time_format: str | None = None
    """The tenant's time format (strftime) the body's times are written in, when configured."""
    time_zone: str | None = "UTC"
    """The zone the export was asked to write its times in (``timezone``); None with a fixed offset."""
    time_offset_ms: int | None = None
    """The fixed offset asked for instead (``timezoneOffset``)."""

    def time_reading(self) -> Any:
        """How this body's time text is read (a ``dashboard.schema.TimeReading``)."""
        from dashboard.schema import TimeReading

        return TimeReading(self.time_format, self.time_zone, self.time_offset_ms)

    def parse(self, *, source: str = "") -> Any:
        """The rows, typed per ``dashboard.schema`` (a ``ParseResult``: frame, quarantine, notices)."""
        from dashboard.schema import parse_export_bytes

        if not source and self.start is not None and self.end is not None:
            source = f"{self.export_id} {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"
        return parse_export_bytes(self.export_id, self.body, self.fmt, source=source, times=self.time_reading())


@dataclass(frozen=True)
class WorkQueue:
    id: int
    name: str
    archived: bool = False
    description: str | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class Tag:
    tag_id: int
    name: str
    hierarchy: str | None = None
    state: str | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class Team:
    team_id: int
    name: str
    description: str | None = None
    members: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class AgentStateType:
    id: str
    name: str
    type: str
    """AVAILABLE | OFFLINE | CUSTOM"""
    deleted: bool = False


@dataclass(frozen=True)
class Author:
    id: str
    """The author's Care id (``lswUuid`` of its first handle; falls back to the payload's ``id``)."""
    display_number: int | None
    network: str | None
    handle: str | None
    name: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Conversation:
    id: str
    display_number: int | None
    status: str | None
    priority: int | None
    work_queue_id: int | None
    assigned_agent_id: str | None
    created_time: datetime | None
    closed_time: datetime | None
    tags: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class BotHealth:
    app_id: str
    status: str
    """HEALTHY | DEGRADED | DOWN"""
    failure_count: int
    success_count: int


@dataclass(frozen=True)
class BotToken:
    app_id: str
    token: str = field(repr=False)
    expires_at: datetime

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()


@dataclass(frozen=True)
class DisplayIdLookup:
    """Conversations found by display number; ``unprocessed`` lists the numbers Khoros named in ``_meta``."""

    conversations: tuple[Conversation, ...]
    unprocessed: tuple[int, ...] = ()


@dataclass(frozen=True)
class CurrentTar:
    """Khoros' own "time to agent response" (``GET /api/v2/bots/currentTAR``) for a live range."""

    response_type: str
    """FIRST | SUBSEQUENT"""
    average_ms: float | None
    median_ms: float | None
    range_ms: int
    priorities: tuple[int, ...] = ()
    work_queue_ids: tuple[int, ...] = ()
    smart_view_id: int | None = None


@dataclass(frozen=True)
class Probe:
    """One cheap authenticated call, for ``doctor``: what answered, when, and the server's clock."""

    family: str
    method: str
    url: str
    """Redacted (no query)."""
    status: int | None
    """None when no answer came (network error)."""
    ok: bool
    message: str = ""
    server_time: datetime | None = None
    """The answer's ``Date`` header."""
    local_time: datetime | None = None
    """Our clock halfway through the call."""
    rate_headers: dict[str, str] = field(default_factory=dict)
    """``Retry-After`` and ``X-RateLimit-*`` headers, when the answer had any."""

    @property
    def clock_skew_s(self) -> float | None:
        """Server clock minus ours (seconds; the ``Date`` header has whole seconds, so +-1 s is noise)."""
        if self.server_time is None or self.local_time is None:
            return None
        return (self.server_time - self.local_time).total_seconds()
