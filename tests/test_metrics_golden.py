"""Golden tests: a small hand-made world whose answers are worked out by hand in the comments.

Schedule: America/New_York, Monday–Friday 09:00–17:00, Thanksgiving 2026-11-26 closed.
All wall-clock times below are New York times (EST = UTC-5, EDT = UTC-4; DST 2026: Mar 8 – Nov 1).

Policy (first matching target wins):
  first_response  priority 5            30m calendar
  first_response  Platinum               1h business
  first_response  Gold                   2h business
  first_response  (anything else)        4h business
  time_to_assign  (anything)             1h business
  resolution      (anything)             8h business
  next_response   (anything)             1h business
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard.metrics import (
    attainment_by,
    conversation_facts,
    customer_bursts,
    evaluate,
    in_window,
    parse_policy,
)
from dashboard.schema import EXPORTS

NY = ZoneInfo("America/New_York")
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)

POLICY = parse_policy(
    """
[schedules.default]
timezone = "America/New_York"
monday = [["09:00", "17:00"]]
tuesday = [["09:00", "17:00"]]
wednesday = [["09:00", "17:00"]]
thursday = [["09:00", "17:00"]]
friday = [["09:00", "17:00"]]
holidays = ["2026-11-26"]

[[targets]]
metric = "first_response"
priority = 5
target = "30m"
clock = "calendar"

[[targets]]
metric = "first_response"
tier = "Platinum"
target = "1h"

[[targets]]
metric = "first_response"
tier = "Gold"
target = "2h"

[[targets]]
metric = "first_response"
target = "4h"

[[targets]]
metric = "time_to_assign"
target = "1h"

[[targets]]
metric = "resolution"
target = "8h"

[[targets]]
metric = "next_response"
target = "1h"
""",
    source="golden-policy",
)


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


# author versions: (author_id, effective from, tier)
AUTHORS = [
    ("plat", "2026-01-01 00:00", "Platinum"),
    ("gold", "2026-01-01 00:00", "Gold"),
    ("std", "2026-01-01 00:00", "Standard"),
    # tier change mid-period: Standard until Monday 2026-11-16 12:00, Platinum from then on
    ("climber", "2026-11-01 00:00", "Standard"),
    ("climber", "2026-11-16 12:00", "Platinum"),
    # "nobody" has no author row at all -> tier "unknown"
]

# Each conversation: author, priority (conversation and posts), inbound posts, responses
# (time, AGENT|BOT, public), actions (action, time, from, to), closed (final close) and status.
CONVERSATIONS: dict[str, dict] = {
    # DST start week. Platinum; in Friday 16:30 EST, answered Monday 09:45 EDT.
    # business: Fri 16:30-17:00 (30m) + Mon 09:00-09:45 (45m) = 4500 s; calendar: 64h15m = 231300 s.
    # breach_at: 1 business hour -> Mon 09:30 EDT = 13:30Z. 09:45 > 09:30 -> breached by 900 s.
    "dst_start": dict(author="plat", posts=["2026-03-06 16:30"], responses=[("2026-03-09 09:45", "AGENT", True)]),
    # DST end week. Gold (2h); in Friday 16:00 EDT; answered Monday 10:00 EST, exactly at breach_at
    # (Fri 1h + Mon 09:00-10:00 1h = 7200 s) -> a tie is achieved.
    "dst_end_tie": dict(author="gold", posts=["2026-10-30 16:00"], responses=[("2026-11-02 10:00", "AGENT", True)]),
    # Holiday. Standard (4h); in Wednesday 16:00 before Thanksgiving; answered Friday 09:30.
    # business: Wed 1h + Thu 0 (holiday) + Fri 30m = 5400 s; breach_at Fri 12:00 -> achieved.
    "holiday": dict(author="std", posts=["2026-11-25 16:00"], responses=[("2026-11-27 09:30", "AGENT", True)]),
    # Weekend arrival and answer. Platinum; in Saturday 10:00, answered Sunday 12:00: 0 business seconds,
    # 26 h calendar (93600 s). breach_at Monday 10:00 -> achieved.
    "weekend": dict(author="plat", posts=["2026-11-14 10:00"], responses=[("2026-11-15 12:00", "AGENT", True)]),
    # Out of hours both ends. Platinum; in Tuesday 16:30, answered Wednesday 19:00.
    # business: Tue 30m + Wed 8h = 30600 s; breach_at Wed 09:30 -> breached, severity 30600 - 3600 = 27000.
    "out_of_hours": dict(author="plat", posts=["2026-11-17 16:30"], responses=[("2026-11-18 19:00", "AGENT", True)]),
    # A private note never stops the clock: Standard; in Monday 10:00, note 10:05, public answer 11:00 = 3600 s.
    "private_note": dict(author="std", posts=["2026-11-16 10:00"],
                         responses=[("2026-11-16 10:05", "AGENT", False), ("2026-11-16 11:00", "AGENT", True)]),
    # Reopen. Standard; in Monday 2026-11-16 10:00, answered 10:20, closed 11:00, customer writes again 14:00
    # (reopened), answered 14:10, closed again 15:00. first close 11:00; final close 15:00;
    # resolution = created 10:00 -> final close 15:00 = 5 business hours = 18000 s (8h target: achieved).
    # Next response: the 14:00 burst answered at 14:10 = 600 s.
    "reopen": dict(
        author="std", posts=["2026-11-16 10:00", "2026-11-16 14:00"],
        responses=[("2026-11-16 10:20", "AGENT", True), ("2026-11-16 14:10", "AGENT", True)],
        actions=[("CLOSED", "2026-11-16 11:00", None, None), ("REOPENED", "2026-11-16 14:00", None, None),
                 ("CLOSED", "2026-11-16 15:00", None, None)],
        closed="2026-11-16 15:00",
    ),
    # Bot alone: bot answers, conversation closed, no hand-off -> bot_contained, no first-response SLA.
    "bot_contained": dict(author="gold", posts=["2026-11-16 10:00"], responses=[("2026-11-16 10:00:05", "BOT", True)],
                          actions=[("CLOSED", "2026-11-16 10:10", None, None)], closed="2026-11-16 10:10"),
    # Bot then hand-off: bot answers 11:00:05, HANDOFF_TO_AGENT 11:05, agent answers 11:35.
    # human rule: clock starts 11:05, FRT 1800 s (Gold, 2h: achieved). any rule: FRT 5 s from 11:00.
    "bot_handoff": dict(author="gold", posts=["2026-11-16 11:00"],
                        responses=[("2026-11-16 11:00:05", "BOT", True), ("2026-11-16 11:35", "AGENT", True)],
                        actions=[("HANDOFF_TO_AGENT", "2026-11-16 11:05", None, None)]),
    # Tier change mid-period: the same author before and after becoming Platinum at 12:00.
    "climber_before": dict(author="climber", posts=["2026-11-16 11:00"],
                           responses=[("2026-11-16 11:30", "AGENT", True)]),
    "climber_after": dict(author="climber", posts=["2026-11-16 13:00"],
                          responses=[("2026-11-16 13:30", "AGENT", True)]),
    # No tier known -> "unknown", default 4h target; in Monday 09:00 answered 13:00 = 14400 s = tie -> achieved.
    "untiered": dict(author="nobody", posts=["2026-11-16 09:00"], responses=[("2026-11-16 13:00", "AGENT", True)]),
    # Priority raised 2 -> 5 exactly at the first inbound (counts: at or before the clock start), so the
    # 30-minute calendar target applies: in 10:00, answered 10:45 -> breached by 900 s.
    "priority_raised": dict(author="std", priority=5, post_priority=2, posts=["2026-11-16 10:00"],
                            responses=[("2026-11-16 10:45", "AGENT", True)],
                            actions=[("PRIORITY_CHANGED", "2026-11-16 10:00", "2", "5")]),
    # Priority raised 2 -> 5 only after the answer: priority at start is the change's from_value, 2.
    # Standard 4h business; answered 10:45 -> 2700 s achieved.
    "priority_later": dict(author="std", priority=5, posts=["2026-11-16 10:00"],
                           responses=[("2026-11-16 10:45", "AGENT", True)],
                           actions=[("PRIORITY_CHANGED", "2026-11-16 12:00", "2", "5")]),
    # Unanswered. Platinum; in Monday 2026-11-30 10:00, breach_at 11:00. Status depends on as_of.
    "unanswered": dict(author="plat", posts=["2026-11-30 10:00"], responses=[]),
    # Assignment: in Monday 10:00, ASSIGNED 10:40 (time to assign 2400 s), answered 11:00 (agent first touch
    # 20 min after assignment).
    "assigned": dict(author="std", posts=["2026-11-16 10:00"], responses=[("2026-11-16 11:00", "AGENT", True)],
                     actions=[("ASSIGNED", "2026-11-16 10:40", None, "agent-7")]),
}


def _build(conversations: dict[str, dict]) -> dict[str, pl.LazyFrame]:
    rows: dict[str, list[dict]] = {k: [] for k in ("conversation", "incoming_post", "response",
                                                   "conversation_history_action", "author")}
    for cid, c in conversations.items():
        closed = ny(c["closed"]) if c.get("closed") else None
        rows["conversation"].append(dict(
            conversation_id=cid, conversation_display_id=None, author_id=c["author"], network="twitter",
            priority=c.get("priority", 2), work_queue_id=1, team_id=1, status="CLOSED" if closed else "OPEN",
            created_time=ny(c["posts"][0]), closed_time=closed, assigned_agent_id=None, tags=[], disposition=None,
        ))
        for i, t in enumerate(c["posts"]):
            rows["incoming_post"].append(dict(
                post_id=f"{cid}-p{i}", conversation_id=cid, author_id=c["author"], network="twitter",
                received_time=ny(t), priority=c.get("post_priority", c.get("priority", 2)), work_queue_id=1,
                is_public=True,
            ))
        for i, (t, kind, public) in enumerate(c["responses"]):
            rows["response"].append(dict(
                response_id=f"{cid}-r{i}", conversation_id=cid, responder_type=kind,
                agent_id="agent-1" if kind == "AGENT" else None, bot_app_id="bot-1" if kind == "BOT" else None,
                published_time=ny(t), in_reply_to_post_id=None, is_public=public,
            ))
        for i, (action, t, frm, to) in enumerate(c.get("actions", [])):
            rows["conversation_history_action"].append(dict(
                action_id=f"{cid}-a{i}", conversation_id=cid, action=action, action_time=ny(t), agent_id=None,
                from_value=frm, to_value=to,
            ))
    for author_id, t, tier in AUTHORS:
        rows["author"].append(dict(author_id=author_id, network="twitter", handle=author_id, display_name=author_id,
                                   tier=tier, updated_time=ny(t)))
    return {k: pl.DataFrame(v, schema=EXPORTS[k].polars_schema, orient="row").lazy() if v else
            pl.DataFrame(schema=EXPORTS[k].polars_schema).lazy() for k, v in rows.items()}


TABLES = _build(CONVERSATIONS)


def facts(bot_rule: str = "human") -> pl.LazyFrame:
    return conversation_facts(TABLES["conversation"], TABLES["incoming_post"], TABLES["response"],
                              TABLES["conversation_history_action"], TABLES["author"], bot_rule=bot_rule)


def evaluated(metric: str = "first_response", bot_rule: str = "human", as_of: datetime = AS_OF) -> dict[str, dict]:
    frame = facts(bot_rule)
    if metric == "next_response":
        frame = customer_bursts(TABLES["incoming_post"], TABLES["response"], frame, bot_rule=bot_rule)
    out = evaluate(frame, POLICY, metric, as_of=as_of).collect()
    return {row["conversation_id"]: row for row in out.iter_rows(named=True)}


FR = evaluated()


@pytest.mark.parametrize(
    ("cid", "status", "business", "calendar", "severity"),
    [
        ("dst_start", "breached", 4500, 231300, 900),
        ("dst_end_tie", "achieved", 7200, 66 * 3600 + 3600, None),  # Fri 16:00 EDT -> Mon 10:00 EST = 67 h
        ("holiday", "achieved", 5400, 41.5 * 3600, None),
        ("weekend", "achieved", 0, 26 * 3600, None),
        ("out_of_hours", "breached", 30600, 26.5 * 3600, 27000),
        ("private_note", "achieved", 3600, 3600, None),
        ("bot_handoff", "achieved", 1800, 1800, None),
        ("untiered", "achieved", 14400, 14400, None),
        ("priority_later", "achieved", 2700, 2700, None),
    ],
)
def test_first_response_status_and_elapsed(cid, status, business, calendar, severity) -> None:
    row = FR[cid]
    assert row["status"] == status
    assert row["elapsed_business_seconds"] == business
    assert row["elapsed_calendar_seconds"] == calendar
    assert row["breach_severity_seconds"] == severity


def test_breach_at_is_computed_in_the_targets_clock() -> None:
    assert FR["dst_start"]["breach_at"] == ny("2026-03-09 09:30")  # 1 business hour after Fri 16:30
    assert FR["dst_end_tie"]["breach_at"] == ny("2026-11-02 10:00")
    assert FR["holiday"]["breach_at"] == ny("2026-11-27 12:00")
    assert FR["weekend"]["breach_at"] == ny("2026-11-16 10:00")
    assert FR["priority_raised"]["breach_at"] == ny("2026-11-16 10:30")  # calendar 30 min
    assert FR["priority_raised"]["clock"] == "calendar"


def test_priority_change_at_the_clock_start_counts() -> None:
    row = FR["priority_raised"]
    assert row["priority"] == 5
    assert row["target_seconds"] == 1800
    # calendar clock: 45 min elapsed, 15 min over
    assert (row["status"], row["elapsed_seconds"], row["breach_severity_seconds"]) == ("breached", 2700, 900)
    assert FR["priority_later"]["priority"] == 2


def test_tier_is_taken_as_of_the_clock_start() -> None:
    assert FR["climber_before"]["tier"] == "Standard"
    assert FR["climber_before"]["target_seconds"] == 4 * 3600
    assert FR["climber_after"]["tier"] == "Platinum"
    assert FR["climber_after"]["target_seconds"] == 3600
    assert FR["untiered"]["tier"] == "unknown"


def test_bot_contained_versus_handoff() -> None:
    assert FR["bot_contained"]["status"] == "bot_contained"
    assert FR["bot_contained"]["response_seconds"] is None
    handoff = FR["bot_handoff"]
    assert handoff["start_time"] == ny("2026-11-16 11:05")
    assert handoff["stop_time"] == ny("2026-11-16 11:35")
    # bot rule "any": the bot's answer stops the clock 5 s after the first inbound; nothing is contained
    any_rule = evaluated(bot_rule="any")
    assert any_rule["bot_handoff"]["start_time"] == ny("2026-11-16 11:00")
    assert any_rule["bot_handoff"]["elapsed_calendar_seconds"] == 5
    assert any_rule["bot_contained"]["status"] == "achieved"
    assert any_rule["bot_contained"]["elapsed_calendar_seconds"] == 5


def test_as_of_decides_pending_versus_breached_with_a_tie_at_breach_at() -> None:
    breach_at = ny("2026-11-30 11:00")
    assert evaluated(as_of=ny("2026-11-30 10:30"))["unanswered"]["status"] == "pending"
    assert evaluated(as_of=breach_at)["unanswered"]["status"] == "pending"  # at breach_at: not yet late
    late = evaluated(as_of=ny("2026-11-30 11:00:01"))["unanswered"]
    assert late["status"] == "breached"
    assert late["breach_severity_seconds"] == 1
    assert late["response_seconds"] is None
    # before the conversation began, its clock has not started
    assert evaluated(as_of=ny("2026-11-30 09:00"))["unanswered"]["status"] == "not_started"
    # an answer after as_of is not known yet
    assert evaluated(as_of=ny("2026-11-16 10:30"))["private_note"]["status"] == "pending"


def test_reopen_first_and_final_close_and_resolution() -> None:
    row = facts().filter(pl.col("conversation_id") == "reopen").collect().row(0, named=True)
    assert row["first_closed_time"] == ny("2026-11-16 11:00")
    assert row["closed_time"] == ny("2026-11-16 15:00")
    assert row["reopen_count"] == 1
    res = evaluated("resolution")["reopen"]
    assert (res["status"], res["elapsed_business_seconds"]) == ("achieved", 5 * 3600)


def test_next_response_per_burst() -> None:
    bursts = evaluate(customer_bursts(TABLES["incoming_post"], TABLES["response"], facts()), POLICY,
                      "next_response", as_of=AS_OF).collect()
    # only "reopen" has a customer message after a human reply
    assert bursts["conversation_id"].to_list() == ["reopen"]
    row = bursts.row(0, named=True)
    assert (row["burst_time"], row["stop_time"], row["elapsed_seconds"], row["status"]) == (
        ny("2026-11-16 14:00"), ny("2026-11-16 14:10"), 600, "achieved")


def test_time_to_assign_and_agent_first_touch() -> None:
    row = facts().filter(pl.col("conversation_id") == "assigned").collect().row(0, named=True)
    assert row["first_assigned_time"] == ny("2026-11-16 10:40")
    assert row["agent_first_touch_time"] == ny("2026-11-16 11:00")
    assert row["agent_id"] == "agent-7"
    tta = evaluated("time_to_assign")
    assert (tta["assigned"]["status"], tta["assigned"]["elapsed_seconds"]) == ("achieved", 2400)
    # never assigned and long past the 1 business hour target: breached
    assert tta["holiday"]["status"] == "breached"


def test_attainment_by_tier_worked_by_hand() -> None:
    # November window (first inbound in [2026-11-01, 2026-12-01) New York):
    #   Gold:     dst_end_tie? no (Oct 30). bot_contained (contained), bot_handoff achieved (1800 s)
    #   Platinum: weekend achieved 0 s, out_of_hours breached 30600 s, climber_after achieved 1800 s,
    #             unanswered breached (as_of Dec 1 is past breach_at, no response)
    #   Standard: holiday 5400, private_note 3600, reopen 1200, climber_before 1800, priority_raised breached
    #             2700 (calendar), priority_later 2700, assigned 3600  -> 6 achieved, 1 breached
    #   unknown:  untiered achieved 14400
    window = in_window(facts(), date(2026, 11, 1), date(2026, 12, 1), "America/New_York")
    table = attainment_by(evaluate(window, POLICY, "first_response", as_of=AS_OF), ["tier"]).collect()
    rows = {r["tier"]: r for r in table.iter_rows(named=True)}
    assert table["tier"].to_list() == ["Gold", "Platinum", "Standard", "unknown"]
    gold = rows["Gold"]
    counts = (gold["total"], gold["achieved"], gold["breached"], gold["pending"], gold["bot_contained"])
    assert counts == (1, 1, 0, 0, 1)
    assert (gold["attainment"], gold["median_seconds"], gold["p90_seconds"]) == (1.0, 1800, 1800)
    plat = rows["Platinum"]
    assert (plat["total"], plat["achieved"], plat["breached"]) == (4, 2, 2)
    assert plat["attainment"] == 0.5
    # responded: 0, 1800, 30600 -> median = ceil(0.5*3)=2nd = 1800; p90 = ceil(2.7)=3rd = 30600
    assert (plat["responded"], plat["median_seconds"], plat["p90_seconds"]) == (3, 1800, 30600)
    std = rows["Standard"]
    assert (std["total"], std["achieved"], std["breached"]) == (7, 6, 1)
    # sorted: 1200, 1800, 2700, 2700, 3600, 3600, 5400 -> median 4th = 2700; p90 ceil(6.3)=7th = 5400
    assert (std["median_seconds"], std["p90_seconds"]) == (2700, 5400)
    assert std["attainment"] == pytest.approx(6 / 7)
    assert std["attainment_low"] < 6 / 7 < std["attainment_high"]


def test_window_uses_the_report_time_zone() -> None:
    # dst_end_tie arrives Friday 2026-10-30 16:00 New York (EDT) = 20:00Z = Saturday 05:00 in Tokyo:
    # it belongs to Oct 30 in a New York report and to Oct 31 in a Tokyo report.
    ny_day = in_window(facts(), date(2026, 10, 30), date(2026, 10, 31), "America/New_York").collect()
    assert ny_day["conversation_id"].to_list() == ["dst_end_tie"]
    tokyo_day = in_window(facts(), date(2026, 10, 31), date(2026, 11, 1), "Asia/Tokyo").collect()
    assert tokyo_day["conversation_id"].to_list() == ["dst_end_tie"]
    assert in_window(facts(), date(2026, 10, 30), date(2026, 10, 31), "Asia/Tokyo").collect().height == 0


def test_empty_groups_and_empty_input() -> None:
    nothing = in_window(facts(), date(2025, 1, 1), date(2025, 1, 2), "America/New_York")
    table = attainment_by(evaluate(nothing, POLICY, "first_response", as_of=AS_OF), ["tier", "priority"]).collect()
    assert table.height == 0
    assert {"total", "attainment", "median_seconds", "p90_seconds"} <= set(table.columns)
    overall = attainment_by(evaluate(nothing, POLICY, "first_response", as_of=AS_OF)).collect()
    assert overall.row(0, named=True)["total"] == 0
    assert overall.row(0, named=True)["attainment"] is None
    # a group with only a bot-contained conversation: no attainment, no seconds
    only_bot = facts().filter(pl.col("conversation_id") == "bot_contained")
    row = attainment_by(evaluate(only_bot, POLICY, as_of=AS_OF), ["tier"]).collect().row(0, named=True)
    assert (row["tier"], row["total"], row["bot_contained"], row["attainment"], row["median_seconds"]) == (
        "Gold", 0, 1, None, None)


def test_no_matching_target_is_reported_apart() -> None:
    narrow = parse_policy(
        '[schedules.default]\ntimezone = "UTC"\nmonday = [["09:00", "17:00"]]\n'
        '[[targets]]\nmetric = "first_response"\ntier = "Platinum"\ntarget = "1h"\n'
    )
    out = evaluate(facts(), narrow, as_of=AS_OF).collect()
    statuses = dict(zip(out["conversation_id"], out["status"], strict=True))
    assert statuses["holiday"] == "no_target"
    assert statuses["weekend"] == "achieved"


def test_resolution_with_pending_time_excluded() -> None:
    # Standard; in Monday 10:00, answered 10:20 and set PENDING (waiting on the customer) until Tuesday 10:20,
    # closed Tuesday 11:00. Resolution target 8 business hours.
    #   counted in full: Mon 10:00-17:00 (7 h) + Tue 09:00-11:00 (2 h) = 9 h -> breach_at Tue 10:00, breached
    #   by 3600 s.
    #   pending excluded: pending business time = Mon 10:20-17:00 (6h40) + Tue 09:00-10:20 (1h20) = 8 h, so
    #   1 h net -> achieved; breach_at moves by 8 business hours: 16 h after Mon 10:00 = Wed 10:00.
    #   calendar: 25 h elapsed - 24 h pending = 3600 s.
    from dashboard.metrics import pending_intervals

    tables = _build({"waiting": dict(
        author="std", posts=["2026-11-16 10:00"], responses=[("2026-11-16 10:20", "AGENT", True)],
        actions=[("STATUS_CHANGED", "2026-11-16 10:20", "OPEN", "PENDING"),
                 ("STATUS_CHANGED", "2026-11-17 10:20", "PENDING", "OPEN"),
                 ("CLOSED", "2026-11-17 11:00", None, None)],
        closed="2026-11-17 11:00",
    )})
    facts_frame = conversation_facts(tables["conversation"], tables["incoming_post"], tables["response"],
                                     tables["conversation_history_action"], tables["author"])
    assert facts_frame.collect()["pending_seconds"].item() == 86400
    full = evaluate(facts_frame, POLICY, "resolution", as_of=AS_OF).collect().row(0, named=True)
    assert (full["status"], full["elapsed_business_seconds"], full["breach_severity_seconds"]) == (
        "breached", 9 * 3600, 3600)
    assert full["breach_at"] == ny("2026-11-17 10:00")
    net = evaluate(facts_frame, POLICY, "resolution", as_of=AS_OF,
                   pending=pending_intervals(tables["conversation_history_action"])).collect().row(0, named=True)
    assert (net["status"], net["elapsed_business_seconds"], net["elapsed_calendar_seconds"]) == (
        "achieved", 3600, 3600)
    assert net["pending_excluded_seconds"] == 8 * 3600
    assert net["breach_at"] == ny("2026-11-18 10:00")
    # as of Tuesday 09:00 (still pending since Monday 10:20): net 20 min so far, deadline pushed accordingly
    early = evaluate(facts_frame, POLICY, "resolution", as_of=ny("2026-11-17 09:00"),
                     pending=pending_intervals(tables["conversation_history_action"])).collect().row(0, named=True)
    assert (early["status"], early["elapsed_business_seconds"]) == ("pending", 1200)
    waits = pending_intervals(tables["conversation_history_action"])
    with pytest.raises(ValueError, match="resolution metric only"):
        evaluate(facts_frame, POLICY, "first_response", pending=waits)


def test_tier_from_a_crm_table() -> None:
    # A CRM file names tiers by author; "nobody" (no author row) becomes Gold; "climber" has a dated change.
    crm = pl.LazyFrame({
        "author_id": ["nobody", "climber", "climber"],
        "tier": ["Gold", "Silver", "Platinum"],
        "updated_time": [None, ny("2026-01-01 00:00"), ny("2026-11-16 12:30")],
    }, schema={"author_id": pl.String, "tier": pl.String, "updated_time": pl.Datetime("ms", "UTC")})
    out = conversation_facts(TABLES["conversation"], TABLES["incoming_post"], TABLES["response"],
                             TABLES["conversation_history_action"], TABLES["author"], tier_table=crm).collect()
    tiers = dict(zip(out["conversation_id"], out["tier"], strict=True))
    assert tiers["untiered"] == "Gold"
    assert (tiers["climber_before"], tiers["climber_after"]) == ("Silver", "Platinum")
    assert tiers["holiday"] == "unknown"  # "std" is not in the CRM file
    with pytest.raises(ValueError, match="needs column"):
        conversation_facts(TABLES["conversation"], TABLES["incoming_post"], TABLES["response"],
                           TABLES["conversation_history_action"], TABLES["author"],
                           tier_table=pl.LazyFrame({"author": ["x"]}))
    with pytest.raises(ValueError, match="tier attribute 'segment'"):
        conversation_facts(TABLES["conversation"], TABLES["incoming_post"], TABLES["response"],
                           TABLES["conversation_history_action"], TABLES["author"], tier_attribute="segment")


def test_seconds_in_either_clock() -> None:
    # Platinum in the November window: weekend (0 business / 93600 calendar), out_of_hours (30600 / 95400),
    # climber_after (1800 / 1800); unanswered has no seconds.
    window = in_window(facts(), date(2026, 11, 1), date(2026, 12, 1), "America/New_York")
    evaluated_rows = evaluate(window, POLICY, "first_response", as_of=AS_OF).filter(pl.col("tier") == "Platinum")
    business = attainment_by(evaluated_rows, clock="business").collect().row(0, named=True)
    calendar = attainment_by(evaluated_rows, clock="calendar").collect().row(0, named=True)
    assert (business["median_seconds"], business["p90_seconds"]) == (1800, 30600)
    assert (calendar["median_seconds"], calendar["p90_seconds"]) == (93600, 95400)
    assert business["attainment"] == calendar["attainment"] == 0.5  # the status does not depend on the view
    with pytest.raises(ValueError, match="unknown clock"):
        attainment_by(evaluated_rows, clock="wall")


def test_customer_bursts_group_messages_and_count_per_reply() -> None:
    # in 10:00, agent 10:10; customer 10:20 and 10:21 (one burst), agent 10:30; customer 11:00 (unanswered).
    # A bot message at 10:25 is not a human reply: under the human rule it neither ends nor splits the burst.
    tables = _build({"chatty": dict(
        author="gold", posts=["2026-11-16 10:00", "2026-11-16 10:20", "2026-11-16 10:21", "2026-11-16 11:00"],
        responses=[("2026-11-16 10:10", "AGENT", True), ("2026-11-16 10:25", "BOT", True),
                   ("2026-11-16 10:30", "AGENT", True)],
    )})
    f = conversation_facts(tables["conversation"], tables["incoming_post"], tables["response"],
                           tables["conversation_history_action"], tables["author"])
    bursts = customer_bursts(tables["incoming_post"], tables["response"], f).sort("burst_index").collect()
    assert bursts["burst_index"].to_list() == [1, 2]
    assert bursts["burst_time"].to_list() == [ny("2026-11-16 10:20"), ny("2026-11-16 11:00")]
    assert bursts["response_time"].to_list() == [ny("2026-11-16 10:30"), None]
    out = evaluate(bursts.lazy(), POLICY, "next_response", as_of=ny("2026-11-16 11:30")).collect()
    assert out["status"].to_list() == ["achieved", "pending"]  # 600 s; the 11:00 one is due at 12:00
    # bot rule "any": the bot's 10:25 message answers the 10:20 burst; 10:30 answers nothing new
    any_rule = customer_bursts(tables["incoming_post"], tables["response"], f, bot_rule="any").collect()
    assert any_rule.sort("burst_index")["response_time"].to_list() == [ny("2026-11-16 10:25"), None]
