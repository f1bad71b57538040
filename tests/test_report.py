"""The report CLI: on the simulator's world through the core, formats, argument errors, and run() against a
tenant's store (what ``python -m dashboard report`` does), tier file included."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

import polars as pl
import pytest

from dashboard import report
from dashboard.core import Dashboard
from dashboard.simulator.world import WorldConfig, generate_world
from tests._worlds import TENANT_ENV, write_tenant_store

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REQUIRED = ["total", "achieved", "breached", "pending", "bot_contained", "attainment", "median_seconds",
            "p90_seconds"]
WINDOW = dict(start=date(2026, 11, 9), end=date(2026, 11, 19))


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=5, days=14, conversations_per_day=80, end=END))


@pytest.fixture(scope="module")
def core(world) -> Dashboard:
    return Dashboard.from_tables(world.tables, now=END)


def test_sla_report_by_tier_counts_the_worlds_conversations(core, world) -> None:
    out = report.sla_report(core, by=["tier"], **WINDOW, tz="America/New_York")
    assert out.columns[0] == "tier"
    assert set(REQUIRED) <= set(out.columns)
    assert set(out["tier"]) <= {"Platinum", "Gold", "Silver", "Standard", "unknown"}
    assert (out["total"] == out["achieved"] + out["breached"] + out["pending"]).all()
    # Oracle: the world's own record of each conversation (first inbound post in the window, tier at its start).
    local_day = pl.col("first_inbound_time").dt.convert_time_zone("America/New_York").dt.date()
    truth = world.truth.filter(local_day.is_between(WINDOW["start"], WINDOW["end"], closed="left"))
    counted = out.select(pl.col("total", "bot_contained", "not_started", "no_target").sum()).row(0)
    assert sum(counted) == truth.height > 100
    assert out["bot_contained"].sum() == truth.filter(pl.col("bot_contained")).height
    per_tier = dict(truth.group_by("tier_at_start").len().iter_rows())
    row_sums = out.select("tier", pl.sum_horizontal("total", "bot_contained", "not_started", "no_target"))
    assert dict(row_sums.iter_rows()) == per_tier


def test_sla_report_other_metrics_and_groups(core) -> None:
    for metric in ("next_response", "time_to_assign", "resolution"):
        out = report.sla_report(core, metric=metric, by=["tier", "channel"], **WINDOW, tz="UTC")
        assert out.columns[:2] == ["tier", "network"]
        assert out["total"].sum() > 0, metric


def test_groups_resolve_aliases_and_reject_unknown() -> None:
    assert report.resolve_groups("tier, channel,queue,tier") == ["tier", "network", "work_queue_id"]
    with pytest.raises(report.ReportError, match="unknown --by column"):
        report.resolve_groups("tier,colour")


def test_formats() -> None:
    frame = pl.DataFrame({"tier": ["Gold", "Silver"], "total": [3, 0], "attainment": [2 / 3, None],
                          "median_seconds": [12.345, None]})
    table = report.format_report(frame, "table")
    assert table.splitlines()[0].split() == ["tier", "total", "attainment", "median_seconds"]
    assert "0.667" in table and "12.3" in table
    assert json.loads(report.format_report(frame, "json")) == [
        {"tier": "Gold", "total": 3, "attainment": 2 / 3, "median_seconds": 12.345},
        {"tier": "Silver", "total": 0, "attainment": None, "median_seconds": None},
    ]
    assert report.format_report(frame, "csv").splitlines()[0] == "tier,total,attainment,median_seconds"
    assert "no conversations" in report.format_report(frame.head(0), "table")


def _args(**overrides) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    argv = ["sla", "--start", "2026-11-09", "--end", "2026-11-19", "--as-of", "2026-11-20T12:00:00Z"]
    for key, value in overrides.items():
        argv += [f"--{key.replace('_', '-')}", value]
    return parser.parse_args(argv)


@pytest.fixture
def tenant(world, tmp_path, monkeypatch):
    """The world in a tenant's store, configured in the environment as ``python -m dashboard report`` reads it."""
    write_tenant_store(world.tables, tmp_path)
    for name, value in {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    for name in ("KHOROS_TIER_FILE", "CARE_DASHBOARD_POLICY", "CARE_DASHBOARD_BOT_RULE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_run_prints_json_from_the_store(tenant, core, capsys) -> None:
    assert report.run(_args(by="tier,priority", format="json", tz="America/New_York")) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {*REQUIRED, "tier", "priority"} <= set(rows[0])
    expected = report.sla_report(core, by=["tier", "priority"], **WINDOW, tz="America/New_York", as_of=END)
    assert [(r["tier"], r["priority"], r["achieved"], r["breached"]) for r in rows] == list(
        expected.select("tier", "priority", "achieved", "breached").iter_rows())


def test_run_reports_errors_in_one_line(tenant, capsys, tmp_path, monkeypatch) -> None:
    assert report.run(_args(tz="Mars/Base")) == 2
    assert "unknown time zone" in capsys.readouterr().err
    bad_policy = tmp_path / "bad.toml"
    bad_policy.write_text("[schedules.default]\ntimezone = 'UTC'\n[[targets]]\nmetric = 'speed'\ntarget = '1h'\n")
    assert report.run(_args(policy=str(bad_policy))) == 2
    assert "line 4" in capsys.readouterr().err
    monkeypatch.setenv("CARE_DASHBOARD_DATA_DIR", str(tmp_path / "elsewhere"))
    assert report.run(_args()) == 2
    assert "holds no conversations" in capsys.readouterr().err


def test_argument_errors_exit_through_argparse() -> None:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["sla", "--start", "2026-13-01", "--end", "2026-11-19"])
    with pytest.raises(SystemExit):
        parser.parse_args(["sla", "--start", "2026-11-01", "--end", "2026-11-19", "--as-of", "2026-11-20T12:00"])
    ns = SimpleNamespace(**vars(parser.parse_args(["sla", "--start", "2026-11-01", "--end", "2026-11-19"])))
    assert ns.metric == "first_response" and ns.bot_rule is None and ns.fmt == "table"  # None: the setting's


def test_run_compare(tenant, capsys) -> None:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    base = ["sla", "--start", "2026-11-09", "--end", "2026-11-19", "--as-of", "2026-11-20T12:00:00Z"]
    assert report.run(parser.parse_args([*base, "--by", "tier", "--compare", "--format", "json"])) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["group"] == "Platinum" and {"difference", "difference_low", "verdict"} <= set(rows[0])
    assert report.run(parser.parse_args([*base, "--by", "tier,priority", "--compare"])) == 2
    assert "exactly one --by" in capsys.readouterr().err


def test_compare_and_exclude_pending_through_the_core(core) -> None:
    common = dict(**WINDOW, tz="UTC")
    by_tier = report.sla_report(core, by=["tier"], **common)
    pairs = report.compare_report(by_tier, "tier", core.tier_order)
    assert pairs.height == by_tier.height * (by_tier.height - 1) // 2
    assert pairs.row(0, named=True)["group"] == "Platinum"
    assert set(pairs["verdict"].drop_nulls()) <= {"better", "worse", "not distinguishable"}
    full = report.sla_report(core, metric="resolution", by=[], **common).row(0, named=True)
    net = report.sla_report(core, metric="resolution", by=[], exclude_pending=True, **common).row(0, named=True)
    # waiting on the customer no longer counts: faster resolutions, at least as many achieved
    assert net["median_seconds"] < full["median_seconds"]
    assert net["achieved"] >= full["achieved"]
    with pytest.raises(report.ReportError, match="resolution only"):
        report.sla_report(core, metric="first_response", exclude_pending=True, **common)


def test_the_tier_file_replaces_the_author_attribute(tenant, world, capsys, monkeypatch, tmp_path) -> None:
    authors = sorted(world.tables["author"]["author_id"].unique().to_list())
    crm = tmp_path / "tiers.csv"
    crm.write_text("author_id,tier,updated_time\n" + "".join(f"{a},Diamond,\n" for a in authors[: len(authors) // 2]))
    monkeypatch.setenv("KHOROS_TIER_FILE", str(crm))
    assert report.run(_args(by="tier", format="json", tz="UTC")) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["tier"] for r in rows} == {"Diamond", "unknown"}
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,level\nx,Gold\n")
    monkeypatch.setenv("KHOROS_TIER_FILE", str(bad))
    assert report.run(_args()) == 2
    assert "missing column" in capsys.readouterr().err
    monkeypatch.setenv("KHOROS_TIER_FILE", str(tmp_path / "none.csv"))
    assert report.run(_args()) == 2
    assert "not found (KHOROS_TIER_FILE)" in capsys.readouterr().err
