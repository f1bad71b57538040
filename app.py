"""Khoros Care Dashboard — the Streamlit entrypoint: the gates, the router and the shared sidebar.

Run with ``make run`` (or ``streamlit run app.py``). Pages in ``pages/`` only lay out what a view in
``dashboard.views`` built from the core. What a request gets, in order:

1. an embed-only process (``CARE_DASHBOARD_MODE=embed``): the author panel for a valid ``?payload=``, else the
   one generic page — at every path, with no navigation and no sign-in;
2. a request carrying ``?payload=`` is Khoros Care framing the author panel: it sees only that panel, for the
   author in the payload, and nothing else;
3. everyone else passes the sign-in gate (``dashboard.ui.admit``): a signed-out reader sees only the sign-in, a
   signed-in one the pages their role allows (a page it does not allow is neither listed nor reachable by URL).
"""

import streamlit as st

from dashboard import ui
from dashboard.ui.embed_gate import run_embed_only, run_embedded, serving_mode

# A local icon: nothing the page loads comes from another origin (agents' browsers behind proxies; privacy).
st.set_page_config(page_title="Khoros Care Dashboard", page_icon=ui.PAGE_ICON, layout="wide")

if serving_mode() == "embed":
    run_embed_only()
    st.stop()

if "payload" in st.query_params:
    run_embedded(st.query_params["payload"])
    st.stop()

settings = ui.attempt(ui.get_settings, "The settings cannot be read")
if settings is None:
    st.stop()
tenants = ui.attempt(ui.get_tenants, "The tenants file cannot be used")
if tenants is None:
    st.stop()
viewer, tenant = ui.admit(settings, tenants)

# The navigation comes first, before the data source opens (the demo's first start takes a while): from the first
# frame the reader sees the app's own pages, and the progress of the opening below them. The config hides the
# sidebar navigation so that Streamlit's legacy list of pages/ never shows on a fresh server; ours is shown.
st.set_option("client.showSidebarNavigation", True)
navigation = st.navigation(ui.navigation_pages(viewer, tenant), position="sidebar")
if ui.is_stand_in(navigation):  # a page this reader may not open: said without opening any data
    navigation.run()
    st.stop()

ui.render_account(viewer, tenant)
ui.render_tenant_picker(viewer, tenant, tenants)
if ui.attempt(ui.open_page_context, "Could not open the data source") is None:
    st.caption("Check the Khoros settings (README, 'Connect a Khoros Care tenant') and the Data page.")
    st.stop()

navigation.run()
