"""What only a browser shows (issue 17 items 2, 7 and 8; issue 18 item 12), in headless Chromium against the real
server on the pinned demo world:

- chart times are the report zone's, whatever the browser's own zone (a Tokyo and a UTC browser read the same
  axis labels), and written one way (24 h, never AM/PM);
- the first frame shows the app's own navigation (never Streamlit's page list of ``pages/``), with a progress
  message while the demo opens;
- the author panel framed at 460 px (Khoros' side panel) shows the open conversations without scrolling;
- no request leaves the deployment's origin (the favicon included).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from urllib.parse import urlsplit

import polars as pl
import pytest

from dashboard.simulator.world import WorldConfig, generate_world
from tests.conftest import DEMO_ENV, StreamlitServer, screenshot, wait_for_app_idle
from tests.test_page_author_panel_browser import _host_page, _token

pytestmark = pytest.mark.browser

CHART_TEXT = "[...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg text')].map(e => e.textContent)"


def _chart_texts(browser, server, path: str, zone: str, charts: int) -> list[str]:
    """Every text the page's charts draw (axis labels, titles), in a browser whose own zone is ``zone``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id=zone)
    try:
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(f"{server.url}/{path}")
        wait_for_app_idle(pg)
        pg.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg').length >= "
                             f"{charts}", timeout=60_000)
        texts: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the charts stop drawing
            now = sorted(pg.evaluate(CHART_TEXT))
            if now and now == texts:
                break
            texts = now
            time.sleep(0.5)
        return texts
    finally:
        context.close()


@pytest.mark.parametrize(("path", "charts"), [("automation", 3), ("agents", 1), ("", 1)])
def test_chart_times_are_the_report_zones_in_any_browser(browser, streamlit_server, path, charts):
    # browsers east and west of UTC (a date drawn at UTC midnight reads as the day before in Los Angeles)
    tokyo = _chart_texts(browser, streamlit_server, path, "Asia/Tokyo", charts)
    utc = _chart_texts(browser, streamlit_server, path, "America/Los_Angeles", charts)
    assert tokyo == utc
    assert not [t for t in utc if re.search(r"\b(AM|PM)\b", t)], utc  # one format: 24 h
    if path == "automation":
        # the last 24 hours up to the demo's now, Wed 18 Nov 10:30 in New York: hourly ticks end at 10:00
        hours = [t for t in utc if re.fullmatch(r"\d\d \w\w\w \d\d:\d\d", t)]
        assert hours and max(hours, key=lambda t: (t[:2], t[-5:])) == "18 Nov 10:00", hours


OBSERVE = """
window.__navs = [];
window.__progressWithNav = false;
new MutationObserver(() => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  const text = nav ? nav.innerText : null;
  if (text !== null && window.__navs[window.__navs.length - 1] !== text) window.__navs.push(text);
  if (text && document.body.innerText.includes('Opening the demo')) window.__progressWithNav = true;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.mark.slow
def test_the_first_frame_shows_the_apps_navigation(demo_env, chromium_path, browser, tmp_path):
    server = StreamlitServer({**demo_env, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)})  # a cold server, a new world
    try:
        server.wait_healthy()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.add_init_script(OBSERVE)
        pg.goto(server.url, timeout=180_000)
        pg.get_by_role("heading", name="Overview").wait_for(timeout=180_000)
        wait_for_app_idle(pg)
        navs = pg.evaluate("window.__navs")
        assert navs, "no navigation was ever shown"
        for text in navs:  # from the first one on: the app's pages, never the pages/ folder's file names
            assert "Overview" in text and "Service levels" in text, navs
            assert not re.search(r"author.panel|\bapp\b|service_levels|live queue", text), navs
        assert pg.evaluate("window.__progressWithNav"), "the opening's progress was not shown under the navigation"
        context.close()
    finally:
        server.stop()


def test_no_request_leaves_the_deployments_origin(streamlit_server, page):
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{streamlit_server.url}/service_levels")
    wait_for_app_idle(page)
    page.wait_for_selector('[data-testid="stVegaLiteChart"] svg')
    icon = page.evaluate("document.querySelector(\"link[rel='shortcut icon']\").href")
    assert icon.startswith(("data:", streamlit_server.url)), icon
    hosts.discard("")  # data: URLs
    assert hosts == {urlsplit(streamlit_server.url).netloc}, hosts


@pytest.fixture(scope="module")
def busy_author() -> dict:
    """The author with the most open conversations in the pinned demo world (the server generates the same)."""
    world = generate_world(WorldConfig(
        seed=int(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_SEED"]), days=int(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_DAYS"]),
        conversations_per_day=int(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_CPD"]),
        end=datetime.fromisoformat(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_END"]),
        timezone=DEMO_ENV["CARE_DASHBOARD_TIMEZONE"],
    ))  # fmt: skip
    conversations = world.tables["conversation"]
    still_open = conversations.filter(pl.col("closed_time").is_null() | (pl.col("closed_time") > world.now))
    author_id = still_open.group_by("author_id").len().sort(["len", "author_id"], descending=True)["author_id"][0]
    conv = still_open.filter(pl.col("author_id") == author_id).sort("created_time").row(-1, named=True)
    author = world.tables["author"].filter(pl.col("author_id") == author_id).sort("updated_time").row(-1, named=True)
    return {**author, "conversation_id": conv["conversation_id"], "display_id": conv["conversation_display_id"]}


def test_the_framed_author_panel_shows_open_conversations_without_scrolling(streamlit_server, page, busy_author):
    height = 600  # a laptop's screen less Khoros' own bars
    page.set_content(_host_page(f"{streamlit_server.url}/?payload={_token(busy_author)}")
                     .replace('width="1100" height="900"', f'width="460" height="{height}"'))
    frame = page.frame_locator("iframe#khoros")
    frame.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=180_000)
    # the first table after the "Open conversations" heading
    table = frame.locator("xpath=(//*[starts-with(normalize-space(text()), 'Open conversations')]"
                          "/following::*[@data-testid='stDataFrame'])[1]")
    table.wait_for()
    screenshot(page, "author_panel_framed_460px")
    top = page.locator("iframe#khoros").bounding_box()["y"]
    # its header and first rows (about 150 px) are in view without scrolling
    assert table.bounding_box()["y"] - top + 150 < height, "the open conversations are below the fold"
