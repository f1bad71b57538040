"""Contact reasons: why customers write, by conversation tag or disposition — volume, share, service levels per
reason, the reasons rising fastest, and the conversations behind one.

Figures from ``dashboard.metrics.reasons`` (``reason_table``, ``rising_reasons``, ``conversations_with_reason``),
the functions of ``python -m dashboard report reasons`` and the planning notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import altair as alt
import polars as pl

from dashboard import charts_planning
from dashboard.errors import PlanningError
from dashboard.filters import Filters
from dashboard.metrics import reasons, sla, stats
from dashboard.views.kpi import duration_text, in_zone

__all__ = [
    "REASON_LABELS",
    "ReasonDrilldown",
    "ReasonsView",
    "build_reason_drilldown",
    "build_reasons",
    "tag_options",
]

REASON_LABELS = {"tag": "Tag", "disposition": "Disposition"}
DRILL_COLUMNS = ("conversation_id", "conversation_display_id", "first_inbound_time", "tier", "priority", "network",
                 "work_queue_id", "agent_id", "status", "tags", "disposition", "first_response_time",
                 "first_closed_time")
EMPTY = ("No conversations arrived in this window for these filters. Widen the date range or clear a filter in the "
         "sidebar.")


@dataclass(frozen=True)
class ReasonsView:
    by: str
    caption: str
    empty_message: str | None
    note: str
    """What a row counts (multi-tag conversations count once per tag) and how the figures are computed."""
    table: pl.DataFrame
    """As shown: one row per reason with volume, share and the service levels (percentages 0-100)."""
    rising: pl.DataFrame
    """As shown: reasons that grew against the previous window (at least ``min_volume`` conversations)."""
    rising_note: str
    rising_empty: str | None
    """Set when no reason grew enough to be listed."""
    chart: alt.Chart | None
    options: list[str]
    """The reasons, largest first (the drill-down's choices)."""
    reasons: pl.DataFrame = field(repr=False)
    """``reasons.reason_table`` (raw: seconds, ratios) — the report's rows."""
    rising_raw: pl.DataFrame = field(repr=False)


def _check_by(by: str) -> None:
    if by not in REASON_LABELS:
        raise PlanningError(f"contact reasons by {by!r}: use one of {', '.join(REASON_LABELS)}")


def tag_options(core, filters: Filters) -> list[str]:
    """Every tag on the window's conversations (sidebar filters applied), sorted: what the page can leave out."""
    facts = filters.apply(core.facts(filters.bot_rule)).lazy()
    window = sla.in_window(facts, filters.start, filters.end, filters.tz)
    tags = window.select(pl.col("tags").explode().str.strip_chars().alias("tag")).drop_nulls().unique().sort("tag")
    return [t for t in tags.collect().get_column("tag").to_list() if t]


def build_reasons(core, filters: Filters, *, by: str = "tag", min_volume: int = 10,
                  exclude: Sequence[str] = ()) -> ReasonsView:
    """Contact reasons of the conversations whose first inbound post is in the window (sidebar filters applied)."""
    _check_by(by)
    label = REASON_LABELS[by]
    facts = filters.apply(core.facts(filters.bot_rule)).lazy()
    window = {"start": filters.start, "end": filters.end, "tz": filters.tz}
    table = reasons.reason_table(facts, core.policy(), **window, by=by, as_of=filters.as_of or core.now(),
                                 exclude=tuple(exclude)).collect()
    rising = reasons.rising_reasons(facts, **window, by=by, min_volume=min_volume,
                                    exclude=tuple(exclude)).collect()
    total = sla.in_window(facts, filters.start, filters.end, filters.tz).select(pl.len()).collect().item()
    shown = table.select(
        pl.col("reason").alias(label),
        pl.col("conversations").alias("Conversations"),
        (pl.col("share") * 100).alias("Share %"),
        *([pl.col("multi_tagged").alias("Also other tags")] if by == "tag" else []),
        (pl.col("first_response_attainment") * 100).alias("First response SLA %"),
        duration_text("first_response_median_seconds").alias("FRT median"),
        duration_text("first_response_p90_seconds").alias("FRT p90"),
        pl.col("first_response_pending").alias("FR pending"),
        (pl.col("resolution_attainment") * 100).alias("Resolution SLA %"),
        duration_text("resolution_median_seconds").alias("Resolution median"),
        duration_text("resolution_p90_seconds").alias("Resolution p90"),
    )
    prev_start, prev_end = filters.previous_window()
    rising_shown = rising.select(
        pl.col("reason").alias(label),
        pl.col("conversations").alias("Conversations"),
        pl.col("previous").alias("Previous period"),
        pl.col("change").alias("Change"),
        pl.when(pl.col("new")).then(pl.lit("new")).otherwise(
            (pl.col("growth") * 100).round(0).cast(pl.Int64).cast(pl.String) + " %").alias("Growth"),
        (pl.col("share_change") * 100).round(1).alias("Share change (pp)"),
    )
    counting = reasons.MULTI_TAG_NOTE if by == "tag" else (
        "Each conversation has one disposition (open conversations have none yet), so shares add up to 100 %.")
    note = (f"{counting} {total:,} conversations in the window. Service levels per {label.lower()}: attainment = "
            "achieved ÷ (achieved + breached), pending counted apart; median and p90 ("
            f"{stats.PERCENTILE_METHOD}) in each conversation's target clock.")
    return ReasonsView(
        by=by, caption=filters.describe(), empty_message=None if total else EMPTY, note=note, table=shown,
        rising=rising_shown,
        rising_note=(f"Against {prev_start:%d %b} – {prev_end:%d %b %Y}, the previous period of the same length; only "
                     f"{label.lower()}s with at least {min_volume} conversations in this window are ranked (new ones "
                     "first, then by growth)."),
        rising_empty=None if rising.height else (f"No {label.lower()} with at least {min_volume} conversations grew "
                                                 "against the previous period."),
        chart=charts_planning.create_reason_chart(table, label=label) if table.height else None,
        options=table.get_column("reason").to_list(), reasons=table, rising_raw=rising,
    )


@dataclass(frozen=True)
class ReasonDrilldown:
    count: str
    detail: str
    """What the rows are (the reason is customer-entered text in some tenants: shown as text)."""
    rows: pl.DataFrame
    file_name: str


def build_reason_drilldown(core, filters: Filters, reason: str, *, by: str = "tag",
                           exclude: Sequence[str] = ()) -> ReasonDrilldown:
    """The window's conversations listed under ``reason`` (times in the report zone, tags as one text)."""
    _check_by(by)
    facts = filters.apply(core.facts(filters.bot_rule)).lazy()
    picked = reasons.conversations_with_reason(facts, reason, start=filters.start, end=filters.end, tz=filters.tz,
                                               by=by, exclude=tuple(exclude)).collect()
    rows = in_zone(picked.select(DRILL_COLUMNS).with_columns(pl.col("tags").list.join(", ")), filters.tz)
    label = REASON_LABELS[by].lower()
    safe = "".join(c if c.isalnum() else "_" for c in reason)[:40]
    return ReasonDrilldown(count=f"{rows.height:,} conversations", detail=f"with {label} {reason}", rows=rows,
                           file_name=f"contact_reason_{by}_{safe}")
