"""Live queue: what is overdue now, what breaches next, and who is there to answer — refreshing itself.

Lays out ``dashboard.views.build_live_queue`` (``dashboard.metrics.backlog`` and ``agents``). The panel is a
fragment that reruns on its own every few seconds; "now" is read again on each run, and a sync or import
elsewhere is picked up through the core's data version.
"""

import streamlit as st

from dashboard import ui
from dashboard.views import build_live_queue

REFRESH_CHOICES = {"10 s": 10, "30 s": 30, "60 s": 60}

ctx = ui.start_page("Live queue")
refresh = st.segmented_control("Refresh every", list(REFRESH_CHOICES), default="30 s", required=True,
                               key="live_refresh")


@st.fragment(run_every=REFRESH_CHOICES[refresh])
def live_panel() -> None:
    ctx = ui.page_context()
    with ui.page_guard("Could not compute the live queue"):
        view = build_live_queue(ctx.core, ctx.filters)
        ui.render_caption(view.caption)
        ui.render_cards(view.cards)
        ui.render_empty(view.empty_message)
        left, right = st.columns([3, 2])
        with left:
            ui.render_chart(view.backlog_chart, key="live_backlog")
        with right:
            ui.render_chart(view.breaches_chart, key="live_breaches_due")

        st.subheader("Overdue, then at risk")
        if view.queue.height:
            ui.render_table(view.queue, height=360, key="live_queue_table")
            ui.render_caption(view.queue_note)
            ui.render_download(view.queue_rows, "live_queue", key="live_queue_download")
        else:
            st.caption("No running service-level clock: nothing is overdue or about to breach.")

        st.subheader("Agents by current state")
        if view.agent_states_chart is None:
            st.caption("No agent state covers this instant (nobody logged in, or agent states are not synced).")
        ui.render_chart(view.agent_states_chart, key="live_agent_states")


live_panel()
