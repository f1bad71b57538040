"""Hand-checked answers for the page aggregations in ``dashboard.metrics.pages_support``."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.metrics import pages_support as ps
from dashboard.schema import TIME


def _times(*values: datetime) -> pl.Series:
    return pl.Series(list(values), dtype=TIME)


def test_volume_and_daily_counts_use_local_days():
    # 03:00 UTC on 3 Nov is still 2 Nov in New York.
    frame = pl.DataFrame({
        "t": _times(datetime(2026, 11, 3, 3, tzinfo=UTC), datetime(2026, 11, 3, 15, tzinfo=UTC),
                    datetime(2026, 11, 3, 16, tzinfo=UTC), None),
        "network": ["twitter", "twitter", "facebook", "twitter"],
    })
    daily = ps.volume_by_day(frame, "America/New_York", time_column="t")
    assert daily.rows() == [(date(2026, 11, 2), "twitter", 1), (date(2026, 11, 3), "facebook", 1),
                            (date(2026, 11, 3), "twitter", 1)]
    counts = ps.daily_counts(frame, date(2026, 11, 1), date(2026, 11, 4), "America/New_York", time_column="t")
    assert counts.rows() == [(date(2026, 11, 1), 0), (date(2026, 11, 2), 1), (date(2026, 11, 3), 2)]


def test_heatmap_counts_local_weekday_and_hour():
    frame = pl.DataFrame({"t": _times(datetime(2026, 11, 2, 14, tzinfo=UTC), datetime(2026, 11, 2, 14, 30, tzinfo=UTC),
                                      datetime(2026, 11, 8, 4, tzinfo=UTC))})
    heat = ps.arrivals_heatmap(frame.lazy(), "America/New_York", time_column="t").collect()
    # Mon 2 Nov 09:00 local (x2); Sun 8 Nov 04:00 UTC = Sat 7 Nov 23:00 local.
    assert heat.rows() == [(1, 9, 2), (6, 23, 1)]


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


def test_agent_state_timeline_clips_to_the_window():
    timeline = ps.agent_state_timeline(_states(), datetime(2026, 11, 2, 11, tzinfo=UTC),
                                       datetime(2026, 11, 2, 12, 30, tzinfo=UTC))
    rows = {(r["agent_name"], r["state"]): r["seconds"] for r in timeline.iter_rows(named=True)}
    assert rows == {("Ann", "Available"): 3600.0, ("Ann", "Lunch"): 1800.0, ("Bob", "Available"): 5400.0,
                    ("c", "Busy"): 1800.0}


# ---------------------------------------------------------------- live queue


def test_backlog_by_age_buckets_calendar_age_per_queue():
    open_now = pl.DataFrame({"age_seconds": [10.0, 3599.0, 3600.0, 90_000.0, 400_000.0],
                             "work_queue_id": [1, 1, 2, None, 1]})
    rows = ps.backlog_by_age(open_now).rows()
    assert rows == [("< 1 h", 0, "1", 2), ("1–4 h", 1, "2", 1), ("1–3 d", 3, "none", 1), ("≥ 3 d", 4, "1", 1)]


def test_breaches_due_counts_each_coming_hour_and_fills_empty_ones():
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    risk = pl.DataFrame({"breach_at": _times(
        datetime(2026, 11, 2, 12, 0, tzinfo=UTC),  # hour 0 (inclusive start)
        datetime(2026, 11, 2, 12, 59, tzinfo=UTC),  # hour 0
        datetime(2026, 11, 2, 15, 30, tzinfo=UTC),  # hour 3
        datetime(2026, 11, 2, 20, 0, tzinfo=UTC),  # hour 8: outside
        datetime(2026, 11, 2, 11, 0, tzinfo=UTC),  # already past: not "due"
    )})
    due = ps.breaches_due(risk, now, hours=8, tz="America/New_York")
    assert due.height == 8
    assert due.get_column("hour_label").to_list()[:2] == ["07:00", "08:00"]
    assert due.get_column("breaches").to_list() == [2, 0, 0, 1, 0, 0, 0, 0]
    assert due.get_column("hour_start")[3] == datetime(2026, 11, 2, 15, tzinfo=UTC)


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
                                  open_now=ps.open_backlog(facts, world.now),
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
    attempts = world.tables["bot_request"].filter(pl.col("state").is_in(["SUCCESS", "ERROR"]))
    assert 0 < kpis["automation_health"].value < 1
    assert attempts.height > 0


def test_at_risk_and_breaches_due_agree(world_facts):
    world, facts, policy = world_facts
    risk = ps.at_risk(facts, policy, world.now)
    assert risk.height > 0
    assert (risk.get_column("status") == "pending").all()
    assert risk.get_column("seconds_to_breach").is_sorted()
    assert (risk.get_column("seconds_to_breach") >= 0).all()
    due = ps.breaches_due(risk, world.now, hours=8)
    assert due.get_column("breaches").sum() == risk.filter(pl.col("seconds_to_breach") < 8 * 3600).height


def test_leaderboard_counts_public_agent_responses_in_the_window(world_facts):
    from dashboard.metrics import sla

    world, facts, policy = world_facts
    start, end, tz = date(2026, 11, 11), date(2026, 11, 19), "America/New_York"
    names = ps.agent_names(world.tables["raw_agent_states"])
    board = ps.agent_leaderboard(facts, world.tables["response"], policy, start=start, end=end, tz=tz,
                                 as_of=world.now, names=names)
    lo, hi = sla.window_bounds(start, end, tz)
    responses = world.tables["response"].filter(
        pl.col("responder_type") == "AGENT", pl.col("is_public"), pl.col("published_time") >= lo,
        pl.col("published_time") < hi)
    assert board.get_column("responses").sum() == responses.height
    assert board.get_column("responses").is_sorted(descending=True)
    assert set(board.get_column("agent_name")) <= set(names.get_column("agent_name"))
