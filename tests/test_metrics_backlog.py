"""Backlog at an instant, age buckets, the at-risk list and breaches due: hand-made facts, answers by hand.

Schedule: New York, Monday–Friday 09:00–17:00. as_of = Monday 2026-11-16 12:00 New York.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.metrics import parse_policy
from dashboard.metrics.backlog import at_risk, backlog_by_age, breaches_due, open_at, overdue_summary

NY = ZoneInfo("America/New_York")
POLICY = parse_policy("""
[schedules.default]
timezone = "America/New_York"
monday = [["09:00", "17:00"]]
tuesday = [["09:00", "17:00"]]
wednesday = [["09:00", "17:00"]]
thursday = [["09:00", "17:00"]]
friday = [["09:00", "17:00"]]

[[targets]]
metric = "first_response"
tier = "Platinum"
target = "1h"

[[targets]]
metric = "first_response"
target = "4h"
""")


def ny(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


AS_OF = ny("2026-11-16 12:00")
# id, tier, queue, created (= first inbound = clock start), first response, first close, last reopen, final close
ROWS = [
    # open, 30 min old, Platinum unanswered: breach_at 12:30 -> at risk, due in hour 0
    ("a", "Platinum", 1, "2026-11-16 11:30", None, None, None, None),
    # open, 2 h old, Standard unanswered: breach_at 14:00 -> at risk, due in hour 2
    ("b", "Standard", 1, "2026-11-16 10:00", None, None, None, None),
    # open, answered: in the backlog, not at risk; 3 days old (Friday 11:00 -> Monday 12:00 = 73 h)
    ("c", "Standard", 2, "2026-11-13 11:00", "2026-11-13 11:10", None, None, None),
    # open, Standard unanswered since Friday 16:00: breach_at Monday 12:00 exactly = as_of -> still pending
    # (as_of must be after breach_at), due in hour 0; 68 h old
    ("d", "Standard", 2, "2026-11-13 16:00", None, None, None, None),
    # closed before as_of: not open
    ("e", "Gold", 1, "2026-11-16 09:00", "2026-11-16 09:10", "2026-11-16 09:30", None, "2026-11-16 09:30"),
    # closed at 09:30, reopened at 13:00 (after as_of), finally closed 14:00: closed at as_of
    ("f", "Gold", 1, "2026-11-16 09:00", "2026-11-16 09:10", "2026-11-16 09:30", "2026-11-16 13:00",
     "2026-11-16 14:00"),
    # closed at 09:30, reopened 11:00, still open at as_of: open, 3 h old
    ("g", "Gold", 2, "2026-11-16 09:00", "2026-11-16 09:10", "2026-11-16 09:30", "2026-11-16 11:00", None),
    # created after as_of: not open
    ("h", "Gold", 1, "2026-11-16 12:30", None, None, None, None),
    # open 10 days: Standard unanswered, long breached -> not "at risk" unless overdue are asked for
    ("i", "Standard", 1, "2026-11-06 12:00", None, None, None, None),
]


def facts() -> pl.LazyFrame:
    t = pl.Datetime("ms", "UTC")
    frame = pl.DataFrame(
        [
            {"conversation_id": r[0], "conversation_display_id": i, "network": "twitter", "tier": r[1],
             "priority": 2, "work_queue_id": r[2], "team_id": 1, "agent_id": None,
             "status": "OPEN", "created_time": ny(r[3]), "first_inbound_time": ny(r[3]), "clock_start": ny(r[3]),
             "queue_entry_time": ny(r[3]), "first_assigned_time": None, "first_response_time": ny(r[4]),
             "first_closed_time": ny(r[5]), "last_reopened_time": ny(r[6]), "closed_time": ny(r[7]),
             "bot_contained": False}
            for i, r in enumerate(ROWS)
        ],
        schema_overrides={c: t for c in ("created_time", "first_inbound_time", "clock_start", "queue_entry_time",
                                         "first_assigned_time", "first_response_time", "first_closed_time",
                                         "last_reopened_time", "closed_time")} | {"agent_id": pl.String},
    )
    return frame.lazy()


def test_open_at_handles_reopen_and_future() -> None:
    out = open_at(facts(), AS_OF).sort("conversation_id").collect()
    assert out["conversation_id"].to_list() == ["a", "b", "c", "d", "g", "i"]
    ages = dict(zip(out["conversation_id"], out["age_seconds"], strict=True))
    assert ages["a"] == 1800
    assert ages["c"] == 73 * 3600
    assert ages["d"] == 68 * 3600
    assert ages["i"] == 10 * 86400  # Nov 6 and Nov 16 are both EST (DST ended Nov 1): exactly 10 days


def test_backlog_by_age_every_bucket() -> None:
    out = backlog_by_age(open_at(facts(), AS_OF)).collect()
    # a 0.5 h -> < 1 h; b 2 h, g 3 h -> 1–4 h; d 68 h -> 1–3 d; c 73 h (over 72) -> 3–7 d; i 240 h -> ≥ 7 d
    assert dict(zip(out["age_bucket"], out["open"], strict=True)) == {
        "< 1 h": 1, "1–4 h": 2, "4–24 h": 0, "1–3 d": 1, "3–7 d": 1, "≥ 7 d": 1}
    by_queue = backlog_by_age(open_at(facts(), AS_OF), by=["work_queue_id"]).collect()
    assert by_queue.height == 2 * 6
    assert by_queue.filter(pl.col("work_queue_id") == 2)["open"].sum() == 3  # c, d, g


def test_at_risk_ordered_by_breach_at() -> None:
    risk = at_risk(facts(), POLICY, AS_OF, metrics=["first_response"]).collect()
    # d breaches at 12:00 (= as_of, still pending), a at 12:30, b at 14:00
    assert risk["conversation_id"].to_list() == ["d", "a", "b"]
    assert risk["seconds_to_breach"].to_list() == [0, 1800, 7200]
    assert risk["breach_at"][0] == AS_OF
    overdue = at_risk(facts(), POLICY, AS_OF, metrics=["first_response"], include_overdue=True).collect()
    assert overdue["conversation_id"].to_list() == ["i", "d", "a", "b"]
    assert overdue["seconds_to_breach"][0] < 0


def test_overdue_clocks_are_counted_by_how_late_they_are() -> None:
    overdue = at_risk(facts(), POLICY, AS_OF, include_overdue=True).collect()
    late = overdue.filter(pl.col("seconds_to_breach") < 0)
    # i: Standard, 4 business hours from Friday 6 Nov 12:00 -> breach Friday 16:00; 10 days - 4 h before as_of.
    # (This policy has first-response targets only: no other clock can be overdue.)
    assert late.select("conversation_id", "metric").rows() == [("i", "first_response")]
    assert late["seconds_to_breach"].to_list() == [-(10 * 86400 - 4 * 3600)]
    assert late["breach_at"][0] == ny("2026-11-06 16:00")
    # d breaches exactly at as_of: still running (0 s to breach), not overdue
    summary = overdue_summary(overdue.lazy()).collect().row(0, named=True)
    assert summary == {"clocks": 1, "conversations": 1, "without_first_response": 1}
    empty = overdue_summary(at_risk(facts(), POLICY, AS_OF).lazy()).collect().row(0, named=True)
    assert empty == {"clocks": 0, "conversations": 0, "without_first_response": 0}


def test_breaches_due_per_hour() -> None:
    risk = at_risk(facts(), POLICY, AS_OF, metrics=["first_response"])
    out = breaches_due(risk, AS_OF, hours=8).collect()
    assert out["hour"].to_list() == list(range(8))
    assert out["breaches"].to_list() == [2, 0, 1, 0, 0, 0, 0, 0]  # d and a in hour 0, b in hour 2
    assert out["hour_start"][1] == ny("2026-11-16 13:00")
