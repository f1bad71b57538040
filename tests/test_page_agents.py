"""The Agents page through the entrypoint: the leaderboard equals ``agent_leaderboard`` and the report CLI per
agent, it sorts, filters come from the URL, and the state timeline reads ``raw_agent_states``."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.metrics import load_policy
from dashboard.metrics import pages_support as ps
from tests import _page_helpers as h
from tests.conftest import run_app

PAGE = "pages/agents.py"


@pytest.fixture
def source(app_env, demo_source):
    return demo_source


def _board(source, facts: pl.DataFrame) -> pl.DataFrame:
    start, end, tz = h.default_window(source)
    names = ps.agent_names(source.scan("raw_agent_states"))
    return ps.agent_leaderboard(facts, source.scan("response"), load_policy(), start=start, end=end, tz=tz,
                                as_of=source.now(), names=names)


def test_leaderboard_equals_the_metric_and_the_report_cli(source):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = h.frame_with(at, "Agent", "Responses")
    expected = _board(source, h.facts(source))
    assert shown.get_column("Agent id").to_list() == expected.get_column("agent_id").to_list()
    assert shown.get_column("Responses").to_list() == expected.get_column("responses").to_list()
    report = {r["agent_id"]: r for r in h.report(source, by=("agent",)).iter_rows(named=True)}
    for row in shown.filter(pl.col("SLA clocks") > 0).iter_rows(named=True):
        assert row["First response SLA %"] == pytest.approx(100 * report[row["Agent id"]]["attainment"], abs=1e-9)
        assert row["FRT median (min)"] == pytest.approx(report[row["Agent id"]]["median_seconds"] / 60, abs=1e-9)
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
