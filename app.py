"""Khoros Care Dashboard — the Streamlit entrypoint: a router, the shared sidebar, and the embed gate.

Run with ``make run`` (or ``streamlit run app.py``). Pages in ``pages/`` only lay out what a view in
``dashboard.views`` built from the core. A request carrying ``?payload=`` is Khoros Care framing the author
panel: it sees only that panel, for the author in the payload, and nothing else.
"""

import streamlit as st

from dashboard import ui
from dashboard.ui.embed_gate import run_embedded

# A local icon: nothing the page loads comes from another origin (agents' browsers behind proxies; privacy).
st.set_page_config(page_title="Khoros Care Dashboard", page_icon=ui.PAGE_ICON, layout="wide")

if "payload" in st.query_params:
    run_embedded(st.query_params["payload"])
    st.stop()

# The navigation comes first, before the data source opens (the demo's first start takes a while): from the first
# frame the reader sees the app's own pages, and the progress of the opening below them. The config hides the
# sidebar navigation so that Streamlit's legacy list of pages/ never shows on a fresh server; ours is shown.
st.set_option("client.showSidebarNavigation", True)
navigation = st.navigation({
    "Service": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/service_levels.py", title="Service levels", icon=":material/target:"),
        st.Page("pages/live_queue.py", title="Live queue", icon=":material/timer:"),
        st.Page("pages/agents.py", title="Agents", icon=":material/support_agent:"),
    ],
    "Planning": [
        st.Page("pages/contact_reasons.py", title="Contact reasons", icon=":material/label:"),
        st.Page("pages/occupancy_staffing.py", title="Occupancy & staffing", icon=":material/groups:"),
    ],
    "Operations": [
        st.Page("pages/automation.py", title="Automation", icon=":material/smart_toy:"),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
    ],
}, position="sidebar")

if ui.attempt(ui.open_page_context, "Could not open the data source") is None:
    st.caption("Check the Khoros settings (README, 'Connect a Khoros Care tenant') and the Data page.")
    st.stop()

navigation.run()
