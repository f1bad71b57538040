"""The world's configuration and the world itself (the tables every simulator answer is a view of)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from dashboard.simulator.calendar import BusinessCalendar
from dashboard.simulator.world.reference import COMPANY_TIME_FORMATS

GENERATOR = 2
"""The generator's version: one config gives one world within a version (2: keyed draws, prefix-stable). The demo
records it beside its world and makes the world anew when its store holds another version's."""
MAX_SPAN = timedelta(days=730)
"""The longest world (a demo world that has advanced for two years is made anew)."""


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    days: int = 90
    conversations_per_day: int = 400
    end: datetime | None = None
    """The world's "now" (UTC); None = the current time floored to the minute."""
    timezone: str = "America/New_York"
    """The company's zone: its business hours, and the zone its exports write times in by default."""
    company_time_format: str = "MM/dd/yyyy HH:mm:ss"
    """The company's time format setting in Khoros: how its exports write times (one of
    ``COMPANY_TIME_FORMATS``). en_US's usual format by default, so every test reads slash dates."""
    start: datetime | None = None
    """The world's first instant (UTC); None = ``end - days``. A world whose end moves on keeps its start (the
    demo's clock advancing): the same seed, size, zone and start give the same world up to the earlier end."""

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"WorldConfig.seed must be a non-negative integer, got {self.seed!r}")
        if not 1 <= self.days <= 730:
            raise ValueError(f"WorldConfig.days must be between 1 and 730, got {self.days}")
        if not 1 <= self.conversations_per_day <= 50_000:
            raise ValueError(
                f"WorldConfig.conversations_per_day must be between 1 and 50000, got {self.conversations_per_day}")
        if self.end is not None and self.end.tzinfo is None:
            raise ValueError(f"WorldConfig.end must be timezone-aware (UTC), got naive {self.end.isoformat()}")
        if self.start is not None:
            if self.start.tzinfo is None:
                raise ValueError(f"WorldConfig.start must be timezone-aware (UTC), got naive {self.start.isoformat()}")
            if self.end is not None and not timedelta(0) < self.end - self.start <= MAX_SPAN:
                raise ValueError(f"WorldConfig.start {self.start.isoformat()} must be before end "
                                 f"{self.end.isoformat()} and at most {MAX_SPAN.days} days before it")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"WorldConfig.timezone {self.timezone!r} is not an IANA time zone name") from None
        if self.company_time_format not in COMPANY_TIME_FORMATS:
            raise ValueError(f"WorldConfig.company_time_format {self.company_time_format!r} is not one of "
                             f"{', '.join(COMPANY_TIME_FORMATS)}")

    def resolved_end(self) -> datetime:
        end = self.end or datetime.now(UTC).replace(second=0, microsecond=0)
        return end.astimezone(UTC)

    def resolved_start(self, end: datetime | None = None) -> datetime:
        """The first instant (for ``end``, default :meth:`resolved_end`)."""
        if self.start is not None:
            return self.start.astimezone(UTC)
        return (end or self.resolved_end()) - timedelta(days=self.days)


@dataclass
class World:
    config: WorldConfig
    now: datetime
    start: datetime
    tables: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    incidents: list[dict[str, Any]]
    work_queues: pl.DataFrame
    teams: pl.DataFrame
    agents: pl.DataFrame
    bots: pl.DataFrame
    tags: pl.DataFrame
    agent_state_types: pl.DataFrame
    schedule: dict[str, Any] = field(default_factory=dict)
    """The agents' business hours (zone, weekly hours, holidays in the period)."""
    calendar: BusinessCalendar | None = None
    """The same hours as opening intervals with a business clock (for the exports' business-hour filter)."""

    @property
    def now_ms(self) -> int:
        return epoch_ms(self.now)

    @property
    def start_ms(self) -> int:
        return epoch_ms(self.start)

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.config.seed,
            "days": self.config.days,
            "conversations_per_day": self.config.conversations_per_day,
            "timezone": self.config.timezone,
            "company_time_format": self.config.company_time_format,
            "start": self.start.isoformat(),
            "now": self.now.isoformat(),
            "rows": {k: v.height for k, v in self.tables.items()},
        }


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)

