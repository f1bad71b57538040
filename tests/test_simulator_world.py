"""The simulated world: schema-exact tables, determinism, and the semantics the metric engine relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard.schema import EXPORTS, export_schema
from dashboard.simulator.world import WorldConfig, generate_world

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))


def test_every_export_has_exactly_the_schema_columns_and_dtypes(world):
    assert set(world.tables) == set(EXPORTS)
    for export_id, frame in world.tables.items():
        schema = export_schema(export_id).polars_schema
        assert frame.columns[: len(schema)] == list(schema), export_id
        assert frame.select(list(schema)).schema == schema, export_id
        extra = frame.columns[len(schema):]
        if export_schema(export_id).extra_attributes:
            assert {"region", "lifetime_value", "crm_id"} <= set(extra)
            assert all(frame.schema[c] == pl.String for c in extra)
        else:
            assert extra == [], export_id
        assert frame.height > 0, export_id


def test_required_columns_have_no_nulls_and_keys_are_unique(world):
    for export_id, frame in world.tables.items():
        schema = export_schema(export_id)
        for col in schema.columns:
            if col.required:
                assert frame[col.name].null_count() == 0, (export_id, col.name)
        assert frame.select(schema.key).is_duplicated().sum() == 0, export_id


def test_same_config_gives_identical_tables():
    cfg = WorldConfig(seed=3, days=5, conversations_per_day=60, end=END)
    a, b = generate_world(cfg), generate_world(cfg)
    for export_id in a.tables:
        assert a.tables[export_id].equals(b.tables[export_id]), export_id
    assert a.truth.equals(b.truth)
    other = generate_world(WorldConfig(seed=4, days=5, conversations_per_day=60, end=END))
    assert not other.tables["conversation"].equals(a.tables["conversation"])


def test_nothing_happens_after_now_or_before_start(world):
    for export_id, frame in world.tables.items():
        col = export_schema(export_id).time_column
        assert frame[col].max() < world.now, export_id
    conv = world.tables["conversation"]
    assert conv["created_time"].min() >= world.start



def _agent_public(world):
    return world.tables["response"].filter((pl.col("responder_type") == "AGENT") & pl.col("is_public"))


def test_truth_matches_the_exported_events(world):
    truth = world.truth
    first_agent = _agent_public(world).group_by("conversation_id").agg(pl.col("published_time").min().alias("fh"))
    first_any = world.tables["response"].filter(pl.col("is_public")).group_by("conversation_id").agg(
        pl.col("published_time").min().alias("fa"))
    handoff = world.tables["conversation_history_action"].filter(pl.col("action") == "HANDOFF_TO_AGENT").group_by(
        "conversation_id").agg(pl.col("action_time").min().alias("ho"))
    first_post = world.tables["incoming_post"].group_by("conversation_id").agg(
        pl.col("received_time").min().alias("fp"))
    j = (truth.join(first_agent, on="conversation_id", how="left").join(first_any, on="conversation_id", how="left")
         .join(handoff, on="conversation_id", how="left").join(first_post, on="conversation_id", how="left"))
    assert j.filter(pl.col("fh").ne_missing(pl.col("first_human_response_time"))).height == 0
    assert j.filter(pl.col("fa").ne_missing(pl.col("first_any_response_time"))).height == 0
    assert j.filter(pl.col("ho").ne_missing(pl.col("handoff_time"))).height == 0
    assert (j["fp"] == j["first_inbound_time"]).all()
    conv = world.tables["conversation"].join(truth, on="conversation_id")
    assert (conv["created_time"] == conv["first_inbound_time"]).all()
    assert conv.filter(pl.col("closed_time").ne_missing(pl.col("closed_time_right"))).height == 0


def test_bot_contained_and_handoff_semantics(world):
    truth = world.truth
    contained = truth.filter(pl.col("bot_contained"))
    assert contained.height > 0 and contained["bot_first"].all()
    assert contained["first_human_response_time"].null_count() == contained.height
    agents = set(_agent_public(world)["conversation_id"])
    assert not agents & set(contained["conversation_id"])
    tags = world.tables["conversation"].join(truth, on="conversation_id")
    assert tags.filter(pl.col("bot_contained"))["tags"].list.contains("Bot Contained").all()
    handed = tags.filter(pl.col("handoff_time").is_not_null())
    assert handed["tags"].list.contains("Bot Handoff").all()
    assert (handed["handoff_time"] > handed["first_inbound_time"]).all()
    bot_before = world.tables["response"].filter(pl.col("responder_type") == "BOT")
    assert bot_before["bot_app_id"].null_count() == 0 and set(bot_before["bot_app_id"]) <= set(world.bots["app_id"])
    # The human clock starts at the hand-off, so the first human response comes after it.
    answered = handed.filter(pl.col("first_human_response_time").is_not_null())
    assert (answered["first_human_response_time"] > answered["handoff_time"]).all()


def test_tier_and_priority_at_start(world):
    truth = world.truth.sort("first_inbound_time")
    versions = world.tables["author"].sort("updated_time")
    asof = truth.join_asof(versions.select("author_id", "updated_time", "tier"), left_on="first_inbound_time",
                           right_on="updated_time", by="author_id", check_sortedness=False)
    assert (asof["tier"] == asof["tier_at_start"]).all()
    first_posts = world.tables["incoming_post"].sort("received_time").group_by("conversation_id").first()
    j = truth.join(first_posts, on="conversation_id")
    assert (j["priority"] == j["priority_at_first_inbound"]).all()
    changes = world.tables["conversation_history_action"].filter(pl.col("action") == "PRIORITY_CHANGED")
    assert changes.height > 0 and set(changes["to_value"]) <= {str(p) for p in range(6)}
    # For bot-first conversations the (human) clock starts at the hand-off: priority then is priority_at_start.
    at_handoff = (truth.filter(pl.col("handoff_time").is_not_null()).sort("handoff_time")
                  .join_asof(changes.sort("action_time").select("conversation_id", "action_time", "to_value"),
                             left_on="handoff_time", right_on="action_time", by="conversation_id",
                             check_sortedness=False))
    expected = at_handoff.with_columns(
        pl.coalesce(pl.col("to_value").cast(pl.Int64), pl.col("priority_at_first_inbound")).alias("p"))
    assert (expected["p"] == expected["priority_at_start"]).all()
    assert (truth["priority_at_start"] != truth["priority_at_first_inbound"]).any()


def test_agents_reply_only_in_business_hours(world):
    local = _agent_public(world).with_columns(
        pl.col("published_time").dt.convert_time_zone(world.config.timezone).alias("local"))
    hours = local["local"].dt.hour() + local["local"].dt.minute() / 60
    assert ((hours >= 9) & (hours <= 17)).all()
    assert (local["local"].dt.weekday() <= 5).all()
    holidays = {h["date"] for h in world.schedule["holidays"]}
    assert not set(local["local"].dt.date().cast(pl.String)) & holidays


def test_service_differs_by_tier_and_has_breaches(world):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from dashboard.simulator.calendar import build_calendar

    zone = ZoneInfo(world.config.timezone)
    cal = build_calendar(world.config.timezone, world.start.astimezone(zone).date() - timedelta(days=2),
                         world.now.astimezone(zone).date() + timedelta(days=2),
                         (world.start.date(), world.now.date()))
    answered = world.truth.filter(pl.col("first_human_response_time").is_not_null())
    clock_start = answered.select(pl.coalesce("handoff_time", "first_inbound_time").dt.epoch("ms")).to_series()
    replied = answered["first_human_response_time"].dt.epoch("ms")
    business_min = (cal.clock(replied.to_numpy()) - cal.clock(clock_start.to_numpy())) / 60_000
    frame = answered.with_columns(pl.Series("m", business_min))
    med = dict(frame.group_by("tier_at_start").agg(pl.col("m").median()).iter_rows())
    assert med["Platinum"] < med["Gold"] < med["Silver"] < med["Standard"]
    platinum = frame.filter(pl.col("tier_at_start") == "Platinum")["m"]
    assert platinum.max() > 4 * med["Platinum"], "a few breaches"
    # Posts that arrive out of hours wait for opening: calendar time is much longer than business time.
    calendar_min = (replied - clock_start) / 60_000
    assert calendar_min.median() > 2 * frame["m"].median()


def test_status_history_pending_reopen_backlog_and_notes(world):
    actions = world.tables["conversation_history_action"]
    status = actions.filter(pl.col("action") == "STATUS_CHANGED").sort("action_time")
    last = status.group_by("conversation_id").agg(pl.col("to_value").last())
    conv = world.tables["conversation"].join(last, on="conversation_id", how="left").with_columns(
        pl.col("to_value").fill_null("OPEN"))
    assert (conv["status"] == conv["to_value"]).all()
    assert (status["from_value"] != status["to_value"]).all()
    assert {"OPEN", "PENDING", "CLOSED"} <= set(status["to_value"])
    assert actions.filter(pl.col("action") == "REOPENED").height > 0
    backlog = conv.filter(pl.col("status") != "CLOSED")
    assert backlog.height > 0 and backlog["closed_time"].null_count() == backlog.height
    ages = (world.now - backlog["created_time"]).dt.total_hours()
    assert ages.min() < 4 and ages.max() > 48, "a realistic age spread"
    notes = world.tables["response"].filter(~pl.col("is_public"))
    assert notes.height > 0 and (notes["responder_type"] == "AGENT").all()


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="days"):
        WorldConfig(days=0)
    with pytest.raises(ValueError, match="timezone"):
        WorldConfig(timezone="Nowhere/City")
    with pytest.raises(ValueError, match="timezone-aware"):
        WorldConfig(end=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("days", "per_day", "end"),
    [
        (1, 1, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),  # a Sunday with the DST change: maybe no conversation at all
        (2, 1, datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),  # the autumn DST change
        (3, 5, datetime(2026, 12, 26, 12, 0, tzinfo=UTC)),  # around a holiday
        (1, 50, datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
    ],
)
def test_tiny_and_edge_worlds_still_fit_the_schema(days, per_day, end):
    w = generate_world(WorldConfig(seed=1, days=days, conversations_per_day=per_day, end=end))
    for export_id, frame in w.tables.items():
        schema = export_schema(export_id).polars_schema
        assert frame.select(list(schema)).schema == schema
    assert w.truth.height == w.tables["conversation"].height


_DIGEST = """
import hashlib, sys
from datetime import datetime
from dashboard.simulator.world import WorldConfig, generate_world
w = generate_world(WorldConfig(seed=5, days=4, conversations_per_day=40, end=datetime.fromisoformat(sys.argv[1])))
h = hashlib.sha256()
for name in sorted(w.tables):
    h.update(name.encode()); h.update(w.tables[name].write_json().encode())
h.update(w.truth.write_json().encode())
print(h.hexdigest())
"""


@pytest.mark.slow
@pytest.mark.integration
def test_world_is_identical_across_processes():
    """Another interpreter (another hash seed, other thread timing) builds the very same world."""
    import os
    import subprocess
    import sys

    digests = set()
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", _DIGEST, END.isoformat()], capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONHASHSEED": hash_seed})
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_agents_reply_while_available_in_their_own_state_timeline(world):
    states = world.tables["raw_agent_states"].with_columns(pl.col("end_time").fill_null(world.now))
    replies = _agent_public(world).select("agent_id", "published_time").sort("published_time")
    # The state each reply falls in: the agent's latest state starting at or before it.
    placed = replies.join_asof(states.sort("start_time"), left_on="published_time", right_on="start_time",
                               by="agent_id", check_sortedness=False)
    placed = placed.filter(pl.col("start_time").is_not_null())  # replies before the first state in the period
    assert placed.height > 0.95 * replies.height
    assert (placed["published_time"] < placed["end_time"]).all()
    assert (placed["state"] == "Available").all()


def test_action_values_name_agents_queues_bots_and_statuses(world):
    actions = world.tables["conversation_history_action"]

    def values(action, column):
        return set(actions.filter(pl.col("action") == action)[column].drop_nulls())

    assigned = actions.filter(pl.col("action") == "ASSIGNED")
    assert (assigned["to_value"] == assigned["agent_id"]).all() and assigned["from_value"].null_count() == \
        assigned.height
    assert values("ASSIGNED", "to_value") <= set(world.agents["agent_id"])
    queues = {str(q) for q in world.work_queues["id"]}
    assert values("QUEUE_CHANGED", "from_value") | values("QUEUE_CHANGED", "to_value") <= queues
    assert values("HANDOFF_TO_AGENT", "from_value") <= set(world.bots["app_id"])
    assert values("CONTROL_TO_BOT", "to_value") <= set(world.bots["app_id"])
    assert values("STATUS_CHANGED", "to_value") == {"OPEN", "PENDING", "CLOSED"}
    assert values("PRIORITY_CHANGED", "to_value") <= {str(p) for p in range(6)}


def test_arrivals_have_daily_and_weekly_seasonality_and_spikes(world):
    local = world.tables["conversation"].select(
        pl.col("created_time").dt.convert_time_zone(world.config.timezone).alias("t"))["t"]
    by_day = local.dt.date().value_counts()
    weekday = by_day.filter(pl.col("t").dt.weekday() <= 5)["count"].mean()
    weekend = by_day.filter(pl.col("t").dt.weekday() > 5)["count"].mean()
    assert weekend < 0.8 * weekday
    hours = local.dt.hour()
    assert (hours.is_between(10, 14)).sum() > 4 * (hours.is_between(1, 5)).sum()
    per_hour = local.dt.truncate("1h").value_counts()["count"]
    assert per_hour.max() > 3 * per_hour.median(), "a spike stands out"


def test_assignments_wait_for_a_free_slot_of_the_agents_capacity(world):
    """Each agent has a capacity; a conversation is assigned only while the agent has fewer conversations in hand.
    "In hand" is read from the exports by the dashboard's occupancy metric (its code, not the simulator's): the
    two must agree at every assignment. Export times are whole seconds, so a segment counts at an assignment
    only when it spans a second either side of it."""
    from datetime import timedelta

    from dashboard.metrics import conversation_facts
    from dashboard.metrics.occupancy import handling_segments

    t = {k: v.lazy() for k, v in world.tables.items()}
    facts = conversation_facts(t["conversation"], t["incoming_post"], t["response"],
                               t["conversation_history_action"], t["author"])
    segments = handling_segments(facts, t["incoming_post"], t["response"], t["conversation_history_action"])
    assigned = world.tables["conversation_history_action"].filter(pl.col("action") == "ASSIGNED").select(
        "conversation_id", pl.col("to_value").alias("agent_id"), pl.col("action_time").alias("at"))
    assert world.agents["capacity"].min() >= 4
    second = timedelta(seconds=1)
    others = (
        assigned.lazy().join(segments.rename({"conversation_id": "other"}), on="agent_id")
        .filter((pl.col("other") != pl.col("conversation_id")) & (pl.col("start_time") <= pl.col("at") - second))
        .with_columns(end=pl.col("end_time").fill_null(END))
    )

    def in_hand(frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
        return frame.group_by("conversation_id", "at").agg(pl.col("other").n_unique().alias(name))

    at_assignment = in_hand(others.filter(pl.col("end") >= pl.col("at") + second), "in_hand")
    just_before = in_hand(others.filter(pl.col("end") >= pl.col("at") - second), "just_before")
    counted = (
        assigned.lazy().join(at_assignment, on=["conversation_id", "at"], how="left")
        .join(just_before, on=["conversation_id", "at"], how="left")
        .join(world.agents.lazy().select("agent_id", "capacity"), on="agent_id")
        .with_columns(pl.col("in_hand", "just_before").fill_null(0))
        .collect()
    )
    assert counted.height == world.tables["conversation"].filter(pl.col("assigned_agent_id").is_not_null()).height
    assert counted.filter(pl.col("in_hand") >= pl.col("capacity")).is_empty()
    # ...and the capacity binds: some assignments were made the moment a slot came free
    assert counted.filter(pl.col("just_before") >= pl.col("capacity")).height >= 10
