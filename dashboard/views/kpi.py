"""How figures read on a page: a KPI card (value, change against the previous period, a sparkline and its
explanation), a plain metric card, and the formats of durations and ratios.

Built by the views from metric outputs; drawn by ``dashboard.ui.render_kpi_row`` / ``render_cards``. Holding the
definition, parameters and rows with the value is what lets every KPI answer "how was this computed, and from
which rows?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from dashboard.formats import DATE_FORMAT, TIME_FORMAT, format_duration, local_text

__all__ = ["DATE_FORMAT", "TIME_FORMAT", "Card", "Kpi", "duration_text", "format_duration", "format_value", "in_zone",
           "local_text", "time_text"]

Unit = Literal["count", "seconds", "ratio", "decimal"]
"""``decimal``: a figure read to two places (e.g. conversations in hand per agent)."""


def format_value(value: float | None, unit: Unit) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "seconds":
        return format_duration(value)
    if unit == "ratio":
        return f"{100 * value:.1f}%"
    if unit == "decimal":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    unit: Unit
    definition: str
    previous: float | None = None
    sparkline: list[float] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    rows: pl.DataFrame | None = None
    lower_is_better: bool = False
    comparison: str = "vs previous period"
    """What the change is measured against (e.g. the same hours of the previous period when today is partial)."""

    @property
    def delta_description(self) -> str:
        return self.comparison

    @property
    def text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def delta(self) -> str | None:
        """Change against the previous period, in the KPI's unit (percentage points for ratios)."""
        if self.value is None or self.previous is None:
            return None
        diff = self.value - self.previous
        if self.unit == "ratio":
            return f"{100 * diff:+.1f} pp"
        if self.unit == "seconds":
            return ("+" if diff >= 0 else "") + format_duration(diff)
        if self.unit == "decimal":
            return f"{diff:+,.2f}"
        if self.previous:
            return f"{diff:+,.0f} ({100 * diff / self.previous:+.0f}%)"
        return f"{diff:+,.0f}"


@dataclass(frozen=True)
class Card:
    """A plain metric card: a label, its value as text, and an optional explanation."""

    label: str
    value: str
    help: str | None = None


def duration_text(seconds_column: str) -> pl.Expr:
    """A column of seconds as durations ("1h 05m"); "—" where there is none."""
    return pl.col(seconds_column).map_elements(format_duration, return_dtype=pl.String).fill_null("—")


def in_zone(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Every instant column in the report time zone (they are UTC inside)."""
    return frame.with_columns(pl.col(pl.Datetime("ms", "UTC"), pl.Datetime("us", "UTC"), pl.Datetime("ns", "UTC"))
                              .dt.convert_time_zone(tz))


def time_text(column: str, tz: str) -> pl.Expr:
    """An instant column as the reader's clock shows it (:data:`TIME_FORMAT` in ``tz``); "—" where there is none."""
    return pl.col(column).dt.convert_time_zone(tz).dt.strftime(TIME_FORMAT).fill_null("—")
