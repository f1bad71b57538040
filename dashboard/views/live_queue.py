"""Live queue: what is open now, what breaches next, and who is there to answer.

The backlog, the at-risk list and the breach forecast come from ``dashboard.metrics.backlog`` (``open_at``,
``backlog_by_age``, ``at_risk``, ``breaches_due``); agents by state from ``dashboard.metrics.agents``. "Now" is
the core's (the demo world's clock, the wall clock for a tenant), read again on every refresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard import charts
from dashboard.filters import Filters
from dashboard.metrics import agents, backlog
from dashboard.views.kpi import Card, duration_text

__all__ = ["LiveQueueView", "build_live_queue"]


@dataclass(frozen=True)
class LiveQueueView:
    as_of: datetime
    caption: str
    cards: list[Card]
    empty_message: str | None
    backlog_chart: alt.Chart | None
    breaches_chart: alt.Chart
    at_risk: pl.DataFrame
    """As shown: "breaches in" first, then the at-risk rows."""
    agent_states_chart: alt.Chart | None
    at_risk_rows: pl.DataFrame = field(repr=False)
    """The at-risk rows as computed (the download)."""


def build_live_queue(core, filters: Filters) -> LiveQueueView:
    as_of = core.now()
    lazy = filters.apply(core.facts_with_sla(filters.bot_rule)).lazy()
    open_now = backlog.open_at(lazy, as_of).collect()
    risk = backlog.at_risk(lazy, core.policy(), as_of).collect()
    due = backlog.breaches_due(risk.lazy(), as_of, hours=8).collect().with_columns(
        pl.col("hour_start").dt.convert_time_zone(filters.tz).dt.strftime("%H:%M").alias("hour_label"))
    by_state = agents.agents_by_state(core.table("raw_agent_states"), as_of)
    cards = [
        Card("Open now", f"{open_now.height:,}"),
        Card("Clocks running", f"{risk.height:,}",
             "Open conversations × SLA metric whose clock is still within its target (pending)."),
        Card("Breach within 1 h", f"{risk.filter(pl.col('seconds_to_breach') < 3600).height:,}"),
        Card("Agents available", f"{agents.agents_available(by_state):,}"),
    ]
    by_age = backlog.backlog_by_age(open_now.lazy(), by=["work_queue_id"]).collect() if open_now.height else None
    return LiveQueueView(
        as_of=as_of,
        caption=f"As of {as_of.astimezone(ZoneInfo(filters.tz)):%a %d %b %H:%M} ({filters.tz}) · refreshed "
                f"{datetime.now(UTC):%H:%M:%S} UTC · filters: {filters.describe()}",
        cards=cards,
        empty_message=None if open_now.height else "Nothing is open for these filters right now.",
        backlog_chart=charts.create_backlog_chart(by_age, by="work_queue_id") if by_age is not None else None,
        breaches_chart=charts.create_breaches_due_chart(due),
        at_risk=risk.with_columns(duration_text("seconds_to_breach").alias("breaches in"))
        .select("breaches in", pl.exclude("breaches in")),
        agent_states_chart=charts.create_agent_states_now_chart(by_state) if by_state.height else None,
        at_risk_rows=risk,
    )
