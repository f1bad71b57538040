"""Sync economy: a 90-day sync from the simulator under its rate limits, against the bound those limits allow.

The simulator enforces Khoros' documented limits as sliding windows (Analytics: 20 requests per 60 s,
counting run, status and download calls). A real 90-day sync at those limits takes minutes of waiting, so
time is scaled: the simulator and the client both use ``rate_window_s = 60 / scale`` with the same
per-window counts. Request counts, jobs and 429s do not depend on the scaling; wall times are reported as
measured and multiplied back by ``scale`` for the real-time equivalent (an upper bound: only the waiting
scales, the local work — parsing, writing Parquet — would not).

The bound: with ``L`` requests allowed in any window of ``W`` seconds, ``R`` requests cannot finish sooner
than ``(ceil(R / L) - 1) * W`` (request ``i`` cannot be sent before window ``floor(i / L)``). An export job
needs at least 3 requests (run, one status poll, download), so for ``J`` jobs the bound is
``(ceil(3J / L) - 1) * W``; the figure is that bound divided by the measured wall time (100 % = as fast as
the limits allow). The bound for the requests actually sent is shown too (extra status polls are the
difference).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

__all__ = ["lower_bound_s", "run_sync", "sync_markdown"]

ANALYTICS_PER_MIN = 20
CARE_PER_MIN = 60
MIN_REQUESTS_PER_JOB = 3


def lower_bound_s(requests: int, per_window: int, window_s: float) -> float:
    """Shortest time in which ``requests`` calls fit a sliding limit of ``per_window`` per ``window_s``."""
    if requests <= 0:
        return 0.0
    return (math.ceil(requests / per_window) - 1) * window_s


def _sim_stats(base_url: str) -> dict:
    return httpx.get(base_url.rstrip("/") + "/__simulator__/stats", timeout=10).json()


def run_sync(days: int = 90, conversations_per_day: int = 400, scale: float = 6.0,
             log: Callable[[str], None] = print) -> dict:
    from dashboard.khoros import KhorosClient
    from dashboard.settings import load_settings
    from dashboard.simulator.app import SimulatorOptions
    from dashboard.simulator.server import start_simulator
    from dashboard.simulator.world import WorldConfig, generate_world
    from dashboard.store import Store
    from dashboard.store.sync import sync

    window_s = 60.0 / scale
    end = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    out: dict = {"days": days, "conversations_per_day": conversations_per_day, "scale": scale,
                 "window_s": window_s, "analytics_per_window": ANALYTICS_PER_MIN, "ok": False}
    start_gen = time.perf_counter()
    world = generate_world(WorldConfig(seed=7, days=days, conversations_per_day=conversations_per_day, end=end))
    out["world_s"] = time.perf_counter() - start_gen
    options = SimulatorOptions(analytics_per_min=ANALYTICS_PER_MIN, care_per_min=CARE_PER_MIN,
                               rate_window_s=window_s)
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp, start_simulator(world, options) as sim:
        settings = load_settings(env={"CARE_DASHBOARD_DATA_DIR": tmp,
                                      "KHOROS_RATE_ANALYTICS_PER_MIN": str(ANALYTICS_PER_MIN),
                                      "KHOROS_RATE_CARE_PER_MIN": str(CARE_PER_MIN)})
        settings = settings.with_overrides(simulator_end=end, username=options.username,
                                           export_time_format=world.config.company_time_format,
                                           password=options.password, company_key=options.company_key)
        client = KhorosClient.from_settings(settings, base_url=sim.base_url, rate_window_s=window_s,
                                            use_cache=False)
        store = Store(Path(tmp) / "store")
        before = _sim_stats(sim.base_url)
        first_day = (end - timedelta(days=days)).date()
        last_day = (end - timedelta(milliseconds=1)).date()
        try:
            summary = sync(client, store, first_day, last_day, now=end)
        finally:
            client.close()
        after = _sim_stats(sim.base_url)
    server_requests = after["total"] - before["total"]
    server_429 = after["throttled"] - before["throttled"]
    jobs = summary.jobs
    bound_jobs = lower_bound_s(MIN_REQUESTS_PER_JOB * jobs, ANALYTICS_PER_MIN, window_s)
    bound_requests = lower_bound_s(server_requests, ANALYTICS_PER_MIN, window_s)
    out.update(
        ok=summary.ok, failures=summary.failures, jobs=jobs, windows=summary.windows, rows=summary.rows,
        client_requests=summary.requests, server_requests=server_requests, http_429=max(server_429,
                                                                                          summary.throttled),
        retries=summary.retries, wall_s=summary.seconds, bound_jobs_s=bound_jobs, bound_requests_s=bound_requests,
        efficiency=(bound_jobs / summary.seconds) if summary.seconds > 0 else 0.0,
        efficiency_requests=(bound_requests / summary.seconds) if summary.seconds > 0 else 0.0,
        routes=after.get("routes", {}),
    )
    log(f"  {jobs} jobs, {server_requests} requests, {out['http_429']} 429s, wall {summary.seconds:.1f} s "
        f"(window {window_s:.1f} s); bound for {jobs} jobs {bound_jobs:.1f} s -> {out['efficiency'] * 100:.0f} %"
        + ("" if summary.ok else f"; FAILURES: {summary.failures[:2]}"))
    return out


def sync_markdown(s: dict) -> list[str]:
    lines = ["## 2. Sync economy", ""]
    if "scale" not in s or (not s.get("jobs") and not s.get("ok")):
        return [*lines, f"Not measured: {s.get('error') or s.get('failures')}"]
    scale = s["scale"]
    lines += [
        f"A {s['days']}-day sync ({s['conversations_per_day']} conversations/day world) from the simulator into "
        f"an empty store with `dashboard.store.sync.sync` and `KhorosClient`, both at Analytics "
        f"{s['analytics_per_window']} requests per sliding window of {s['window_s']:.1f} s (the real 60 s "
        f"divided by {scale:g}); no response cache. The simulator completes export jobs at once "
        "(`job_seconds=0`), so the bound is the rate limit alone.", "",
        "| jobs | export windows | rows | requests (server count) | requests (client count) | 429s | retries | "
        "wall time | bound for these jobs (3 requests/job) | share of the bound | bound for the requests sent | "
        "real-time equivalent |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['jobs']} | {s['windows']} | {s['rows']:,} | {s['server_requests']} | {s['client_requests']} | "
        f"{s['http_429']} | {s['retries']} | {s['wall_s']:.1f} s | {s['bound_jobs_s']:.1f} s | "
        f"{s['efficiency'] * 100:.0f} % | {s['bound_requests_s']:.1f} s ({s['efficiency_requests'] * 100:.0f} %) | "
        f"{s['wall_s'] * scale / 60:.1f} min |",
    ]
    if s.get("failures"):
        lines += ["", "Failures: " + "; ".join(s["failures"])[:500]]
    routes = s.get("routes") or {}
    if routes:
        lines += ["", "Requests by route and status (server side): " + ", ".join(
            f"{route} {dict(statuses)}" for route, statuses in sorted(routes.items()))]
    return lines
