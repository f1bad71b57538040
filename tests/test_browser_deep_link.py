"""A shared link opened as the very first request of a fresh server lands on its page, through app.py.

Until ``st.navigation`` has run once in a process, Streamlit treats ``pages/`` as a legacy multipage folder and
would run the page file without the entrypoint (no sidebar, no context): ``ui.page_context`` detects that and
reroutes. This needs its own cold server, not the suite's shared warm one.
"""

import pytest
from playwright.sync_api import expect

from tests.conftest import StreamlitServer, screenshot, wait_for_app_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_cold_deep_link_with_filters_runs_through_the_entrypoint(demo_env, chromium_path, browser, tmp_path):
    server = StreamlitServer({**demo_env, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)})
    try:
        server.wait_healthy()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.goto(f"{server.url}/service_levels?tier=Gold&tier=Platinum", timeout=180_000)
        # The page's caption names the filters the shared sidebar (app.py) read from the URL; waiting for it
        # also waits out the legacy run and the reroute.
        pg.get_by_text("Customer tier: Gold, Platinum").wait_for(timeout=180_000)
        wait_for_app_idle(pg)
        pg.get_by_role("heading", name="Service levels").wait_for()
        expect(pg.locator('[data-testid="stSidebar"]')).to_contain_text("Date range")
        assert pg.locator('[data-testid="stException"]').count() == 0
        screenshot(pg, "deep_link_cold_server")
        context.close()
    finally:
        server.stop()
