"""Issue 18, item 10, in the browser: on a tenant whose customer text holds Markdown links and images, no page and
no author panel draws a link or an image from that text, nothing is fetched from the attacker's host, and the text
reads literally. (The values are checked element by element in ``test_ux_text_not_markup.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest

from tests._worlds import write_tenant_store
from tests.conftest import StreamlitServer, screenshot, wait_for_app_idle
from tests.test_ux_text_not_markup import AGENT, HEADER, NAME, TIER, hostile_token, hostile_world, tenant_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INJECTED = "a[href*='evil.example'], img[src*='evil.example']"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, chromium_path):
    folder = tmp_path_factory.mktemp("hostile-browser")
    tables, facts = hostile_world(datetime.now(UTC).replace(second=0, microsecond=0))
    write_tenant_store(tables, folder)
    server = StreamlitServer(tenant_env(folder))
    try:
        server.wait_healthy()
        yield server, facts
    finally:
        server.stop()


@pytest.fixture
def watched(page):
    """The page, and every host it asked for something."""
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    return page, hosts


def _settle(pg, text: str) -> None:
    """Idle, with ``text`` on the page (up to its first URL: the page keeps a URL from being linked with an
    invisible word joiner after its colon)."""
    wait_for_app_idle(pg)
    pg.get_by_text(text.split("//")[0], exact=False).first.wait_for(timeout=120_000)
    wait_for_app_idle(pg)


def _reads(pg, text: str) -> bool:
    """Whether the page reads ``text`` literally (invisible word joiners aside)."""
    return pg.evaluate("(t) => document.body.innerText.replaceAll('\\u2060', '').includes(t)", text)


@pytest.mark.parametrize(("path", "query"), [
    ("", "tier={tier}&agent={agent}"),
    ("service_levels", "tier={tier}&sla_pick={tier}"),
    ("live_queue", "tier={tier}&agent={agent}"),
    ("agents", "agent={agent}"),
])
def test_pages_draw_no_link_or_image_from_customer_text(hostile_server, watched, path, query):
    server, facts = hostile_server
    pg, requests = watched
    pg.goto(f"{server.url}/{path}?" + query.format(tier=quote(TIER), agent=quote(facts["agent_id"])))
    expected = f"Agent: {AGENT}" if "agent" in query else f"Customer tier: {TIER}"
    _settle(pg, expected)
    assert _reads(pg, expected)
    assert pg.locator(INJECTED).count() == 0
    assert "evil.example" not in requests
    assert pg.locator('[data-testid="stException"]').count() == 0


def test_the_author_panel_draws_the_name_as_text(hostile_server, watched):
    server, facts = hostile_server
    pg, requests = watched
    pg.goto(f"{server.url}/?payload={hostile_token(facts)}")
    _settle(pg, NAME)
    assert _reads(pg, NAME) and _reads(pg, f"for {AGENT}")
    assert pg.locator(INJECTED).count() == 0
    assert "evil.example" not in requests
    screenshot(pg, "author_panel_customer_text")


def test_an_imported_files_header_is_shown_as_text(hostile_server, watched, tmp_path):
    server, _ = hostile_server
    pg, requests = watched
    upload = tmp_path / "hostile.csv"
    upload.write_text(f"Conversation ID,Author ID,Network,Status,Created Time,Closed Time,{HEADER}\n"
                      "ux-hostile-2,author-x,twitter,CLOSED,2001-03-02T10:00:00Z,2001-03-02T11:00:00Z,EU\n")
    pg.goto(f"{server.url}/data")
    wait_for_app_idle(pg)
    pg.locator(".st-key-data_import_files input[type=file]").set_input_files(str(upload))
    wait_for_app_idle(pg)
    pg.locator(".st-key-data_import button").click()
    _settle(pg, "unknown columns ignored")
    assert _reads(pg, HEADER)  # literally, brackets and all
    assert pg.locator(INJECTED).count() == 0
    assert "evil.example" not in requests
