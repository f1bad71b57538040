"""The Live queue page through the entrypoint: open backlog, at-risk list and agent states as the metric
functions compute them for the world's "now"; filters from the URL; a message when nothing is open."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.metrics import backlog, load_policy
from dashboard.metrics import pages_support as ps
from tests import _page_helpers as h
from tests.conftest import run_app

PAGE = "pages/live_queue.py"


@pytest.fixture
def source(app_env, demo_source):
    return demo_source


def test_open_backlog_and_at_risk_list_for_now(source):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = h.metrics(at)
    open_now = source.scan("conversation").filter(pl.col("status") != "CLOSED").select(pl.len()).collect().item()
    assert shown["Open now"] == f"{open_now:,}"
    risk = backlog.at_risk(h.facts(source).lazy(), load_policy(), source.now()).collect()
    assert shown["Clocks running"] == f"{risk.height:,}"
    table = h.frame_with(at, "breaches in", "breach_at")
    assert table.get_column("conversation_id").to_list() == risk.get_column("conversation_id").to_list()
    states = ps.agent_states_now(source.scan("raw_agent_states"), source.now())
    available = states.filter(pl.col("state").str.to_lowercase() == "available").get_column("agents").sum()
    assert shown["Agents available"] == f"{available:,}"
    assert any("refreshed" in c.value for c in at.caption)


def test_filters_from_the_url_narrow_the_queue(source):
    facts = h.facts(source)
    open_ids = backlog.open_at(facts.lazy(), source.now()).collect()
    busiest = open_ids.group_by("priority").len().sort("len", descending=True).row(0, named=True)
    at = run_app(PAGE, query={"priority": str(busiest["priority"])})
    assert not at.exception and not at.error
    assert h.metrics(at)["Open now"] == f"{busiest['len']:,}"


def test_nothing_open_gets_a_message(source):
    at = run_app(PAGE, query=h.empty_filter(h.facts(source)))
    assert not at.exception and not at.error
    assert any("Nothing is open" in w.value for w in at.warning)
    assert h.metrics(at)["Open now"] == "0"
