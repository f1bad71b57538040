"""Pages in a real browser: the Streamlit server as users run it, driven by Chromium (Playwright).

The server runs ``streamlit run app.py`` on a free loopback port against the same filled store as the
AppTest run. Each step is timed from the user's action to the app being idle again (Streamlit's
``data-test-script-state`` back to ``notRunning``, and the step's content on screen): first load of
Overview, a filter change in the sidebar (customer tier), the switch to Service levels, a filter change
there. The server process's resident set is read from ``/proc`` after each step, with its peak.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.proc import REPO

__all__ = ["CHROMIUM", "run_browser"]

CHROMIUM = os.environ.get("CARE_DASHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_mb(pid: int, field: str) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# Records every change of the app's script state with the browser's clock, so a run that starts and ends
# between two polls is still seen, and durations are measured without polling delay.
WATCH_STATE = """() => {
  window.__scriptStates = [];
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => window.__scriptStates.push(
      [app.getAttribute('data-test-script-state'), performance.now()]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
RUN_DONE = """(since) => {
  const states = window.__scriptStates.filter(([, at]) => at >= since);
  const started = states.findIndex(([s]) => s === 'running');
  if (started < 0) return null;
  const done = states.slice(started).find(([s]) => s === 'notRunning');
  return done ? done[1] - since : null;
}"""


def _timed_action(page, action, timeout_ms: float) -> float:
    """Seconds from a user action to the end of the script run it caused (browser clock)."""
    since = page.evaluate("performance.now()")
    action()
    handle = page.wait_for_function(RUN_DONE, arg=since, timeout=timeout_ms)
    return handle.json_value() / 1000


def _pick_tier(page, tier: str):
    """Open the tier filter's list (not timed) and return the timed action: clicking ``tier`` in it."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Customer tier")
    box.locator("input").first.click()
    option = page.locator('[role="option"]').filter(has_text=tier).first
    option.wait_for(state="visible")
    return option.click


def run_browser(env: dict[str, str], timeout_s: float = 600) -> dict:
    """Start the server on ``env``, run the steps in Chromium; return times and server memory."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {"ok": False, "error": f"Chromium not found at {CHROMIUM} (CARE_DASHBOARD_CHROMIUM)"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    out: dict = {"ok": False, "steps": {}}
    timeout_ms = timeout_s * 1000
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    raise RuntimeError("streamlit exited early")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                        break
                time.sleep(0.2)
            out["server_rss_idle_mb"] = _proc_mb(server.pid, "VmRSS")

            def record(name: str, seconds: float) -> None:
                out["steps"][name] = {"s": seconds, "server_rss_mb": _proc_mb(server.pid, "VmRSS")}

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(timeout_ms)
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_selector('[data-testid="stMetric"]', timeout=timeout_ms)
                page.wait_for_selector(IDLE, timeout=timeout_ms)
                record("overview_first", time.perf_counter() - start)
                page.evaluate(WATCH_STATE)
                record("overview_rerun", _timed_action(page, _pick_tier(page, "Gold"), timeout_ms))
                page.keyboard.press("Escape")
                nav = page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Service levels").first
                record("service_levels_first", _timed_action(page, nav.click, timeout_ms))
                page.wait_for_selector('[data-testid="stDataFrame"]', timeout=timeout_ms)
                record("service_levels_rerun", _timed_action(page, _pick_tier(page, "Platinum"), timeout_ms))
                page.keyboard.press("Escape")
                exceptions = page.locator('[data-testid="stException"]').count()
                out["exceptions_on_page"] = exceptions
                browser.close()
            out["server_peak_mb"] = _proc_mb(server.pid, "VmHWM")
            out["ok"] = out["exceptions_on_page"] == 0
        except Exception as exc:  # report what failed; the other sections still run
            out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            log.seek(0)
            out["server_log_tail"] = log.read()[-1500:].decode(errors="replace")
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    return out
