"""The Agents page through the entrypoint: the leaderboard equals ``agent_leaderboard`` and the report CLI per
agent, it sorts, filters come from the URL, and the state timeline reads ``raw_agent_states``."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.metrics import agents, load_policy
from dashboard.metrics import pages_support as ps
from tests import _page_helpers as h
from tests.conftest import run_app

PAGE = "pages/agents.py"


@pytest.fixture
def source(app_env, demo_source):
    return demo_source


def _board(source, facts: pl.DataFrame) -> pl.DataFrame:
    start, end, tz = h.default_window(source)
    board = agents.agent_leaderboard(facts.lazy(), source.scan("response"), load_policy(), start=start, end=end,
                                     tz=tz, as_of=source.now(), agent_states=source.scan("raw_agent_states")).collect()
    handled = ps.handle_time_by_agent(facts, start=start, end=end, tz=tz, as_of=source.now())
    return board.join(handled, on="agent_id", how="left")


def test_leaderboard_equals_the_metric_functions(source):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = h.frame_with(at, "Agent", "Responses")
    expected = _board(source, h.facts(source))
    assert shown.get_column("Agent id").to_list() == expected.get_column("agent_id").to_list()
    assert shown.get_column("Responses").to_list() == expected.get_column("responses").to_list()
    by_id = {r["agent_id"]: r for r in expected.iter_rows(named=True)}
    for row in shown.iter_rows(named=True):
        want = by_id[row["Agent id"]]
        assert row["First responses"] == want["first_responses"]
        assert row["Conversations"] == want["conversations"]
        if want["first_response_attainment"] is not None:
            assert row["First response SLA %"] == pytest.approx(100 * want["first_response_attainment"], abs=1e-9)
        if want["frt_median_seconds"] is not None:
            assert row["FRT median (min)"] == pytest.approx(want["frt_median_seconds"] / 60, abs=1e-9)
        if want["handle_median_seconds"] is not None:
            assert row["Handle median (h)"] == pytest.approx(want["handle_median_seconds"] / 3600, abs=1e-9)
    # the team's first-response clocks add up to the report CLI's total for the same window
    overall = h.report(source).row(0, named=True)
    credited = expected.select(pl.col("first_response_achieved", "first_response_breached").sum()).row(0)
    assert credited[0] <= overall["achieved"] and credited[1] <= overall["breached"]
    # the state timeline's hours table lists the agents picked by default
    hours = h.frame_with(at, "agent_name")
    assert hours.height > 0


def test_sorting_by_median_first_response_puts_the_fastest_first(source):
    at = run_app(PAGE)
    at.selectbox(key="agents_sort").set_value("Median first response").run()
    assert not at.exception and not at.error
    medians = h.frame_with(at, "Agent", "FRT median (min)").get_column("FRT median (min)").drop_nulls()
    assert medians.len() > 1 and medians.is_sorted()


def test_team_filter_from_the_url_and_an_empty_filter(source):
    facts = h.facts(source)
    team = facts.get_column("team_id").drop_nulls().mode().sort()[0]
    at = run_app(PAGE, query={"team": str(team)})
    assert not at.exception and not at.error
    shown = h.frame_with(at, "Agent", "Responses")
    expected = _board(source, facts.filter(pl.col("team_id") == team))
    assert shown.get_column("Responses").to_list() == expected.get_column("responses").to_list()

    at = run_app(PAGE, query=h.empty_filter(facts))
    assert not at.exception and not at.error
    assert any("No agent activity" in w.value for w in at.warning)
