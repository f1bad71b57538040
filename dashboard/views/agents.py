"""Agents: a sortable leaderboard for the window, and each agent's state timeline from ``raw_agent_states``.

Figures from ``dashboard.metrics.agents`` (``agent_leaderboard``, ``handle_time_by_agent``,
``agent_state_timeline``, ``agent_state_hours``); percentiles are nearest-rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard import charts
from dashboard.filters import Filters
from dashboard.metrics import agents, sla
from dashboard.views.names import describe_filters

__all__ = ["SORTS", "AgentTimeline", "AgentsView", "build_agent_timeline", "build_agents", "leaderboard_table"]

SORTS = {
    "Responses": ("responses", True),
    "First responses": ("first_responses", True),
    "Conversations": ("conversations", True),
    "First response SLA": ("first_response_attainment", True),
    "Median first response": ("frt_median_seconds", False),
    "Median handle time": ("handle_median_seconds", False),
}
"""Leaderboard orders: label -> (column, descending)."""
NOTE = ("Window: conversations whose first inbound post is in it. First-response figures are credited to the agent "
        "who answered (the assigned agent while unanswered), in the matched target's clock; conversations = "
        "assigned to the agent; handle time = calendar time from first assignment to final close. Click a column "
        "header to sort in place.")


@dataclass(frozen=True)
class AgentsView:
    caption: str
    board: pl.DataFrame
    """``agent_leaderboard`` joined with ``handle_time_by_agent`` (one row per agent)."""
    empty_message: str | None
    note: str
    agent_options: list[str]
    """Agent names for the timeline, sorted; the first eight are picked by default."""
    max_days: int
    """The longest timeline the window allows (at most 14 days)."""
    default_days: int = 2
    """The timeline's default length: back to the second-latest day on which an agent was available (on a Monday
    that reaches Friday, not a weekend of "Offline")."""
    timeline_note: str = ""


def build_agents(core, filters: Filters) -> AgentsView:
    facts = filters.apply(core.facts_with_sla(filters.bot_rule))
    states = core.table("raw_agent_states")
    window = {"start": filters.start, "end": filters.end, "tz": filters.tz, "as_of": filters.as_of or core.now()}
    board = agents.agent_leaderboard(facts.lazy(), core.table("response").lazy(), core.policy(), **window,
                                     agent_states=states.lazy()).collect()
    board = board.join(agents.handle_time_by_agent(facts, **window), on="agent_id", how="left")
    as_of = filters.as_of or core.now()
    max_days = min(14, filters.days)
    active = _days_with_agents_available(states, as_of, filters.tz, max_days)
    today = as_of.astimezone(ZoneInfo(filters.tz)).date()
    default_days = min(max_days, max(1, (today - active[1]).days + 1)) if len(active) > 1 else min(2, max_days)
    note = (f"Default: the last {default_days} day(s), back to the last two days with agents available "
            f"({', '.join(f'{d:%a %d %b}' for d in reversed(active[:2]))}).") if len(active) > 1 else ""
    return AgentsView(
        caption=describe_filters(core, filters), board=board,
        empty_message=None if board.height else ("No agent activity in this window for these filters. Widen the "
                                                 "date range or clear a filter."),
        note=NOTE, agent_options=core.agent_names().sort("agent_name").get_column("agent_name").to_list(),
        max_days=max_days, default_days=default_days, timeline_note=note,
    )


def _days_with_agents_available(states: pl.DataFrame, as_of: datetime, tz: str, days: int) -> list[date]:
    """Local days (newest first) of the last ``days`` on which some agent was in an available state."""
    since = as_of - timedelta(days=days)
    available = states.filter(
        pl.col("state").str.to_uppercase().is_in(list(agents.AVAILABLE_STATES))
        & (pl.col("start_time") <= as_of) & (pl.col("end_time").is_null() | (pl.col("end_time") > since)))
    local = pl.col("start_time").clip(lower_bound=since).dt.convert_time_zone(tz).dt.date()
    return available.select(local.unique().sort(descending=True)).to_series().to_list()


def leaderboard_table(board: pl.DataFrame, sort_label: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leaderboard in the chosen order: (as shown, with readable columns and units; as computed)."""
    column, descending = SORTS[sort_label]
    ranked = board.sort([column, "agent_name"], descending=[descending, False], nulls_last=True)
    shown = ranked.select(
        pl.col("agent_name").alias("Agent"),
        pl.col("responses").alias("Responses"),
        pl.col("first_responses").alias("First responses"),
        pl.col("conversations").alias("Conversations"),
        (pl.col("first_response_attainment") * 100).alias("First response SLA %"),
        (pl.col("frt_median_seconds") / 60).alias("FRT median (min)"),
        (pl.col("frt_p90_seconds") / 60).alias("FRT p90 (min)"),
        (pl.col("handle_median_seconds") / 3600).alias("Handle median (h)"),
        (pl.col("available_seconds") / 3600).alias("Available (h)"),
        pl.col("responses_per_available_hour").alias("Responses / available h"),
        pl.col("agent_id").alias("Agent id"),
    )
    return shown, ranked


@dataclass(frozen=True)
class AgentTimeline:
    chart: alt.Chart | None
    hours: pl.DataFrame | None
    """Hours per agent (rows) and state (columns)."""
    states: list[str] = field(default_factory=list)
    empty_message: str | None = None


def build_agent_timeline(core, filters: Filters, chosen: list[str], days: int) -> AgentTimeline:
    """The chosen agents' states over the last ``days`` days of the window (up to now)."""
    lo, hi = sla.window_bounds(filters.start, filters.end, filters.tz)
    hi = min(hi, filters.as_of or core.now())
    picked = core.agent_names().lazy().filter(pl.col("agent_name").is_in(chosen)).select("agent_id")
    states = core.table("raw_agent_states").lazy().join(picked, on="agent_id", how="semi")
    timeline = agents.agent_state_timeline(states, max(lo, hi - timedelta(days=days)), hi).collect()
    if timeline.height == 0:
        return AgentTimeline(None, None, empty_message="No agent states in this period for the chosen agents.")
    totals = agents.agent_state_hours(timeline.lazy()).collect()
    return AgentTimeline(
        chart=charts.create_agent_timeline_chart(timeline, tz=filters.tz),
        hours=totals.pivot("state", index="agent_name", values="hours").sort("agent_name")
        .rename({"agent_name": "Agent"}),
        states=totals.get_column("state").unique().to_list(),
    )
