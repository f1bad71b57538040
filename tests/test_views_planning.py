"""The planning views and Khoros' figure beside ours, on the pinned demo world (oracles: the world's exports and
its simulator's own currentTAR) and on the hand-worked what-if window (tests/test_metrics_whatif.py).

The window is the sidebar's default (the last 28 days up to the demo world's end, New York)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from dashboard.core import MAX_LIVE_ENTRIES, Dashboard
from dashboard.errors import PlanningError
from dashboard.filters import Filters
from dashboard.khoros.errors import KhorosError
from dashboard.metrics import parse_policy, sla
from dashboard.metrics.whatif import targets_table
from dashboard.settings import Settings
from dashboard.source import TablesSource
from dashboard.views import (
    build_khoros_tar,
    build_occupancy,
    build_occupancy_drilldown,
    build_reason_drilldown,
    build_reasons,
    build_service_levels,
    build_staffing,
    build_whatif,
)
from dashboard.views.service_levels import ALL_TIERS
from dashboard.views.staffing import history_weeks
from dashboard.views.whatif import whatif_targets
from tests._planning_helpers import build_tables
from tests.test_metrics_whatif import AS_OF, REAL, REAL_TEXT

TZ = "America/New_York"


@pytest.fixture(scope="module")
def window(demo_core):
    filters = demo_core.default_filters()
    lo, hi = sla.window_bounds(filters.start, filters.end, filters.tz)
    return filters, lo, hi


def _in_window(frame: pl.DataFrame, column: str, lo: datetime, hi: datetime) -> pl.DataFrame:
    return frame.filter((pl.col(column) >= lo) & (pl.col(column) < hi))


# ------------------------------------------------------------------------------------------ contact reasons


def test_reasons_count_each_conversation_once_under_each_of_its_tags(demo_core, demo_world, window):
    filters, lo, hi = window
    view = build_reasons(demo_core, filters)
    # oracle: the world's conversation export and its truth (first inbound post in the window)
    ids = _in_window(demo_world.truth, "first_inbound_time", lo, hi).select("conversation_id")
    conversations = demo_world.tables["conversation"].join(ids, on="conversation_id", how="semi")
    expected: Counter = Counter()
    for tags in conversations.get_column("tags").to_list():
        expected.update(set(tags) or {"(no tag)"})
    shown = dict(zip(view.table["Tag"].to_list(), view.table["Conversations"].to_list(), strict=True))
    assert shown == dict(expected) and sum(shown.values()) > conversations.height  # multi-tagged counted per tag
    shares = dict(zip(view.table["Tag"].to_list(), view.table["Share %"].to_list(), strict=True))
    assert shares["Billing"] == pytest.approx(100 * expected["Billing"] / conversations.height)
    assert "counts once under each of its tags" in view.note
    # the rows behind a tag are exactly its conversations
    drill = build_reason_drilldown(demo_core, filters, "Billing")
    assert drill.rows.height == expected["Billing"]
    assert all("Billing" in tags.split(", ") for tags in drill.rows["tags"].to_list())
    # by disposition each conversation once: shares add up to 100 %
    by_disposition = build_reasons(demo_core, filters, by="disposition")
    assert by_disposition.table["Conversations"].sum() == conversations.height
    assert by_disposition.table["Share %"].sum() == pytest.approx(100)


def test_reasons_service_levels_per_tag_are_the_sla_figures_of_its_conversations(demo_core, window):
    filters, _, _ = window
    view = build_reasons(demo_core, filters, exclude=("Bot Handoff", "Bot Contained"))
    assert not {"Bot Handoff", "Bot Contained"} & set(view.table["Tag"].to_list())
    facts = demo_core.facts().lazy()
    billing = facts.filter(pl.col("tags").list.contains("Billing"))
    evaluated = sla.evaluate_window(billing, demo_core.policy(), "first_response", start=filters.start,
                                    end=filters.end, tz=filters.tz, as_of=demo_core.now())
    expected = sla.attainment_by(evaluated, []).collect().row(0, named=True)
    row = view.table.filter(pl.col("Tag") == "Billing").row(0, named=True)
    assert row["First response SLA %"] == pytest.approx(100 * expected["attainment"])
    assert row["FR pending"] == expected["pending"]


# ------------------------------------------------------------------------------------------ occupancy


def test_occupancy_available_time_is_the_state_exports_and_capacity_bounds_concurrency(demo_core, demo_world,
                                                                                       window):
    filters, lo, hi = window
    view = build_occupancy(demo_core, filters)
    now = demo_core.now()
    hi = min(hi, now)
    # oracle: the Available intervals of the agent-state export, clipped to the window and to now
    states = demo_world.tables["raw_agent_states"].filter(pl.col("state") == "Available").with_columns(
        ms=(pl.min_horizontal(pl.col("end_time").fill_null(now), pl.lit(hi))
            - pl.max_horizontal("start_time", pl.lit(lo))).dt.total_milliseconds().clip(0))
    assert view.by_agent["available_seconds"].sum() == pytest.approx(states["ms"].sum() / 1000)
    kpis = {k.key: k for k in view.kpis}
    assert kpis["occupancy"].value == pytest.approx(
        view.by_agent["handling_seconds"].sum() / view.by_agent["available_seconds"].sum())
    assert 0.2 < kpis["occupancy"].value < 1 and kpis["concurrency"].text.count(".") == 1
    assert "merged, not summed" in kpis["occupancy"].definition
    # the simulator's agents work within their capacity: on average fewer in hand than their slots
    capacity = view.by_agent.join(demo_world.agents.select("agent_id", "capacity"), on="agent_id")
    assert capacity.height == demo_world.agents.height
    assert (capacity["concurrency_while_handling"] <= capacity["capacity"]).all()


def test_occupancy_filters_split_into_conversations_and_agents(demo_core, demo_world, window):
    filters, _, _ = window
    team = Filters(filters.start, filters.end, filters.tz, {"team": (3,)}, as_of=filters.as_of)
    view = build_occupancy(demo_core, team)
    members = set(demo_world.agents.filter(pl.col("team_id") == 3)["agent_id"].to_list())
    assert set(view.by_agent["agent_id"].to_list()) == members
    twitter = build_occupancy(demo_core, Filters(filters.start, filters.end, filters.tz, {"channel": ("twitter",)},
                                                 as_of=filters.as_of))
    everything = build_occupancy(demo_core, filters)
    # a channel filter narrows what is in hand, never the agents' available time
    assert twitter.by_agent["available_seconds"].sum() == everything.by_agent["available_seconds"].sum()
    assert 0 < twitter.by_agent["in_hand_seconds"].sum() < everything.by_agent["in_hand_seconds"].sum()


def test_occupancy_drill_down_lists_conversations_the_agent_worked(demo_core, demo_world, window):
    filters, _, _ = window
    view = build_occupancy(demo_core, filters)
    name = view.agent_options[0]
    drill = build_occupancy_drilldown(demo_core, filters, name)
    agent = demo_world.agents.filter(pl.col("agent_name") == name)["agent_id"].to_list()
    worked = set(demo_world.tables["conversation_history_action"].filter(
        (pl.col("action") == "ASSIGNED") & pl.col("to_value").is_in(agent))["conversation_id"].to_list())
    assert drill.rows.height > 0 and set(drill.rows["conversation_id"].to_list()) <= worked
    assert (drill.rows["in_hand_seconds"] >= 0).all()


# ------------------------------------------------------------------------------------------ staffing


def test_staffing_history_and_its_wape_worked_out_from_the_export(demo_core, window):
    filters, _, _ = window
    # the demo world starts on 28 Oct (local); its first whole day is the 29th; today is 18 Nov: 20 days, so two
    # whole weeks: one forecast from, one held back
    assert history_weeks(demo_core, filters) == (date(2026, 11, 18), 1, 1)
    view = build_staffing(demo_core, filters)
    # oracle: with one week averaged, the forecast of each hour of 11-17 Nov is the same hour a week before;
    # counted here from the facts' clock starts (conversations that needed a human), hour by hour
    starts = demo_core.facts().filter(pl.col("clock_start").is_not_null()).select(
        local=pl.col("clock_start").dt.convert_time_zone(TZ).dt.truncate("1h").dt.replace_time_zone(None))
    per_hour = Counter(starts["local"].to_list())
    first = datetime(2026, 11, 11)
    actual = [per_hour.get(first + timedelta(hours=h), 0) for h in range(7 * 24)]
    forecast = [per_hour.get(first + timedelta(hours=h - 7 * 24), 0) for h in range(7 * 24)]
    wape = sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / sum(actual)
    assert view.wape == pytest.approx(wape)
    assert f"{100 * wape:.1f} %" in view.wape_text and "held-back week" in view.wape_text
    # ...and the plan's two weeks repeat that held-back week (no daylight saving change in them)
    assert view.gap.height == 14 * 24 and view.gap["forecast"].sum() == pytest.approx(2 * sum(actual))
    assert {a.model for a in view.plan.assumptions} == {"erlang_c", "workload"}


def test_staffing_needs_two_whole_weeks(demo_core, window):
    filters, _, _ = window
    short = Filters(date(2026, 11, 8), filters.end, filters.tz)
    with pytest.raises(PlanningError, match="at least two whole weeks"):
        build_staffing(demo_core, short)


# ------------------------------------------------------------------------------------------ what-if targets


def test_the_real_targets_reentered_give_exactly_the_service_levels_figures(demo_core, window):
    filters, _, _ = window
    view = build_whatif(demo_core, filters, whatif_targets(demo_core))
    assert view.error is None and not view.changed_targets
    assert (view.summary["Real policy %"].to_list() == view.summary["Edited targets %"].to_list())
    assert view.summary["Status changes"].sum() == 0
    headline = build_service_levels(demo_core, filters).headline.filter(pl.col("Tier") != ALL_TIERS)
    shown = view.metrics["first_response"].by_tier
    joined = headline.join(shown, on="Tier")
    assert joined.height == headline.height
    for row in joined.iter_rows(named=True):
        assert row["Edited targets %"] == pytest.approx(row["First response SLA %"], abs=0.05)  # shown to 0.1
        assert row["Real policy %"] == row["Edited targets %"]
    assert "[[targets]]" in view.toml and "[schedules.default]" in view.toml


@pytest.fixture(scope="module")
def golden_core():
    """The hand-worked what-if window (see tests/test_metrics_whatif.py) as a core."""
    tables = build_tables({
        "p1": dict(author="a-plat", posts=["2026-11-16 10:00"], responses=[("2026-11-16 10:20", "ann", True)]),
        "p2": dict(author="a-plat", posts=["2026-11-16 11:00"], responses=[("2026-11-16 11:10", "ann", True)]),
        "s1": dict(posts=["2026-11-16 10:00"], responses=[("2026-11-16 11:30", "bob", True)]),
        "s2": dict(posts=["2026-11-16 10:00"], responses=[("2026-11-16 12:00", "bob", True)]),
        "s3": dict(posts=["2026-11-17 10:30"]),
        "s4": dict(posts=["2026-11-16 09:00"], responses=[("2026-11-16 09:30", "bob", True)]),
    })
    return Dashboard.from_tables(tables, now=AS_OF, policy=REAL)


GOLDEN = Filters(date(2026, 11, 16), date(2026, 11, 18), "UTC", as_of=AS_OF)


def test_an_edited_target_rescores_the_hand_worked_window(golden_core):
    edited = targets_table(REAL).with_columns(target=pl.Series(["15m", "2h"]))
    view = build_whatif(golden_core, GOLDEN, edited)
    assert view.error is None and view.changed_targets
    first = view.metrics["first_response"]
    tiers = {r["Tier"]: r for r in first.by_tier.iter_rows(named=True)}
    assert (tiers["Platinum"]["Real policy %"], tiers["Platinum"]["Edited targets %"]) == (100.0, 50.0)
    assert (tiers["Standard"]["Real policy %"], tiers["Standard"]["Edited targets %"]) == (25.0, 100.0)
    assert first.summary["breaches_avoided"] == 3 and first.summary["breaches_added"] == 1
    assert sorted(first.changed["conversation_id"].to_list()) == ["p1", "s1", "s2", "s3"]
    row = view.summary.filter(pl.col("Metric") == "First response").row(0, named=True)
    assert (row["Real policy %"], row["Edited targets %"], row["Status changes"]) == (50.0, 80.0, 4)
    # the policy offered for download reads back to the edited targets (the core's policy is not a file: written
    # whole); nothing was written
    written = parse_policy(view.toml)
    assert [t.target_seconds for t in written.targets] == [900, 7200]
    assert golden_core.policy() is REAL and "the whole policy written anew" in view.toml_note.lower()


def test_the_position_decides_which_edited_target_wins(golden_core):
    platinum_first = targets_table(REAL).with_columns(target=pl.Series(["15m", "1h"]))
    catch_all_first = platinum_first.with_columns(position=pl.Series([2, 1]))
    first = build_whatif(golden_core, GOLDEN, platinum_first).metrics["first_response"].by_tier
    second = build_whatif(golden_core, GOLDEN, catch_all_first).metrics["first_response"].by_tier
    platinum = pl.col("Tier") == "Platinum"
    assert first.filter(platinum)["Edited targets %"][0] == 50.0  # p1's 20 min misses 15 min
    assert second.filter(platinum)["Edited targets %"][0] == 100.0  # the 1 h catch-all wins for everyone


def test_a_wrong_edit_is_a_message_naming_the_row(golden_core):
    edited = targets_table(REAL).with_columns(clock=pl.Series(["calendar", "sometimes"]))
    view = build_whatif(golden_core, GOLDEN, edited)
    assert view.error == "edited targets, row 2: clock 'sometimes' is not one of business, calendar"
    assert view.metrics == {} and view.toml == ""


def test_the_policy_file_keeps_everything_but_its_targets(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(REAL_TEXT)
    tables = build_tables({"s4": dict(posts=["2026-11-16 09:00"], responses=[("2026-11-16 09:30", "bob", True)])})
    core = Dashboard.from_tables(tables, now=AS_OF, settings=Settings(policy_path=policy))
    view = build_whatif(core, GOLDEN, targets_table(core.policy()).with_columns(target=pl.Series(["15m", "2h"])))
    assert view.toml.startswith("# a policy for the what-if tests") and "[[alerts]]" in view.toml
    assert policy.read_text() == REAL_TEXT  # nothing written


# ------------------------------------------------------------------------------------------ Khoros' figure


@pytest.mark.parametrize("dimensions", [{}, {"priority": (4, 5)}, {"queue": (10, 12)}])
def test_khoros_figure_equals_ours_to_its_definition_on_the_simulator(demo_core, window, dimensions):
    """The oracle: the simulator computes currentTAR from its world with its own code (dashboard/simulator/tar.py);
    the view computes the same figure from the synced store."""
    filters, _, _ = window
    view = build_khoros_tar(demo_core, Filters(filters.start, filters.end, filters.tz, dimensions,
                                               as_of=filters.as_of))
    assert view.unavailable is None
    assert set(view.comparisons) == {"FIRST", "SUBSEQUENT"}
    for comparison in view.comparisons.values():
        khoros, ours = comparison.khoros, comparison.ours_to_khoros
        assert (khoros.mean_ms, khoros.median_ms) == (ours.mean_ms, ours.median_ms) and ours.count > 20
        assert not any(r.startswith("data or definition") for r in comparison.reasons)
        # ours differs from Khoros' for stated reasons: business hours and the window at least
        assert {r.split(":")[0] for r in comparison.reasons} >= {"business hours", "window"}
    shown = view.table.row(0, named=True)
    assert shown["Khoros mean"] == shown["Ours, Khoros' way: mean"]


def test_without_a_client_or_when_khoros_fails_the_figure_is_a_message(golden_core):
    view = build_khoros_tar(golden_core, GOLDEN)
    assert view.unavailable == "no Khoros client"
    assert view.table["Ours: answered"].to_list() == ["5", "0"]  # all but s3 answered; no customer wrote again

    class Failing:
        calls = 0

        def current_tars(self, *args, **kwargs):
            Failing.calls += 1
            raise KhorosError("currentTAR: HTTP 503", method="GET", url="https://care.example/api/v2/bots/currentTAR",
                              status=503)

    class FailingSource(TablesSource):
        client = Failing()

    tables = build_tables({"s4": dict(posts=["2026-11-16 09:00"], responses=[("2026-11-16 09:30", "bob", True)])})
    core = Dashboard(FailingSource(tables, Settings(), AS_OF), policy=REAL)
    view = build_khoros_tar(core, GOLDEN)
    assert view.unavailable == "currentTAR: HTTP 503" and view.table.height == 2
    build_khoros_tar(core, GOLDEN)
    assert Failing.calls == 1  # cached for a minute, failures too


def test_live_answers_are_cached_per_range_and_bounded(golden_core):
    class Counting:
        calls = 0

        def current_tars(self, time_range, **filters):
            Counting.calls += 1
            return {}

    class CountingSource(TablesSource):
        client = Counting()

    core = Dashboard(CountingSource(build_tables({}), Settings(), AS_OF), policy=REAL)
    since = AS_OF - timedelta(days=400)
    (answer, at), why = core.current_tar(since)
    assert why == "" and at == AS_OF and Counting.calls == 1
    core.current_tar(since)
    assert Counting.calls == 1
    for minutes in range(2 * MAX_LIVE_ENTRIES):
        core.current_tar(since + timedelta(minutes=minutes + 1))
    assert len(core._expiring) <= MAX_LIVE_ENTRIES
    answer, why = core.current_tar(AS_OF + timedelta(hours=1))
    assert answer is None and "after now" in why  # a range starting after now: a message, no call
