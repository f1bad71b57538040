"""What-if targets: a hand-made window re-scored under an edited policy, the real policy re-entered (exactly the
real figures, also on the simulator's world for every metric), and the policy written back as TOML.

Hand-made window, UTC, as of Tuesday 2026-11-17 12:00. Real policy: first response Platinum 30 min, anyone
else 1 h (calendar). Edited: Platinum 15 min, anyone else 2 h.

  p1  Platinum  in Mon 10:00, answered 10:20 (1200 s)   real achieved   edited breached   (a breach added)
  p2  Platinum  in Mon 11:00, answered 11:10 (600 s)    achieved        achieved
  s1  Standard  in Mon 10:00, answered 11:30 (5400 s)   breached        achieved          (avoided)
  s2  Standard  in Mon 10:00, answered 12:00 (7200 s)   breached        achieved (a tie)  (avoided)
  s3  Standard  in Tue 10:30, unanswered (1 h 30 min)   breached        pending           (avoided)
  s4  Standard  in Mon 09:00, answered 09:30 (1800 s)   achieved        achieved

Platinum: 2/2 -> 1/2; Standard: 1 of 4 decided (0.25) -> 3 of 3 decided, 1 pending (1.0).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dashboard.metrics import customer_bursts, in_window, parse_policy, pending_intervals
from dashboard.metrics._planning import PlanningError
from dashboard.metrics.policy import DEFAULT_POLICY_PATH
from dashboard.metrics.policy_toml import format_duration, policy_to_toml, replace_targets
from dashboard.metrics.whatif import compare_policies, policy_with_targets, targets_table
from tests._planning_helpers import build_tables, facts_of, utc

REAL_TEXT = """# a policy for the what-if tests
[schedules.default]
timezone = "UTC"
monday = [["00:00", "24:00"]]

# first response
[[targets]]
name = "Platinum first response"
metric = "first_response"
tier = "Platinum"
target = "30m"
clock = "calendar"

[[targets]]
metric = "first_response"
target = "1h"
clock = "calendar"

# automation alerts belong to another module and must survive an edit of the targets
[[alerts]]
app_id = "bot-1"
error_rate = 0.05
"""
REAL = parse_policy(REAL_TEXT, source="whatif-policy")
AS_OF = utc("2026-11-17 12:00")
FACTS = facts_of(build_tables({
    "p1": dict(author="a-plat", posts=["2026-11-16 10:00"], responses=[("2026-11-16 10:20", "ann", True)]),
    "p2": dict(author="a-plat", posts=["2026-11-16 11:00"], responses=[("2026-11-16 11:10", "ann", True)]),
    "s1": dict(posts=["2026-11-16 10:00"], responses=[("2026-11-16 11:30", "bob", True)]),
    "s2": dict(posts=["2026-11-16 10:00"], responses=[("2026-11-16 12:00", "bob", True)]),
    "s3": dict(posts=["2026-11-17 10:30"]),
    "s4": dict(posts=["2026-11-16 09:00"], responses=[("2026-11-16 09:30", "bob", True)]),
}))


def edited() -> pl.DataFrame:
    table = targets_table(REAL)
    return table.with_columns(target=pl.Series(["15m", "2h"]))


def test_the_targets_table_lists_the_policy_in_order() -> None:
    table = targets_table(REAL)
    assert table.select("position", "name", "metric", "tier", "target", "target_seconds", "clock").rows() == [
        (1, "Platinum first response", "first_response", "Platinum", "30m", 1800.0, "calendar"),
        (2, None, "first_response", None, "1h", 3600.0, "calendar"),
    ]


def test_an_edited_target_rescores_the_window_by_hand() -> None:
    new = policy_with_targets(REAL, edited())
    result = compare_policies(FACTS, REAL, new, as_of=AS_OF)
    tiers = {r["tier"]: r for r in result.attainment.collect().iter_rows(named=True)}
    assert (tiers["Platinum"]["attainment_before"], tiers["Platinum"]["attainment_after"]) == (1.0, 0.5)
    assert (tiers["Standard"]["achieved_before"], tiers["Standard"]["breached_before"]) == (1, 3)
    assert tiers["Standard"]["attainment_before"] == 0.25
    assert (tiers["Standard"]["achieved_after"], tiers["Standard"]["breached_after"],
            tiers["Standard"]["pending_after"]) == (3, 0, 1)
    assert tiers["Platinum"]["change"] == -0.5 and tiers["Standard"]["change"] == 0.75
    changed = result.changed.collect()
    assert [(r["conversation_id"], r["status_before"], r["status_after"]) for r in changed.iter_rows(named=True)] == [
        ("p1", "achieved", "breached"), ("s1", "breached", "achieved"), ("s2", "breached", "achieved"),
        ("s3", "breached", "pending"),
    ]
    assert changed.filter(pl.col("conversation_id") == "p1").select(
        "target_before", "target_seconds_before", "target_seconds_after").row(0) == (
        "Platinum first response", 1800.0, 900.0)
    summary = result.summary.collect().row(0, named=True)
    assert (summary["rows"], summary["breached_before"], summary["breached_after"]) == (6, 3, 1)
    assert (summary["breaches_avoided"], summary["breaches_added"], summary["changed"]) == (3, 1, 4)
    assert summary["attainment_before"] == pytest.approx(3 / 6) and summary["attainment_after"] == pytest.approx(4 / 5)
    overall = compare_policies(FACTS, REAL, new, as_of=AS_OF, by=()).attainment.collect().row(0, named=True)
    assert (overall["attainment_before"], overall["attainment_after"]) == (0.5, 0.8)


def test_the_real_policy_reentered_gives_exactly_the_real_figures() -> None:
    for same in (policy_with_targets(REAL, targets_table(REAL)), parse_policy(policy_to_toml(REAL)),
                 parse_policy(replace_targets(REAL_TEXT, REAL))):
        result = compare_policies(FACTS, REAL, same, as_of=AS_OF)
        assert result.changed.collect().is_empty()
        table = result.attainment.collect()
        for status in ("achieved", "breached", "pending", "attainment"):
            assert table[f"{status}_before"].to_list() == table[f"{status}_after"].to_list()
        assert result.summary.collect().select("breaches_avoided", "breaches_added", "changed").row(0) == (0, 0, 0)


def test_the_edited_policy_as_toml_keeps_the_rest_of_the_file() -> None:
    new = policy_with_targets(REAL, edited())
    text = replace_targets(REAL_TEXT, new)
    assert text.startswith("# a policy for the what-if tests\n[schedules.default]")
    assert '[[alerts]]\napp_id = "bot-1"' in text and "# automation alerts belong" in text
    assert "# first response\n[[targets]]" in text  # the comment above the first target stays above it
    reread = parse_policy(text)
    assert [(t.tier, t.target_seconds) for t in reread.targets] == [(("Platinum",), 900.0), (None, 7200.0)]
    whole = parse_policy(policy_to_toml(new, header="what-if"))
    assert [t.target_seconds for t in whole.targets] == [900.0, 7200.0]
    assert whole.schedules["default"] == REAL.schedules["default"]


def test_bad_edits_name_the_row() -> None:
    table = targets_table(REAL)
    with pytest.raises(PlanningError, match=r"row 2: .*'soon' is not a duration"):
        policy_with_targets(REAL, table.with_columns(target=pl.Series(["30m", "soon"])))
    with pytest.raises(PlanningError, match="row 1: clock 'wall'"):
        policy_with_targets(REAL, table.with_columns(clock=pl.Series(["wall", "calendar"])))
    with pytest.raises(PlanningError, match="row 1: priority '9' is outside 0-5"):
        policy_with_targets(REAL, table.with_columns(priority=pl.Series(["9", None])))
    with pytest.raises(PlanningError, match="row 2: schedule 'night'"):
        policy_with_targets(REAL, table.with_columns(schedule=pl.Series(["default", "night"])))
    with pytest.raises(PlanningError, match="at least one target"):
        policy_with_targets(REAL, table.clear())


def test_durations_written_as_the_policy_reads_them() -> None:
    assert [format_duration(s) for s in (45, 1800, 5400, 144000, 172800, 90.5)] == \
        ["45s", "30m", "1h30m", "40h", "2d", "90.5s"]


@pytest.fixture(scope="module")
def sim_world():
    from tests._planning_helpers import sim_world as build

    return build()


@pytest.mark.parametrize("metric", ["first_response", "next_response", "time_to_assign", "resolution"])
def test_the_default_policy_reentered_on_the_simulator_world(sim_world, metric) -> None:
    world, facts, policy = sim_world
    t = world.tables
    window = in_window(facts, date(2026, 11, 2), date(2026, 11, 16), "America/New_York")
    frame = customer_bursts(t["incoming_post"].lazy(), t["response"].lazy(), window) \
        if metric == "next_response" else window
    pending = pending_intervals(t["conversation_history_action"].lazy()) if metric == "resolution" else None
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    for same in (policy_with_targets(policy, targets_table(policy)), parse_policy(replace_targets(text, policy)),
                 parse_policy(policy_to_toml(policy))):
        result = compare_policies(frame, policy, same, metric, as_of=world.now, pending=pending)
        assert result.changed.collect().is_empty()
        table = result.attainment.collect()
        assert table.height == 4  # the four tiers
        for column in ("achieved", "breached", "pending", "attainment"):
            assert table[f"{column}_before"].to_list() == table[f"{column}_after"].to_list()
    # and a real edit moves real figures: halving every target adds breaches and avoids none
    halved = policy_with_targets(policy, targets_table(policy).with_columns(
        target=(pl.col("target_seconds") / 2).map_elements(format_duration, return_dtype=pl.String)))
    summary = compare_policies(frame, policy, halved, metric, as_of=world.now,
                               pending=pending).summary.collect().row(0, named=True)
    assert summary["breaches_added"] > 0 and summary["breaches_avoided"] == 0


def test_a_policy_with_schedule_changes_reads_back_the_same() -> None:
    text = """[schedules.default]
timezone = "Europe/Berlin"
monday = [["08:00", "12:00"], ["13:00", "17:30"]]
saturday = [["10:00", "24:00"]]
holidays = ["2026-12-25", "2026-12-24"]

[[schedules.default.changes]]
effective_from = "2027-01-04"
monday = [["07:00", "19:00"]]

[schedules."night desk"]
timezone = "Asia/Kolkata"
sunday = [["00:00", "06:00"]]

[[targets]]
name = "Say \\"hi\\" fast"
metric = "next_response"
channel = ["Twitter", "facebook"]
priority = 5
target = 90.5
clock = "business"
schedule = "night desk"
"""
    policy = parse_policy(text)
    again = parse_policy(policy_to_toml(policy))
    assert dict(again.schedules) == dict(policy.schedules)
    (target,) = again.targets
    assert (target.name, target.channel, target.priority, target.target_seconds, target.schedule) == (
        'Say "hi" fast', ("twitter", "facebook"), (5,), 90.5, "night desk")


def test_replacing_targets_in_a_file_that_is_not_toml_says_so() -> None:
    with pytest.raises(PlanningError, match="does not read back"):
        replace_targets(REAL_TEXT + "\nthis is = = not toml\n", REAL)
