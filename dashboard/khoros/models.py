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
    "ExportDownload",
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
    """Jobs run (more than one when a job FAILED or its link expired)."""
    from_cache: bool = False

    def parse(self, *, source: str = "") -> Any:
        """The rows, typed per ``dashboard.schema`` (a ``ParseResult``: frame, quarantine, notices)."""
        from dashboard.schema import parse_export_bytes

        if not source and self.start is not None and self.end is not None:
            source = f"{self.export_id} {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"
        return parse_export_bytes(self.export_id, self.body, self.fmt, source=source)


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
