"""The kept evaluation and the daily rollups give the definitions' own answers.

- ``evaluate`` of a frame that carries a policy's kept evaluation (``evaluation_keys``) equals ``evaluate`` of
  the bare frame, for every metric and any "as of" (before, inside and after the data), on the hand-worked golden
  world and on the demo world;
- rollup figures (``attainment_from_rollups``, ``rollup_counts``) equal ``attainment_by``'s counts over any window
  of local days, with filters and groups, as of any instant from ``valid_from`` on;
- the next reply's agent of a customer burst is that reply's (null for a bot's reply), whatever conversation
  sorts after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.metrics import attainment_by, customer_bursts, evaluate, in_window
from dashboard.metrics.rollups import (
    attainment_from_rollups,
    daily_rollups,
    merge_rollups,
    rollup_counts,
    running_clocks,
    valid_from,
)
from dashboard.metrics.sla import KEPT_PREFIX, evaluation_keys, kept_columns
from tests import test_metrics_golden as golden

METRICS = ("first_response", "time_to_assign", "resolution")


def with_keys(frame: pl.DataFrame, policy, metrics=METRICS) -> pl.DataFrame:
    return frame.hstack(pl.concat([evaluation_keys(frame.lazy(), policy, m) for m in metrics],
                                  how="horizontal").collect())


def without_kept(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.exclude(f"^{KEPT_PREFIX}.*$"))


GOLDEN_FACTS = golden.facts().collect()
GOLDEN_KEPT = with_keys(GOLDEN_FACTS, golden.POLICY)


@settings(max_examples=40, deadline=None)
@given(metric=st.sampled_from(METRICS),
       as_of=st.datetimes(min_value=datetime(2026, 10, 25), max_value=datetime(2026, 12, 31),
                          timezones=st.just(UTC)))
def test_evaluate_with_the_kept_evaluation_equals_evaluate_on_the_golden_world(metric, as_of):
    as_of = as_of.replace(microsecond=as_of.microsecond // 1000 * 1000)
    slow = evaluate(GOLDEN_FACTS.lazy(), golden.POLICY, metric, as_of=as_of).collect()
    fast = evaluate(GOLDEN_KEPT.lazy(), golden.POLICY, metric, as_of=as_of).collect()
    assert without_kept(fast).equals(slow)


def test_the_kept_path_is_taken_and_a_kept_evaluation_of_another_policy_is_not():
    other = golden.POLICY.__class__(golden.POLICY.schedules, golden.POLICY.targets[1:], "<other>")
    assert kept_columns(other, "first_response") != kept_columns(golden.POLICY, "first_response")
    # the kept columns of the golden policy, read under another: ignored, the answer is the other's own
    mine = evaluate(GOLDEN_KEPT.lazy(), other, "first_response", as_of=golden.AS_OF).collect()
    assert without_kept(mine).equals(evaluate(GOLDEN_FACTS.lazy(), other, "first_response",
                                              as_of=golden.AS_OF).collect())
    # and the golden policy's kept values are what its evaluation reads: tampering with them shows
    rule = kept_columns(golden.POLICY, "first_response")["breach_at"]
    tampered = GOLDEN_KEPT.with_columns(pl.col(rule) + pl.duration(days=365))
    statuses = evaluate(tampered.lazy(), golden.POLICY, "first_response", as_of=golden.AS_OF).collect()["status"]
    assert (statuses == "breached").sum() == 0


def test_evaluate_with_the_kept_evaluation_equals_evaluate_on_the_demo_world(demo_core):
    facts, policy = demo_core.facts(), demo_core.policy()
    kept = demo_core.facts_with_sla()
    end = demo_core.now()
    for metric in METRICS:
        for as_of in (end, end - timedelta(days=3), end - timedelta(days=40)):
            slow = evaluate(facts.lazy(), policy, metric, as_of=as_of).collect()
            fast = evaluate(kept.lazy(), policy, metric, as_of=as_of).collect()
            assert without_kept(fast).equals(slow), (metric, as_of)
    bursts = demo_core.bursts()
    fast = evaluate(demo_core.bursts_with_sla().lazy(), policy, "next_response", as_of=end).collect()
    assert without_kept(fast).equals(evaluate(bursts.lazy(), policy, "next_response", as_of=end).collect())


COUNTS = ("total", "achieved", "breached", "pending", "bot_contained", "not_started", "no_target", "responded")


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("by", [[], ["tier"], ["work_queue_id", "network"], ["agent_id"]])
def test_rollups_give_attainment_by_counts_for_any_window(demo_core, metric, by):
    facts, policy, tz = demo_core.facts_with_sla(), demo_core.policy(), demo_core.settings.timezone
    rollups = daily_rollups(facts.lazy(), policy, tz).collect()
    running = running_clocks(facts.lazy(), policy, tz).collect()
    since = valid_from(facts.lazy()).collect().item()
    end_day = demo_core.now().date()
    for start, end, as_of in ((end_day - timedelta(days=27), end_day + timedelta(days=1), demo_core.now()),
                              (end_day - timedelta(days=6), end_day - timedelta(days=1), since),
                              (end_day - timedelta(days=90), end_day + timedelta(days=1),
                               since + timedelta(hours=3))):
        expected = attainment_by(evaluate(in_window(facts.lazy(), start, end, tz), policy, metric, as_of=as_of),
                                 by).collect()
        got = attainment_from_rollups(rollups, running, metric, start=start, end=end, tz=tz, as_of=as_of,
                                      by=by).collect()
        keys = [*by, *COUNTS, "attainment"]
        expected = expected.filter(pl.col("total") + pl.col("bot_contained") + pl.col("not_started")
                                   + pl.col("no_target") > 0) if by else expected
        assert got.select(keys).sort(by or ["total"]).equals(expected.select(keys).sort(by or ["total"])), (
            metric, by, start, end)
        mean = expected.get_column("mean_seconds")
        assert got.get_column("mean_seconds").to_list() == pytest.approx(mean.to_list(), nan_ok=True)


def test_rollups_take_filters_and_count_conversations(demo_core):
    facts, policy, tz = demo_core.facts_with_sla(), demo_core.policy(), demo_core.settings.timezone
    rollups = daily_rollups(facts.lazy(), policy, tz).collect()
    running = running_clocks(facts.lazy(), policy, tz).collect()
    tier = facts.get_column("tier").drop_nulls().mode().item()
    start, end = demo_core.now().date() - timedelta(days=13), demo_core.now().date() + timedelta(days=1)
    chosen = in_window(facts.lazy(), start, end, tz).filter(pl.col("tier") == tier).collect()
    got = rollup_counts(rollups, running, "first_response", start=start, end=end, tz=tz, as_of=demo_core.now(),
                        filters={"tier": [tier]}).collect().row(0, named=True)
    assert got["conversations"] == chosen.height
    assert got["bot_first"] == chosen["bot_first"].sum() and got["bot_contained"] == chosen["bot_contained"].sum()


def test_the_kept_rollups_are_the_rollups_of_the_kept_facts(demo_core):
    cells, running, tz, since = demo_core.rollups()
    facts, policy = demo_core.facts_with_sla(), demo_core.policy()
    assert tz == demo_core.settings.timezone and since <= demo_core.now()
    assert cells.equals(merge_rollups([daily_rollups(facts.lazy(), policy, tz)]).collect())
    expected = running_clocks(facts.lazy(), policy, tz).collect()
    order = [*expected.columns]
    assert running.sort(order, nulls_last=True).equals(expected.sort(order, nulls_last=True))


def test_a_burst_answered_by_a_bot_has_no_responding_agent():
    t = lambda minutes: datetime(2026, 11, 2, 15, 0, tzinfo=UTC) + timedelta(minutes=minutes)  # noqa: E731
    ids = [f"c{i}" for i in range(10)]
    bot = {cid for i, cid in enumerate(ids) if i % 2 == 0}  # the bot answers these customers' second message
    posts = pl.DataFrame({"conversation_id": [c for c in ids for _ in range(2)],
                          "received_time": [t(m) for _ in ids for m in (0, 10)], "priority": 3})
    responses = pl.DataFrame({
        "conversation_id": [c for c in ids for _ in range(2)],
        "published_time": [t(m) for _ in ids for m in (5, 15)],
        "agent_id": [a for c in ids for a in (f"{c}-agent", None if c in bot else f"{c}-second")],
        "responder_type": [k for c in ids for k in ("AGENT", "BOT" if c in bot else "AGENT")],
        "is_public": True})
    facts = pl.DataFrame({"conversation_id": ids, "author_id": ids, "network": "twitter", "work_queue_id": 1,
                          "team_id": 1, "agent_id": [f"{c}-agent" for c in ids], "tier": "Gold", "priority": 3,
                          "first_inbound_time": t(0), "status": "OPEN", "bot_contained": False})
    bursts = customer_bursts(posts.lazy(), responses.lazy(), facts.lazy(), bot_rule="any").collect()
    answered = dict(zip(bursts["conversation_id"], bursts["response_agent_id"], strict=True))
    # a message the bot answered has no responding agent, never the agent of a conversation sorted after it
    assert answered == {c: None if c in bot else f"{c}-second" for c in ids}
