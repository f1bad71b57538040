"""The embed-only deployment (``CARE_DASHBOARD_MODE=embed``) in headless Chromium: the author panel for a valid
payload, and for everything else — every path, a misspelt parameter, a bad token — the one generic page, with no
navigation, no other page and no sign-in page; a fresh server's first request included."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dashboard.embed import encode_payload
from dashboard.ui.embed_gate import INVALID_LINK_MESSAGE
from tests.conftest import DEMO_ENV, StreamlitServer, screenshot, wait_for_app_idle

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SECRET = DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"]


@pytest.fixture(scope="module")
def embed_server(demo_env, chromium_path) -> Iterator[StreamlitServer]:
    server = StreamlitServer({**demo_env, "CARE_DASHBOARD_MODE": "embed"})
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def _token() -> str:
    return encode_payload({
        "agent": {"id": "agent-7", "email": "ann@example.com", "name": "Ann Agent"},
        "author": {"id": "author-not-in-the-world", "network": "twitter", "handle": "@nobody"},
        "conversationId": "conv-1", "network": "twitter", "timestamp": int(time.time() * 1000),
    }, SECRET)  # fmt: skip


def _assert_generic_page(pg, path: str) -> None:
    pg.get_by_text(INVALID_LINK_MESSAGE).wait_for()
    text = pg.locator('[data-testid="stApp"]').inner_text()
    assert pg.locator('[data-testid="stSidebarNav"]').count() == 0, path
    assert pg.locator('[data-testid="stSidebar"]').count() == 0, path
    assert pg.get_by_role("button").filter(has_text="Sign in").count() == 0, path
    assert pg.get_by_text("Page not found").count() == 0, path
    for other in ("Overview", "Sync now", "Demo data", "Date range", "Conversations"):
        assert other not in text, (path, other)


# The first request of a fresh server is a deep link: Streamlit would run pages/data.py on its own (legacy pages/
# mode) if the app let it.
PATHS = ["data", "", "overview", "service_levels?tier=Gold", "author_panel", "nowhere", "?token=abc",
         "?Payload=abc", "data?payload=not-a-token", "?payload="]


def test_every_path_without_a_valid_payload_gets_the_one_generic_page(embed_server, page):
    for path in PATHS:
        page.goto(f"{embed_server.url}/{path}")
        wait_for_app_idle(page)
        _assert_generic_page(page, path)
    screenshot(page, "embed_only_generic_page")


def test_a_valid_payload_opens_the_author_panel_and_nothing_else(embed_server, page):
    page.goto(f"{embed_server.url}/?payload={_token()}")
    wait_for_app_idle(page)
    page.get_by_text("Open conversations — overdue first, then time to breach").wait_for()
    assert page.get_by_text(INVALID_LINK_MESSAGE).count() == 0
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    # the panel's session cannot walk to another page either
    page.goto(f"{embed_server.url}/data")
    wait_for_app_idle(page)
    _assert_generic_page(page, "data after a valid payload")
