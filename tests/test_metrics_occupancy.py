"""Occupancy and utilisation: a hand-made day whose answers are worked out below, and the simulator's agents.

Monday 2026-11-16, UTC, as of Tuesday 00:00.

States
  ann (team 1)  Available 09:00-12:00, Lunch 12:00-12:30, Available 12:30-14:00, Offline from 14:00
  bob (team 2)  Available 09:00-11:00, Break 11:00-11:15, Available 11:15-13:00 (then no state)

Conversations (-> the time each is in an agent's hands)
  c1  in 09:05, assigned ann 09:10, ann replies 09:40              ann [09:10, 09:40]
  c2  in 09:20, assigned ann 09:30, ann replies 10:00              ann [09:30, 10:00]   overlaps c1 09:30-09:40
  c6  in 10:00, assigned ann 10:05, ann replies 10:15,
      closed by the system at 20:00 (no wrap-up)                   ann [10:05, 10:15]
  c3  in 11:40, assigned ann 11:50, ann replies 12:40              ann [11:50, 12:40]   lunch in the middle
      customer writes 13:00, ann replies 13:20, ann closes 13:30   ann [13:00, 13:30]   (reply + wrap-up merged)
  c4  in 10:00, assigned bob 10:30, bob replies 11:30              bob [10:30, 11:30]   break in the middle
  c5  in 12:00, assigned bob 12:10, reassigned to ann 12:40,       bob [12:10, 12:40]
      ann replies 13:40                                            ann [12:40, 13:40]
  c7  in 13:50, assigned bob 13:55, unanswered                     bob [13:55, still]   bob is not logged in

ann: available 3 h + 1 h 30 = 16200 s; away (lunch) 1800 s.
  merged handling while available: 09:10-10:00 (50 min) + 10:05-10:15 (10) + 11:50-12:00 (10)
  + 12:30-13:40 (70) = 140 min = 8400 s;  summed in hand while available: c1 30 + c2 30 + c6 10
  + c3 (10 + 10 + 30) + c5 60 = 180 min = 10800 s;  in hand while away: 12:00-12:30 = 1800 s.
  occupancy 8400 / 16200; concurrency 10800 / 16200 = 2/3; while handling 10800 / 8400 = 9/7.
bob: available 2 h + 1 h 45 = 13500 s; away 900 s.  handling 10:30-11:00 + 11:15-11:30 + 12:10-12:40
  = 75 min = 4500 s (one at a time: in hand 4500 s); in hand while away 11:00-11:15 = 900 s; occupancy 1/3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.metrics._planning import PlanningError
from dashboard.metrics.occupancy import handling_by_category, handling_segments, occupancy_by, occupancy_hours
from tests._planning_helpers import build_tables, facts_of, states_frame, utc

DAY = date(2026, 11, 16)
AS_OF = datetime(2026, 11, 17, tzinfo=UTC)


def assigned(t: str, agent: str) -> tuple:
    return ("ASSIGNED", f"2026-11-16 {t}", None, None, agent)


def at(t: str) -> str:
    return f"2026-11-16 {t}"


CONVERSATIONS = {
    "c1": dict(posts=[at("09:05")], actions=[assigned("09:10", "ann")], responses=[(at("09:40"), "ann", True)]),
    "c2": dict(posts=[at("09:20")], actions=[assigned("09:30", "ann")], responses=[(at("10:00"), "ann", True)]),
    "c6": dict(posts=[at("10:00")], actions=[assigned("10:05", "ann"), ("CLOSED", at("20:00"), None, None, None)],
               responses=[(at("10:15"), "ann", True)], closed=at("20:00")),
    "c3": dict(posts=[at("11:40"), at("13:00")],
               actions=[assigned("11:50", "ann"), ("CLOSED", at("13:30"), "ann", None, None)],
               responses=[(at("12:40"), "ann", True), (at("13:20"), "ann", True)], closed=at("13:30")),
    "c4": dict(posts=[at("10:00")], actions=[assigned("10:30", "bob")], responses=[(at("11:30"), "bob", True)],
               network="brand_messenger"),
    "c5": dict(posts=[at("12:00")], actions=[assigned("12:10", "bob"), assigned("12:40", "ann")],
               responses=[(at("13:40"), "ann", True)], network="brand_messenger"),
    "c7": dict(posts=[at("13:50")], actions=[assigned("13:55", "bob")]),
}
TABLES = build_tables(CONVERSATIONS)
STATES = states_frame([
    ("ann", "Available", at("09:00"), at("12:00")),
    ("ann", "Lunch", at("12:00"), at("12:30")),
    ("ann", "Available", at("12:30"), at("14:00")),
    ("ann", "Offline", at("14:00"), "2026-11-17 09:00"),
    ("bob", "Available", at("09:00"), at("11:00")),
    ("bob", "Break", at("11:00"), at("11:15")),
    ("bob", "Available", at("11:15"), at("13:00")),
], team={"ann": 1, "bob": 2})


def segments() -> pl.LazyFrame:
    return handling_segments(facts_of(TABLES), TABLES["incoming_post"], TABLES["response"],
                             TABLES["conversation_history_action"])


def hours() -> pl.LazyFrame:
    return occupancy_hours(segments(), STATES, start=DAY, end=date(2026, 11, 17), tz="UTC", as_of=AS_OF)


def test_segments_by_hand() -> None:
    out = segments().collect().sort("agent_id", "start_time")
    got = [(r["agent_id"], r["conversation_id"], r["start_time"], r["end_time"], r["kinds"])
           for r in out.iter_rows(named=True)]
    assert got == [
        ("ann", "c1", utc(at("09:10")), utc(at("09:40")), "assignment"),
        ("ann", "c2", utc(at("09:30")), utc(at("10:00")), "assignment"),
        ("ann", "c6", utc(at("10:05")), utc(at("10:15")), "assignment"),  # the system's close is not work
        ("ann", "c3", utc(at("11:50")), utc(at("12:40")), "assignment"),
        ("ann", "c5", utc(at("12:40")), utc(at("13:40")), "assignment"),
        ("ann", "c3", utc(at("13:00")), utc(at("13:30")), "reply,wrap_up"),
        ("bob", "c4", utc(at("10:30")), utc(at("11:30")), "assignment"),
        ("bob", "c5", utc(at("12:10")), utc(at("12:40")), "assignment"),  # until reassigned
        ("bob", "c7", utc(at("13:55")), None, "assignment"),  # still in hand
    ]


def test_occupancy_per_agent_by_hand() -> None:
    rows = {r["agent_id"]: r for r in occupancy_by(hours()).collect().iter_rows(named=True)}
    ann, bob = rows["ann"], rows["bob"]
    assert (ann["available_seconds"], ann["away_seconds"]) == (16200, 1800)
    assert ann["handling_seconds"] == 8400  # overlapping c1/c2 merged, lunch in the middle of c3 left out
    assert ann["in_hand_seconds"] == 10800  # summed
    assert ann["in_hand_away_seconds"] == 1800
    assert ann["occupancy"] == pytest.approx(8400 / 16200)
    assert ann["concurrency"] == pytest.approx(2 / 3)
    assert ann["concurrency_while_handling"] == pytest.approx(9 / 7)
    assert (bob["available_seconds"], bob["away_seconds"], bob["handling_seconds"], bob["in_hand_seconds"],
            bob["in_hand_away_seconds"]) == (13500, 900, 4500, 4500, 900)
    assert bob["occupancy"] == pytest.approx(1 / 3)
    assert (ann["agent_name"], ann["team_id"], bob["team_id"]) == ("Ann", 1, 2)


def test_occupancy_per_hour_by_hand() -> None:
    out = hours().collect()
    assert out.height == 48  # every agent has every local hour of the day
    ann = {r["hour"]: r for r in out.filter(pl.col("agent_id") == "ann").iter_rows(named=True)}
    assert (ann[9]["available_seconds"], ann[9]["handling_seconds"], ann[9]["in_hand_seconds"]) == (3600, 3000, 3600)
    # 12:00-13:00: lunch until 12:30 (c3 in hand), then c3 until 12:40 and c5 from 12:40: fully occupied
    assert (ann[12]["available_seconds"], ann[12]["handling_seconds"], ann[12]["in_hand_away_seconds"]) \
        == (1800, 1800, 1800)
    # 13:00-14:00: c5 until 13:40 and c3 13:00-13:30 at the same time
    assert (ann[13]["handling_seconds"], ann[13]["in_hand_seconds"]) == (2400, 4200)
    assert ann[15]["available_seconds"] == 0 and ann[15]["handling_seconds"] == 0
    by_hour = {r["hour"]: r for r in occupancy_by(hours(), ["hour"]).collect().iter_rows(named=True)}
    # 11:00-12:00: ann 3600 available, 600 handling (c3 from 11:50); bob 2700 available (from 11:15), 900 (c4)
    assert (by_hour[11]["available_seconds"], by_hour[11]["handling_seconds"]) == (6300, 1500)
    assert by_hour[11]["available_hours"] == pytest.approx(1.75)


def test_occupancy_per_team_sums_agents_after_merging() -> None:
    teams = {r["team_id"]: r for r in occupancy_by(hours(), ["team_id"]).collect().iter_rows(named=True)}
    assert (teams[1]["handling_seconds"], teams[2]["handling_seconds"]) == (8400, 4500)
    total = occupancy_by(hours(), []).collect().row(0, named=True)
    assert total["occupancy"] == pytest.approx((8400 + 4500) / (16200 + 13500))


def test_handling_cost_per_category_shares_concurrent_time() -> None:
    def kind(network: pl.Expr) -> pl.Expr:
        return pl.when(network == "brand_messenger").then(pl.lit("chat")).otherwise(pl.lit("social"))

    out = handling_by_category(segments(), STATES, start=DAY, end=date(2026, 11, 17), tz="UTC", as_of=AS_OF,
                               category=kind, categories=["chat", "social"]).collect()
    rows = {r["category"]: r for r in out.iter_rows(named=True)}
    # chat: c4 (bob, 2700 s available) and c5 (bob 1800 s + ann 3600 s); ann's 13:00-13:30 is shared with c3
    # (half each) and 12:40-13:00, 13:30-13:40 are c5's alone: busy = 2700 + 1800 + 1200 + 900 + 600 = 7200 s
    assert rows["chat"]["in_hand_seconds"] == 2700 + 1800 + 3600
    assert rows["chat"]["busy_seconds"] == pytest.approx(7200)
    assert rows["chat"]["conversations"] == 2
    # the busy seconds of the categories add up to the merged handling time
    assert rows["chat"]["busy_seconds"] + rows["social"]["busy_seconds"] == pytest.approx(8400 + 4500)
    assert rows["social"]["conversations"] == 5  # c1, c2, c3, c6 and c7 (in hand, if not while available)
    assert rows["chat"]["concurrency"] == pytest.approx(8100 / 7200)


def test_the_window_is_cut_at_as_of() -> None:
    early = occupancy_hours(segments(), STATES, start=DAY, end=date(2026, 11, 17), tz="UTC",
                            as_of=utc(at("10:00")))
    ann = occupancy_by(early).collect().filter(pl.col("agent_id") == "ann").row(0, named=True)
    assert ann["available_seconds"] == 3600 and ann["handling_seconds"] == 3000
    with pytest.raises(PlanningError, match="begins after as_of"):
        occupancy_hours(segments(), STATES, start=DAY, end=date(2026, 11, 17), as_of=utc("2026-11-15 00:00"))


def test_local_hours_across_the_end_of_daylight_saving() -> None:
    # New York, Sunday 2026-11-01: 25 local hours; 01:00 happens twice (EDT, then EST)
    states = states_frame([("ann", "Available", "2026-11-01 04:00", "2026-11-02 05:00")])
    # collected first, as the core hands segments over: Polars 2.1's streaming engine panics on the lazy plan of
    # the keyed conversation facts filtered to nothing and cross-joined (the in-memory engine does not)
    empty = segments().collect().clear().lazy()
    out = occupancy_hours(empty, states, start=date(2026, 11, 1), end=date(2026, 11, 2), tz="America/New_York",
                          as_of=AS_OF).collect()
    assert out.height == 25
    assert out.filter(pl.col("hour") == 1).height == 2
    assert out["available_seconds"].sum() == 25 * 3600


def test_simulator_agents_occupancy_is_consistent(sim_world) -> None:
    world, facts, _ = sim_world
    t = world.tables
    segs = handling_segments(facts, t["incoming_post"].lazy(), t["response"].lazy(),
                             t["conversation_history_action"].lazy())
    start, end = date(2026, 11, 2), date(2026, 11, 9)
    hrs = occupancy_hours(segs, t["raw_agent_states"].lazy(), start=start, end=end, tz="America/New_York",
                          as_of=world.now)
    agents = occupancy_by(hrs).collect()
    # oracle: available time equals the state export's Available intervals clipped to the week
    lo = datetime(2026, 11, 2, 5, tzinfo=UTC)  # local midnights (EST)
    hi = datetime(2026, 11, 9, 5, tzinfo=UTC)
    states = t["raw_agent_states"].filter(pl.col("state") == "Available").with_columns(
        (pl.min_horizontal(pl.col("end_time").fill_null(world.now), pl.lit(hi))
         - pl.max_horizontal("start_time", pl.lit(lo))).dt.total_milliseconds().clip(0).alias("ms"))
    assert agents["available_seconds"].sum() == pytest.approx(states["ms"].sum() / 1000)
    assert agents.height == world.agents.height
    assert ((agents["handling_seconds"] <= agents["available_seconds"])
            & (agents["in_hand_seconds"] >= agents["handling_seconds"])).all()
    occupancy = agents["handling_seconds"].sum() / agents["available_seconds"].sum()
    assert 0.05 < occupancy < 1.0


@pytest.fixture(scope="module")
def sim_world():
    from tests._planning_helpers import sim_world as build

    return build()
