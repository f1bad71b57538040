"""``report trend``: KPI trends and period comparisons from the daily rollups, else from the facts.

- On the golden world (``tests/test_metrics_golden.py``, every clock worked out by hand there) kept in a store:
  the counts per week and month written down by hand below, from the rollups and from the facts alike;
- on the pinned demo world: the rollups' answer equals the facts' answer for day / week / month, with and without
  groups and filters, and each week's figures equal ``attainment_by`` over that week's window;
- the fallbacks (another zone, an "as of" before the rollups are valid, another bot rule or policy, tables in
  memory) answer from the facts with the same numbers and say why;
- the command line: the table on stdout, the source on stderr, one-line errors naming what is allowed.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard import report
from dashboard.core import Dashboard
from dashboard.metrics import attainment_by, evaluate, in_window
from dashboard.metrics.policy_toml import policy_to_toml
from dashboard.metrics.rollups import CELL, ROLLUP_METRICS
from dashboard.metrics.stats import wilson_bounds
from dashboard.report_trend import (
    COMPARISON_COLUMNS,
    ROLLUPS_SOURCE,
    TREND_COLUMNS,
    TREND_GROUPS,
    trend_comparison,
    trend_report,
)
from tests import test_metrics_golden as golden
from tests._worlds import TENANT_ENV, tenant_settings, write_tenant_store

NY = "America/New_York"
COUNTS = ["conversations", "bot_first", "bot_contained", "total", "achieved", "breached", "pending", "not_started",
          "no_target", "responded"]


def test_a_trend_groups_by_rollup_cell_columns_only():
    assert set(TREND_GROUPS.values()) <= set(CELL)


# ---- the golden world, hand-worked -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden_dir(tmp_path_factory):
    """The golden world in a tenant's store with its policy, reports in New York days, the facts and their rollups
    kept (as a sync keeps them)."""
    data_dir = tmp_path_factory.mktemp("golden-trend")
    write_tenant_store(golden.TABLES, data_dir)
    (data_dir / "policy.toml").write_text(policy_to_toml(golden.POLICY))
    Dashboard.open(golden_settings(data_dir)).keep_facts()
    return data_dir


def golden_settings(data_dir):
    return tenant_settings(data_dir, CARE_DASHBOARD_POLICY=str(data_dir / "policy.toml"),
                           CARE_DASHBOARD_TIMEZONE=NY)


@pytest.fixture(scope="module")
def golden_store_core(golden_dir):
    """A reader over the store (as the report opens it): the rollups answer."""
    return Dashboard.open(golden_settings(golden_dir), demo="read")


@pytest.fixture(scope="module")
def golden_tables_core(golden_dir):
    """The same world as tables in memory: no rollups, the facts answer."""
    return Dashboard.from_tables(golden.TABLES, settings=golden_settings(golden_dir), now=golden.AS_OF,
                                 policy=golden.POLICY)


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return list(frame.select(*columns).iter_rows())


# Weeks (Monday) of first inbound posts in New York, window 2026-10-26 .. 2026-12-02, as of 2026-11-30 19:00 EST:
#   10-26  dst_end_tie (Fri 30th, Gold): achieved at the tie, 7200 s
#   11-02  nothing
#   11-09  weekend (Sat 14th, Platinum): achieved, 0 business seconds
#   11-16  eleven: bot_contained and bot_handoff are bot-first, bot_contained the only one the bot kept;
#          out_of_hours and priority_raised breached; private_note 3600, reopen 1200, bot_handoff 1800,
#          climber_before 1800, climber_after 1800, untiered 14400, priority_later 2700, assigned 3600 achieved
#          (with 30600 and 2700 breached: 64200 s over 10 answers = 6420 s)
#   11-23  holiday (Wed 25th): achieved, 5400 s
#   11-30  two days of the window (30th, 1st); unanswered (Mon 30th 10:00, Platinum 1 business hour): its clock
#          runs, breach_at 11:00 EST < as of -> breached, nothing answered
WEEKS = [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23),
         date(2026, 11, 30)]
FIRST_RESPONSE_WEEKS = [
    # period_start, days, conversations, bot_first, bot_contained, total, achieved, breached, pending, responded
    (WEEKS[0], 7, 1, 0, 0, 1, 1, 0, 0, 1),
    (WEEKS[1], 7, 0, 0, 0, 0, 0, 0, 0, 0),
    (WEEKS[2], 7, 1, 0, 0, 1, 1, 0, 0, 1),
    (WEEKS[3], 7, 11, 2, 1, 10, 8, 2, 0, 10),
    (WEEKS[4], 7, 1, 0, 0, 1, 1, 0, 0, 1),
    (WEEKS[5], 2, 1, 0, 0, 1, 0, 1, 0, 0),
]
# Resolution (8 business hours from creation): only reopen (5 h) and bot_contained (10 min) are closed, both in the
# 11-16 week, achieved; every other clock still runs and is past its breach_at by the 30th, except unanswered's
# (Mon 30th 10:00 + 8 business hours = Tue 1st 10:00): pending.
RESOLUTION_WEEKS = [(WEEKS[0], 1, 0, 1, 0), (WEEKS[1], 0, 0, 0, 0), (WEEKS[2], 1, 0, 1, 0),
                    (WEEKS[3], 11, 2, 9, 0), (WEEKS[4], 1, 0, 1, 0), (WEEKS[5], 1, 0, 0, 1)]
WINDOW = dict(start=date(2026, 10, 26), end=date(2026, 12, 2))


@pytest.mark.parametrize("which", ["golden_store_core", "golden_tables_core"])
def test_weekly_counts_on_the_golden_world_are_the_hand_worked_ones(which, request):
    core = request.getfixturevalue(which)
    frame, source = trend_report(core, metric="first_response", **WINDOW, as_of=golden.AS_OF)
    assert source == (ROLLUPS_SOURCE if which == "golden_store_core" else
                      "from the conversation facts: the data are tables in memory, where no rollups are kept")
    assert frame.columns == list(TREND_COLUMNS)
    assert rows(frame, "period_start", "days", "conversations", "bot_first", "bot_contained", "total", "achieved",
                "breached", "pending", "responded") == FIRST_RESPONSE_WEEKS
    assert frame["attainment"].to_list() == [1.0, None, 1.0, 0.8, 1.0, 0.0]
    assert frame["mean_seconds"].to_list() == [7200.0, None, 0.0, 6420.0, 5400.0, None]
    low, high = wilson_bounds(8, 10)
    assert frame.row(3, named=True)["attainment_low"] == pytest.approx(low)
    assert frame.row(3, named=True)["attainment_high"] == pytest.approx(high)
    resolution, _ = trend_report(core, metric="resolution", **WINDOW, as_of=golden.AS_OF)
    assert rows(resolution, "period_start", "total", "achieved", "breached", "pending") == RESOLUTION_WEEKS


@pytest.mark.parametrize("which", ["golden_store_core", "golden_tables_core"])
def test_a_running_clock_is_decided_at_as_of(which, request):
    # As of Mon 30th 10:30 EST (after the last event, 10:00): unanswered's breach_at 11:00 has not come -> pending.
    core = request.getfixturevalue(which)
    frame, source = trend_report(core, metric="first_response", **WINDOW, as_of=golden.ny("2026-11-30 10:30"))
    assert (source == ROLLUPS_SOURCE) is (which == "golden_store_core")
    assert rows(frame.filter(pl.col("period_start") == WEEKS[5]), "total", "achieved", "breached", "pending") == [
        (1, 0, 0, 1)]


@pytest.mark.parametrize("which", ["golden_store_core", "golden_tables_core"])
def test_monthly_by_tier_on_the_golden_world(which, request):
    # November by tier at the start of each conversation (climber: Standard before Mon 16th 12:00, Platinum after):
    #   Platinum: weekend, climber_after achieved; out_of_hours, unanswered breached
    #   Gold: bot_contained (kept by the bot), bot_handoff achieved
    #   Standard: holiday, private_note, reopen, climber_before, priority_later, assigned achieved; priority_raised
    #   breached;  unknown: untiered achieved.  October: dst_end_tie (Gold).  December: the 1st, nothing.
    core = request.getfixturevalue(which)
    frame, _ = trend_report(core, metric="first_response", start=date(2026, 10, 1), end=date(2026, 12, 2),
                            every="month", by="tier", as_of=golden.AS_OF)
    got = {(r[0], r[1]): r[2:] for r in rows(frame, "period_start", "tier", "days", "conversations", "bot_first",
                                             "bot_contained", "achieved", "breached")}
    nov = date(2026, 11, 1)
    assert got[(nov, "Platinum")] == (30, 4, 0, 0, 2, 2)
    assert got[(nov, "Gold")] == (30, 2, 2, 1, 1, 0)
    assert got[(nov, "Standard")] == (30, 7, 0, 0, 6, 1)
    assert got[(nov, "unknown")] == (30, 1, 0, 0, 1, 0)
    assert got[(date(2026, 10, 1), "Gold")] == (31, 1, 0, 0, 1, 0)
    assert got[(date(2026, 10, 1), "Platinum")] == (31, 0, 0, 0, 0, 0)  # every tier in every month, 0 included
    assert {k: v for k, v in got.items() if k[0] == date(2026, 12, 1)} == {
        (date(2026, 12, 1), t): (1, 0, 0, 0, 0, 0) for t in ("Gold", "Platinum", "Standard", "unknown")}
    assert frame.height == 12


@pytest.mark.parametrize("which", ["golden_store_core", "golden_tables_core"])
def test_a_week_against_the_week_before_on_the_golden_world(which, request):
    # Mon 16th .. 23rd against 9th .. 16th: 8 of 10 achieved against weekend's 1 of 1.
    core = request.getfixturevalue(which)
    frame, source = trend_comparison(core, metric="first_response", start=date(2026, 11, 16),
                                     end=date(2026, 11, 23), as_of=golden.AS_OF)
    assert (source == ROLLUPS_SOURCE) is (which == "golden_store_core")
    assert frame.columns == list(COMPARISON_COLUMNS)
    row = frame.row(0, named=True)
    assert (row["conversations"], row["previous_conversations"], row["achieved"], row["breached"],
            row["previous_achieved"], row["previous_breached"]) == (11, 1, 8, 2, 1, 0)
    assert row["attainment"] == 0.8 and row["previous_attainment"] == 1.0
    assert row["change_points"] == pytest.approx(-20.0)
    # Newcombe's interval from the two Wilson intervals (worked from stats.wilson_bounds, the plain formula)
    (l1, u1), (l2, u2) = wilson_bounds(8, 10), wilson_bounds(1, 1)
    assert row["change_points_low"] == pytest.approx(100 * (-0.2 - ((0.8 - l1) ** 2 + (u2 - 1.0) ** 2) ** 0.5))
    assert row["change_points_high"] == pytest.approx(100 * (-0.2 + ((u1 - 0.8) ** 2 + (1.0 - l2) ** 2) ** 0.5))
    assert row["verdict"] == "not distinguishable"
    by_tier, _ = trend_comparison(core, metric="first_response", start=date(2026, 11, 16), end=date(2026, 11, 23),
                                  by=["tier"], as_of=golden.AS_OF)
    got = {r[0]: r[1:] for r in rows(by_tier, "tier", "conversations", "previous_conversations", "attainment",
                                     "previous_attainment", "verdict")}
    assert got == {"Gold": (2, 0, 1.0, None, None), "Platinum": (2, 1, 0.5, 1.0, "not distinguishable"),
                   "Standard": (6, 0, 5 / 6, None, None), "unknown": (1, 0, 1.0, None, None)}


# ---- the fallbacks ---------------------------------------------------------------------------------------------


def test_another_zone_answers_from_the_facts_with_the_facts_numbers(golden_store_core, golden_tables_core):
    frame, source = trend_report(golden_store_core, metric="first_response", **WINDOW, tz="Europe/London",
                                 as_of=golden.AS_OF)
    assert source == "from the conversation facts: the rollups are kept in America/New_York, not Europe/London"
    expected, _ = trend_report(golden_tables_core, metric="first_response", **WINDOW, tz="Europe/London",
                               as_of=golden.AS_OF)
    assert frame.equals(expected)
    assert frame["conversations"].sum() == 15  # every golden conversation but March's


def test_an_as_of_before_the_rollups_are_valid_answers_from_the_facts(golden_store_core, golden_tables_core):
    # As of Mon 30th 09:00 EST, unanswered's first post (10:00) has not come: its clock has not started.
    as_of = golden.ny("2026-11-30 09:00")
    frame, source = trend_report(golden_store_core, metric="first_response", **WINDOW, as_of=as_of)
    assert source == ("from the conversation facts: as of 2026-11-30 14:00:00 UTC is before the rollups are valid "
                      "(from 2026-11-30 15:00:00 UTC, their last event)")
    assert rows(frame.filter(pl.col("period_start") == WEEKS[5]), "conversations", "total", "not_started") == [
        (1, 0, 1)]
    expected, _ = trend_report(golden_tables_core, metric="first_response", **WINDOW, as_of=as_of)
    assert frame.equals(expected)


def test_another_bot_rule_or_policy_has_no_kept_rollups(golden_dir, golden_store_core, golden_tables_core):
    frame, source = trend_report(golden_store_core, metric="first_response", **WINDOW, as_of=golden.AS_OF,
                                 bot_rule="any")
    assert source == ("from the conversation facts: no daily rollups are kept for the stored data under this "
                      "policy and bot rule any (`python -m dashboard facts` keeps them)")
    expected, _ = trend_report(golden_tables_core, metric="first_response", **WINDOW, as_of=golden.AS_OF,
                               bot_rule="any")
    assert frame.equals(expected)
    # any rule: a bot's reply stops the clock too, so nothing is bot-contained: bot_contained's 5 s reply is a
    # ninth achieved first response in the 11-16 week (bot_handoff's bot reply, 5 s, was achieved either way)
    week = frame.row(3, named=True)
    assert (week["bot_first"], week["bot_contained"], week["achieved"], week["breached"]) == (2, 0, 9, 2)
    lenient = golden_dir / "lenient.toml"
    lenient.write_text(policy_to_toml(golden.POLICY).replace('target = "1h"', 'target = "8h"'))
    other = Dashboard.open(golden_settings(golden_dir).with_overrides(policy_path=lenient), demo="read")
    _, source = trend_report(other, metric="first_response", **WINDOW, as_of=golden.AS_OF)
    assert source.startswith("from the conversation facts: no daily rollups are kept")


# ---- the demo world: rollups and facts agree -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_tables_core(demo_core):
    """The demo's stored exports as tables in memory: the same data without kept facts or rollups."""
    from dashboard.metrics.conversations import FACT_EXPORTS

    return Dashboard.from_tables({e: demo_core.table(e) for e in FACT_EXPORTS}, settings=demo_core.settings,
                                 now=demo_core.now(), policy=demo_core.policy())


def demo_window(core) -> dict:
    today = core.now().astimezone(ZoneInfo(NY)).date()
    # from before the stored days (empty periods) to today, still running
    return dict(start=today - timedelta(days=33), end=today + timedelta(days=1), as_of=core.now())


def assert_same(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert got.drop("mean_seconds").equals(expected.drop("mean_seconds"))
    # a mean from summed seconds and counts: the same up to float rounding
    assert got["mean_seconds"].to_list() == pytest.approx(expected["mean_seconds"].to_list(), nan_ok=True)


@pytest.mark.parametrize("metric", ROLLUP_METRICS)
@pytest.mark.parametrize("every", ["day", "week", "month"])
def test_rollups_answer_as_the_facts_on_the_demo_world(demo_core, demo_tables_core, metric, every):
    window = demo_window(demo_core)
    for by in ((), ("tier",), ("queue", "channel")):
        got, source = trend_report(demo_core, metric=metric, every=every, by=by, **window)
        assert source == ROLLUPS_SOURCE
        expected, source = trend_report(demo_tables_core, metric=metric, every=every, by=by, **window)
        assert source.startswith("from the conversation facts")
        assert_same(got, expected)
        assert got["conversations"].sum() > 500 and got["achieved"].sum() > 0 and got["breached"].sum() > 0


def test_rollups_answer_as_the_facts_with_filters_and_agents(demo_core, demo_tables_core):
    window = demo_window(demo_core)
    tier = demo_core.facts().get_column("tier").drop_nulls().mode().item()
    filters = {"tier": [tier], "priority": ["1", "2"]}
    for by in ((), ("agent",), ("team", "priority")):
        got, source = trend_report(demo_core, metric="first_response", by=by, filters=filters, **window)
        assert source == ROLLUPS_SOURCE
        expected, _ = trend_report(demo_tables_core, metric="first_response", by=by, filters=filters, **window)
        assert_same(got, expected)
        assert 0 < got["conversations"].sum() < trend_report(demo_core, metric="first_response", by=by, **window)[
            0]["conversations"].sum()
    got, _ = trend_comparison(demo_core, metric="resolution", by=["tier"], filters={"priority": ["1", "2"]},
                              start=window["end"] - timedelta(days=7), end=window["end"], as_of=window["as_of"])
    expected, _ = trend_comparison(demo_tables_core, metric="resolution", by=["tier"],
                                   filters={"priority": ["1", "2"]}, start=window["end"] - timedelta(days=7),
                                   end=window["end"], as_of=window["as_of"])
    assert got.equals(expected) and got["previous_conversations"].sum() > 0


@pytest.mark.parametrize("metric", ROLLUP_METRICS)
def test_each_week_is_attainment_by_over_that_weeks_window(demo_core, metric):
    """The definitions' own answer: ``attainment_by`` of the conversations whose first post falls in the part of
    each week the window holds."""
    window = demo_window(demo_core)
    frame, source = trend_report(demo_core, metric=metric, by=["tier"], **window)
    assert source == ROLLUPS_SOURCE
    facts, policy = demo_core.facts(), demo_core.policy()
    checked = 0
    for week in frame["period_start"].unique().sort():
        lo, hi = max(week, window["start"]), min(week + timedelta(days=7), window["end"])
        chosen = in_window(facts.lazy(), lo, hi, NY)
        expected = attainment_by(evaluate(chosen, policy, metric, as_of=window["as_of"]), ["tier"]).collect()
        conversations = dict(chosen.group_by("tier").len().collect().iter_rows())
        mine = frame.filter(pl.col("period_start") == week)
        assert mine["days"].unique().to_list() == [(hi - lo).days]
        for row in expected.iter_rows(named=True):
            got = mine.filter(pl.col("tier") == row["tier"]).row(0, named=True)
            assert [got[c] for c in ("total", "achieved", "breached", "pending", "responded", "attainment")] == [
                row[c] for c in ("total", "achieved", "breached", "pending", "responded", "attainment")], (week, row)
            assert got["conversations"] == conversations[row["tier"]]
            checked += row["total"]
        assert mine.filter(~pl.col("tier").is_in(expected["tier"].to_list()))["conversations"].sum() == 0
    assert checked > 500


def test_a_window_that_starts_mid_week_holds_a_partial_first_week(demo_core):
    window = demo_window(demo_core)
    start = date(2026, 11, 4)  # a Wednesday
    frame, _ = trend_report(demo_core, metric="first_response", start=start, end=window["end"], as_of=window["as_of"])
    first = frame.row(0, named=True)
    assert (first["period_start"], first["days"]) == (date(2026, 11, 2), 5)
    local_day = pl.col("first_inbound_time").dt.convert_time_zone(NY).dt.date()
    assert first["conversations"] == demo_core.facts().filter(local_day.is_between(start, date(2026, 11, 8))).height


# ---- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "message"), [
    (dict(metric="next_response"), "--metric next_response (next response is per customer burst and is not rolled "
                                   "up by day): a trend takes first_response, time_to_assign, resolution"),
    (dict(every="year"), "--every year: use day, week, month"),
    (dict(by="status"), "--by status: a trend groups by the rollups' dimensions only; use tier, priority, queue, "
                        "channel, team, agent"),
    (dict(start=date(2026, 11, 20), end=date(2026, 11, 20)), "--end 2026-11-20 must be after --start 2026-11-20"),
    (dict(filters={"colour": ["red"]}), "unknown filter colour; use tier, priority, queue, channel, team, agent"),
    (dict(tz="EST"), "--tz: 'EST' is a fixed offset"),
])
def test_bad_arguments_are_report_errors_naming_what_is_allowed(golden_tables_core, arguments, message):
    given = {"metric": "first_response", **WINDOW, **arguments}
    with pytest.raises(report.ReportError) as caught:
        trend_report(golden_tables_core, **given)
    assert str(caught.value).startswith(message)


# ---- the command line ------------------------------------------------------------------------------------------


@pytest.fixture
def golden_env(golden_dir, monkeypatch):
    """``python -m dashboard report`` configured for the golden store."""
    for name, value in {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(golden_dir), "CARE_DASHBOARD_TIMEZONE": NY,
                        "CARE_DASHBOARD_POLICY": str(golden_dir / "policy.toml")}.items():
        monkeypatch.setenv(name, value)
    for name in ("KHOROS_TIER_FILE", "CARE_DASHBOARD_BOT_RULE", "CARE_DASHBOARD_TENANTS"):
        monkeypatch.delenv(name, raising=False)
    return golden_dir


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    return report.run(parser.parse_args(["trend", "--start", "2026-10-26", "--end", "2026-12-02",
                                         "--as-of", "2026-12-01T00:00:00Z", *argv]))


def test_the_cli_prints_the_table_and_the_source_on_stderr(golden_env, capsys):
    assert run() == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["period_start", "days", "conversations"]
    assert lines[5].split()[:9] == ["2026-11-16", "7", "11", "2", "1", "10", "8", "2", "0"]
    assert err == "report trend: from the daily rollups\n"
    assert run("--format", "json", "--metric", "resolution") == 0
    out, err = capsys.readouterr()
    assert [(r["period_start"], r["total"], r["achieved"], r["breached"], r["pending"]) for r in json.loads(out)] == [
        (d.isoformat(), *counts) for d, *counts in RESOLUTION_WEEKS]
    assert err == "report trend: from the daily rollups\n"
    assert run("--format", "csv", "--bot-rule", "any", "--every", "month") == 0
    out, err = capsys.readouterr()
    header, *months = out.splitlines()
    assert header.startswith("period_start,days,conversations,") and [m[:10] for m in months] == [
        "2026-10-01", "2026-11-01", "2026-12-01"]
    assert err.startswith("report trend: from the conversation facts: no daily rollups are kept")


def test_the_cli_names_agents_and_compares(golden_env, capsys):
    assert run("--by", "agent", "--format", "json", "--filter", "tier=Gold") == 0
    got = json.loads(capsys.readouterr().out)
    assert {(r["agent_id"], r["agent_name"]) for r in got} == {("agent-1", "Agent agent-1"), (None, None)}
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["trend", "--start", "2026-11-16", "--end", "2026-11-23", "--as-of",
                              "2026-12-01T00:00:00Z", "--compare", "--by", "tier", "--format", "json"])
    assert report.run(args) == 0
    out, err = capsys.readouterr()
    assert {r["tier"]: (r["conversations"], r["previous_conversations"]) for r in json.loads(out)} == {
        "Gold": (2, 0), "Platinum": (2, 1), "Standard": (6, 0), "unknown": (1, 0)}
    assert err == ("report trend: from the daily rollups; 2026-11-16 to 2026-11-23 (exclusive) against 2026-11-09 "
                   "to 2026-11-16, America/New_York\n")


@pytest.mark.parametrize(("argv", "allowed"), [
    (["--every", "year"], "use day, week, month"),
    (["--metric", "next_response"], "a trend takes first_response, time_to_assign, resolution"),
    (["--by", "status"], "use tier, priority, queue, channel, team, agent"),
    (["--end", "2026-10-01"], "--end 2026-10-01 must be after --start 2026-10-26"),
])
def test_cli_errors_exit_2_in_one_line(golden_env, capsys, argv, allowed):
    assert run(*argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("report trend: ") and allowed in err


def test_the_report_help_shows_trend_examples(capsys):
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["trend", "--help"])
    assert "report trend --by tier" in capsys.readouterr().out
