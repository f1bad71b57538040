"""Browser test: Khoros frames the author panel with a valid payload; the frame cannot reach another page."""

from __future__ import annotations

import time
from datetime import datetime

import polars as pl
import pytest

from dashboard.embed import encode_payload
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.ui.embed_gate import INVALID_LINK_MESSAGE
from tests.conftest import DEMO_ENV, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"]
IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'


@pytest.fixture(scope="module")
def demo_author() -> dict:
    """The author with most conversations in the pinned demo world (the server generates the same world)."""
    world = generate_world(WorldConfig(
        seed=int(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_SEED"]), days=int(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_DAYS"]),
        conversations_per_day=int(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_CPD"]),
        end=datetime.fromisoformat(DEMO_ENV["CARE_DASHBOARD_SIMULATOR_END"]),
        timezone=DEMO_ENV["CARE_DASHBOARD_TIMEZONE"],
    ))  # fmt: skip
    conversations = world.tables["conversation"]
    author_id = conversations.group_by("author_id").len().sort(["len", "author_id"], descending=True)["author_id"][0]
    conv = conversations.filter(pl.col("author_id") == author_id).sort("created_time").row(-1, named=True)
    author = world.tables["author"].filter(pl.col("author_id") == author_id).sort("updated_time").row(-1, named=True)
    return {**author, "conversation_id": conv["conversation_id"], "display_id": conv["conversation_display_id"]}


def _token(author: dict) -> str:
    return encode_payload(
        {
            "agent": {"id": "agent-7", "email": "ann@example.com", "name": "Ann Agent"},
            "author": {"id": author["author_id"], "network": author["network"], "handle": author["handle"]},
            "conversationId": author["conversation_id"],
            "conversationDisplayId": author["display_id"],
            "network": author["network"],
            "timestamp": int(time.time() * 1000),
        },
        SECRET,
    )


def _host_page(src: str) -> str:
    """What Khoros Care's agent UI does: an iframe of our URL next to the conversation."""
    return (f'<html><body><h1>Khoros Care (stand-in)</h1>'
            f'<iframe id="khoros" src="{src}" width="1100" height="900"></iframe></body></html>')  # fmt: skip


def test_author_panel_loads_in_an_iframe_and_offers_no_way_out(streamlit_server, page, demo_author) -> None:
    page.set_content(_host_page(f"{streamlit_server.url}/?payload={_token(demo_author)}"))
    frame = page.frame_locator("iframe#khoros")
    frame.locator(IDLE).wait_for(timeout=180_000)
    frame.get_by_text(demo_author["display_name"], exact=True).first.wait_for()
    frame.get_by_text("Open conversations").first.wait_for()
    screenshot(page, "author_panel_in_iframe")
    # No navigation, no sidebar, no link to any other page of the app.
    assert frame.locator('[data-testid="stSidebarNav"]').count() == 0
    assert frame.locator('[data-testid="stSidebar"]').count() == 0
    hrefs = frame.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert not [h for h in hrefs if h and streamlit_server.url in h and "payload" not in h]
    assert frame.get_by_text("Service levels", exact=True).count() == 0  # the nav label of another page

    # Asking the frame for another page with the same payload still gives only the author panel.
    page.set_content(_host_page(f"{streamlit_server.url}/overview?payload={_token(demo_author)}"))
    frame = page.frame_locator("iframe#khoros")
    frame.locator(IDLE).wait_for(timeout=180_000)
    frame.get_by_text(demo_author["display_name"], exact=True).first.wait_for()
    assert frame.locator('[data-testid="stSidebarNav"]').count() == 0


def test_tampered_payload_in_the_iframe_gets_the_generic_page(streamlit_server, page, demo_author) -> None:
    token = _token(demo_author)
    tampered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    page.set_content(_host_page(f"{streamlit_server.url}/?payload={tampered}"))
    frame = page.frame_locator("iframe#khoros")
    frame.locator(IDLE).wait_for(timeout=180_000)
    frame.get_by_text(INVALID_LINK_MESSAGE).wait_for()
    assert frame.get_by_text(demo_author["display_name"], exact=True).count() == 0
