"""Overview: the morning glance — volume, response times, service level, backlog and automation health.

Layout only: every figure comes from ``dashboard.metrics`` (``pages_support.overview_summary``, which takes its
values from ``volume.kpi_summary``, ``backlog.open_at`` and ``automation`` — the functions the notebooks and the
report CLI call too).
"""

from __future__ import annotations

import logging

import polars as pl
import streamlit as st

from dashboard import charts, ui
from dashboard.metrics import load_policy
from dashboard.metrics import pages_support as ps

log = logging.getLogger("dashboard.pages.overview")


def _show_chart(chart, **kwargs):
    """``st.altair_chart`` with the element height the chart needs (see ``charts.display_height``)."""
    return st.altair_chart(chart, height=charts.display_height(chart), **kwargs)

ctx = ui.page_context()
st.title("Overview")
ui.render_demo_notice(ctx.source)
st.caption(ctx.describe())

try:
    facts = ctx.filter(ui.load_facts(ctx.source, ctx.bot_rule))
    policy = load_policy(ctx.source.settings.policy_path)
    summary = ps.overview_summary(
        facts, policy, start=ctx.start, end=ctx.end, tz=ctx.tz, as_of=ctx.as_of,
        bot_requests=ui.load_table(ctx.source, "bot_request"),
        bot_rule=ctx.bot_rule,
    )
except Exception as exc:  # a clear message, never a stack trace
    log.exception("overview failed")
    st.error(f"Could not compute the overview: {exc}")
    st.stop()

if summary.conversations == 0:
    ui.render_empty("No conversations arrived in this window for these filters. Widen the date range or clear a "
                    "filter in the sidebar.")
ui.render_kpi_row(summary.kpis, key="overview_kpis")

unhealthy = summary.automation.filter(pl.col("state") != "HEALTHY") if summary.automation.height else None
if unhealthy is not None and unhealthy.height:
    names = ", ".join(f"{r['app_id']} ({r['origin']}): {r['state']}" for r in unhealthy.iter_rows(named=True))
    st.warning(f"Automation needs attention now — {names}. See the Automation page.", icon="🤖")

left, right = st.columns([3, 2])
with left:
    if summary.volume.height:
        _show_chart(charts.create_volume_chart(summary.volume, by="network"), key="overview_volume")
    else:
        st.caption("No arrivals to chart.")
with right:
    if summary.heatmap.height:
        _show_chart(charts.create_arrivals_heatmap_chart(summary.heatmap), key="overview_heatmap")
