"""Contact reasons: a hand-made world whose answers are worked out in the comments, and the simulator's tags.

Policy (UTC, calendar clocks): first response 1 h, resolution 8 h. Window: Mon 2026-11-16 and Tue 11-17
(UTC); previous window: Sat 11-14 and Sun 11-15. As of Tue 12:00.

  c1  Billing               in Mon 10:00, answered 10:30 (1800 s, achieved), closed 12:00 (7200 s, achieved)
  c2  Billing + Complaint   in Mon 11:00, answered 13:00 (7200 s, breached), closed 21:00 (36000 s, breached)
  c3  Delivery              in Tue 09:00, answered 09:10 (600 s, achieved), open (resolution pending)
  c4  (no tag)              in Tue 10:00, answered 10:20 (1200 s, achieved), closed 11:00 (3600 s, achieved)
  c5  Billing twice         in Tue 10:30, unanswered: 1 h 30 min by 12:00 -> breached; open (pending)
  p1  Delivery              previous window (Sun 10:00)
  p2  Billing               previous window (Sat 10:00)
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dashboard.metrics import parse_policy
from dashboard.metrics._planning import PlanningError
from dashboard.metrics.reasons import (
    MULTI_TAG_NOTE,
    NO_DISPOSITION,
    NO_TAG,
    conversations_with_reason,
    reason_table,
    rising_reasons,
)
from tests._planning_helpers import build_tables, facts_of, utc

POLICY = parse_policy(
    '[schedules.default]\ntimezone = "UTC"\nmonday = [["00:00", "24:00"]]\n'
    '[[targets]]\nmetric = "first_response"\ntarget = "1h"\nclock = "calendar"\n'
    '[[targets]]\nmetric = "resolution"\ntarget = "8h"\nclock = "calendar"\n',
    source="reasons-policy",
)
AS_OF = utc("2026-11-17 12:00")
START, END = date(2026, 11, 16), date(2026, 11, 18)

CONVERSATIONS = {
    "c1": dict(tags=["Billing"], posts=["2026-11-16 10:00"], responses=[("2026-11-16 10:30", "ann", True)],
               closed="2026-11-16 12:00", disposition="Resolved"),
    "c2": dict(tags=["Billing", "Complaint"], posts=["2026-11-16 11:00"],
               responses=[("2026-11-16 13:00", "ann", True)], closed="2026-11-16 21:00", disposition="Escalated"),
    "c3": dict(tags=["Delivery"], posts=["2026-11-17 09:00"], responses=[("2026-11-17 09:10", "bob", True)]),
    "c4": dict(tags=[], posts=["2026-11-17 10:00"], responses=[("2026-11-17 10:20", "bob", True)],
               closed="2026-11-17 11:00", disposition="Resolved"),
    "c5": dict(tags=["Billing", " Billing"], posts=["2026-11-17 10:30"]),
    "p1": dict(tags=["Delivery"], posts=["2026-11-15 10:00"], responses=[("2026-11-15 10:05", "ann", True)]),
    "p2": dict(tags=["Billing"], posts=["2026-11-14 10:00"], responses=[("2026-11-14 10:05", "ann", True)]),
}
FACTS = facts_of(build_tables(CONVERSATIONS))


def table(by: str = "tag", **kwargs) -> dict[str, dict]:
    out = reason_table(FACTS, POLICY, start=START, end=END, tz="UTC", by=by, as_of=AS_OF, **kwargs).collect()
    return {row["reason"]: row for row in out.iter_rows(named=True)}


def test_a_conversation_counts_once_under_each_of_its_tags() -> None:
    rows = table()
    assert list(rows) == ["Billing", NO_TAG, "Complaint", "Delivery"]  # largest first, then by name
    assert {k: r["conversations"] for k, r in rows.items()} == {"Billing": 3, NO_TAG: 1, "Complaint": 1,
                                                                "Delivery": 1}
    # five conversations; c2 is under Billing and Complaint, so the shares add up to 6/5
    assert rows["Billing"]["share"] == pytest.approx(3 / 5)
    assert sum(r["share"] for r in rows.values()) == pytest.approx(6 / 5)
    # only c2 carries another tag; c5's tag written twice (once with a stray space) is one tag
    assert (rows["Billing"]["multi_tagged"], rows["Complaint"]["multi_tagged"], rows["Delivery"]["multi_tagged"]) \
        == (1, 1, 0)
    assert "more than 100 %" in MULTI_TAG_NOTE


def test_first_response_and_resolution_per_tag_by_hand() -> None:
    billing = table()["Billing"]
    # first response: c1 achieved (1800 s), c2 breached (7200 s), c5 breached unanswered (no time)
    assert (billing["first_response_achieved"], billing["first_response_breached"]) == (1, 2)
    assert billing["first_response_attainment"] == pytest.approx(1 / 3)
    # nearest rank over [1800, 7200]: median = 1st value, p90 = 2nd
    assert (billing["first_response_median_seconds"], billing["first_response_p90_seconds"]) == (1800, 7200)
    # resolution: c1 7200 s achieved, c2 36000 s breached, c5 still open (pending)
    assert (billing["resolved"], billing["resolution_attainment"]) == (2, 0.5)
    assert (billing["resolution_median_seconds"], billing["resolution_p90_seconds"]) == (7200, 36000)
    delivery = table()["Delivery"]
    assert (delivery["first_response_attainment"], delivery["first_response_median_seconds"]) == (1.0, 600)
    assert delivery["resolution_attainment"] is None and delivery["resolved"] == 0
    assert table()["Complaint"]["first_response_attainment"] == 0.0


def test_by_disposition_each_conversation_once() -> None:
    rows = table("disposition")
    assert {k: r["conversations"] for k, r in rows.items()} == {"Resolved": 2, NO_DISPOSITION: 2, "Escalated": 1}
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)
    assert all(r["multi_tagged"] == 0 for r in rows.values())


def test_excluded_tags_leave_the_conversation_untagged() -> None:
    rows = table(exclude=["Complaint", "Delivery"])
    assert {k: r["conversations"] for k, r in rows.items()} == {"Billing": 3, NO_TAG: 2}
    assert rows["Billing"]["multi_tagged"] == 0


def test_rising_reasons_against_the_previous_window() -> None:
    out = rising_reasons(FACTS, start=START, end=END, tz="UTC", min_volume=1).collect()
    # new ones first (by volume, then name), then by growth; Delivery (1 vs 1) did not rise
    assert out["reason"].to_list() == [NO_TAG, "Complaint", "Billing"]
    billing = out.row(2, named=True)
    assert (billing["conversations"], billing["previous"], billing["change"], billing["growth"]) == (3, 1, 2, 2.0)
    assert billing["share_change"] == pytest.approx(3 / 5 - 1 / 2)
    assert out["new"].to_list() == [True, True, False]
    # a minimum volume keeps one-conversation noise out of the ranking
    assert rising_reasons(FACTS, start=START, end=END, tz="UTC", min_volume=2).collect()["reason"].to_list() \
        == ["Billing"]


def test_rising_reasons_with_an_empty_previous_window() -> None:
    only_now = facts_of(build_tables({k: v for k, v in CONVERSATIONS.items() if k.startswith("c")}))
    out = rising_reasons(only_now, start=START, end=END, tz="UTC", min_volume=1).collect()
    assert set(out["reason"]) == {"Billing", NO_TAG, "Complaint", "Delivery"} and out["new"].all()
    assert out["previous_share"].to_list() == [0.0] * 4


def test_drill_down_lists_the_conversations_of_a_reason() -> None:
    ids = conversations_with_reason(FACTS, "Billing", start=START, end=END, tz="UTC").collect()["conversation_id"]
    assert ids.to_list() == ["c5", "c2", "c1"]  # newest first
    assert conversations_with_reason(FACTS, NO_DISPOSITION, start=START, end=END, tz="UTC",
                                     by="disposition").collect()["conversation_id"].sort().to_list() == ["c3", "c5"]


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(PlanningError, match="use one of tag, disposition"):
        table("queue")
    with pytest.raises(PlanningError, match="min_volume"):
        rising_reasons(FACTS, start=START, end=END, min_volume=0)


def test_simulator_tags_count_once_per_tag_and_match_the_export(sim_world) -> None:
    world, facts, policy = sim_world
    start, end = date(2026, 11, 2), date(2026, 11, 16)
    out = reason_table(facts, policy, start=start, end=end, tz="America/New_York", as_of=world.now).collect()
    window = facts.filter(pl.col("first_inbound_time").dt.convert_time_zone("America/New_York").dt.date()
                          .is_between(start, end, closed="left")).collect()
    # oracle: the conversation export's own tag lists, counted directly
    expected = window.select(pl.col("tags").list.unique()).explode("tags").drop_nulls()["tags"].value_counts()
    counts = dict(zip(out["reason"], out["conversations"], strict=True))
    assert {r["tags"]: r["count"] for r in expected.iter_rows(named=True)} == \
        {k: v for k, v in counts.items() if k != NO_TAG}
    # every simulated conversation has exactly one topic tag: the six topics add up to the window's volume
    topics = ("Billing", "Delivery", "Returns", "Technical issue", "Account access", "Complaint")
    assert sum(counts.get(t, 0) for t in topics) == window.height
    assert out["share"].sum() > 1  # system tags (Bot Handoff, ...) ride on top of the topic


@pytest.fixture(scope="module")
def sim_world():
    from tests._planning_helpers import sim_world as build

    return build()
