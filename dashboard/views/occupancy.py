"""Occupancy: how much of the time agents were available they had conversations in hand — per agent, team and
local hour — and the conversations behind an agent's figure.

Figures from ``dashboard.metrics.occupancy`` (``occupancy_hours`` over the core's ``handling_segments`` and the
``raw_agent_states`` export, summed by ``occupancy_by``): the functions of ``python -m dashboard report
occupancy`` and the planning notebook. The definitions shown under "Explain" are the metric's own
(``occupancy.DEFINITIONS``).

The sidebar's filters split in two: tier, priority, work queue and channel choose the *conversations* counted in
hand; team and agent choose the *agents* (and their available time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import altair as alt
import polars as pl

from dashboard import charts_planning
from dashboard.filters import Filters
from dashboard.metrics import occupancy, sla
from dashboard.metrics.agents import AVAILABLE_STATES
from dashboard.views.kpi import Kpi, duration_text, in_zone

__all__ = [
    "AGENT_FILTERS",
    "CONVERSATION_FILTERS",
    "OCCUPANCY_GROUPS",
    "OccupancyDrilldown",
    "OccupancyView",
    "build_occupancy",
    "build_occupancy_drilldown",
    "occupancy_frame",
]

CONVERSATION_FILTERS = ("tier", "priority", "queue", "channel")
AGENT_FILTERS = ("team", "agent")
OCCUPANCY_GROUPS = {
    "agent": ("agent_id", "agent_name", "team_id"),
    "team": ("team_id",),
    "hour": ("hour",),
    "weekday_hour": ("weekday", "hour"),
    "day": ("local_date",),
}
"""What ``report occupancy --by`` (and the page's tables) group the hours by."""
EMPTY = ("No agent was available in this window for these filters (no agent states). Widen the date range or "
         "clear a filter in the sidebar.")


def _agents(core, filters: Filters) -> pl.LazyFrame | None:
    """Agent ids chosen by the team / agent filters (None: every agent)."""
    teams = filters.dimensions.get("team") or ()
    chosen = filters.dimensions.get("agent") or ()
    if not teams and not chosen:
        return None
    states = core.table("raw_agent_states").lazy()
    agents = states.select("agent_id", "team_id").unique()
    if teams:
        agents = agents.filter(pl.col("team_id").cast(pl.String).is_in([str(t) for t in teams]))
    if chosen:
        agents = agents.filter(pl.col("agent_id").is_in([str(a) for a in chosen]))
    return agents.select("agent_id").unique()


def occupancy_frame(core, filters: Filters) -> pl.DataFrame:
    """``occupancy.occupancy_hours`` for the window with the sidebar's filters (see the module docstring): one
    row per agent and local hour."""
    segments = core.handling_segments().lazy()
    states = core.table("raw_agent_states").lazy()
    conversation_filters = {k: v for k, v in filters.dimensions.items() if k in CONVERSATION_FILTERS and v}
    if conversation_filters:
        chosen = Filters(filters.start, filters.end, filters.tz, conversation_filters).apply(
            core.facts(filters.bot_rule)).select("conversation_id")
        segments = segments.join(chosen.lazy(), on="conversation_id", how="semi")
    agents = _agents(core, filters)
    if agents is not None:
        segments = segments.join(agents, on="agent_id", how="semi")
        states = states.join(agents, on="agent_id", how="semi")
    return occupancy.occupancy_hours(segments, states, start=filters.start, end=filters.end, tz=filters.tz,
                                     as_of=filters.as_of or core.now()).collect()


@dataclass(frozen=True)
class OccupancyView:
    caption: str
    empty_message: str | None
    kpis: list[Kpi]
    """Occupancy, concurrency, concurrency while handling, available hours (each with its definition)."""
    agents: pl.DataFrame
    """As shown: one row per agent (hours, percentages 0-100)."""
    teams: pl.DataFrame
    hour_chart: alt.LayerChart | None
    heatmap_chart: alt.Chart | None
    note: str
    agent_options: list[str]
    """Agent names with available time or conversations in hand (the drill-down's choices)."""
    definitions: dict[str, str]
    hours: pl.DataFrame = field(repr=False)
    """``occupancy.occupancy_hours`` (raw seconds per agent and local hour)."""
    by_agent: pl.DataFrame = field(repr=False)
    """``occupancy.occupancy_by`` per agent (raw) — the report's rows."""


def _hours(column: str) -> pl.Expr:
    return (pl.col(column) / 3600).round(1)


def _shown(grouped: pl.DataFrame, first: list[pl.Expr]) -> pl.DataFrame:
    return grouped.select(
        *first,
        _hours("available_seconds").alias("Available (h)"),
        _hours("handling_seconds").alias("Handling (h)"),
        (pl.col("occupancy") * 100).round(1).alias("Occupancy %"),
        pl.col("concurrency").round(2).alias("Concurrency"),
        pl.col("concurrency_while_handling").round(2).alias("While handling"),
        _hours("in_hand_away_seconds").alias("In hand while away (h)"),
    )


def build_occupancy(core, filters: Filters) -> OccupancyView:
    hours = occupancy_frame(core, filters)
    lazy = hours.lazy()
    total = occupancy.occupancy_by(lazy, []).collect().row(0, named=True)
    by_agent = occupancy.occupancy_by(lazy).collect().sort("agent_name", "agent_id")
    by_team = occupancy.occupancy_by(lazy, ["team_id"]).collect()
    by_hour = occupancy.occupancy_by(lazy, ["hour"]).collect().filter(pl.col("available_seconds") > 0)
    cells = occupancy.occupancy_by(lazy, ["weekday", "hour"]).collect().filter(pl.col("available_seconds") > 0)
    as_of = filters.as_of or core.now()
    params = {"window": filters.window_text, "available states": ", ".join(AVAILABLE_STATES),
              "as of": f"{as_of:%Y-%m-%d %H:%M} UTC", "conversation filters": ", ".join(
                  f"{k}={','.join(map(str, v))}" for k, v in filters.dimensions.items()
                  if k in CONVERSATION_FILTERS and v) or "none"}
    agent_rows = _shown(by_agent, [pl.col("agent_name").alias("Agent"), pl.col("team_id").alias("Team")])
    d = occupancy.DEFINITIONS
    kpis = [
        Kpi("occupancy", "Occupancy", total["occupancy"], "ratio", f"{d['occupancy']} {d['handling']}",
            parameters=params, rows=agent_rows),
        Kpi("concurrency", "Concurrency", total["concurrency"], "decimal", d["concurrency"], parameters=params,
            rows=agent_rows),
        Kpi("concurrency_while_handling", "At once while handling", total["concurrency_while_handling"], "decimal",
            d["concurrency_while_handling"], parameters=params, rows=agent_rows),
        Kpi("available_hours", "Available agent-hours", total["available_hours"], "count",
            f"{d['available']} {d['in_hand_away']}", parameters=params, rows=agent_rows),
    ]
    active = by_agent.filter((pl.col("available_seconds") > 0) | (pl.col("in_hand_seconds") > 0)
                             | (pl.col("in_hand_away_seconds") > 0))
    return OccupancyView(
        caption=filters.describe(),
        empty_message=None if total["available_seconds"] else EMPTY,
        kpis=kpis,
        agents=agent_rows,
        teams=_shown(by_team, [pl.col("team_id").alias("Team")]),
        hour_chart=charts_planning.create_occupancy_by_hour_chart(by_hour) if by_hour.height else None,
        heatmap_chart=charts_planning.create_occupancy_heatmap_chart(cells) if cells.height else None,
        note=("A conversation is in an agent's hands from its assignment to the first reply, from each later customer "
              "message to the reply, and from the last reply to the agent's own close. Conversations in hand at the "
              "same time are merged for handling time (not summed) and counted for concurrency. Tier, priority, work "
              "queue and channel filters choose the conversations; team and agent filters choose the agents."),
        agent_options=active.get_column("agent_name").unique(maintain_order=True).to_list(),
        definitions=dict(d), hours=hours, by_agent=by_agent,
    )


@dataclass(frozen=True)
class OccupancyDrilldown:
    count: str
    detail: str
    rows: pl.DataFrame
    """The agent's in-hand segments overlapping the window: conversation, channel, why (``kinds``), start, end
    (report zone), and the seconds in hand."""
    file_name: str


def build_occupancy_drilldown(core, filters: Filters, agent_name: str) -> OccupancyDrilldown:
    """The conversations an agent had in hand during the window (the rows behind the agent's figures)."""
    names = core.agent_names()
    ids = names.filter(pl.col("agent_name") == agent_name).get_column("agent_id").to_list() or [agent_name]
    lo, hi = sla.window_bounds(filters.start, filters.end, filters.tz)
    hi = max(lo, min(hi, filters.as_of or core.now()))
    segments = core.handling_segments().filter(
        pl.col("agent_id").is_in(ids) & (pl.col("start_time") < hi)
        & (pl.col("end_time").is_null() | (pl.col("end_time") > lo)))
    conversation_filters = {k: v for k, v in filters.dimensions.items() if k in CONVERSATION_FILTERS and v}
    facts = core.facts(filters.bot_rule)
    if conversation_filters:
        chosen = Filters(filters.start, filters.end, filters.tz, conversation_filters).apply(facts)
        segments = segments.join(chosen.select("conversation_id"), on="conversation_id", how="semi")
    end = pl.col("end_time").fill_null(pl.lit(hi))
    rows = (
        segments.join(facts.select("conversation_id", "conversation_display_id", "tier"), on="conversation_id",
                      how="left")
        .with_columns(in_hand_seconds=(end - pl.col("start_time")).dt.total_milliseconds() / 1000)
        .select("conversation_id", "conversation_display_id", "tier", "network", "kinds", "start_time", "end_time",
                "in_hand_seconds", duration_text("in_hand_seconds").alias("in_hand"))
        .sort("start_time")
    )
    return OccupancyDrilldown(
        count=f"{rows.height:,} spells in hand", detail=f"by {agent_name} ({rows['conversation_id'].n_unique():,} "
                                                        "conversations) overlapping the window",
        rows=in_zone(rows, filters.tz), file_name=f"in_hand_{''.join(c if c.isalnum() else '_' for c in agent_name)}",
    )
