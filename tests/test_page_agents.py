"""The Agents page through the entrypoint: the leaderboard's responses and available hours are what the world's
raw tables say, it sorts, filters come from the URL, and the state timeline reads ``raw_agent_states``."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.metrics import sla
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/agents.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def window(core):
    """The sidebar's default window as UTC instants, cut at "now"."""
    filters = core.default_filters()
    lo, hi = sla.window_bounds(filters.start, filters.end, filters.tz)
    return lo, min(hi, core.now())


def responses_by_agent(world, lo, hi, conversations=None) -> dict[str, int]:
    """Public agent responses published in [lo, hi), per agent, counted from the raw response table."""
    rows = world.tables["response"].filter(
        (pl.col("responder_type") == "AGENT") & pl.col("is_public") & pl.col("agent_id").is_not_null()
        & (pl.col("published_time") >= lo) & (pl.col("published_time") < hi))
    if conversations is not None:
        rows = rows.filter(pl.col("conversation_id").is_in(conversations))
    return dict(rows.group_by("agent_id").len().iter_rows())


def available_hours(world, lo, hi) -> dict[str, float]:
    """Hours each agent spent "Available" inside [lo, hi), interval by interval from the raw table."""
    hours: dict[str, float] = {}
    for row in world.tables["raw_agent_states"].iter_rows(named=True):
        if row["state"] != "Available":
            continue
        start, end = max(row["start_time"], lo), min(row["end_time"] or hi, hi)
        if end > start:
            hours[row["agent_id"]] = hours.get(row["agent_id"], 0.0) + (end - start).total_seconds() / 3600
    return hours


def test_leaderboard_counts_what_the_world_recorded(core, demo_world):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = h.frame_with(at, "Agent", "Responses")
    lo, hi = window(core)
    responses = responses_by_agent(demo_world, lo, hi)
    hours = available_hours(demo_world, lo, hi)
    assert len(responses) > 3
    for row in shown.iter_rows(named=True):
        assert row["Responses"] == responses.get(row["Agent id"], 0), row["Agent"]
        assert row["Available (h)"] == pytest.approx(hours.get(row["Agent id"], 0.0), abs=1e-6), row["Agent"]
    assert shown.get_column("Responses").is_sorted(descending=True)
    # the team's credited first-response clocks never exceed the report CLI's window totals
    overall = h.report(core).row(0, named=True)
    assert shown.get_column("First responses").sum() <= overall["achieved"] + overall["breached"]
    # the state timeline's hours table lists the agents picked by default
    assert h.frame_with(at, "Agent", "Available").height > 0


def test_sorting_by_median_first_response_puts_the_fastest_first(core):
    at = run_app(PAGE)
    at.selectbox(key="agents_sort").set_value("Median first response").run()
    assert not at.exception and not at.error
    medians = h.frame_with(at, "Agent", "FRT median (min)").get_column("FRT median (min)").drop_nulls()
    assert medians.len() > 1 and medians.is_sorted()


def test_team_filter_from_the_url_and_an_empty_filter(core, demo_world):
    conversations = demo_world.tables["conversation"]
    team = conversations.get_column("team_id").drop_nulls().mode().sort()[0]
    at = run_app(PAGE, query={"team": str(team)})
    assert not at.exception and not at.error
    shown = h.frame_with(at, "Agent", "Responses")
    lo, hi = window(core)
    mine = conversations.filter(pl.col("team_id") == team).get_column("conversation_id").to_list()
    expected = responses_by_agent(demo_world, lo, hi, mine)
    assert {r["Agent id"]: r["Responses"] for r in shown.iter_rows(named=True) if r["Responses"]} == expected

    at = run_app(PAGE, query=h.empty_filter(core.facts()))
    assert not at.exception and not at.error
    assert any("No agent activity" in w.value for w in at.warning)


def test_the_timeline_covers_the_last_days_up_to_now(core):
    at = run_app(PAGE)
    at.slider(key="agents_timeline_days").set_value(1).run()
    assert not at.exception and not at.error
    hours = h.frame_with(at, "Agent", "Available")
    totals = hours.drop("Agent").sum_horizontal()
    # one day of states per agent, at most (24 h; less for an agent with no state for a while)
    assert (totals <= 24 + 1e-6).all() and totals.max() > 0
