"""Khoros' "time to agent response" beside ours: a hand-worked golden world, the simulator's own figure as the
oracle (its code, not ours), and the reasons the figures differ."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from dashboard.khoros import KhorosClient, PollPolicy
from dashboard.khoros._http import InProcessASGITransport
from dashboard.metrics.conversations import conversation_facts, customer_bursts
from dashboard.metrics.tar import (
    ResponseDefinition,
    TarFigure,
    compare_with_khoros,
    khoros_definition,
    khoros_tar,
    our_response_time,
    tar_figure,
)
from dashboard.schema import EXPORTS
from dashboard.settings import Settings
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.store import Store
from dashboard.store.sync import sync

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def t(day: int, hh: int, mm: int, ss: int = 0, ms: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, ms * 1000, tzinfo=UTC)


def frame(export_id: str, rows: list[dict]) -> pl.LazyFrame:
    schema = EXPORTS[export_id].polars_schema
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).lazy()


@pytest.fixture(scope="module")
def golden():
    """Five conversations worked by hand (all times UTC, the live range is the day before NOW):

    A  posts 08:00, agent 08:10 (FIRST 10 min); posts 09:00, a private note 09:05, agent 09:20 (20 min);
       posts 10:00 and 10:00:30, agent 10:01:00.001 (SUBSEQUENT 60 001 ms from the burst's first post).
    B  bot-first: posts 07:00, bot 07:00:01, posts 07:01, hand-off 07:02, agent 07:32 (FIRST 30 min from the
       hand-off, not from 07:00); posts 07:40:00 and the agent answers at that very instant (SUBSEQUENT 0).
    C  posts on the 9th 11:00, agent 11:30 (before the range: out); posts 23:00, agent 00:00 on the 10th (1 h).
    D  posts 11:00, never answered: no interval.
    E  posts 09:00:00.000, agent 09:00:00.001 (FIRST 1 ms).
    """
    conversations = [
        {"conversation_id": c, "author_id": "au", "network": "twitter", "status": "OPEN", "created_time": first,
         "priority": prio, "work_queue_id": queue, "tags": []}
        for c, first, prio, queue in [("A", t(10, 8, 0), 2, 12), ("B", t(10, 7, 0), 5, 11), ("C", t(9, 11, 0), 4, 10),
                                      ("D", t(10, 11, 0), 1, 12), ("E", t(10, 9, 0), 3, 10)]
    ]
    posts = [("A", t(10, 8, 0)), ("A", t(10, 9, 0)), ("A", t(10, 10, 0)), ("A", t(10, 10, 0, 30)),
             ("B", t(10, 7, 0)), ("B", t(10, 7, 1)), ("B", t(10, 7, 40)), ("C", t(9, 11, 0)), ("C", t(9, 23, 0)),
             ("D", t(10, 11, 0)), ("E", t(10, 9, 0))]
    replies = [("A", t(10, 8, 10), "AGENT", True), ("A", t(10, 9, 5), "AGENT", False),
               ("A", t(10, 9, 20), "AGENT", True), ("A", t(10, 10, 1, 0, 1), "AGENT", True),
               ("B", t(10, 7, 0, 1), "BOT", True), ("B", t(10, 7, 32), "AGENT", True),
               ("B", t(10, 7, 40), "AGENT", True), ("C", t(9, 11, 30), "AGENT", True),
               ("C", t(10, 0, 0), "AGENT", True), ("E", t(10, 9, 0, 0, 1), "AGENT", True)]
    tables = {
        "conversation": frame("conversation", conversations),
        "incoming_post": frame("incoming_post", [
            {"post_id": f"p{i}", "conversation_id": c, "author_id": "au", "network": "twitter", "received_time": at}
            for i, (c, at) in enumerate(posts)]),
        "response": frame("response", [
            {"response_id": f"r{i}", "conversation_id": c, "responder_type": who, "published_time": at,
             "is_public": public, "agent_id": "ag" if who == "AGENT" else None,
             "bot_app_id": "bot" if who == "BOT" else None}
            for i, (c, at, who, public) in enumerate(replies)]),
        "conversation_history_action": frame("conversation_history_action", [
            {"action_id": "h1", "conversation_id": "B", "action": "HANDOFF_TO_AGENT", "action_time": t(10, 7, 2)}]),
        "author": frame("author", [{"author_id": "au", "network": "twitter", "tier": "Gold",
                                    "updated_time": t(1, 0, 0)}]),
    }
    facts = conversation_facts(tables["conversation"], tables["incoming_post"], tables["response"],
                               tables["conversation_history_action"], tables["author"], bot_rule="human")
    bursts = customer_bursts(tables["incoming_post"], tables["response"], facts, bot_rule="human")
    return tables, facts, bursts


def test_khoros_tar_to_its_definition_on_a_hand_worked_world(golden):
    tables, facts, bursts = golden
    day = timedelta(days=1)
    first = khoros_tar(facts, bursts, tables["conversation"], now=NOW, time_range=day)
    # A 600 000, B 1 800 000 (from the hand-off), E 1; C ended before the range; D never answered
    assert first == TarFigure(mean_ms=800_000, median_ms=600_000, count=3)  # 2 400 001 / 3, rounded
    subsequent = khoros_tar(facts, bursts, tables["conversation"], now=NOW, time_range=day,
                            response_type="SUBSEQUENT")
    # A 1 200 000 (the private note does not answer) and 60 001; B 0 (same instant); C 3 600 000
    assert subsequent == TarFigure(mean_ms=1_215_000, median_ms=630_001, count=4)  # (60 001 + 1 200 000) / 2, up
    urgent = khoros_tar(facts, bursts, tables["conversation"], now=NOW, time_range=day, response_type="SUBSEQUENT",
                        priorities=(4, 5))
    assert urgent == TarFigure(mean_ms=1_800_000, median_ms=1_800_000, count=2)  # B 0 and C 3 600 000
    queue = khoros_tar(facts, bursts, tables["conversation"], now=NOW, time_range=day, work_queue_ids=(10,))
    assert queue == TarFigure(mean_ms=1, median_ms=1, count=1)  # E only: C's first reply is out of range
    two_days = khoros_tar(facts, bursts, tables["conversation"], now=NOW, time_range=2 * day)
    assert two_days.count == 4 and two_days.median_ms == (600_000 + 1_800_000) // 2  # C's 30 min joins
    assert khoros_tar(facts, bursts, tables["conversation"], now=t(1, 0, 0), time_range=day) == TarFigure(
        None, None, 0)


def test_our_own_response_time_and_the_reasons_it_differs(golden):
    tables, facts, bursts = golden
    khoros = TarFigure(800_000, 600_000)
    to_khoros = khoros_tar(facts, bursts, tables["conversation"], now=NOW, time_range=timedelta(days=1))
    ours_facts = conversation_facts(tables["conversation"], tables["incoming_post"], tables["response"],
                                    tables["conversation_history_action"], tables["author"], bot_rule="any")
    ours_bursts = customer_bursts(tables["incoming_post"], tables["response"], ours_facts, bot_rule="any")
    ours = our_response_time(ours_facts, ours_bursts, response_type="FIRST", start=t(9, 0, 0), end=t(10, 0, 0))
    # First inbound on the 9th: C only, answered after 30 min (bot rule any changes nothing for C)
    assert ours == TarFigure(1_800_000, 1_800_000, 1)
    ours_definition = ResponseDefinition("any", True, "first_inbound", "2026-11-09 (UTC)")
    comparison = compare_with_khoros("FIRST", khoros, to_khoros, ours, ours_definition=ours_definition,
                                     khoros_definition=khoros_definition(NOW, timedelta(days=1)))
    assert (comparison.khoros, comparison.ours_to_khoros, comparison.ours) == (khoros, to_khoros, ours)
    text = "\n".join(comparison.reasons)
    assert len(comparison.reasons) == 4  # bot rule, business hours, window, median (no data reason: 1 and 2 agree)
    assert text.startswith("bot rule: our first response counts any public reply")
    assert "business hours: our first response counts only time inside the business schedule" in text
    assert "whose first inbound post is in 2026-11-09 (UTC); Khoros takes the replies sent in the 1 day before " \
           "2026-11-10 12:00 UTC" in text
    assert all("\n" not in reason for reason in comparison.reasons)
    drifted = compare_with_khoros("FIRST", TarFigure(900_000, 600_000), to_khoros, to_khoros,
                                  ours_definition=khoros_definition(NOW, timedelta(days=1)),
                                  khoros_definition=khoros_definition(NOW, timedelta(days=1)))
    assert len(drifted.reasons) == 1 and drifted.reasons[0].startswith("data or definition:")


def test_the_median_rules():
    assert tar_figure([1, 2]) == TarFigure(2, 2, 2)  # 1.5 -> 2, halves up
    assert tar_figure([1, 2], median="nearest_rank") == TarFigure(2, 1, 2)
    assert tar_figure([5, 1, 3]) == TarFigure(3, 3, 3) and tar_figure([]) == TarFigure(None, None, 0)
    with pytest.raises(ValueError, match="median"):
        tar_figure([1], median="mode")


def test_ours_to_khoros_definition_equals_the_simulators_current_tar(tmp_path):
    """The oracle: the simulator computes currentTAR from its world with its own code; we compute it from what
    a sync stored. Every range, filter and smart view must agree to the millisecond."""
    end = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    world = generate_world(WorldConfig(seed=11, days=10, conversations_per_day=60, end=end))
    transport = InProcessASGITransport(create_app(world, SimulatorOptions(analytics_per_min=10_000,
                                                                            care_per_min=10_000)))
    settings = Settings(data_dir=tmp_path, username="demo", password="demo", company_key="demo", simulator_end=end,
                        rate_analytics_per_min=10_000, rate_care_per_min=10_000,
                        export_time_format="MM/dd/yyyy HH:mm:ss")
    client = KhorosClient.from_settings(settings, base_url="http://simulator.test", transport=transport,
                                        use_cache=False, poll=PollPolicy(0.01, 2.0, 0.1, 30.0))
    store = Store(tmp_path / "store")
    assert sync(client, store, date(2026, 11, 8), end.date(), now=end,
                exports=["conversation", "incoming_post", "response", "conversation_history_action", "author"]).ok
    tables = {e: store.scan(e) for e in ("conversation", "incoming_post", "response", "conversation_history_action",
                                         "author")}
    facts = conversation_facts(tables["conversation"], tables["incoming_post"], tables["response"],
                               tables["conversation_history_action"], tables["author"], bot_rule="human")
    bursts = customer_bursts(tables["incoming_post"], tables["response"], facts, bot_rule="human")
    cases = [({}, {}), ({"priorities": (4, 5)}, {"priorities": (4, 5)}),
             ({"work_queue_ids": (10, 11)}, {"work_queue_ids": (10, 11)}),
             ({"smart_view_id": 501}, {"work_queue_ids": (10,)}), ({"smart_view_id": 502}, {"priorities": (4, 5)})]
    compared = 0
    for hours in (6, 24, 72):
        for theirs_filters, ours_filters in cases:
            tars = client.current_tars(timedelta(hours=hours), **theirs_filters)
            for kind, tar in tars.items():
                ours = khoros_tar(facts, bursts, tables["conversation"], now=end, time_range=timedelta(hours=hours),
                                  response_type=kind, **ours_filters)
                assert (tar.average_ms, tar.median_ms) == (ours.mean_ms, ours.median_ms), (hours, kind,
                                                                                          theirs_filters)
                compared += ours.count or 0
    assert compared > 200, "the figures compared were made of many intervals"
    client.close()
    transport.close()
