"""The author panel's metrics: the author as of now, recent conversations with service levels, open clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard.metrics import conversation_facts, evaluate, load_policy
from dashboard.metrics.author_panel import author_conversations, author_open_conversations, find_author
from dashboard.schema import TIME
from dashboard.simulator.world import WorldConfig, generate_world

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def authors() -> pl.LazyFrame:
    return pl.DataFrame(
        {
            "author_id": ["a1", "a1", "a2", "a3", "a4"],
            "network": ["twitter", "twitter", "facebook", "twitter", "twitter"],
            "handle": ["@Pat_K", "@Pat_K", "sam", "dup", "dup"],
            "display_name": ["Pat K", "Pat K", "Sam", "D1", "D2"],
            "tier": ["Silver", "Gold", "Standard", None, None],
            "updated_time": [T0, T0 + timedelta(days=5), T0, T0, T0],
            "region": ["EU", "EU", None, None, None],
            "lifetime_value": ["120.5", "980.0", "", None, None],
        },
        schema_overrides={"updated_time": TIME},
    ).lazy()


def test_profile_is_the_version_effective_at_as_of() -> None:
    before = find_author(authors(), T0 + timedelta(days=1), "a1")
    after = find_author(authors(), T0 + timedelta(days=6), "a1")
    assert before is not None and after is not None
    assert (before.tier, after.tier) == ("Silver", "Gold")
    assert after.attributes == {"region": "EU", "lifetime_value": "980.0"}
    assert after.tier_history == ((T0, "Silver"), (T0 + timedelta(days=5), "Gold"))
    assert after.first_seen == T0 and after.matched_by == "id"
    assert find_author(authors(), T0 - timedelta(seconds=1), "a1") is None  # not yet known


def test_unknown_id_falls_back_to_network_and_handle_but_never_guesses() -> None:
    by_handle = find_author(authors(), T0 + timedelta(days=6), "khoros-id-9", network="Twitter", handle="pat_k")
    assert by_handle is not None and by_handle.author_id == "a1" and by_handle.matched_by == "handle"
    assert find_author(authors(), T0, "nobody", network="facebook", handle="pat_k") is None  # other network
    assert find_author(authors(), T0, "nobody", network="twitter", handle="@dup") is None  # two authors: ambiguous
    assert find_author(authors(), T0, "nobody") is None
    empty_attrs = find_author(authors(), T0, "a2")
    assert empty_attrs is not None and empty_attrs.attributes == {}


@pytest.fixture(scope="module")
def world_facts():
    world = generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80,
                                       end=datetime(2026, 11, 18, 15, 30, tzinfo=UTC)))  # fmt: skip
    t = world.tables
    facts = conversation_facts(t["conversation"].lazy(), t["incoming_post"].lazy(), t["response"].lazy(),
                               t["conversation_history_action"].lazy(), t["author"].lazy()).collect()  # fmt: skip
    return world, facts, load_policy()


def test_recent_conversations_are_the_authors_newest_with_the_sla_engines_statuses(world_facts) -> None:
    world, facts, policy = world_facts
    busiest = facts.group_by("author_id").len().sort(["len", "author_id"], descending=True)["author_id"][0]
    mine = facts.filter(pl.col("author_id") == busiest)
    recent = author_conversations(facts, policy, busiest, world.now, limit=3)
    assert recent.height == min(3, mine.height)
    expected_ids = mine.sort("created_time", descending=True)["conversation_id"].head(3).to_list()
    assert recent["conversation_id"].to_list() == expected_ids
    for metric in ("first_response", "resolution"):
        direct = evaluate(mine.lazy(), policy, metric, as_of=world.now).collect()
        want = dict(zip(direct["conversation_id"], direct["status"], strict=True))
        assert {cid: want[cid] for cid in expected_ids} == dict(
            zip(recent["conversation_id"], recent[f"{metric}_status"], strict=True)
        )
    assert set(recent["status"]) <= {"OPEN", "CLOSED"}


def test_open_conversations_list_running_and_breached_clocks_with_time_to_breach(world_facts) -> None:
    world, facts, policy = world_facts
    open_ids = facts.filter(pl.col("closed_time").is_null() | (pl.col("closed_time") > world.now))
    author_id = open_ids.group_by("author_id").len().sort(["len", "author_id"], descending=True)["author_id"][0]
    clocks = author_open_conversations(facts, policy, author_id, world.now)
    assert clocks.height >= 1
    assert set(clocks["conversation_id"]) <= set(open_ids.filter(pl.col("author_id") == author_id)["conversation_id"])
    assert set(clocks["status"]) <= {"pending", "breached"}
    assert clocks["seconds_to_breach"].is_sorted()
    for row in clocks.iter_rows(named=True):
        assert row["seconds_to_breach"] == pytest.approx((row["breach_at"] - world.now).total_seconds())
        assert (row["status"] == "breached") == (row["seconds_to_breach"] <= 0)
    closed_author = facts.filter(pl.col("closed_time") < world.now - timedelta(days=1))["author_id"][0]
    if closed_author not in set(open_ids["author_id"]):
        assert author_open_conversations(facts, policy, closed_author, world.now).is_empty()
    with pytest.raises(ValueError):
        author_conversations(facts, policy, author_id, world.now, limit=0)
