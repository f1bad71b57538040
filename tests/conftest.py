"""Shared fixtures: a small pinned demo world, AppTest runs through the entrypoint, and browser tests.

Browser tests start the real server (``streamlit run app.py``) on a free loopback port and drive Debian's
Chromium (``/usr/bin/chromium``; ``make test`` installs it when missing and the user is root). Where Chromium
cannot be had they skip with a message saying how to get it — except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run by default, so a red run can be repeated exactly (and CI is
# never red by luck). ``HYPOTHESIS_PROFILE=explore`` searches with fresh random draws and ten times the examples;
# a failure it finds prints its @reproduce_failure blob, and the fix lands as an @example.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", max_examples=1000, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

# A small world with a pinned clock: every test that opens the demo sees the same data.
DEMO_ENV = {
    "CARE_DASHBOARD_SIMULATOR_SEED": "11",
    "CARE_DASHBOARD_SIMULATOR_DAYS": "21",
    "CARE_DASHBOARD_SIMULATOR_CPD": "80",
    "CARE_DASHBOARD_SIMULATOR_END": "2026-11-18T15:30:00+00:00",
    "CARE_DASHBOARD_TIMEZONE": "America/New_York",
    "CARE_DASHBOARD_IFRAME_SECRET": "test-iframe-secret-for-the-suite",
}
KHOROS_ENV_NAMES = (
    "KHOROS_ANALYTICS_URL",
    "KHOROS_CARE_URL",
    "KHOROS_BOT_API_URL",
    "KHOROS_COMPANY_KEY",
    "KHOROS_USERNAME",
    "KHOROS_PASSWORD",
)


@pytest.fixture(scope="session", autouse=True)
def _close_app_cores() -> Iterator[None]:
    """Release what the app runs' cores started (in-process simulators), while pytest's streams are open."""
    yield
    from dashboard.ui import loaders

    for core in loaders._CORES.values():
        core.close()
    loaders._CORES.clear()


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-data")


@pytest.fixture(scope="session")
def demo_env(demo_data_dir: Path) -> dict[str, str]:
    """Environment for the app on the small pinned demo world (no Khoros settings)."""
    return {**DEMO_ENV, "CARE_DASHBOARD_DATA_DIR": str(demo_data_dir)}


@pytest.fixture
def app_env(demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set the demo environment for an in-process AppTest run."""
    for name in KHOROS_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in demo_env.items():
        monkeypatch.setenv(name, value)
    return demo_env


@pytest.fixture(scope="session")
def demo_core(demo_env: dict[str, str]) -> Iterator:
    """The core on the pinned demo world, opened once per session as any process opens it: the first open makes
    the world, records it and syncs it into the store (in-process, no server)."""
    from dashboard.core import Dashboard
    from dashboard.settings import load_settings
    from dashboard.ui import loaders

    settings = load_settings(env={**demo_env})
    core = Dashboard.open(settings)
    # The app's runs in this process share it (as one server process shares its core between sessions), so the
    # world is generated once; tests/test_source.py shows a second process reusing a recorded world.
    loaders._CORES.clear()
    loaders._CORES[settings] = core
    yield core
    core.close()


@pytest.fixture(scope="session")
def demo_world(demo_core):
    """The simulator's world behind the demo (its ``truth`` and ``tables`` are what really happened)."""
    return demo_core.source.world


def run_app(page: str | None = None, query: dict[str, str | list[str]] | None = None, timeout: float = 180):
    """Run the entrypoint with AppTest (optionally switching to a page), return the finished AppTest."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


# ---------------------------------------------------------------- browser tests


def chromium_executable() -> str | None:
    candidates = [os.environ.get("CARE_DASHBOARD_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                  shutil.which("chromium-browser")]
    return next((c for c in candidates if c and Path(c).exists()), None)


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # without these, Chromium keeps calling Google services that this closed network refuses
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = chromium_executable()
    if path is None:
        message = ("Chromium not found: browser tests need Debian's chromium "
                   "(`sudo apt-get install chromium`, or `make chromium` as root), "
                   "or CARE_DASHBOARD_CHROMIUM=/path/to/chrome")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class StreamlitServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"streamlit-{self.port}.log"
        full_env = {k: v for k, v in os.environ.items() if k not in KHOROS_ENV_NAMES}
        full_env.update(env)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/_stcore/health", timeout=2).text.strip() == "ok":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"streamlit not healthy after {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="session")
def streamlit_server(demo_env: dict[str, str], chromium_path: str) -> Iterator[StreamlitServer]:
    server = StreamlitServer(demo_env)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    yield pg
    context.close()


def wait_for_app_idle(pg, timeout_ms: float = 180_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' status widget)."""
    pg.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]',
        timeout=timeout_ms,
    )


def screenshot(pg, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


# ---- a real S3-compatible server (issue 14: the store on object storage) ----------------------------------------


class S3Server:
    """moto's S3 in server mode on a loopback port: what ``CARE_DASHBOARD_STORE_URL=s3://…`` talks to in tests.
    moto 5 honours ``If-None-Match: *`` and ``If-Match`` on PUT (the store's create-only writes and conditional
    commits; ``tests/test_store_object.py`` checks that it does)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._buckets = 0

    @property
    def env(self) -> dict[str, str]:
        """The AWS variables a process needs to reach this server (test credentials, plain HTTP on loopback)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY":
                "test-secret", "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}

    def new_bucket(self, name: str = "care") -> str:
        """A new empty bucket; returns its ``s3://`` URL with a prefix, as a deployment configures it."""
        import boto3

        self._buckets += 1
        bucket = f"{name}-{self._buckets}-{os.getpid()}"
        boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="test-key",
                     aws_secret_access_key="test-secret", region_name="us-east-1").create_bucket(Bucket=bucket)
        return f"s3://{bucket}/stores"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server._server.start()
    try:
        yield server
    finally:
        server._server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process reaches the test server (``AWS_*`` set for the test's duration)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server.env
