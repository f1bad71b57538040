"""Khoros Care Dashboard — the Streamlit entrypoint: a router, the shared sidebar, and the embed gate.

Run with ``make run`` (or ``streamlit run app.py``). Pages in ``pages/`` only lay out; every number comes from
``dashboard.metrics``. A request carrying ``?payload=`` is Khoros Care framing the author panel: it sees only
that panel, for the author in the payload, and nothing else.
"""

import logging

import streamlit as st

from dashboard import ui
from dashboard.ui.embed_gate import run_embedded

st.set_page_config(page_title="Khoros Care Dashboard", page_icon=":material/forum:", layout="wide")
log = logging.getLogger("dashboard.app")

if "payload" in st.query_params:
    run_embedded(st.query_params["payload"])
    st.stop()

try:
    source = ui.get_source()
    facts = ui.load_facts(source)
except Exception as exc:  # shown on the page, never as a stack trace
    log.exception("could not open the data source")
    st.error(f"Could not open the data source: {exc}")
    st.caption("Check the Khoros settings (README, 'Connect a Khoros Care tenant') and the Data page.")
    st.stop()

ui.render_sidebar(source, facts)

pages = {
    "Service": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/service_levels.py", title="Service levels", icon=":material/target:"),
        st.Page("pages/live_queue.py", title="Live queue", icon=":material/timer:"),
        st.Page("pages/agents.py", title="Agents", icon=":material/support_agent:"),
    ],
    "Operations": [
        st.Page("pages/automation.py", title="Automation", icon=":material/smart_toy:"),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
    ],
}
st.navigation(pages, position="sidebar").run()
