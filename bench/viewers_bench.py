"""Many viewers at once: N real browser sessions against one Streamlit server, as a care floor's leads all open
the dashboard at 9:00.

One ``streamlit run app.py`` on a store whose facts are kept (a restart: nothing in the server's memory), one
Chromium (the system's, driven by Playwright's async API) with N browser contexts — N separate sessions with
their own cookies and websocket — started together. Each walks the same realistic path, every step timed from
the user's action to the end of the script run it caused (the app's ``data-test-script-state``, browser clock):

1. ``overview``: open the app (navigation to the KPIs on screen and the app idle);
2. ``filter``: pick a customer tier in the sidebar filter;
3. ``service_levels``: open Service levels;
4. ``drill_down``: pick a group in "Conversations of one customer tier (or click a bar)" and wait for its rows.

Recorded: each step's p50 and p95 over the sessions, errors (a step that times out or an exception shown on the
page), and the server's resident memory (sampled every half second, and its peak from the kernel).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.pages_browser import CHROMIUM, CHROMIUM_ARGS, IDLE, RUN_DONE, WATCH_STATE, _free_port, _proc_mb
from bench.proc import REPO

__all__ = ["STEPS", "percentile", "run_viewers", "viewers_markdown"]

STEPS = ("overview", "filter", "service_levels", "drill_down")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the dashboard's own definition)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 100) * len(ordered) // 100))
    return ordered[rank - 1]


async def _timed(page, action, timeout_ms: float) -> float:
    since = await page.evaluate("performance.now()")
    await action()
    handle = await page.wait_for_function(RUN_DONE, arg=since, timeout=timeout_ms)
    return (await handle.json_value()) / 1000


async def _viewer(browser, url: str, tier: str, timeout_ms: float) -> dict:
    out: dict = {"steps": {}, "errors": []}
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    step = "overview"
    try:
        start = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector('[data-testid="stMetric"]', timeout=timeout_ms)
        await page.wait_for_selector(IDLE, timeout=timeout_ms)
        out["steps"]["overview"] = time.perf_counter() - start
        await page.evaluate(WATCH_STATE)

        step = "filter"
        box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Customer tier")
        await box.locator("input").first.click()
        option = page.locator('[role="option"]').filter(has_text=tier).first
        await option.wait_for(state="visible")
        out["steps"]["filter"] = await _timed(page, option.click, timeout_ms)
        await page.keyboard.press("Escape")

        step = "service_levels"
        nav = page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Service levels").first
        out["steps"]["service_levels"] = await _timed(page, nav.click, timeout_ms)
        await page.wait_for_selector('[data-testid="stDataFrame"]', timeout=timeout_ms)

        step = "drill_down"
        # the label of views.service_levels.SlaBreakdown.picker_label for the default grouping (tier)
        picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Conversations of one")
        await picker.locator("input").first.click()
        first = page.locator('[role="option"]').first
        await first.wait_for(state="visible")
        out["steps"]["drill_down"] = await _timed(page, first.click, timeout_ms)
        await page.get_by_text("Download CSV").first.wait_for(state="visible", timeout=timeout_ms)
        shown = await page.locator('[data-testid="stException"]').count()
        if shown:
            out["errors"].append(f"{shown} exception(s) shown on the page")
    except Exception as exc:  # a step that fails is this session's error; the others go on
        out["errors"].append(f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    finally:
        with contextlib.suppress(Exception):
            await context.close()
    return out


async def _sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        value = _proc_mb(pid, "VmRSS")
        if value is not None:
            samples.append(value)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)


async def _drive(url: str, pid: int, n: int, tier: str, timeout_s: float) -> dict:
    from playwright.async_api import async_playwright

    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(pid, samples, stop))
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        started = time.perf_counter()
        sessions = await asyncio.gather(*(_viewer(browser, url, tier, timeout_s * 1000) for _ in range(n)))
        wall = time.perf_counter() - started
        await browser.close()
    stop.set()
    await sampler
    return {"sessions": sessions, "wall_s": wall, "rss_samples_mb": samples}


def run_viewers(env: dict[str, str], n: int = 20, *, tier: str = "Gold", timeout_s: float = 300) -> dict:
    """Start the server on ``env`` (a store with kept facts), drive ``n`` sessions at once; return the figures."""
    if not Path(CHROMIUM).exists():
        return {"ok": False, "error": f"Chromium not found at {CHROMIUM} (CARE_DASHBOARD_CHROMIUM)"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    out: dict = {"ok": False, "viewers": n}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
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
            driven = asyncio.run(_drive(url, server.pid, n, tier, timeout_s))
            out["server_peak_mb"] = _proc_mb(server.pid, "VmHWM")
            out["server_rss_end_mb"] = _proc_mb(server.pid, "VmRSS")
            out["wall_s"] = driven["wall_s"]
            out["rss_max_sampled_mb"] = max(driven["rss_samples_mb"], default=None)
            out["errors"] = [e for s in driven["sessions"] for e in s["errors"]]
            out["steps"] = {}
            for step in STEPS:
                values = [s["steps"][step] for s in driven["sessions"] if step in s["steps"]]
                out["steps"][step] = {"n": len(values), "p50": percentile(values, 0.5),
                                      "p95": percentile(values, 0.95), "max": max(values, default=None),
                                      "mean": statistics.fmean(values) if values else None}
            out["ok"] = True
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


def viewers_markdown(v: dict, conversations: int) -> list[str]:
    lines = ["## Many viewers at once", ""]
    if not v.get("ok"):
        return [*lines, f"Not measured: {v.get('error')}"]
    lines += [
        f"{v['viewers']} browser sessions (one Chromium, a context each) started together against one `streamlit "
        f"run app.py` just started on the {conversations:,}-conversation store (facts kept). Path: open Overview, "
        "pick a tier in the sidebar filter, open Service levels, pick a group to drill into. Each step from the "
        "action to the end of the script run it caused (browser clock); all sessions share the machine's 2 cores "
        "with the server.", "",
        "| step | sessions done | p50 | p95 | max |", "|---|---:|---:|---:|---:|"]
    for step in STEPS:
        s = v["steps"][step]
        fmt = (lambda x: f"{x:.2f} s" if x is not None else "—")  # noqa: E731
        lines.append(f"| {step} | {s['n']} / {v['viewers']} | {fmt(s['p50'])} | {fmt(s['p95'])} | {fmt(s['max'])} |")
    errors = v.get("errors") or []
    lines += ["", f"Errors: {len(errors)}" + (" — " + "; ".join(sorted(set(errors)))[:600] if errors else "") + ". "
              f"Server memory: {(v.get('server_rss_idle_mb') or 0):.0f} MiB idle, "
              f"{(v.get('rss_max_sampled_mb') or 0) / 1024:.2f} GiB at most while sampled, peak "
              f"{(v.get('server_peak_mb') or 0) / 1024:.2f} GiB (kernel high-water mark). All sessions done in "
              f"{v['wall_s']:.1f} s."]
    return lines
