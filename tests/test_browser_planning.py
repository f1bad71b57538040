"""The planning views in headless Chromium against the real server: Contact reasons, Occupancy & staffing, and the
Service levels sections (Khoros' figure beside ours; what-if targets edited in the page). Each shows content and no
exception box, and is saved as a screenshot (``test-artifacts/screenshots``; the README uses them)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from dashboard.metrics import load_policy
from dashboard.metrics.whatif import TARGET_COLUMNS, targets_table
from tests.conftest import screenshot, wait_for_app_idle

pytestmark = pytest.mark.browser


def _open(pg, server, path: str, query: str = "") -> None:
    pg.goto(f"{server.url}/{path}{'?' + query if query else ''}")
    wait_for_app_idle(pg)
    pg.wait_for_selector('[data-testid="stMainBlockContainer"] h1')


def _settled(pg) -> None:
    wait_for_app_idle(pg)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"], [data-stale=\"true\"]')", timeout=30_000)


def _assert_no_exception(pg) -> None:
    boxes = pg.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def _metric(pg, label: str) -> str:
    card = pg.locator('[data-testid="stMetric"]').filter(has=pg.get_by_text(label, exact=True)).first
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _wait_for_cells(pg, *texts: str) -> None:
    """Wait until the page's tables show every one of ``texts`` in a cell. The grid is a canvas; its cells are
    read from what it exposes to assistive technology, which it draws once the table has been on screen."""
    tables = pg.locator('[data-testid="stDataFrame"]')
    for i in range(tables.count()):
        tables.nth(i).scroll_into_view_if_needed()
    pg.wait_for_function(
        """(texts) => {
            const shown = new Set([...document.querySelectorAll('[data-testid="stDataFrame"] [id^="glide-cell-"]')]
                                  .map(c => c.textContent));
            return texts.every(t => shown.has(t));
        }""", arg=list(texts), timeout=30_000)


def _tall_screenshot(pg, name: str, height: int, top: str | None = None) -> None:
    """A screenshot of ``height`` pixels of the page from its title (or from the text ``top``): the app scrolls
    inside its own container, so a full-page screenshot would show only the window."""
    pg.set_viewport_size({"width": 1400, "height": height})
    anchor = pg.get_by_text(top).first if top else pg.locator('[data-testid="stMainBlockContainer"] h1').first
    anchor.scroll_into_view_if_needed()
    pg.evaluate("(el) => el.scrollIntoView({block: 'start'})", anchor.element_handle())
    _settled(pg)
    screenshot(pg, name)
    pg.set_viewport_size({"width": 1400, "height": 1000})


def _charts_drawn(pg, at_least: int) -> None:
    pg.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
        "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= n", arg=at_least, timeout=60_000)


def _edit_cell(pg, key: str, row: int, column: int, old: str, new: str, *, done: str, attempts: int = 4) -> None:
    """Type ``new`` into the cell (``row``, ``column`` after ``position``) of the data editor ``key`` that shows
    ``old``, by keyboard as a reader would, until a markdown text matching ``done`` shows the app took it. An
    edit sent while Streamlit is still finishing a run can be dropped by the grid, or the cell reached can be
    another one while the grid is redrawn: then it is typed again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    canvas = pg.locator(f".st-key-{key} [data-testid='data-grid-canvas']")
    for attempt in range(attempts):
        canvas.scroll_into_view_if_needed()
        _settled(pg)
        box = canvas.bounding_box()
        pg.mouse.click(box["x"] + 55, box["y"] + 35 + 17)  # the first row's position cell (header: 35 px)
        for _ in range(column):
            pg.keyboard.press("ArrowRight")
        for _ in range(row):
            pg.keyboard.press("ArrowDown")
        pg.keyboard.press("Enter")  # opens the cell's editor
        editor = pg.locator("#portal textarea, #portal input").first
        try:
            editor.wait_for()
            expect(editor).to_have_value(old)
        except (AssertionError, PlaywrightTimeout):
            # a rerun that redraws the grid between the click and the Enter leaves the focus elsewhere
            pg.keyboard.press("Escape")
            if attempt == attempts - 1:
                raise
            continue
        pg.keyboard.press("Control+A")
        pg.keyboard.type(new)
        expect(editor).to_have_value(new)
        pg.keyboard.press("Enter")
        expect(editor).to_be_hidden()
        try:
            pg.wait_for_function(
                "(pattern) => [...document.querySelectorAll('[data-testid=\"stMarkdownContainer\"]')]"
                ".some(e => new RegExp(pattern).test(e.innerText))", arg=done, timeout=30_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def test_contact_reasons_show_tags_and_the_rows_behind_one(streamlit_server, page):
    _open(page, streamlit_server, "contact_reasons")
    _assert_no_exception(page)
    _charts_drawn(page, 1)
    assert page.get_by_text("counts once under each of its tags").count() >= 1
    _wait_for_cells(page, "Billing", "Delivery", "Returns")
    _tall_screenshot(page, "contact_reasons", 1900)
    picker = page.locator(".st-key-reasons_pick input")
    picker.click()
    picker.fill("Billing")
    page.keyboard.press("Enter")
    wait_for_app_idle(page)
    _assert_no_exception(page)
    counted = page.get_by_text(re.compile(r"conversations\*?\*? with tag Billing")).first
    counted.wait_for()
    shown = int(re.search(r"([\d,]+) conversations", counted.inner_text()).group(1).replace(",", ""))
    with page.expect_download() as info:
        page.locator(".st-key-reasons_rows_download_csv button").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text())))
    assert len(rows) == shown > 0 and all("Billing" in r["tags"].split(", ") for r in rows)


def test_occupancy_and_staffing_show_figures_and_the_forecast_error(streamlit_server, page):
    _open(page, streamlit_server, "occupancy_staffing")
    _assert_no_exception(page)
    assert re.fullmatch(r"\d+\.\d%", _metric(page, "Occupancy"))
    assert re.fullmatch(r"\d+\.\d\d", _metric(page, "Concurrency"))
    wape = page.get_by_text(re.compile(r"Forecast error \(WAPE per hour\) on the last")).first
    assert re.search(r": \d+\.\d %", wape.inner_text())
    assert _metric(page, "Forecast WAPE").endswith("%")
    _charts_drawn(page, 4)  # occupancy by hour, heatmap, agents needed vs available, the backtest
    _tall_screenshot(page, "occupancy_staffing", 3000)
    page.locator(".st-key-occupancy_kpis_occupancy_explain button").click()
    assert page.get_by_text(re.compile(r"merged, not summed")).first.is_visible()


def test_service_levels_compare_with_khoros_and_rescore_edited_targets(streamlit_server, page):
    _open(page, streamlit_server, "service_levels")
    _assert_no_exception(page)
    page.get_by_text("Khoros' time to agent response beside ours").first.scroll_into_view_if_needed()
    assert page.get_by_text("First response: why the figures differ").count() == 1
    _wait_for_cells(page, "First response", "Next response")
    changed = page.get_by_text(re.compile(r"change status under the edited targets")).first
    changed.wait_for()
    assert changed.inner_text().startswith("0 conversations")
    # Standard's first-response target from 4h to 8h, typed into the grid like a reader would
    targets = targets_table(load_policy())
    row = next(i for i, r in enumerate(targets.iter_rows(named=True))
               if r["metric"] == "first_response" and r["tier"] == "Standard")
    _edit_cell(page, "sla_whatif_targets", row, TARGET_COLUMNS.index("target"), "4h", "8h",
               done=r"^[1-9][\d,]* conversations change status")
    wait_for_app_idle(page)
    _assert_no_exception(page)
    assert page.get_by_text("These are the real targets").count() == 0
    with page.expect_download() as info:
        page.locator(".st-key-sla_whatif_toml button").click()
    text = info.value.path().read_text()
    standard = re.search(r'metric = "first_response"\ntier = "Standard"\ntarget = "(\w+)"', text)
    assert standard and standard.group(1) == "8h" and "[schedules.default]" in text
    _tall_screenshot(page, "service_levels_whatif", 2400, top="Khoros' time to agent response beside ours")
