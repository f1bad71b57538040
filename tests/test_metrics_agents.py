"""Agent leaderboard and state time: a hand-made world (answers by hand) and a consistency check on the
simulator's world."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.metrics import conversation_facts, load_policy, parse_policy
from dashboard.metrics.agents import agent_leaderboard, agent_state_seconds, agent_state_timeline
from dashboard.schema import EXPORTS

T = pl.Datetime("ms", "UTC")
POLICY = parse_policy('[schedules.default]\ntimezone = "UTC"\nmonday = [["00:00", "24:00"]]\n'
                      '[[targets]]\nmetric = "first_response"\ntarget = "1h"\nclock = "calendar"\n')
AS_OF = datetime(2026, 11, 17, 0, 0, tzinfo=UTC)


def utc(h: int, m: int = 0, day: int = 16) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


def facts() -> pl.LazyFrame:
    # c1: answered by ann in 30 min (achieved); c2: answered by bob in 2 h (breached), assigned to ann;
    # c3: unanswered, assigned to bob (breached by as_of); c4: first inbound the day before (outside window)
    rows = [
        ("c1", utc(9), utc(9, 30), "ann", "ann"),
        ("c2", utc(10), utc(12), "bob", "ann"),
        ("c3", utc(11), None, None, "bob"),
        ("c4", utc(23, day=15), utc(23, 10, day=15), "ann", "ann"),
    ]
    return pl.DataFrame(
        [{"conversation_id": c, "first_inbound_time": t0, "clock_start": t0, "first_response_time": t1,
          "first_response_agent_id": who, "agent_id": assigned, "tier": "Gold", "priority": 2,
          "network": "twitter", "bot_contained": False} for c, t0, t1, who, assigned in rows],
        schema_overrides={"first_inbound_time": T, "clock_start": T, "first_response_time": T,
                          "first_response_agent_id": pl.String},
    ).lazy()


def responses() -> pl.LazyFrame:
    rows = [
        ("r1", "c1", "AGENT", "ann", utc(9, 30), True),
        ("r2", "c1", "AGENT", "ann", utc(9, 40), True),
        ("r3", "c1", "AGENT", "ann", utc(9, 45), False),  # private note: not a response
        ("r4", "c2", "AGENT", "bob", utc(12), True),
        ("r5", "c2", "BOT", None, utc(10, 1), True),  # bot: not an agent's
        ("r6", "c4", "AGENT", "ann", utc(23, 10, day=15), True),  # before the window
    ]
    return pl.DataFrame(
        [{"response_id": r, "conversation_id": c, "responder_type": k, "agent_id": a, "bot_app_id": None,
          "published_time": t, "in_reply_to_post_id": None, "is_public": p} for r, c, k, a, t, p in rows],
        schema=EXPORTS["response"].polars_schema,
    ).lazy()


def states() -> pl.LazyFrame:
    rows = [
        ("ann", "Ann", "Available", utc(8), utc(12)),  # 4 h in the window
        ("ann", "Ann", "Lunch", utc(12), utc(13)),  # 1 h away
        ("ann", "Ann", "Offline", utc(13), utc(8, day=17)),  # offline
        ("bob", "Bob", "Available", utc(22, day=15), utc(2)),  # 2 h of it inside the window (from 00:00)
        ("bob", "Bob", "Available", utc(20), None),  # still available at as_of (Nov 17 00:00): 4 h
    ]
    return pl.DataFrame(
        [{"agent_id": a, "agent_name": n, "team_id": 1, "state": s, "start_time": t0, "end_time": t1}
         for a, n, s, t0, t1 in rows],
        schema=EXPORTS["raw_agent_states"].polars_schema,
    ).lazy()


def test_leaderboard_by_hand() -> None:
    board = agent_leaderboard(facts(), responses(), POLICY, start=date(2026, 11, 16), end=date(2026, 11, 17),
                              tz="UTC", as_of=AS_OF, agent_states=states()).collect()
    rows = {r["agent_id"]: r for r in board.iter_rows(named=True)}
    ann, bob = rows["ann"], rows["bob"]
    assert (ann["responses"], bob["responses"]) == (2, 1)
    # ann answered c1 first (30 min, achieved); bob answered c2 (2 h, breached) and owns unanswered c3 (breached)
    assert (ann["first_responses"], ann["first_response_achieved"], ann["first_response_breached"]) == (1, 1, 0)
    assert (bob["first_responses"], bob["first_response_achieved"], bob["first_response_breached"]) == (1, 0, 2)
    assert ann["first_response_attainment"] == 1.0 and bob["first_response_attainment"] == 0.0
    assert (ann["frt_median_seconds"], bob["frt_median_seconds"]) == (1800, 7200)
    assert (ann["conversations"], bob["conversations"]) == (2, 1)  # assigned: ann c1, c2; bob c3
    assert (ann["available_seconds"], ann["away_seconds"], ann["logged_in_seconds"]) == (4 * 3600, 3600, 5 * 3600)
    assert bob["available_seconds"] == 6 * 3600
    assert ann["responses_per_available_hour"] == pytest.approx(0.5)
    assert board["agent_name"].to_list() == ["Ann", "Bob"]  # sorted by responses


def test_state_seconds_stop_at_as_of() -> None:
    out = agent_state_seconds(states(), date(2026, 11, 16), date(2026, 11, 17), "UTC",
                              as_of=utc(21)).collect().sort("agent_id")
    # bob: 2 h (00-02) + 1 h (20-21, as_of)
    assert out.filter(pl.col("agent_id") == "bob")["available_seconds"].item() == 3 * 3600


def test_timeline_clips_intervals() -> None:
    out = agent_state_timeline(states(), utc(11), utc(14)).collect()
    ann = out.filter(pl.col("agent_id") == "ann")
    assert ann["state"].to_list() == ["Available", "Lunch", "Offline"]
    assert ann["seconds"].to_list() == [3600, 3600, 3600]
    assert out.filter(pl.col("agent_id") == "bob").height == 0  # bob's intervals do not overlap 11-14


def test_leaderboard_on_simulated_world_adds_up() -> None:
    world_module = pytest.importorskip("dashboard.simulator.world")
    end = datetime(2026, 11, 20, 12, tzinfo=UTC)
    world = world_module.generate_world(world_module.WorldConfig(seed=4, days=7, conversations_per_day=60, end=end))
    t = {k: v.lazy() for k, v in world.tables.items()}
    facts_frame = conversation_facts(t["conversation"], t["incoming_post"], t["response"],
                                     t["conversation_history_action"], t["author"])
    board = agent_leaderboard(facts_frame, t["response"], load_policy(), start=date(2026, 11, 14),
                              end=date(2026, 11, 20), tz="America/New_York", as_of=end,
                              agent_states=t["raw_agent_states"]).collect()
    lo, hi = datetime(2026, 11, 14, 5, tzinfo=UTC), datetime(2026, 11, 20, 5, tzinfo=UTC)
    expected = world.tables["response"].filter(
        (pl.col("responder_type") == "AGENT") & pl.col("is_public") & (pl.col("published_time") >= lo)
        & (pl.col("published_time") < hi)).height
    assert board["responses"].sum() == expected > 0
    assert board["available_seconds"].drop_nulls().sum() > 0
    assert (board["first_response_achieved"] + board["first_response_breached"]
            + board["first_response_pending"]).sum() > 0


def test_agent_state_hours_sums_clipped_seconds_per_agent_and_state():
    from datetime import UTC, datetime

    import polars as pl

    from dashboard.metrics.agents import agent_state_hours, agent_state_timeline

    t = lambda h, m=0: datetime(2026, 11, 2, h, m, tzinfo=UTC)  # noqa: E731
    states = pl.LazyFrame({
        "agent_id": ["a", "a", "a", "b"], "agent_name": ["Ann", "Ann", "Ann", "Bo"], "team_id": [1, 1, 1, 1],
        "state": ["AVAILABLE", "LUNCH", "AVAILABLE", "AVAILABLE"],
        "start_time": [t(8), t(12), t(13), t(9)], "end_time": [t(12), t(13), None, t(9, 30)],
    })
    # Window 09:00-15:00: Ann available 09-12 and 13-15 (open interval clipped) = 5 h, lunch 1 h; Bo 0.5 h.
    hours = agent_state_hours(agent_state_timeline(states, t(9), t(15))).collect()
    assert hours.rows() == [("Ann", "AVAILABLE", 5.0), ("Ann", "LUNCH", 1.0), ("Bo", "AVAILABLE", 0.5)]


def _states_now() -> pl.DataFrame:
    t = lambda h, m=0: datetime(2026, 11, 2, h, m, tzinfo=UTC)  # noqa: E731
    return pl.DataFrame({
        "agent_id": ["a", "a", "b", "c", "d", "e"],
        "agent_name": ["Ann", "Ann", "Bob", None, "Dee", "Eve"],
        "state": ["Available", "Lunch", "Available", "Busy", "Available", " available "],
        "start_time": [t(9), t(12), t(9), t(11), t(8), t(12)],
        "end_time": [t(12), t(13), None, t(11, 30), t(10), None],
    }, schema_overrides={"start_time": T, "end_time": T})


def test_agents_by_state_counts_each_agents_covering_interval():
    from dashboard.metrics.agents import agents_available, agents_by_state

    now = agents_by_state(_states_now(), datetime(2026, 11, 2, 12, 15, tzinfo=UTC))
    # a: Lunch (12-13); b: Available (open); e: " available " (open); c ended 11:30, d ended 10:00 -> not counted.
    assert now.rows() == [(" available ", 1), ("Available", 1), ("Lunch", 1)]  # most agents first, then by name
    # "available" in any case and spacing is AVAILABLE_STATES' state, as in the leaderboard's available hours
    assert agents_available(now) == 2


def test_handle_time_is_first_assignment_to_close_per_agent_nearest_rank():
    from dashboard.metrics.agents import handle_time_by_agent

    def row(cid: str, agent: str, assigned_h: int, closed_h: int | None) -> dict:
        return {"conversation_id": cid, "agent_id": agent, "first_inbound_time": utc(8),
                "first_assigned_time": utc(assigned_h), "closed_time": None if closed_h is None else utc(closed_h)}

    facts = pl.DataFrame([row("c1", "ann", 9, 10), row("c2", "ann", 9, 12), row("c3", "ann", 9, 13),
                          row("c4", "bob", 10, 11), row("c5", "bob", 10, None)],
                         schema_overrides={c: T for c in ("first_inbound_time", "first_assigned_time", "closed_time")})
    out = handle_time_by_agent(facts, start=date(2026, 11, 16), end=date(2026, 11, 17), tz="UTC", as_of=AS_OF)
    # ann: 1 h, 3 h, 4 h -> median (nearest rank: the 2nd of 3) 3 h; bob: one closed conversation, 1 h
    assert out.rows() == [("ann", 3, 3 * 3600.0), ("bob", 1, 3600.0)]
