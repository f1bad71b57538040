"""Live queue: what is open now, what breaches next, and who is there to answer — refreshing itself.

Layout only: the backlog, the at-risk list and the breach forecast come from ``dashboard.metrics.backlog``
(``open_at``, ``backlog_by_age``, ``at_risk``, ``breaches_due``, which call ``sla.evaluate``). The panel is a
fragment that reruns on its own every few seconds; "now" is re-read on each run (the simulated world's clock
in the demo, the wall clock for a tenant), and a sync or import elsewhere is picked up by the cached loaders.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from dashboard import charts, ui
from dashboard.kpi import format_duration
from dashboard.metrics import backlog, load_policy
from dashboard.metrics import pages_support as ps

log = logging.getLogger("dashboard.pages.live_queue")


def _show_chart(chart, **kwargs):
    """``st.altair_chart`` with the element height the chart needs (see ``charts.display_height``)."""
    return st.altair_chart(chart, height=charts.display_height(chart), **kwargs)

REFRESH_CHOICES = {"10 s": 10, "30 s": 30, "60 s": 60}

ctx = ui.page_context()
st.title("Live queue")
ui.render_demo_notice(ctx.source)
refresh = st.segmented_control("Refresh every", list(REFRESH_CHOICES), default="30 s", required=True,
                               key="live_refresh")


@st.fragment(run_every=timedelta(seconds=REFRESH_CHOICES[refresh]))
def live_panel() -> None:
    ctx = ui.page_context()
    as_of = ctx.source.now()
    try:
        facts = ctx.filter(ui.load_facts(ctx.source, ctx.bot_rule))
        policy = load_policy(ctx.source.settings.policy_path)
        lazy = facts.lazy()
        open_now = backlog.open_at(lazy, as_of).collect()
        risk = backlog.at_risk(lazy, policy, as_of).collect()
        due = ps.label_hours(backlog.breaches_due(risk.lazy(), as_of, hours=8).collect(), ctx.tz)
        states = ui.load_table(ctx.source, "raw_agent_states")
        states_now = ps.agent_states_now(states, as_of)
    except Exception as exc:  # a clear message, never a stack trace
        log.exception("live queue failed")
        st.error(f"Could not compute the live queue: {exc}")
        return

    st.caption(f"As of {as_of.astimezone(ZoneInfo(ctx.tz)):%a %d %b %H:%M} ({ctx.tz}) · refreshed "
               f"{datetime.now(UTC):%H:%M:%S} UTC · filters: {ctx.describe()}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Open now", f"{open_now.height:,}", border=True)
    c2.metric("Clocks running", f"{risk.height:,}", border=True,
              help="Open conversations × SLA metric whose clock is still within its target (pending).")
    c3.metric("Breach within 1 h", f"{risk.filter(pl.col('seconds_to_breach') < 3600).height:,}", border=True)
    c4.metric("Agents available",
              f"{states_now.filter(pl.col('state').str.to_lowercase() == 'available')['agents'].sum():,}",
              border=True)

    if open_now.height == 0:
        ui.render_empty("Nothing is open for these filters right now.")
    left, right = st.columns([3, 2])
    with left:
        if open_now.height:
            by_age = backlog.backlog_by_age(open_now.lazy(), by=["work_queue_id"]).collect()
            _show_chart(charts.create_backlog_chart(by_age, by="work_queue_id"), key="live_backlog")
    with right:
        _show_chart(charts.create_breaches_due_chart(due), key="live_breaches_due")

    st.subheader("At risk — ordered by time to breach")
    if risk.height:
        shown = risk.with_columns(
            pl.col("seconds_to_breach").map_elements(format_duration, return_dtype=pl.String).alias("breaches in"),
        ).select("breaches in", pl.exclude("breaches in"))
        st.dataframe(shown, hide_index=True, height=320, key="live_at_risk")
        ui.render_download(risk, "at_risk", key="live_at_risk_download")
    else:
        st.caption("No running clock is about to breach.")

    st.subheader("Agents by current state")
    if states_now.height:
        _show_chart(charts.create_agent_states_now_chart(states_now), key="live_agent_states")
    else:
        st.caption("No agent state covers this instant (nobody logged in, or agent states are not synced).")


live_panel()
