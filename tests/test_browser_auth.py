"""Sign-in in headless Chromium, against a real OpenID Connect provider on a loopback port.

The provider is ``oidc-provider-mock`` (a real OIDC server: discovery, authorization code flow, signed identity
tokens); the dashboard signs in through Streamlit's own ``st.login`` with the ``[auth]`` section a test writes, and
gives roles from the ``groups`` claim through an access file. Users and their claims are set on the provider with
``PUT /users/{sub}`` before they sign in.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dashboard.audit import AuditLog
from tests.conftest import ARTIFACTS, KHOROS_ENV_NAMES, ROOT, StreamlitServer, _free_port, screenshot, wait_for_app_idle

pytestmark = [pytest.mark.browser, pytest.mark.integration,
              # the provider (a test tool) uses Authlib APIs Authlib has deprecated; not ours to change
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ACCESS = """\
[[groups]]
name = "care-leads"
role = "viewer"

[[groups]]
name = "care-analysts"
role = "analyst"

[[groups]]
name = "care-admins"
role = "admin"

[[groups]]
name = "emea-admins"
role = "admin"
tenants = ["emea"]
"""
USERS = {
    "lee": {"email": "lee@example.com", "name": "Lee Viewer", "groups": ["care-leads", "everyone"]},
    "ada": {"email": "ada@example.com", "name": "Ada Admin", "groups": ["care-admins"]},
    "eve": {"email": "eve@example.com", "name": "Eve Emea", "groups": ["emea-admins"]},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for sub, claims in USERS.items():
            httpx.put(f"{url}/users/{sub}", json=claims, timeout=10).raise_for_status()
        yield url


class SignInServer(StreamlitServer):
    """``streamlit run app.py`` with an ``[auth]`` section of its own (a secrets file outside the repository)."""

    def __init__(self, env: dict[str, str], folder: Path, provider: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        secrets = folder / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "{self.url}/oauth2callback"\n'
            'cookie_secret = "a-cookie-secret-for-the-sign-in-tests-only"\n'
            'client_id = "care-dashboard"\n'
            'client_secret = "the-mock-accepts-any"\n'
            f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        )
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"streamlit-auth-{self.port}.log"
        full_env = {k: v for k, v in os.environ.items() if k not in KHOROS_ENV_NAMES}
        full_env.update(env)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--secrets.files", str(secrets)],
            cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def audit_folder(demo_env) -> Path:
    from dashboard.audit import audit_log
    from dashboard.settings import load_settings

    return audit_log(load_settings(env=demo_env)).folder


@pytest.fixture(scope="module")
def server(demo_env, provider, chromium_path, tmp_path_factory) -> Iterator[SignInServer]:
    folder = tmp_path_factory.mktemp("sign-in")
    access = folder / "access.toml"
    access.write_text(ACCESS)
    instance = SignInServer({**demo_env, "CARE_DASHBOARD_ACCESS": str(access)}, folder, provider)
    try:
        instance.wait_healthy()
        yield instance
    finally:
        instance.stop()


def _idle(pg) -> None:
    wait_for_app_idle(pg)


def _text(pg, selector: str) -> str:
    # customer-facing text is escaped: an invisible word joiner keeps an address from being linked
    return pg.locator(selector).inner_text().replace("\u2060", "")


def _main_text(pg) -> str:
    return _text(pg, '[data-testid="stMain"]')


def _no_page_not_found(pg) -> None:
    assert pg.get_by_text("Page not found").count() == 0


def _sign_in(pg, server: SignInServer, sub: str) -> None:
    pg.goto(server.url)
    _idle(pg)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_selector('input[name="sub"]')  # the provider's own form
    pg.fill('input[name="sub"]', sub)
    pg.get_by_role("button", name="Authorize").click()
    pg.wait_for_url(re.compile(re.escape(server.url) + r"/?($|\?)"))
    _idle(pg)


def _nav_links(pg) -> list[str]:
    # each link reads "<icon name>\n\n<title>"
    return [t.strip().split("\n")[-1] for t in pg.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def test_a_signed_out_reader_sees_only_the_sign_in_at_every_path(server, page):
    for path in ("", "data", "service_levels?tier=Gold", "nowhere", "?token=abc"):
        page.goto(f"{server.url}/{path}")
        _idle(page)
        page.get_by_role("button", name="Sign in").wait_for()
        text = _main_text(page)
        assert "Sign in with your company account" in text, path
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert "Demo data" not in text and "Sync now" not in text
        _no_page_not_found(page)
    screenshot(page, "sign_in")


def test_a_viewer_cannot_open_the_data_page_by_navigation_or_by_link(server, page, audit_folder):
    _sign_in(page, server, "lee")
    page.wait_for_selector('[data-testid="stMetric"]')
    links = _nav_links(page)
    assert "Overview" in links and "Service levels" in links and "Data" not in links
    assert "Signed in as lee@example.com · viewer" in _text(page, '[data-testid="stSidebar"]')

    page.goto(f"{server.url}/data")
    _idle(page)
    page.get_by_text("You may not open the Data page: it needs the admin role.").wait_for()
    text = _main_text(page)
    assert "Sync now" not in text and "Import export files" not in text and "Audit" not in text
    _no_page_not_found(page)
    screenshot(page, "data_not_allowed_for_a_viewer")

    # A viewer downloads the CSV behind a figure (recorded in the audit); Parquet is the analyst's.
    page.goto(f"{server.url}/service_levels")
    _idle(page)
    picker = page.locator(".st-key-sla_pick input")
    picker.click()
    picker.fill("Platinum")
    page.keyboard.press("Enter")
    _idle(page)
    page.get_by_text(re.compile(r"conversations with customer tier = ")).first.wait_for()
    parquet = page.locator(".st-key-sla_rows_download_parquet").get_by_role("button", name="Download Parquet")
    assert parquet.is_disabled()
    with page.expect_download() as info:
        page.locator(".st-key-sla_rows_download_csv button").click()
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text())))
    assert rows
    records = AuditLog(audit_folder).latest(200)
    downloads = [e for e in records if e.action == "download" and e.user == "lee@example.com"]
    assert downloads and downloads[0].what["rows"] == len(rows) and downloads[0].what["file"].endswith(".csv")
    assert set(downloads[0].what) == {"file", "rows", "columns"}  # what, never the rows themselves
    assert any(e.action == "sign_in" and e.user == "lee@example.com" for e in records)


def test_an_admin_opens_the_data_page_and_sees_the_audit(server, page):
    _sign_in(page, server, "ada")
    page.wait_for_selector('[data-testid="stMetric"]')
    assert "Data" in _nav_links(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Data").click()
    _idle(page)
    page.get_by_role("heading", name="Sync now").wait_for()
    page.get_by_role("heading", name="Audit").scroll_into_view_if_needed()
    page.get_by_text(re.compile("Every process appends its own file per day")).wait_for()
    page.locator('[data-testid="stDataFrame"]').last.wait_for()  # the records (the grid draws on a canvas)
    _idle(page)
    screenshot(page, "data_page_for_an_admin")


def test_a_user_of_another_tenant_never_sees_this_one(server, page):
    _sign_in(page, server, "eve")
    page.get_by_text(re.compile("your access does not include this dashboard's data")).wait_for()
    text = _text(page, '[data-testid="stApp"]')
    assert "Eve" in text or "eve@example.com" in text
    for leaked in ("demo", "Demo", "simulator", "Simulator", "Conversations", "Overview"):
        assert leaked not in text, leaked
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.goto(f"{server.url}/?tenant=demo")
    _idle(page)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert "does not include this dashboard's data" in _main_text(page)


def test_sign_out_returns_to_the_sign_in(server, page, audit_folder):
    _sign_in(page, server, "ada")
    page.wait_for_selector('[data-testid="stMetric"]')
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    # Streamlit ends the session at the provider too (its end_session endpoint asks to confirm), then comes back
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(server.url)))
    _idle(page)
    page.get_by_role("button", name="Sign in").wait_for()
    page.goto(f"{server.url}/data")
    _idle(page)
    page.get_by_role("button", name="Sign in").wait_for()
    assert "Sync now" not in _main_text(page)
    assert any(e.action == "sign_out" and e.user == "ada@example.com"
               for e in AuditLog(audit_folder).latest(200))
