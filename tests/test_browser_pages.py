"""The pages in headless Chromium against the real server: they load without an exception box, a filter from
the URL changes the figures, a drill-down shows rows and downloads them, the live queue refreshes by itself.
Every page is saved as a screenshot (``test-artifacts/screenshots``; the README uses them)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.conftest import screenshot, wait_for_app_idle

pytestmark = pytest.mark.browser

PAGES = {
    "overview": "",
    "service_levels": "service_levels",
    "live_queue": "live_queue",
    "agents": "agents",
    "automation": "automation",
    "data": "data",
}


def _open(pg, server, path: str, query: str = "") -> None:
    pg.goto(f"{server.url}/{path}{'?' + query if query else ''}")
    wait_for_app_idle(pg)
    pg.wait_for_selector('[data-testid="stMainBlockContainer"] h1')


def _settled(pg) -> None:
    """Idle, and nothing still drawn as a placeholder (a screenshot shows the finished page)."""
    wait_for_app_idle(pg)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"], [data-stale=\"true\"]')", timeout=30_000)


def _assert_no_exception(pg) -> None:
    boxes = pg.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def _metric(pg, label: str) -> str:
    card = pg.locator('[data-testid="stMetric"]').filter(has=pg.get_by_text(label, exact=True)).first
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_and_is_screenshotted(name, streamlit_server, page):
    _open(page, streamlit_server, PAGES[name])
    _assert_no_exception(page)
    if name in ("overview", "service_levels", "automation", "agents"):
        page.wait_for_selector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')
    assert page.get_by_text("Demo data — simulated Khoros Care").count() >= 1
    _settled(page)
    screenshot(page, name)


def test_a_url_filter_changes_the_overview(streamlit_server, page):
    _open(page, streamlit_server, "")
    everyone = int(_metric(page, "Conversations").replace(",", ""))
    _open(page, streamlit_server, "", "tier=Platinum")
    _assert_no_exception(page)
    platinum = int(_metric(page, "Conversations").replace(",", ""))
    assert 0 < platinum < everyone
    screenshot(page, "overview_platinum")


def test_drill_down_and_download_the_rows(streamlit_server, page):
    _open(page, streamlit_server, "service_levels")
    picker = page.locator(".st-key-sla_pick input")
    picker.click()
    picker.fill("Platinum")
    page.keyboard.press("Enter")
    wait_for_app_idle(page)
    _assert_no_exception(page)
    caption = page.get_by_text(re.compile(r"conversations with customer tier = ")).first
    caption.wait_for()
    shown = int(re.search(r"([\d,]+) conversations", caption.inner_text()).group(1).replace(",", ""))
    with page.expect_download() as info:
        page.locator(".st-key-sla_rows_download_csv button").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(download.path().read_text())))
    assert len(rows) == shown > 0
    assert {r["tier"] for r in rows} == {"Platinum"}
    _settled(page)
    screenshot(page, "service_levels_drill_down")


def test_click_a_bar_to_see_the_conversations_behind_it(streamlit_server, page):
    _open(page, streamlit_server, "service_levels")
    chart = page.locator(".st-key-sla_attainment_chart [data-testid='stVegaLiteChart'] svg.marks, "
                         ".st-key-sla_attainment_chart [data-testid='stVegaLiteChart'] canvas").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    # Tiers run top to bottom from Platinum; the first band's middle is below the title (~42 px) by half a
    # band (34 px per bar, see charts.create_attainment_chart). Every bar is longer than 20 % of the axis.
    page.mouse.click(box["x"] + 60 + 0.1 * (box["width"] - 60), box["y"] + 42 + 17)
    wait_for_app_idle(page)
    caption = page.get_by_text(re.compile(r"conversations with customer tier = ")).first
    caption.wait_for(timeout=30_000)
    assert "Platinum" in caption.inner_text()
    _assert_no_exception(page)


def test_the_live_queue_refreshes_itself(streamlit_server, page):
    _open(page, streamlit_server, "live_queue")
    page.locator(".st-key-live_refresh").get_by_role("radio", name="10 s").click()
    wait_for_app_idle(page)
    refreshed = page.get_by_text(re.compile(r"refreshed \d\d:\d\d:\d\d")).first
    first = re.search(r"refreshed (\d\d:\d\d:\d\d)", refreshed.inner_text()).group(1)
    page.wait_for_function(
        """(first) => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
              .some(e => /refreshed (\\d\\d:\\d\\d:\\d\\d)/.test(e.innerText)
                         && e.innerText.match(/refreshed (\\d\\d:\\d\\d:\\d\\d)/)[1] !== first)""",
        arg=first, timeout=30_000,
    )
    _assert_no_exception(page)
