"""What a reader chose: the report window, time zone, dimension filters and bot rule (:class:`Filters`), and the
dimensions themselves (:data:`DIMENSIONS`), defined once for the sidebar, the views and the report CLI.

A filter is ``{dimension key: values}``; an empty tuple means "all". Dimension columns are columns of the
conversation facts frame (``dashboard.metrics.conversation_facts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

__all__ = [
    "DIMENSIONS",
    "DIMENSION_BY_KEY",
    "FILTER_COLUMNS",
    "Dimension",
    "Filters",
    "apply_filters",
    "filter_options",
]


@dataclass(frozen=True)
class Dimension:
    key: str
    """The name in a URL (``?queue=3``), a filter and ``report --by``."""
    column: str
    """The conversation facts column."""
    label: str
    """What a reader sees."""


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("tier", "tier", "Customer tier"),
    Dimension("priority", "priority", "Priority"),
    Dimension("queue", "work_queue_id", "Work queue"),
    Dimension("channel", "network", "Channel"),
    Dimension("team", "team_id", "Team"),
    Dimension("agent", "agent_id", "Agent"),
)
DIMENSION_BY_KEY: dict[str, Dimension] = {d.key: d for d in DIMENSIONS}
FILTER_COLUMNS: dict[str, str] = {d.key: d.column for d in DIMENSIONS}


def apply_filters(frame: pl.DataFrame | pl.LazyFrame, filters: Mapping[str, Sequence]) -> pl.DataFrame | pl.LazyFrame:
    """Keep rows whose dimension value is among the chosen ones, for every dimension with a choice."""
    schema = frame.collect_schema()
    conditions = []
    for dimension, values in filters.items():
        if not values:
            continue
        column = FILTER_COLUMNS.get(dimension)
        if column is None:
            raise KeyError(f"unknown filter {dimension!r}; known: {', '.join(FILTER_COLUMNS)}")
        if column not in schema.names():
            raise KeyError(f"filter {dimension!r} needs column {column!r}, which this frame does not have")
        conditions.append(pl.col(column).is_in(pl.Series(list(values)).cast(schema[column], strict=False)))
    return frame.filter(*conditions) if conditions else frame


def filter_options(facts: pl.DataFrame) -> dict[str, list]:
    """The values each filter can take, sorted, from the facts frame."""
    return {d.key: facts.get_column(d.column).drop_nulls().unique().sort().to_list()
            for d in DIMENSIONS if d.column in facts.columns}


@dataclass(frozen=True)
class Filters:
    """A report window of whole local days ``[start, end)`` in ``tz``, dimension filters and the bot rule.
    ``as_of`` is the instant live figures are computed at (None: the core's ``now()``)."""

    start: date
    end: date
    """The day after the last day (exclusive)."""
    tz: str
    dimensions: Mapping[str, Sequence] = field(default_factory=dict)
    bot_rule: str = "human"
    as_of: datetime | None = None

    @classmethod
    def last_days(cls, now: datetime, tz: str, days: int = 28, **kwargs: object) -> Filters:
        """The ``days`` local days up to and including today (partial), as the sidebar's presets choose."""
        today = now.astimezone(ZoneInfo(tz)).date()
        end = today + timedelta(days=1)
        return cls(start=end - timedelta(days=days), end=end, tz=tz, as_of=now, **kwargs)  # type: ignore[arg-type]

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous_window(self) -> tuple[date, date]:
        return self.start - timedelta(days=self.days), self.start

    def _local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), ZoneInfo(self.tz)).astimezone(UTC)

    def partial_cut(self, as_of: datetime) -> datetime | None:
        """When the window's last day is still running at ``as_of`` (today, partial): the same instant of the
        previous window — the same local clock time, :attr:`days` days earlier — up to which it is comparable.
        None when the window has ended (or not begun) at ``as_of``."""
        if not self._local_midnight(self.start) <= as_of < self._local_midnight(self.end):
            return None
        local = as_of.astimezone(ZoneInfo(self.tz))
        earlier = local.replace(tzinfo=None) - timedelta(days=self.days)  # wall clock, across daylight saving
        return earlier.replace(tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    def previous_comparable(self, as_of: datetime) -> tuple[date, date | datetime]:
        """The previous window, cut at :meth:`partial_cut` when the current one is partial: like is compared with
        like (six days and ten hours with six days and ten hours, not with seven whole days)."""
        start, end = self.previous_window()
        cut = self.partial_cut(as_of)
        return (start, end) if cut is None else (start, cut)

    def comparable(self, frame: pl.DataFrame | pl.LazyFrame, as_of: datetime,
                   column: str = "first_inbound_time") -> pl.DataFrame | pl.LazyFrame:
        """``frame`` without the previous window's rows after :meth:`partial_cut` (rows of the current window and
        before the previous one are kept), so a period-over-period figure compares the same span."""
        cut = self.partial_cut(as_of)
        if cut is None:
            return frame
        dtype = frame.collect_schema()[column]
        later = (pl.col(column) >= pl.lit(cut).cast(dtype)) & (pl.col(column) < pl.lit(
            self._local_midnight(self.start)).cast(dtype))
        return frame.filter(~later.fill_null(False))

    def apply(self, facts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return apply_filters(facts, self.dimensions)

    @property
    def window_text(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} (exclusive), {self.tz}"

    def describe(self, labels: Mapping[str, Mapping[object, str]] | None = None) -> str:
        """The window and the chosen filters in words; ``labels`` (per filter key, value -> what a reader sees)
        names agents, work queues and teams instead of their ids."""
        labels = labels or {}

        def shown(key: str, value: object) -> str:
            return labels.get(key, {}).get(value, str(value))

        parts = [f"{self.start:%d %b %Y} – {self.end - timedelta(days=1):%d %b %Y} ({self.tz})"]
        parts += [f"{DIMENSION_BY_KEY[k].label}: {', '.join(shown(k, x) for x in v)}"
                  for k, v in self.dimensions.items() if v]
        return " · ".join(parts)
