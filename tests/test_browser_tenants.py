"""Two tenants behind sign-in, in headless Chromium, against a real OpenID Connect provider on a loopback port.

Issue 19's last promise with issue 14's tenants: a reader mapped to tenant ``north`` never sees ``south``'s name or
numbers (by the page, a link or the picker), and an admin of both switches with the sidebar's picker, the link
following. The provider and the sign-in are those of ``tests/test_browser_auth.py``; the two simulated tenants are
those of ``tests/_tenant_worlds.py`` (their own numbers are checked against their worlds' truth in
``tests/test_tenants_pages.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from dashboard.cli import main
from tests._tenant_worlds import environment, tenants_env, write_tenants_file
from tests.conftest import screenshot
from tests.test_browser_auth import SignInServer, _idle, _sign_in, _text

pytestmark = [pytest.mark.browser, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ACCESS = """\
[[groups]]
name = "north-leads"
role = "viewer"
tenants = ["north"]

[[groups]]
name = "care-admins"
role = "admin"
"""
USERS = {
    "nora": {"email": "nora@example.com", "name": "Nora North", "groups": ["north-leads"]},
    "ada": {"email": "ada@example.com", "name": "Ada Admin", "groups": ["care-admins"]},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for sub, claims in USERS.items():
            httpx.put(f"{url}/users/{sub}", json=claims, timeout=10).raise_for_status()
        yield url


@pytest.fixture(scope="module")
def server(provider, chromium_path, tmp_path_factory) -> Iterator[SignInServer]:
    folder = tmp_path_factory.mktemp("tenants-sign-in")
    env = tenants_env(folder / "data", write_tenants_file(folder))
    with environment(env):  # both stores filled before the app starts, as the sync job of a deployment does
        assert main(["sync", "--all-tenants", "--quiet"]) == 0
    (folder / "access.toml").write_text(ACCESS)
    instance = SignInServer({**env, "CARE_DASHBOARD_ACCESS": str(folder / "access.toml")}, folder, provider)
    try:
        instance.wait_healthy()
        yield instance
    finally:
        instance.stop()


def _conversations(pg) -> str:
    card = pg.locator('[data-testid="stMetric"]').filter(has=pg.get_by_text("Conversations", exact=True)).first
    card.wait_for()
    return card.locator('[data-testid="stMetricValue"]').inner_text()


def _open(pg, url: str) -> None:
    pg.goto(url)
    _idle(pg)


def test_a_reader_of_north_never_sees_south_by_page_link_or_picker(server, page):
    _sign_in(page, server, "nora")
    north = _conversations(page)
    text = _text(page, '[data-testid="stApp"]')
    assert "south" not in text.lower()
    assert "Tenant: north" in text
    assert page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has=page.get_by_text("Tenant", exact=True)).count() == 0  # one tenant to see: no picker
    _open(page, f"{server.url}/service_levels?tenant=south")
    page.get_by_text("The link's tenant 'south' matches nothing you may see; showing north.").wait_for()
    text = _text(page, '[data-testid="stApp"]').replace("'south'", "")
    assert "south" not in text.lower()
    _open(page, f"{server.url}/?tenant=south")
    assert _conversations(page) == north
    screenshot(page, "tenants_reader_of_one")


def test_an_admin_switches_tenants_with_the_picker_and_the_link_follows(server, page):
    _sign_in(page, server, "ada")
    _open(page, f"{server.url}/?tenant=north")
    north = _conversations(page)
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has=page.get_by_text("Tenant", exact=True))
    picker.click()
    options = page.get_by_role("option")
    assert sorted(options.all_inner_texts()) == ["north", "south"]
    options.filter(has_text="south").click()
    page.wait_for_url(re.compile(r"[?&]tenant=south"))
    _idle(page)
    page.wait_for_function(
        "(before) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')].some(m => "
        "m.innerText.includes('Conversations') && !m.innerText.includes(before))", arg=north, timeout=60_000)
    south = _conversations(page)
    assert south != north
    # the link the picker wrote opens the same tenant's figures in a fresh page
    _open(page, page.url)
    assert _conversations(page) == south
    _open(page, f"{server.url}/?tenant=north")
    assert _conversations(page) == north
