"""Hand-checked answers for the page aggregations in ``dashboard.metrics.pages_support``."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.metrics import pages_support as ps
from dashboard.schema import TIME


def _times(*values: datetime) -> pl.Series:
    return pl.Series(list(values), dtype=TIME)


def test_daily_counts_use_local_days_and_fill_empty_ones():
    # 03:00 UTC on 3 Nov is still 2 Nov in New York.
    frame = pl.DataFrame({
        "t": _times(datetime(2026, 11, 3, 3, tzinfo=UTC), datetime(2026, 11, 3, 15, tzinfo=UTC),
                    datetime(2026, 11, 3, 16, tzinfo=UTC), None),
    })
    counts = ps.daily_counts(frame, date(2026, 11, 1), date(2026, 11, 4), "America/New_York", time_column="t")
    assert counts.rows() == [(date(2026, 11, 1), 0), (date(2026, 11, 2), 1), (date(2026, 11, 3), 2)]


def _states() -> pl.DataFrame:
    t = lambda h, m=0: datetime(2026, 11, 2, h, m, tzinfo=UTC)  # noqa: E731
    return pl.DataFrame({
        "agent_id": ["a", "a", "b", "c", "d"],
        "agent_name": ["Ann", "Ann", "Bob", None, "Dee"],
        "state": ["Available", "Lunch", "Available", "Busy", "Available"],
        "start_time": _times(t(9), t(12), t(9), t(11), t(8)),
        "end_time": _times(t(12), t(13), None, t(11, 30), t(10)),
    })


def test_agent_states_now_counts_each_agents_covering_interval():
    now = ps.agent_states_now(_states(), datetime(2026, 11, 2, 12, 15, tzinfo=UTC))
    # a: Lunch (12-13); b: Available (open); c ended 11:30; d ended 10:00 -> not counted.
    assert now.rows() == [("Available", 1), ("Lunch", 1)]


def test_label_hours_shows_the_report_zone_clock():
    due = pl.DataFrame({"hour_start": _times(datetime(2026, 11, 2, 12, tzinfo=UTC),
                                             datetime(2026, 11, 2, 13, tzinfo=UTC))})
    assert ps.label_hours(due, "America/New_York").get_column("hour_label").to_list() == ["07:00", "08:00"]


def test_clip_long_tail_keeps_rows_up_to_the_nearest_rank_quantile():
    rows = pl.DataFrame({"elapsed_seconds": [float(v) for v in range(1, 21)] + [None]})
    kept, hidden, limit = ps.clip_long_tail(rows, 0.9)
    assert limit == 18.0 and hidden == 2 and kept.height == 19  # the null row is kept
    empty = pl.DataFrame({"elapsed_seconds": []}, schema={"elapsed_seconds": pl.Float64})
    assert ps.clip_long_tail(empty) == (empty, 0, None)


def test_single_target_minutes_only_when_rows_share_one_target():
    assert ps.single_target_minutes(pl.DataFrame({"target_seconds": [1800.0, 1800.0, None]})) == 30.0
    assert ps.single_target_minutes(pl.DataFrame({"target_seconds": [1800.0, 3600.0]})) is None
    assert ps.single_target_minutes(pl.DataFrame({"x": [1]})) is None


def test_tier_headline_puts_metrics_side_by_side_in_tier_order():
    comparison = pl.DataFrame({
        "metric": ["first_response", "first_response", "resolution"],
        "tier": ["Standard", "Platinum", "Platinum"],
        "attainment": [0.5, 1.0, 0.75], "attainment_low": [0.1, 0.5, 0.3], "attainment_high": [0.9, 1.0, 0.9],
        "median_seconds": [60.0, 30.0, 900.0], "p90_seconds": [120.0, 40.0, 1000.0],
        "breached": [1, 0, 1], "pending": [0, 0, 0],
    })
    headline = ps.tier_headline(comparison)
    assert headline.get_column("tier").to_list() == ["Platinum", "Standard"]
    assert headline.row(0, named=True)["resolution_median_seconds"] == 900.0
    assert headline.row(1, named=True)["resolution_attainment"] is None


# ---------------------------------------------------------------- on a simulated world, against the engine


@pytest.fixture(scope="module")
def world_facts():
    from dashboard.metrics import conversation_facts, load_policy
    from dashboard.simulator.world import WorldConfig, generate_world

    world = generate_world(WorldConfig(seed=5, days=14, conversations_per_day=60,
                                       end=datetime(2026, 11, 18, 15, 30, tzinfo=UTC)))
    t = {k: v.lazy() for k, v in world.tables.items()}
    facts = conversation_facts(t["conversation"], t["incoming_post"], t["response"],
                               t["conversation_history_action"], t["author"]).collect()
    return world, facts, load_policy()


def test_overview_kpis_equal_the_sla_engine_on_the_same_window(world_facts):
    from dashboard.metrics import sla

    world, facts, policy = world_facts
    start, end, tz = date(2026, 11, 12), date(2026, 11, 19), "America/New_York"
    summary = ps.overview_summary(facts, policy, start=start, end=end, tz=tz, as_of=world.now,
                                  bot_requests=world.tables["bot_request"])
    kpis = {k.key: k for k in summary.kpis}
    expected = sla.attainment_by(sla.evaluate(sla.in_window(facts.lazy(), start, end, tz), policy,
                                              "first_response", as_of=world.now)).collect().row(0, named=True)
    assert kpis["frt_median"].value == expected["median_seconds"]
    assert kpis["frt_p90"].value == expected["p90_seconds"]
    assert kpis["sla_attainment"].value == expected["attainment"]
    in_window = sla.in_window(facts.lazy(), start, end, tz).collect()
    assert kpis["conversations"].value == in_window.height == summary.volume["conversations"].sum()
    assert sum(kpis["conversations"].sparkline) == in_window.height
    assert len(kpis["conversations"].sparkline) == 7
    # backlog at the end of the last day (today) is the backlog now
    assert kpis["backlog_now"].sparkline[-1] == kpis["backlog_now"].value
    assert summary.heatmap["conversations"].sum() == in_window.height
    # the previous week is covered by the 14-day world: a real comparison
    previous = sla.in_window(facts.lazy(), date(2026, 11, 5), start, tz).collect().height
    assert kpis["conversations"].previous == previous > 0
    # a window before the data starts has no previous value (not a false "0")
    early = ps.overview_summary(facts, policy, start=date(2026, 11, 5), end=end, tz=tz, as_of=world.now)
    assert {k.key: k for k in early.kpis}["conversations"].previous is None
    open_truth = world.tables["conversation"].filter(pl.col("status") != "CLOSED").height
    assert kpis["backlog_now"].value == open_truth
    from dashboard.metrics import automation

    outcomes = automation.attempts(sla.in_window(world.tables["bot_request"].lazy(), start, end, tz, "created_time"),
                                   world.now).collect()
    assert outcomes.height > 0
    assert kpis["automation_health"].value == 1 - outcomes.get_column("is_error").mean()


def test_handle_time_is_assignment_to_close_per_agent(world_facts):
    from dashboard.metrics import sla

    world, facts, _ = world_facts
    start, end, tz = date(2026, 11, 12), date(2026, 11, 19), "America/New_York"
    handled = ps.handle_time_by_agent(facts, start=start, end=end, tz=tz, as_of=world.now)
    agent = handled.sort("handled", descending=True).row(0, named=True)
    mine = sla.in_window(facts.lazy(), start, end, tz).filter(
        pl.col("agent_id") == agent["agent_id"], pl.col("closed_time") <= world.now,
        pl.col("first_assigned_time").is_not_null()).collect()
    seconds = sorted(((mine["closed_time"] - mine["first_assigned_time"]).dt.total_milliseconds() / 1000).to_list())
    assert agent["handled"] == len(seconds)
    assert agent["handle_median_seconds"] == seconds[(len(seconds) + 1) // 2 - 1]  # nearest rank, by hand


def test_period_and_tier_comparisons_are_the_engine_per_window(world_facts):
    from dashboard.metrics import sla

    world, facts, policy = world_facts
    start, end, tz = date(2026, 11, 12), date(2026, 11, 19), "America/New_York"

    def engine(metric: str, lo: date, hi: date, by: str) -> dict:
        evaluated = sla.evaluate(sla.in_window(facts.lazy(), lo, hi, tz), policy, metric, as_of=world.now)
        return {r[by]: r for r in sla.attainment_by(evaluated, [by]).collect().iter_rows(named=True)}

    periods = ps.period_comparison(facts, policy, "first_response", "priority", start=start, end=end, tz=tz,
                                   as_of=world.now)
    assert set(periods.get_column("period")) == {"previous", "current"}
    for period, (lo, hi) in (("previous", (date(2026, 11, 5), start)), ("current", (start, end))):
        want = engine("first_response", lo, hi, "priority")
        got = {r["priority"]: r for r in periods.filter(pl.col("period") == period).iter_rows(named=True)}
        assert got.keys() == want.keys()
        assert all(got[k]["attainment"] == want[k]["attainment"] and got[k]["total"] == want[k]["total"]
                   for k in want)

    comparison = ps.tier_comparison(facts, policy, start=start, end=end, tz=tz, as_of=world.now)
    for metric in ("first_response", "resolution"):
        want = engine(metric, start, end, "tier")
        got = {r["tier"]: r for r in comparison.filter(pl.col("metric") == metric).iter_rows(named=True)}
        assert {k: v["median_seconds"] for k, v in got.items()} == {k: v["median_seconds"] for k, v in want.items()}


def test_rows_behind_a_group_are_its_evaluated_conversations(world_facts):
    world, facts, policy = world_facts
    start, end, tz = date(2026, 11, 12), date(2026, 11, 19), "America/New_York"
    evaluated = ps.evaluate_window(facts, policy, "first_response", start=start, end=end, tz=tz, as_of=world.now)
    groups = ps.attainment_by_group(evaluated, "network")
    twitter = groups.filter(pl.col("network") == "twitter").row(0, named=True)
    rows = ps.rows_behind(evaluated, "network", "twitter")
    assert set(rows.get_column("network")) == {"twitter"}
    assert rows.filter(pl.col("status") == "breached").height == twitter["breached"]
    assert rows.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).height == twitter["total"]
    assert rows.columns == [c for c in ps.DRILL_COLUMNS if c in rows.columns]
