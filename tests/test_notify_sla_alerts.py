"""SLA alert evaluation on hand-made worlds whose answers were worked out by hand (calendar targets, so every
breach time is a sum), and on the simulator's world against the Live queue's at-risk list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard.metrics.policy import parse_policy
from dashboard.notify.rules import parse_rules
from dashboard.notify.sla_alerts import evaluate_sla_alert
from dashboard.schema import TIME

POLICY = parse_policy("""
[schedules.default]
timezone = "UTC"
monday = [["09:00", "17:00"]]

[[targets]]
metric = "first_response"
target = "1h"
clock = "calendar"

[[targets]]
metric = "resolution"
target = "2d"
clock = "calendar"
""", "golden-policy")


def t(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, 18, h, m, tzinfo=UTC)


def facts(rows: list[dict]) -> pl.LazyFrame:
    """Conversation facts with just the columns the at-risk list and the evaluation read."""
    full = []
    for r in rows:
        full.append({
            "conversation_id": r["id"], "conversation_display_id": f"#{r['id']}", "network": "twitter",
            "tier": r.get("tier", "Platinum"), "priority": 3, "work_queue_id": 10, "team_id": 1, "agent_id": None,
            "status": "OPEN", "created_time": r.get("created", r["start"]), "closed_time": r.get("closed"),
            "first_inbound_time": r["start"], "clock_start": r["start"], "first_response_time": r.get("response"),
            "bot_contained": False, "queue_entry_time": None, "first_assigned_time": None,
        })
    schema = {"conversation_id": pl.String, "conversation_display_id": pl.String, "network": pl.String,
              "tier": pl.String, "priority": pl.Int64, "work_queue_id": pl.Int64, "team_id": pl.Int64,
              "agent_id": pl.String, "status": pl.String, "created_time": TIME, "closed_time": TIME,
              "first_inbound_time": TIME, "clock_start": TIME, "first_response_time": TIME, "bot_contained": pl.Boolean,
              "queue_entry_time": TIME, "first_assigned_time": TIME}
    return pl.DataFrame(full, schema=schema).lazy()


# Seven conversations of the golden queue (first response due one calendar hour after the clock starts).
QUEUE = facts([
    {"id": "c1", "start": t("11:10")},                                   # due 12:10
    {"id": "c2", "start": t("11:45")},                                   # due 12:45
    {"id": "c3", "start": t("10:50")},                                   # due 11:50: overdue by 12:00
    {"id": "c4", "start": t("11:20"), "tier": "Gold"},                   # due 12:20, but Gold
    {"id": "c5", "start": t("11:05"), "response": t("11:30")},           # answered
    {"id": "c6", "start": t("11:15"), "closed": t("11:40")},             # closed unanswered: not open
    {"id": "c7", "start": t("12:10")},                                   # arrives after 12:00
])
BREACH_SOON = parse_rules("""
[[sla_alerts]]
name = "platinum-soon"
kind = "breach_soon"
within = "30m"
metrics = ["first_response"]
filters = { tier = ["Platinum"] }
email = ["lead@example.com"]
""").sla_alerts[0]


@pytest.mark.parametrize(("at", "expected"), [
    ("12:00", {"c1"}),        # c1 breaches in 10 min; c2 in 45; c3 already breached; c4 Gold; c5-c7 not at risk
    ("12:15", {"c2"}),        # c1 breached at 12:10; c2 now exactly 30 min away (inclusive); c7 is 55 min away
])
def test_breach_soon_flags_exactly_the_conversations_worked_out_by_hand(at: str, expected: set[str]) -> None:
    evaluation = evaluate_sla_alert(BREACH_SOON, QUEUE, POLICY, t(at))
    flagged = {c.key.split("|")[0] for c in evaluation.conditions}
    assert flagged == expected
    assert all(c.key.endswith("|first_response") for c in evaluation.conditions)
    assert evaluation.decidable


def test_breach_soon_message_says_which_conversation_and_how_long() -> None:
    evaluation = evaluate_sla_alert(BREACH_SOON, QUEUE, POLICY, t("12:00"))
    (condition,) = evaluation.conditions
    assert condition.message.startswith("#c1: first response breaches in 10m")
    assert condition.value == pytest.approx(600.0)


def test_breach_soon_as_one_episode() -> None:
    rule = parse_rules("""
[[sla_alerts]]
name = "queue-soon"
kind = "breach_soon"
within = "30m"
metrics = ["first_response"]
once = "episode"
email = ["lead@example.com"]
""").sla_alerts[0]
    evaluation = evaluate_sla_alert(rule, QUEUE, POLICY, t("12:00"))
    assert [c.key for c in evaluation.conditions] == ["episode"]
    assert set(evaluation.rows["conversation_id"]) == {"c1", "c4"}  # no tier filter: Gold c4 too
    assert evaluate_sla_alert(rule, QUEUE, POLICY, t("13:30")).conditions == ()


ATTAINMENT = parse_rules("""
[[sla_alerts]]
name = "frt"
kind = "attainment_below"
threshold_pct = 80
window = "4h"
min_decided = 5
email = ["lead@example.com"]
""").sla_alerts[0]

# First inbound posts 12:00-15:30; as of 16:00 the rolling window is [12:00, 16:00).
ROLLING = facts([
    {"id": "a1", "start": t("12:00"), "response": t("12:20")},   # achieved
    {"id": "a2", "start": t("12:30"), "response": t("13:00")},   # achieved
    {"id": "a3", "start": t("13:00"), "response": t("13:50")},   # achieved
    {"id": "b1", "start": t("13:30"), "response": t("15:00")},   # breached (90 min)
    {"id": "b2", "start": t("14:00")},                           # breached at 15:00, still unanswered
    {"id": "p1", "start": t("15:30")},                           # pending until 16:30
    {"id": "x0", "start": t("11:30"), "response": t("11:40")},   # before the window
])


def test_attainment_below_fires_with_the_hand_worked_figure() -> None:
    evaluation = evaluate_sla_alert(ATTAINMENT, ROLLING, POLICY, t("16:00"))
    (condition,) = evaluation.conditions
    assert condition.value == pytest.approx(60.0)  # 3 achieved of 5 decided
    assert "60.0 %" in evaluation.summary and "3 of 5 decided" in evaluation.summary


def test_attainment_below_with_too_few_decided_is_not_judged() -> None:
    evaluation = evaluate_sla_alert(ATTAINMENT, ROLLING, POLICY, t("14:30"))  # window [10:30, 14:30): a1-a3 + x0
    assert evaluation.conditions == () and not evaluation.decidable
    assert "fewer than 5" in evaluation.summary


def test_attainment_recovering_clears_the_condition() -> None:
    recovered = pl.concat([ROLLING, facts([
        {"id": f"r{i}", "start": t("15:00") + timedelta(minutes=i), "response": t("15:10") + timedelta(minutes=i)}
        for i in range(10)
    ])])
    evaluation = evaluate_sla_alert(ATTAINMENT, recovered, POLICY, t("16:00"))
    assert evaluation.conditions == () and evaluation.decidable  # 13 of 15 = 86.7 %
    assert "86.7 %" in evaluation.summary


def test_breach_soon_on_the_simulated_world_is_the_live_queues_at_risk_list() -> None:
    """At instants across two days, the alert's conversations are the Live queue page's at-risk rows (the view a
    reader sees, for the same filters) within the horizon — a core per instant, as "now" is the core's."""
    world_module = pytest.importorskip("dashboard.simulator.world")
    from dashboard.core import Dashboard
    from dashboard.views import build_live_queue

    end = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    world = world_module.generate_world(world_module.WorldConfig(seed=11, days=21, conversations_per_day=80, end=end))
    rules = parse_rules('[[sla_alerts]]\nname = "all-soon"\nkind = "breach_soon"\nwithin = "2h"\n'
                        'email = ["a@example.com"]\n\n[[sla_alerts]]\nname = "top-tiers"\nkind = "breach_soon"\n'
                        'within = "2h"\nmetrics = ["resolution"]\nfilters = { tier = ["Platinum", "Gold"] }\n'
                        'email = ["a@example.com"]\n').sla_alerts
    seen = {rule.name: 0 for rule in rules}
    for hours in range(0, 48, 6):
        core = Dashboard.from_tables(world.tables, now=end - timedelta(hours=hours))
        for rule in rules:
            evaluation = evaluate_sla_alert(rule, core.facts().lazy(), core.policy(), core.now())
            page = build_live_queue(core, core.default_filters(days=1, dimensions=dict(rule.filters)))
            risk = page.queue_rows.filter(pl.col("seconds_to_breach").is_between(0, rule.within.total_seconds())
                                          & pl.col("metric").is_in(list(rule.metrics)))
            assert {c.key for c in evaluation.conditions} == {
                f"{r['conversation_id']}|{r['metric']}" for r in risk.iter_rows(named=True)}
            seen[rule.name] += len(evaluation.conditions)
    # Not vacuous: the world (agents with a capacity) has conversations about to breach at these instants.
    assert seen == {"all-soon": 48, "top-tiers": 6}, seen
