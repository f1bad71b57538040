"""Pages: first render and rerun after a filter change of Overview and Service levels, and process memory.

A store is filled with a synthetic world (``Store.commit`` per export, one file per day: the layout a sync
writes) and its facts are kept, and the app is run through its entrypoint with Streamlit's AppTest in a child
process configured as a tenant (Khoros URLs pointing at a closed loopback port: the pages read the store only
and never call the API). Steps, timed one by one in the same AppTest session, as a user would meet them:

1. Overview, first render (cold: reads the store, computes the conversation facts, renders);
2. Overview, rerun after a filter change (customer tier = Gold);
3. Service levels, first render (tier = Gold; facts cached);
4. Service levels, rerun after a filter change (tier = Platinum).

(How a filter change is made under AppTest: see :func:`run_pages_worker`.)

The world ends at the current hour, so the sidebar's default window ("Last 28 days") is full of data.
Memory is the child process's resident set after each step and its peak (``os.wait4``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.proc import REPO, run_worker
from bench.synthetic import TABLES, SyntheticConfig, load_world

__all__ = ["PAGE_STEPS", "fill_store", "pages_markdown", "run_pages", "run_pages_worker"]

PAGE_STEPS = ("overview_first", "overview_rerun", "service_levels_first", "service_levels_rerun")
TENANT_ENV = {
    # A tenant whose API is unreachable: the pages read the store only; nothing may call the API.
    "KHOROS_ANALYTICS_URL": "http://127.0.0.1:9",
    "KHOROS_CARE_URL": "http://127.0.0.1:9",
    "KHOROS_BOT_API_URL": "http://127.0.0.1:9",
    "KHOROS_COMPANY_KEY": "bench",
    "KHOROS_USERNAME": "bench",
    "KHOROS_PASSWORD": "bench",
    "CARE_DASHBOARD_TIMEZONE": "America/New_York",
    "CARE_DASHBOARD_CACHE_KEY": "bench-cache-key-not-a-secret",
    # The bench times the pages, not sign-in: a tenant's dashboard without sign-in refuses to open unless this
    # is set on purpose (the server listens on loopback only).
    "CARE_DASHBOARD_ALLOW_ANONYMOUS": "true",
}


def keep_facts(data_dir: Path, env: dict[str, str], timeout_s: float = 3600) -> dict:
    """Keep the store's facts current with the real command line (``python -m dashboard facts``), as the sync
    that filled it would have: the app then starts on kept facts."""
    import os
    import subprocess
    import sys

    start = time.perf_counter()
    child_env = {**os.environ, **env, "CARE_DASHBOARD_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO),
                 "POLARS_MAX_THREADS": "2"}
    done = subprocess.run([sys.executable, "-m", "dashboard", "facts"], cwd=REPO, env=child_env,
                          capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"python -m dashboard facts failed: {done.stderr[-500:]}")
    return {"keep_s": time.perf_counter() - start, "report": done.stdout.strip()}


def fill_store(world_dir: Path, data_dir: Path, env: dict[str, str]) -> dict:
    """Write the world's tables into the store the app will open, one file per export and UTC day."""
    import polars as pl

    from dashboard.schema import EXPORTS
    from dashboard.settings import load_settings
    from dashboard.store import open_store

    settings = load_settings(env={**env, "CARE_DASHBOARD_DATA_DIR": str(data_dir)})
    store = open_store(settings)
    marker = store.root / ".bench-filled"
    if marker.exists():
        return {"store": str(store.root), "cached": True}
    start = time.perf_counter()
    files = 0
    for export_id in TABLES:
        frame = pl.read_parquet(world_dir / f"{export_id}.parquet")
        time_col = EXPORTS[export_id].time_column
        frame = frame.with_columns(pl.col(time_col).dt.date().alias("__day"))
        days = {day: part.drop("__day") for (day,), part in
                frame.partition_by("__day", as_dict=True, maintain_order=False).items()}
        # one commit per export, as a sync window commits its days
        store.commit(export_id, days=days, meta={d: {"source": "sync bench synthetic world"} for d in days})
        files += len(days)
    marker.write_text("filled by bench.pages_bench\n")
    return {"store": str(store.root), "cached": False, "fill_s": time.perf_counter() - start, "files": files}


def _peak_mb() -> float | None:
    from bench.worker import peak_rss_mb

    return peak_rss_mb()


def _rss_mb() -> float | None:
    from bench.worker import rss_mb

    return rss_mb()


def run_pages_worker(spec: dict) -> dict:
    """In the child: run the steps with AppTest; return times, RSS and what each page showed.

    AppTest (Streamlit 1.67) drops this app's sidebar on a second ``run()`` of the same session, so a
    sidebar widget cannot be changed between runs; and the filters are bound to the URL anyway. A filter
    change is therefore a new script run with the new query parameters in the same process: Streamlit's
    process-wide caches (store tables, conversation facts) are warm, exactly as on a rerun; only the
    session's widget state is new.
    """
    import os

    for name, value in spec["env"].items():
        os.environ[name] = value
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    timeout = float(spec.get("timeout_s", 600))
    out: dict = {"steps": {}, "rss_start_mb": _rss_mb()}

    def session(query: dict[str, list[str]]) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
        for key, value in query.items():
            at.query_params[key] = value
        return at

    def timed_run(name: str, at: AppTest) -> None:
        gc.collect()
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        errors = [str(e.value)[:300] for e in at.exception] + [str(e.value)[:300] for e in at.error]
        out["steps"][name] = {"s": elapsed, "rss_mb": _rss_mb(), "errors": errors,
                              "metrics": [(m.label, m.value) for m in at.metric][:8],
                              "dataframes": len(at.dataframe),
                              "first_table_rows": len(at.dataframe[0].value) if len(at.dataframe) else None}

    timed_run("overview_first", session({}))
    timed_run("overview_rerun", session({"tier": ["Gold"]}))
    sl = session({"tier": ["Gold"]})
    sl.run()
    sl.switch_page("pages/service_levels.py")
    timed_run("service_levels_first", sl)
    sl2 = session({"tier": ["Platinum"]})
    sl2.run()
    sl2.switch_page("pages/service_levels.py")
    timed_run("service_levels_rerun", sl2)
    out["peak_mb"] = _peak_mb()
    first, filtered = out["steps"]["overview_first"]["metrics"], out["steps"]["overview_rerun"]["metrics"]
    out["filter_applied"] = bool(first and filtered and first[0] != filtered[0])
    return out


def prepare_store(cache_dir: Path, n: int, n_authors: int, end: datetime,
                  log: Callable[[str], None] = print) -> tuple[dict[str, str], dict]:
    """The app's environment on a store filled with an ``n``-conversation world ending at ``end``, its facts kept
    (as every sync keeps them)."""
    config = SyntheticConfig(n_conversations=n, n_authors=n_authors, days=90, seed=13, end=end)
    world_dir = load_world(cache_dir, config)
    data_dir = cache_dir / "pages" / f"{config.name}_{end:%Y%m%d%H}"
    fill = fill_store(world_dir, data_dir, TENANT_ENV)
    fill["facts"] = keep_facts(data_dir, TENANT_ENV)
    log(f"  {n:>9,} store ready: {fill['facts']['report'].splitlines()[-1] if fill['facts']['report'] else ''}")
    return {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(data_dir)}, fill


def run_pages(cache_dir: Path, sizes: list[int], n_authors: int, timeout_s: float,
              log: Callable[[str], None] = print, browser: bool = True, browser_only: tuple[int, ...] = ()) -> dict:
    """AppTest and browser runs at ``sizes``; ``browser_only``: sizes run in the browser alone (memory)."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    out: dict = {"cases": [], "ok": True, "end": end.isoformat()}
    for n in browser_only:
        env, fill = prepare_store(cache_dir, n, n_authors, end, log)
        from bench.pages_browser import run_browser

        b = run_browser(env, timeout_s)
        for name, fig in b.get("steps", {}).items():
            log(f"  {n:>9,} browser {name:14s} {fig['s']:7.2f} s  server RSS {fig['server_rss_mb'] or 0:7.0f} MB")
        if not b.get("ok"):
            log(f"  {n:,}: browser FAILED {b.get('error')}")
        out["cases"].append({"page": "service_levels", "conversations": n, "fill": fill, "ok": bool(b.get("ok")),
                             "browser": b, "browser_only": True})
    for n in sizes:
        env, fill = prepare_store(cache_dir, n, n_authors, end, log)
        run = run_worker({"task": "pages", "env": env, "timeout_s": timeout_s}, timeout_s=timeout_s,
                         env={"POLARS_MAX_THREADS": "2"})
        case = {"conversations": n, "fill": fill, "max_rss_mb": run.max_rss_mb, "ok": run.ok}
        if run.ok:
            case.update(run.result)
            case["max_rss_mb"] = run.result.get("peak_mb") or run.max_rss_mb
            for name, fig in run.result["steps"].items():
                log(f"  {n:>9,} {name:22s} {fig['s']:7.2f} s  RSS {fig['rss_mb'] or 0:7.0f} MB"
                    + (f"  ERRORS: {fig['errors'][:1]}" if fig["errors"] else ""))
            steps = run.result["steps"]
            case["rerun_s"] = steps["service_levels_rerun"]["s"]
            if any(f["errors"] for f in steps.values()) or not run.result.get("filter_applied"):
                case["ok"] = False
        else:
            case["error"] = run.error
            log(f"  {n:,}: FAILED {run.error.strip()[-300:]}")
        if browser:
            from bench.pages_browser import run_browser

            case["browser"] = run_browser(env, timeout_s)
            b = case["browser"]
            for name, fig in b.get("steps", {}).items():
                log(f"  {n:>9,} browser {name:14s} {fig['s']:7.2f} s  server RSS {fig['server_rss_mb'] or 0:7.0f} MB")
            if not b.get("ok"):
                log(f"  {n:,}: browser FAILED {b.get('error')}")
        out["ok"] &= case["ok"]
        # keep only the service-levels rerun figure in the target (see report.targets)
        out["cases"] += [{"page": "service_levels", **case}]
    return out


def pages_markdown(p: dict) -> list[str]:
    if "cases" not in p:
        return ["## 3. Pages", "", f"Not measured: {p.get('error')}"]
    lines = ["## 3. Pages", "",
             "AppTest through `app.py` in a child process, store filled with a synthetic world ending at "
             f"{p.get('end', '?')} (sidebar default: last 28 days), configured as a tenant (no simulator). "
             "The store's facts are kept (`python -m dashboard facts`, as every sync keeps them). "
             "Steps: Overview first render (cold: a new process reads the kept facts), Overview rerun after a "
             "filter change (tier = Gold), Service levels first render (tier = Gold), Service levels rerun after "
             "a filter change (tier = Platinum). A filter change is a new script run with the new URL query "
             "parameters in the same process (Streamlit's process-wide caches warm, as on a rerun): AppTest "
             "1.67 drops this app's sidebar on a second run of one session, so the sidebar widget cannot be "
             "changed in place.", "",
             "| conversations | Overview first | Overview rerun | Service levels first | Service levels rerun | "
             "RSS after | peak RSS | errors |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case in p.get("cases", []):
        if case.get("browser_only"):
            continue
        if not case.get("steps"):
            lines.append(f"| {case['conversations']:,} | failed: {(case.get('error') or '?').strip()[-200:]} "
                         "| | | | | | |")
            continue
        s = case["steps"]
        errors = sorted({e for f in s.values() for e in f["errors"]})
        last = s["service_levels_rerun"]["rss_mb"] or 0
        lines.append(f"| {case['conversations']:,} | " + " | ".join(f"{s[k]['s']:.2f} s" for k in PAGE_STEPS)
                     + f" | {last / 1024:.2f} GiB | {case['max_rss_mb'] / 1024:.2f} GiB | "
                     + ("; ".join(errors)[:300] if errors else "none") + " |")
    browser_cases = [c for c in p.get("cases", []) if c.get("browser")]
    if browser_cases:
        lines += ["", "In the browser: `streamlit run app.py` just started on the same store (a restart: the facts "
                  "are read from the store, nothing is in memory), Chromium driven by Playwright. "
                  "First load: from navigation to the KPIs on screen and the app idle. The other steps: from the "
                  "click (the tier option in the sidebar filter, the page link) to the end of the script run it "
                  "caused (the app's `data-test-script-state` watched in the page, browser clock). Memory: the "
                  "Streamlit server process.", "",
                  "| conversations | Overview first load | Overview rerun (tier = Gold) | Service levels first | "
                  "Service levels rerun (+ Platinum) | server RSS idle | server RSS after | server peak RSS | "
                  "exceptions on page |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for case in browser_cases:
            b = case["browser"]
            if not b.get("steps") or len(b["steps"]) < len(PAGE_STEPS):
                lines.append(f"| {case['conversations']:,} | failed: {b.get('error', '?')} | | | | | | | |")
                continue
            s = b["steps"]
            lines.append(f"| {case['conversations']:,} | " + " | ".join(f"{s[k]['s']:.2f} s" for k in PAGE_STEPS)
                         + f" | {(b.get('server_rss_idle_mb') or 0):.0f} MiB | "
                         f"{(s['service_levels_rerun']['server_rss_mb'] or 0) / 1024:.2f} GiB | "
                         f"{(b.get('server_peak_mb') or 0) / 1024:.2f} GiB | {b.get('exceptions_on_page', '?')} |")
    return lines
