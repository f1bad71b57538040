"""``python -m dashboard sync``: the data folder's demo world by default (served in-process), a summary, exit codes
with reasons, and ``--new-demo-world``."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dashboard.store import cli_sync
from dashboard.store.sync import SyncSummary

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

SMALL_WORLD = {
    "CARE_DASHBOARD_SIMULATOR_SEED": "4",
    "CARE_DASHBOARD_SIMULATOR_DAYS": "12",
    "CARE_DASHBOARD_SIMULATOR_CPD": "30",
    "CARE_DASHBOARD_SIMULATOR_END": "2026-11-18T15:30:00+00:00",
}
TENANT_NAMES = ("KHOROS_ANALYTICS_URL", "KHOROS_CARE_URL", "KHOROS_BOT_API_URL", "KHOROS_COMPANY_KEY",
                "KHOROS_USERNAME", "KHOROS_PASSWORD", "KHOROS_BOT_APP_ID")


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in TENANT_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in SMALL_WORLD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CARE_DASHBOARD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_sync.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_sync_without_settings_targets_the_bundled_simulator(env):
    out, err = io.StringIO(), io.StringIO()
    code = cli_sync.run(parse("--start", "2026-11-10", "--end", "2026-11-18", "--bot-requests",
                              "--author-lookback-days", "0"), out=out, err=err)
    text = out.getvalue()
    assert code == 0, err.getvalue()
    assert "bundled simulator" in text and "7 export jobs, at least 21 requests" in text
    assert "100%" in text and "ETA" in text
    # the 7 jobs' 21 requests, and the two listings naming work queues and teams
    assert "Summary: 7 jobs, 23 requests, 0 429s, 0 retries" in text and "names of 5 work queues, 3 teams" in text
    assert "Requests: 23 sent; the job flow needs at least 21 for 7 windows" in text
    assert "Bot request records:" in text
    stores = list((env / "store").iterdir())
    assert [s.name for s in stores] == ["simulator-seed4-d12-c30"]  # the folder the app and the report use
    assert (stores[0] / "export=conversation" / "_manifest.json").exists()
    assert (stores[0] / "export=bot_request" / "_manifest.json").exists()

    out = io.StringIO()
    assert cli_sync.run(parse("--start", "2026-11-10", "--end", "2026-11-18", "--quiet", "--author-lookback-days",
                              "0"), out=out) == 0
    assert "0 export jobs" in out.getvalue() and "0 requests" in out.getvalue()
    # the default looks 60 days further back for author versions: only those are fetched now
    out = io.StringIO()
    assert cli_sync.run(parse("--start", "2026-11-10", "--end", "2026-11-18", "--quiet"), out=out) == 0
    assert "(run, status, download)" in out.getvalue()
    assert "2 export jobs" in out.getvalue()


def test_bad_arguments_exit_2_with_the_reason(env):
    err = io.StringIO()
    assert cli_sync.run(parse("--exports", "conversation,colour"), out=io.StringIO(), err=err) == 2
    assert "unknown export(s) colour" in err.getvalue()
    err = io.StringIO()
    assert cli_sync.run(parse("--start", "2026-11-12", "--end", "2026-11-10"), out=io.StringIO(), err=err) == 2
    assert "after --end" in err.getvalue()
    with pytest.raises(SystemExit):
        parse("--start", "yesterday")


def test_a_tenant_without_credentials_exits_2(env, monkeypatch):
    monkeypatch.setenv("KHOROS_ANALYTICS_URL", "https://analytics.example/api/public")
    err = io.StringIO()
    assert cli_sync.run(parse(), out=io.StringIO(), err=err) == 2
    assert "KHOROS_COMPANY_KEY" in err.getvalue() and "KHOROS_PASSWORD" in err.getvalue()


def test_failed_windows_exit_1_and_are_listed(env, monkeypatch):
    import dashboard.store.sync as sync_module

    def failing(*args, **kwargs):
        return SyncSummary(jobs=6, failures=["incoming_post export for 2026-11-10..2026-11-18: job FAILED"])

    monkeypatch.setattr(sync_module, "sync", failing)
    err = io.StringIO()
    assert cli_sync.run(parse("--start", "2026-11-10", "--end", "2026-11-18"), out=io.StringIO(), err=err) == 1
    assert "1 window(s) failed" in err.getvalue() and "incoming_post export" in err.getvalue()


def test_the_eta_floor_follows_the_rate_limit():
    assert cli_sync._minimum_seconds(6, 20) == 0.0  # 18 calls fit in a minute
    assert cli_sync._minimum_seconds(7, 20) == 60.0  # 21 calls: one wait
    assert cli_sync._minimum_seconds(21, 20) == 180.0  # 63 calls: three waits


@pytest.mark.integration
def test_module_entry_point(env):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "dashboard", "sync", "--exports", "nope"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown export(s) nope" in done.stderr


def test_the_progress_bar_eta_never_promises_less_than_the_rate_limit_allows():
    out = io.StringIO()
    bar = cli_sync.ProgressBar(out, floor_seconds=120.0)
    bar("7 export jobs to run", 0.0)
    bar("conversation 2026-11-01..2026-11-18: 100 rows", 0.5)  # observed pace alone would say ~0 s left
    lines = out.getvalue().splitlines()
    etas = [int(line.split("ETA")[1].split("s")[0]) for line in lines]
    assert all(eta >= 119 for eta in etas)
    assert lines[1].startswith("[###############...............]  50%")
    quiet = io.StringIO()
    cli_sync.ProgressBar(quiet, floor_seconds=0, quiet=True)("x", 1.0)
    assert quiet.getvalue() == ""


def test_a_new_demo_world_replaces_the_recorded_one(env, monkeypatch):
    from dashboard.core import Dashboard
    from dashboard.settings import load_settings

    assert cli_sync.run(parse("--start", "2026-11-17", "--end", "2026-11-18", "--quiet"), out=io.StringIO()) == 0
    assert Dashboard.open(load_settings(), demo="read").now().isoformat() == "2026-11-18T15:30:00+00:00"
    monkeypatch.delenv("CARE_DASHBOARD_SIMULATOR_END")  # unpinned: a new world ends now
    out = io.StringIO()
    assert cli_sync.run(parse("--new-demo-world", "--quiet", "--start", "2026-11-17"), out=out) == 0
    core = Dashboard.open(load_settings(), demo="read")
    assert core.now().date() > date(2026, 11, 18) and "bundled simulator" in out.getvalue()
    assert core.scan("conversation").select(pl.len()).collect().item() > 0  # synced whole
    err = io.StringIO()
    monkeypatch.setenv("KHOROS_ANALYTICS_URL", "https://analytics.example/api/public")
    assert cli_sync.run(parse("--new-demo-world"), out=io.StringIO(), err=err) == 2
    assert "--new-demo-world is for the demo" in err.getvalue()
