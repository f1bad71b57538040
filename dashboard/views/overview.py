"""Overview: the morning glance — volume, response times, service level, backlog and automation health.

The headline values and their previous-period values are ``volume.kpi_summary``'s (the functions the report
CLI uses); the backlog is ``backlog.open_at``; sparklines are the same functions per local day; automation is
``automation.success_rate_*`` and ``health_now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard import charts
from dashboard.filters import Filters
from dashboard.metrics import automation, backlog, sla, stats, volume
from dashboard.views.kpi import Kpi, in_zone, local_text
from dashboard.views.names import describe_filters, with_names
from dashboard.views.service_levels import drill_rows

__all__ = ["OverviewView", "build_overview"]

EMPTY = ("No conversations arrived in this window for these filters. Widen the date range or clear a filter in the "
         "sidebar.")


@dataclass(frozen=True)
class OverviewView:
    caption: str
    kpis: list[Kpi]
    conversations: int
    empty_message: str | None
    automation_warning: str | None
    comparison_note: str
    """What the changes compare with (the same span of the previous period when today is partial)."""
    volume_chart: alt.Chart | None
    """None when nothing arrived ("No arrivals to chart.")."""
    heatmap_chart: alt.Chart | None
    volume: pl.DataFrame = field(repr=False)
    """``volume.conversations_by_day`` by network over the window (every day, 0 included)."""
    heatmap: pl.DataFrame = field(repr=False)
    """``volume.arrivals_heatmap`` over the window (all 168 cells)."""
    automation: pl.DataFrame = field(repr=False)
    """``automation.health_now`` at ``as_of`` (empty without request records)."""


def _series(days: pl.DataFrame, daily: pl.DataFrame, column: str) -> list[float]:
    """``column`` per day of ``days`` (a day without a value carries the previous one: a sparkline, not data)."""
    joined = days.join(daily.select("day", column), on="day", how="left").sort("day")
    return [float(v) for v in joined.get_column(column).forward_fill().fill_null(0).to_list()]


def _covers(frame: pl.LazyFrame, column: str, filters: Filters) -> bool:
    """Whether the data reaches back to the previous window's start: before the first row "0" is no value."""
    first = frame.select(pl.col(column).min()).collect().item()
    prev_start, prev_end = filters.previous_window()
    return first is not None and first <= sla.window_bounds(prev_start, prev_end, filters.tz)[0]


def build_overview(core, filters: Filters) -> OverviewView:
    """Everything the Overview shows, for conversations whose first inbound post is in the window."""
    start, end, tz = filters.start, filters.end, filters.tz
    as_of = filters.as_of or core.now()
    policy = core.policy()
    names = core.reference_names()
    lazy = filters.apply(core.facts_with_sla(filters.bot_rule)).lazy()
    current = sla.in_window(lazy, start, end, tz)
    # Today is partial: the previous period is cut at the same local time, so like is compared with like.
    summary = {r["kpi"]: r for r in volume.kpi_summary(filters.comparable(lazy, as_of), policy, start=start, end=end,
                                                       tz=tz, as_of=as_of).collect().iter_rows(named=True)}
    covered = _covers(lazy, "first_inbound_time", filters)
    cut = filters.partial_cut(as_of)
    comparison, comparison_note = _comparison(filters, as_of, cut)

    def value(kpi: str) -> float | None:
        return summary[kpi]["value"]

    def previous(kpi: str) -> float | None:
        return summary[kpi]["previous"] if covered else None

    evaluated = sla.evaluate(current, policy, "first_response", as_of=as_of)
    day = pl.col("first_inbound_time").dt.convert_time_zone(tz).dt.date().alias("day")
    daily = sla.attainment_by(evaluated.with_columns(day), ["day"]).collect()
    days = volume.conversations_by_day(current, start, end, tz, by=None).collect()
    conversations = int(value("conversations") or 0)
    # Sparklines start at the first day with arrivals (days before the data begins are not "zero") and end with
    # the last complete day (a day six hours old is not a fall to a quarter).
    if conversations:
        days = days.filter(pl.col("day") >= days.filter(pl.col("conversations") > 0).get_column("day")[0])
    if cut is not None and days.height > 1:
        days = days.filter(pl.col("day") < as_of.astimezone(ZoneInfo(tz)).date())
    frt_params = {
        "window": filters.window_text,
        "time anchor": "first inbound post of the conversation",
        "bot rule": filters.bot_rule,
        "clock": "the matched target's clock (business or calendar) — see the policy",
        "percentile method": stats.PERCENTILE_METHOD,
        "as of": f"{local_text(as_of, tz)} ({tz})",
    }
    frt_rows = drill_rows(evaluated.filter(pl.col("response_seconds").is_not_null()).collect(), names, tz)
    sla_rows = drill_rows(evaluated.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).collect(),
                          names, tz)
    open_now = in_zone(with_names(backlog.open_at(lazy, as_of).select(
        "conversation_id", "conversation_display_id", "network", "tier", "priority", "work_queue_id", "agent_id",
        "status", "created_time", "age_seconds",
    ).sort("age_seconds", descending=True).collect(), names), tz)
    kpis = [
        Kpi(
            key="conversations", label="Conversations", value=float(conversations), unit="count",
            definition="Conversations whose first inbound post is in the window.",
            previous=previous("conversations"),
            sparkline=[float(v) for v in days.get_column("conversations")],
            parameters={"window": filters.window_text, "time anchor": "first inbound post"},
            rows=in_zone(with_names(current.select(
                "conversation_id", "conversation_display_id", "first_inbound_time", "network", "tier", "priority",
                "work_queue_id", "status").collect(), names), tz),
            comparison=comparison,
        ),
        Kpi(
            key="frt_median", label="Median FRT", value=value("frt_median_seconds"),
            unit="seconds", lower_is_better=True, previous=previous("frt_median_seconds"),
            definition="Median time from the clock start (first inbound post, or the hand-off for bot-first "
                       "conversations) to the first public human response, over answered conversations.",
            sparkline=_series(days, daily, "median_seconds"), parameters=frt_params, rows=frt_rows,
            comparison=comparison,
        ),
        Kpi(
            key="frt_p90", label="p90 FRT", value=value("frt_p90_seconds"), unit="seconds",
            lower_is_better=True, previous=previous("frt_p90_seconds"),
            definition="90th percentile (nearest rank) of the first response time, over answered conversations.",
            sparkline=_series(days, daily, "p90_seconds"), parameters=frt_params, rows=frt_rows,
            comparison=comparison,
        ),
        Kpi(
            key="sla_attainment", label="FRT SLA", value=value("first_response_attainment"), unit="ratio",
            previous=previous("first_response_attainment"),
            definition="Achieved ÷ (achieved + breached) against the policy's first-response targets; pending "
                       "conversations are not counted.",
            sparkline=_series(days, daily, "attainment"),
            parameters={**frt_params, "policy": policy.source,
                        "pending now": str(int(value("pending_first_responses") or 0))},
            rows=sla_rows, comparison=comparison,
        ),
        Kpi(
            key="backlog_now", label="Backlog now", value=float(open_now.height), unit="count",
            lower_is_better=True,
            sparkline=[float(v) for v in backlog.open_at_day_ends(lazy, days.get_column("day").to_list(), tz, as_of)],
            definition="Conversations open at the as-of instant (created, not closed, not between a close and a "
                       "reopen), whatever their arrival day.",
            parameters={"as of": f"{local_text(as_of, tz)} ({tz})", "age": "calendar time since creation"},
            rows=open_now,
        ),
    ]
    records = core.table("bot_request").lazy()
    health = automation.health_now(records, as_of).collect()
    kpis.append(_automation_kpi(records, health, filters, as_of, days, comparison))
    unhealthy = health.filter(pl.col("state") != automation.HEALTHY)
    warning = None
    if unhealthy.height:
        names = ", ".join(f"{r['app_id']} ({r['origin']}): {r['state']}" for r in unhealthy.iter_rows(named=True))
        warning = f"Automation needs attention now — {names}. See the Automation page."
    volume_frame = volume.conversations_by_day(lazy, start, end, tz, by="network").collect()
    heatmap = volume.arrivals_heatmap(current, tz).collect()
    return OverviewView(
        caption=describe_filters(core, filters), kpis=kpis, conversations=conversations,
        empty_message=None if conversations else EMPTY, automation_warning=warning, comparison_note=comparison_note,
        volume_chart=charts.create_volume_chart(volume_frame, by="network") if volume_frame.height else None,
        heatmap_chart=charts.create_arrivals_heatmap_chart(heatmap) if heatmap.height else None,
        volume=volume_frame, heatmap=heatmap, automation=health,
    )


def _comparison(filters: Filters, as_of: datetime, cut: datetime | None) -> tuple[str, str]:
    """The changes' description (under each KPI) and the note under the row."""
    days = filters.days
    if cut is None:
        return f"vs the previous {days} days", f"Changes compare with the previous {days} days."
    tz = filters.tz
    return (f"vs the previous {days} days to {local_text(cut, tz)}",
            f"Today is partial (to {local_text(as_of, tz, '%H:%M')}): changes compare with the previous {days} days "
            f"up to the same time ({local_text(cut, tz)}), and the sparklines end with the last complete day.")


def _automation_kpi(records: pl.LazyFrame, health: pl.DataFrame, filters: Filters, as_of, days: pl.DataFrame,
                    comparison: str) -> Kpi:
    start, end, tz = filters.start, filters.end, filters.tz
    prev_start, prev_end = filters.previous_comparable(as_of)
    covered = _covers(records, "created_time", filters)
    healthy = health.filter(pl.col("state") == automation.HEALTHY).height
    return Kpi(
        key="automation_health", label="Bot success",
        value=automation.success_rate_in_window(records, start, end, tz, as_of), unit="ratio",
        previous=automation.success_rate_in_window(records, prev_start, prev_end, tz, as_of) if covered else None,
        definition="Share of automation requests (Bot API v3 request records with an outcome) that succeeded "
                   f"in the window. Right now {healthy} of {health.height} bot scopes (app id × origin) are "
                   "HEALTHY by Khoros' rolling 2-minute rule; the rows below list their states. The sidebar's "
                   "filters do not apply: request records carry no tier, queue or agent.",
        sparkline=_series(days, automation.success_rate_by_day(records, start, end, tz, as_of), "success_rate"),
        parameters={"window": filters.window_text, "time anchor": "request created time",
                    "health window": "2 minutes", "as of": f"{local_text(as_of, tz)} ({tz})"},
        rows=in_zone(health, tz), comparison=comparison,
    )
