"""Staffing: arrivals forecast per hour for the next days, its error on held-back weeks (WAPE), the agents needed
to meet the first-response target at a chosen attainment, and where the agents of recent weeks fall short.

Everything is ``dashboard.metrics.staffing.plan_staffing`` (the function of ``python -m dashboard report staffing``
and the planning notebook). The sidebar's date range is the *history* the plan is made from (cut at today: the
plan starts today and covers the ``horizon_days`` days from there); its other filters do not apply — the plan is
for the whole operation, one pool of agents per channel group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard import charts_planning
from dashboard.errors import PlanningError
from dashboard.filters import Filters
from dashboard.metrics import staffing
from dashboard.views.kpi import Card, duration_text

__all__ = ["MAX_WEEKS", "StaffingView", "build_staffing", "history_weeks"]

MAX_WEEKS = 8
"""At most this many weeks are averaged (older weeks describe an operation that has changed)."""


def history_weeks(core, filters: Filters) -> tuple[date, int, int]:
    """(plan start, weeks averaged, weeks held back): the whole weeks of data inside the sidebar's range, ending at
    today (or the range's end, if earlier). Two held back when there are six or more weeks, else one."""
    today = core.now().astimezone(ZoneInfo(filters.tz)).date()
    end = min(filters.end, today)
    first = core.facts().select(pl.col("first_inbound_time").min()).item()
    # the first day of data is partial (the data starts within it): the history starts the day after
    first_day = first.astimezone(ZoneInfo(filters.tz)).date() + timedelta(days=1) if first else end
    start = max(filters.start, first_day)
    weeks = max(0, (end - start).days // 7)
    if weeks < 2:
        raise PlanningError(f"the staffing plan needs at least two whole weeks of history before {end}; the date range "
                            f"and the data give {max(0, (end - start).days)} day(s) from {start}. Choose a longer date "
                            "range (e.g. the last 90 days).")
    holdout = 2 if weeks >= 6 else 1
    return end, min(weeks - holdout, MAX_WEEKS), holdout


@dataclass(frozen=True)
class StaffingView:
    caption: str
    wape_text: str
    """The forecast's error on the held-back weeks, in words (shown on the page and by the report)."""
    cards: list[Card]
    chart: alt.Chart
    backtest_chart: alt.Chart
    assumptions: pl.DataFrame
    """As shown: per channel group, the model, target, clock and the measured agent time per conversation."""
    short_hours: pl.DataFrame
    """As shown: the forecast hours where the agents of recent weeks fall short."""
    notes: list[str]
    definitions: dict[str, str]
    gap: pl.DataFrame = field(repr=False)
    """``plan.gap``: every forecast hour (the download)."""
    plan: staffing.StaffingPlan = field(repr=False)
    start: date = field(default=date.min)
    """The plan's first local day (today, or the end of the chosen range)."""
    weeks: int = 0
    holdout_weeks: int = 0

    @property
    def wape(self) -> float | None:
        return self.plan.wape


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def build_staffing(core, filters: Filters, *, attainment: float = 0.8, horizon_days: int = 14,
                   occupancy_cap: float = 0.85) -> StaffingView:
    end, weeks, holdout = history_weeks(core, filters)
    tables = {e: core.table(e).lazy() for e in ("incoming_post", "response", "conversation_history_action",
                                                "raw_agent_states")}
    plan = staffing.plan_staffing(
        core.facts("human").lazy(), tables["incoming_post"], tables["response"],
        tables["conversation_history_action"], tables["raw_agent_states"], core.policy(), end=end, tz=filters.tz,
        attainment=attainment, horizon_days=horizon_days, weeks=weeks, holdout_weeks=holdout,
        occupancy_cap=occupancy_cap, as_of=filters.as_of or core.now(),
    )
    gap = plan.gap
    held = f"the last {holdout} held-back week{'s' if holdout > 1 else ''}"
    wape_text = (f"Forecast error (WAPE per hour) on {held}, forecast from the {weeks} week{'s' if weeks > 1 else ''} "
                 f"before them: {_percent(plan.wape)} (naive \"same hour last week\": {_percent(plan.naive_wape)}).")
    short = gap.filter(pl.col("short_by") > 0)
    peak = gap.sort("agents_needed", descending=True).head(1)
    worst = short.sort("short_by", descending=True).head(1)
    cards = [
        Card("Arrivals ahead", f"{gap['forecast'].sum():,.0f}",
             f"Conversations that will need a human in the {horizon_days} days from {end:%d %b} "
             f"({staffing.DEFINITIONS['forecast']})"),
        Card("Forecast WAPE", _percent(plan.wape), staffing.DEFINITIONS["wape"]),
        Card("Peak agents needed", f"{peak['agents_needed'][0]}" if peak.height else "—",
             "The most agents needed in one hour of the plan, all channel groups"
             + (f": {peak['local_start'][0]:%a %d %b %H:%M}." if peak.height else ".")),
        Card("Hours short", f"{short.height:,}", staffing.DEFINITIONS["short_by"]),
        Card("Largest shortfall", f"{worst['short_by'][0]:.1f}" if worst.height else "none",
             "The most agents missing in one hour against the recent weeks' agents in the same hour of the week"
             + (f": {worst['local_start'][0]:%a %d %b %H:%M}." if worst.height else ".")),
    ]
    assumptions = plan.assumptions_table().join(
        plan.handling.select(pl.col("category").alias("channel_group"), "concurrency", "handle_seconds"),
        on="channel_group", how="left",
    ).select(
        pl.col("channel_group").alias("Channel group"),
        pl.col("model").replace({"erlang_c": "Erlang C", "workload": "workload"}).alias("Model"),
        pl.col("target_name").alias("First-response target"),
        duration_text("target_seconds").alias("Target"),
        pl.col("clock").alias("Clock"),
        duration_text("handle_seconds").alias("In hand per conversation"),
        pl.col("concurrency").round(2).alias("At once"),
        duration_text("busy_seconds_per_conversation").alias("Agent time per conversation"),
        duration_text("first_touch_seconds").alias("Assignment to first reply (median)"),
    )
    shown_short = short.select(
        pl.col("local_start").alias("Hour (local)"),
        pl.col("forecast").round(1).alias("Forecast arrivals"),
        pl.col("agents_needed").alias("Agents needed"),
        pl.col("available_agents").round(1).alias("Available (recent weeks)"),
        pl.col("short_by").round(1).alias("Short by"),
    )
    return StaffingView(
        caption=(f"History: {end - timedelta(days=7 * (weeks + holdout)):%d %b} – {end - timedelta(days=1):%d %b %Y} "
                 f"({filters.tz}); plan: {end:%d %b} – {end + timedelta(days=horizon_days - 1):%d %b %Y} at "
                 f"{attainment:.0%} of first responses within target, occupancy at most {occupancy_cap:.0%}. The "
                 "plan is for the whole operation: the sidebar's filters other than the dates do not apply."),
        wape_text=wape_text, cards=cards, chart=charts_planning.create_staffing_chart(gap),
        backtest_chart=charts_planning.create_forecast_backtest_chart(plan.backtest), assumptions=assumptions,
        short_hours=shown_short, notes=list(plan.notes), definitions=dict(staffing.DEFINITIONS), gap=gap, plan=plan,
        start=end, weeks=weeks, holdout_weeks=holdout,
    )
