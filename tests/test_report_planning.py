"""``python -m dashboard report reasons | occupancy | staffing | tar`` against a tenant's store (what the command does),
checked against the metric functions on the same world and against its exports."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard import report
from dashboard.core import Dashboard
from dashboard.metrics import load_policy
from dashboard.metrics.reasons import reason_table
from dashboard.metrics.staffing import plan_staffing
from dashboard.simulator.world import WorldConfig, generate_world
from tests._worlds import TENANT_ENV, write_tenant_store

# whole demo worlds, syncs or engines: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TZ = "America/New_York"
WINDOW = ["--start", "2026-11-09", "--end", "2026-11-19", "--tz", TZ]


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=5, days=35, conversations_per_day=80, end=END))


@pytest.fixture(scope="module")
def core(world) -> Dashboard:
    return Dashboard.from_tables(world.tables, now=END)


@pytest.fixture(scope="module")
def store_dir(world, tmp_path_factory):
    """The world in a tenant's store (written once: the reports only read it)."""
    path = tmp_path_factory.mktemp("tenant")
    write_tenant_store(world.tables, path)
    return path


@pytest.fixture
def tenant(store_dir, monkeypatch):
    for name, value in {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(store_dir)}.items():
        monkeypatch.setenv(name, value)
    for name in ("KHOROS_TIER_FILE", "CARE_DASHBOARD_POLICY", "CARE_DASHBOARD_BOT_RULE", "KHOROS_CARE_URL"):
        monkeypatch.delenv(name, raising=False)
    return store_dir


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    return report.run(parser.parse_args(list(argv)))


def test_reasons_json_equals_the_metric_on_the_same_world(tenant, core, capsys):
    assert _run("reasons", *WINDOW, "--as-of", "2026-11-20T12:00:00Z", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    expected = reason_table(core.facts().lazy(), load_policy(), start=date(2026, 11, 9), end=date(2026, 11, 19),
                            tz=TZ, as_of=END).collect()
    assert [(r["reason"], r["conversations"], r["first_response_breached"]) for r in rows] == list(
        expected.select("reason", "conversations", "first_response_breached").iter_rows())
    assert _run("reasons", *WINDOW, "--rising", "--min-volume", "5", "--exclude", "Bot Handoff,Bot Contained") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["reason", "conversations", "previous", "change"]
    reasons = [re.split(r"\s{2,}", line.strip())[0] for line in out.splitlines()[1:] if line.strip()]
    assert reasons and not {"Bot Handoff", "Bot Contained"} & set(reasons)  # "Automatic Bot Handoff" stays


def test_occupancy_by_team_counts_the_state_exports_available_time(tenant, world, capsys):
    assert _run("occupancy", *WINDOW, "--by", "team", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    lo, hi = datetime(2026, 11, 9, 5, tzinfo=UTC), datetime(2026, 11, 19, 5, tzinfo=UTC)  # local midnights (EST)
    states = world.tables["raw_agent_states"].filter(pl.col("state") == "Available").with_columns(
        ms=(pl.min_horizontal(pl.col("end_time").fill_null(END), pl.lit(hi))
            - pl.max_horizontal("start_time", pl.lit(lo))).dt.total_milliseconds().clip(0))
    expected = dict(states.group_by("team_id").agg(pl.col("ms").sum() / 1000).iter_rows())
    assert {int(r["team_id"]): float(r["available_seconds"]) for r in rows} == pytest.approx(expected)
    assert all(0 <= float(r["occupancy"]) <= 1 for r in rows)


def test_staffing_states_the_forecasts_wape(tenant, core, world, capsys):
    # history 20 Oct - 18 Nov: the world starts on 16 Oct, so four whole weeks (three averaged, one held back)
    argv = ["staffing", "--start", "2026-10-20", "--end", "2026-11-19", "--tz", TZ, "--as-of", "2026-11-20T12:00:00Z"]
    assert _run(*argv) == 0
    out = capsys.readouterr().out
    t = {k: v.lazy() for k, v in world.tables.items()}
    plan = plan_staffing(core.facts().lazy(), t["incoming_post"], t["response"], t["conversation_history_action"],
                         t["raw_agent_states"], load_policy(), end=date(2026, 11, 19), tz=TZ, weeks=3,
                         holdout_weeks=1, as_of=END)
    assert out.splitlines()[0] == (
        "Forecast error (WAPE per hour) on the last 1 held-back week, forecast from the 3 weeks before them: "
        f"{100 * plan.wape:.1f} % (naive \"same hour last week\": {100 * plan.naive_wape:.1f} %).")
    assert _run(*argv, "--format", "csv", "--attainment", "0.9") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 14 * 24
    assert [float(r["forecast_wape"]) for r in rows] == pytest.approx([plan.wape] * len(rows))
    assert _run(*argv, "--format", "json", "--horizon-days", "7") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["wape"] == pytest.approx(plan.wape) and len(document["hours"]) == 7 * 24
    assert (document["weeks"], document["holdout_weeks"], document["plan_start"]) == (3, 1, "2026-11-19")


def test_tar_without_the_care_api_is_one_line_and_exit_2(tenant, capsys):
    assert _run("tar", *WINDOW) == 2
    err = capsys.readouterr().err
    assert err.startswith("report tar: Khoros' time to agent response is not available:") and err.count("\n") == 1


def test_planning_argument_errors(tenant, capsys):
    with pytest.raises(SystemExit):
        _run("staffing", *WINDOW, "--attainment", "1.5")
    with pytest.raises(SystemExit):
        _run("occupancy", *WINDOW, "--by", "planet")
    assert _run("staffing", "--start", "2026-11-10", "--end", "2026-11-19") == 2
    assert "at least two whole weeks" in capsys.readouterr().err
