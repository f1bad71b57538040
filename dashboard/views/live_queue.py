"""Live queue: what is overdue now, what breaches next, and who is there to answer.

The backlog, the overdue and at-risk clocks and the breach forecast come from ``dashboard.metrics.backlog``
(``open_at``, ``backlog_by_age``, ``at_risk(include_overdue=True)``, ``overdue_summary``, ``breaches_due``);
agents by state from ``dashboard.metrics.agents``. "Now" is the core's (the demo world's clock, the wall clock for
a tenant), read again on every refresh. :func:`queue_rows` is also ``python -m dashboard report queue``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import altair as alt
import polars as pl

from dashboard import charts
from dashboard.filters import Filters
from dashboard.metrics import agents, backlog
from dashboard.views.kpi import Card, duration_text, in_zone, local_text
from dashboard.views.names import NO_VALUE, describe_filters, readable, with_names

__all__ = ["QUEUE_HEADERS", "LiveQueueView", "build_live_queue", "queue_rows", "queue_table"]

METRIC_WORDS = {"first_response": "First response", "time_to_assign": "Time to assign", "resolution": "Resolution"}
OVERDUE, AT_RISK = "Overdue", "At risk"
QUEUE_HEADERS = {
    "state": "State", "when": "Overdue by / due in", "conversation_display_id": "Conversation",
    "metric_label": "Clock", "target": "Target", "breach_at": "Breach at", "tier": "Tier", "priority": "Priority",
    "network": "Channel", "work_queue_name": "Work queue", "team_name": "Team", "agent_name": "Agent",
}  # fmt: skip
"""The queue table as a team lead reads it: column -> header, in order."""


@dataclass(frozen=True)
class LiveQueueView:
    as_of: datetime
    caption: str
    cards: list[Card]
    empty_message: str | None
    backlog_chart: alt.Chart | None
    breaches_chart: alt.Chart
    queue: pl.DataFrame
    """As shown: overdue clocks first (most overdue on top), then those still running (soonest breach first)."""
    queue_note: str
    agent_states_chart: alt.Chart | None
    queue_rows: pl.DataFrame = field(repr=False)
    """The same rows with ids beside the names and times in the report zone (the download)."""


def _queue(core, filters: Filters, as_of: datetime) -> pl.DataFrame:
    lazy = filters.apply(core.facts(filters.bot_rule)).lazy()
    risk = backlog.at_risk(lazy, core.policy(), as_of, include_overdue=True).collect()
    rows = with_names(risk, core.reference_names()).with_columns(
        state=pl.when(pl.col("seconds_to_breach") < 0).then(pl.lit(OVERDUE)).otherwise(pl.lit(AT_RISK)),
        overdue_seconds=pl.when(pl.col("seconds_to_breach") < 0).then(-pl.col("seconds_to_breach")),
        metric_label=pl.col("metric").replace_strict(METRIC_WORDS, default=pl.col("metric")),
    )
    return rows.select("state", "overdue_seconds", pl.exclude("state", "overdue_seconds"))


def queue_rows(core, filters: Filters, as_of: datetime | None = None) -> pl.DataFrame:
    """Every running clock of an open conversation, overdue ones first (most overdue on top), then the rest by
    time to breach: ``state`` (Overdue / At risk), ``overdue_seconds`` / ``seconds_to_breach``, the names beside
    the ids, instants in the report zone."""
    return in_zone(_queue(core, filters, as_of or filters.as_of or core.now()), filters.tz)


def queue_table(rows: pl.DataFrame) -> pl.DataFrame:
    """:func:`queue_rows` as a team lead reads it (:data:`QUEUE_HEADERS`)."""
    shown = rows.with_columns(
        when=pl.when(pl.col("state") == OVERDUE).then(duration_text("overdue_seconds"))
        .otherwise(pl.lit("in ") + duration_text("seconds_to_breach")),
        target=pl.concat_str([duration_text("target_seconds"), pl.lit(" "), pl.col("clock").fill_null("")]),
        agent_name=pl.col("agent_name").fill_null("unassigned"),
        priority=pl.col("priority").cast(pl.String),
    )
    return readable(shown, QUEUE_HEADERS)


def build_live_queue(core, filters: Filters) -> LiveQueueView:
    as_of = core.now()
    lazy = filters.apply(core.facts_with_sla(filters.bot_rule)).lazy()
    open_now = backlog.open_at(lazy, as_of).collect()
    rows = _queue(core, filters, as_of)
    summary = backlog.overdue_summary(rows.lazy()).collect().row(0, named=True)
    running = rows.filter(pl.col("state") == AT_RISK)
    due = backlog.breaches_due(running.lazy(), as_of, hours=8).collect().with_columns(
        pl.col("hour_start").dt.convert_time_zone(filters.tz).dt.strftime("%H:%M").alias("hour_label"))
    by_state = agents.agents_by_state(core.table("raw_agent_states"), as_of)
    cards = [
        Card("Open now", f"{open_now.height:,}"),
        Card("Overdue", f"{summary['conversations']:,}",
             f"Open conversations with at least one clock past its target and still running: {summary['clocks']:,} "
             f"overdue clock(s); {summary['without_first_response']:,} of these conversations still have no first "
             "response. They lead the list below, most overdue first."),
        Card("Breach within 1 h", f"{running.filter(pl.col('seconds_to_breach') < 3600).height:,}",
             "Running clocks (first response, time to assign, resolution) that pass their target in the next hour "
             "if nobody acts. Overdue clocks are counted apart."),
        Card("Agents available", f"{agents.agents_available(by_state):,}"),
    ]
    by_age = backlog.backlog_by_age(with_names(open_now, core.reference_names()).lazy(),
                                    by=["work_queue_name"]).collect() if open_now.height else None
    return LiveQueueView(
        as_of=as_of,
        caption=f"As of {local_text(as_of, filters.tz)} ({filters.tz}) · refreshed "
                f"{local_text(datetime.now(UTC), filters.tz, '%H:%M:%S')} · "
                f"filters: {describe_filters(core, filters)}",
        cards=cards,
        empty_message=None if open_now.height else "Nothing is open for these filters right now.",
        backlog_chart=charts.create_backlog_chart(by_age, by="work_queue_name", title="Work queue")
        if by_age is not None else None,
        breaches_chart=charts.create_breaches_due_chart(due),
        queue=queue_table(in_zone(rows, filters.tz)),
        queue_note=f"{summary['clocks']:,} overdue and {running.height:,} running clock(s). Overdue = past its "
                   "target with no stopping event yet (no first response, no assignment, not closed). Clock "
                   "targets are in the policy's clock (business or calendar); times in "
                   f"{filters.tz}. {NO_VALUE} = no value.",
        agent_states_chart=charts.create_agent_states_now_chart(by_state) if by_state.height else None,
        queue_rows=in_zone(rows, filters.tz),
    )
