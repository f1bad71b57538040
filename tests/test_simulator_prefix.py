"""The world is prefix-stable (issue 17 item 4): a world of the same seed, size, zone and start that ends later is
the same world up to the earlier end, so the demo's clock advances by syncing new days, not by regenerating
history.

Precisely, for W1 ending at T1 and W2 ending at T2 > T1 (same seed, conversations per day, zone and start):

- event exports (incoming posts, responses, history actions, author versions): W2's rows before T1 are W1's rows,
  byte for byte (the same JSON text);
- Bot API request records created before T1: the same, except a record still pending at T1 (W1 says PENDING, no
  completion yet), which W2 completes: its identity, payload and creation are the same;
- agent states that started before T1: the same, except the end of a state still going on at T1 (null in W1,
  at or after T1 in W2);
- team performance: the rows of local days over by T1 are the same (the day T1 falls in is still being counted);
- conversations and the truth: W2 holds exactly W1's conversations created before T1 (same ids, display numbers,
  authors, creation); the rows of those with no event at or after T1 in W2 are the same. A conversation whose
  events straddle T1 may go on (its status, close, tags), but its events before T1 are the same (first point);
- reference data (agents with their capacity, queues, teams, bots, tags) is the same; W1's finished incidents
  are W2's finished incidents that ended by T1.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.schema import EXPORTS
from dashboard.simulator.world import WorldConfig, generate_world

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

BASE = datetime(2026, 9, 28, 0, 0, tzinfo=UTC)
EVENT_EXPORTS = ("incoming_post", "response", "conversation_history_action", "author")
FIXED_AT_CREATION = ("request_id", "app_id", "origin", "event_type", "network_key", "external_id", "conversation_id",
                     "payload", "created_time")


def text(frame: pl.DataFrame) -> str:
    """The frame as JSON text (every value, lists included), hashed: equal digests are byte-identical tables."""
    return hashlib.sha256(frame.write_ndjson().encode()).hexdigest()


def same(a: pl.DataFrame, b: pl.DataFrame, what: str) -> None:
    assert a.schema == b.schema, what
    assert a.height == b.height, f"{what}: {a.height} rows to the earlier end, {b.height} in the longer world"
    assert text(a) == text(b), f"{what}: the rows differ"


def check_prefix(seed: int, per_day: int, start: datetime, t1: datetime, t2: datetime,
                 timezone: str = "America/New_York") -> None:
    w1 = generate_world(WorldConfig(seed=seed, conversations_per_day=per_day, start=start, end=t1, timezone=timezone))
    w2 = generate_world(WorldConfig(seed=seed, conversations_per_day=per_day, start=start, end=t2, timezone=timezone))
    assert w1.start == w2.start == start
    before = pl.lit(t1).cast(pl.Datetime("ms", "UTC"))

    for export_id in EVENT_EXPORTS:
        time = pl.col(EXPORTS[export_id].time_column)
        same(w1.tables[export_id], w2.tables[export_id].filter(time < before), export_id)

    r1 = w1.tables["bot_request"]
    r2 = w2.tables["bot_request"].filter(pl.col("created_time") < before)
    pending = pl.col("state") == "PENDING"
    done_by_t1 = (pl.col("completed_time") < before).fill_null(False)
    same(r1.filter(~pending), r2.filter(done_by_t1), "bot_request (done by T1)")
    same(r1.filter(pending).select(FIXED_AT_CREATION), r2.filter(~done_by_t1).select(FIXED_AT_CREATION),
         "bot_request (pending at T1)")

    s1 = w1.tables["raw_agent_states"]
    s2 = w2.tables["raw_agent_states"].filter(pl.col("start_time") < before)
    same(s1.drop("end_time"), s2.drop("end_time"), "raw_agent_states")
    ongoing = s1["end_time"].is_null()
    assert s2.filter(ongoing.not_())["end_time"].equals(s1.filter(ongoing.not_())["end_time"])
    assert (s2.filter(ongoing)["end_time"].fill_null(t2) >= t1).all(), "a state still going on at T1 ends after it"

    zone = pl.col("window_start").dt.convert_time_zone(timezone)
    over = zone.dt.offset_by("1d").dt.convert_time_zone("UTC") <= before
    same(w1.tables["team_performance"].filter(over), w2.tables["team_performance"].filter(over), "team_performance")

    c1, c2 = w1.tables["conversation"], w2.tables["conversation"].filter(pl.col("created_time") < before)
    identity = ["conversation_id", "conversation_display_id", "author_id", "network", "created_time"]
    same(c1.select(identity), c2.select(identity), "the conversations created before T1")
    later = pl.concat([
        w2.tables["incoming_post"].filter(pl.col("received_time") >= before).select("conversation_id"),
        w2.tables["response"].filter(pl.col("published_time") >= before).select("conversation_id"),
        w2.tables["conversation_history_action"].filter(pl.col("action_time") >= before).select("conversation_id"),
    ]).unique()
    same(c1.join(later, on="conversation_id", how="anti"), c2.join(later, on="conversation_id", how="anti"),
         "conversation rows with every event before T1")
    same(w1.truth.join(later, on="conversation_id", how="anti"),
         w2.truth.filter(pl.col("first_inbound_time") < before).join(later, on="conversation_id", how="anti"),
         "truth rows with every event before T1")

    for name in ("agents", "work_queues", "teams", "bots", "tags", "agent_state_types"):
        same(getattr(w1, name), getattr(w2, name), name)
    assert w1.incidents == [i for i in w2.incidents if i["end"] <= t1]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    per_day=st.integers(5, 60),
    start_minutes=st.integers(0, 40 * 24 * 60),
    first_minutes=st.integers(60, 10 * 24 * 60),
    more_minutes=st.integers(1, 9 * 24 * 60),
)
@example(seed=11, per_day=80, start_minutes=0, first_minutes=21 * 24 * 60, more_minutes=1)  # one minute on
@example(seed=3, per_day=40, start_minutes=0, first_minutes=(34 * 24 + 6) * 60, more_minutes=8 * 24 * 60)  # DST
@example(seed=5, per_day=30, start_minutes=0, first_minutes=2 * 24 * 60, more_minutes=24 * 60)  # UTC midnights
def test_a_world_ending_later_is_the_same_world_up_to_the_earlier_end(seed, per_day, start_minutes, first_minutes,
                                                                       more_minutes):
    start = BASE + timedelta(minutes=start_minutes)
    t1 = start + timedelta(minutes=first_minutes)
    check_prefix(seed, per_day, start, t1, t1 + timedelta(minutes=more_minutes))


def test_the_default_demo_size_is_prefix_stable_over_a_week_in_another_zone():
    start = datetime(2026, 8, 20, 13, 37, tzinfo=UTC)
    check_prefix(7, 400, start, start + timedelta(days=40, hours=3), start + timedelta(days=47), "Europe/Berlin")


def test_the_property_can_fail():
    """The check is not vacuous: another start (a different world lineage) differs before T1."""
    start = BASE
    t1, t2 = start + timedelta(days=5), start + timedelta(days=6)
    w1 = generate_world(WorldConfig(seed=1, conversations_per_day=30, start=start, end=t1))
    w2 = generate_world(WorldConfig(seed=1, conversations_per_day=30, start=start - timedelta(days=1), end=t2))
    before = pl.lit(t1).cast(pl.Datetime("ms", "UTC"))
    assert text(w1.tables["conversation_history_action"]) != text(
        w2.tables["conversation_history_action"].filter(pl.col("action_time") >= pl.lit(start), pl.col("action_time")
                                                        < before))
