"""The Overview page, run through the entrypoint: its KPIs equal the report CLI's numbers on the same store."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.kpi import format_duration, format_value
from dashboard.metrics import sla
from tests import _page_helpers as h
from tests.conftest import run_app

PAGE = "pages/overview.py"


@pytest.fixture
def source(app_env, demo_source):
    return demo_source


def test_kpis_equal_the_report_cli(source):
    at = run_app(PAGE)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    shown = h.metrics(at)
    overall = h.report(source).row(0, named=True)
    assert shown["FRT SLA"] == format_value(overall["attainment"], "ratio")
    assert shown["Median FRT"] == format_duration(overall["median_seconds"])
    assert shown["p90 FRT"] == format_duration(overall["p90_seconds"])
    start, end, tz = h.default_window(source)
    facts = h.facts(source)
    arrived = sla.in_window(facts.lazy(), start, end, tz).collect()
    assert arrived.height > 0
    assert shown["Conversations"] == f"{arrived.height:,}"
    # Backlog now: the store's conversations not closed at the world's "now".
    open_now = source.scan("conversation").filter(pl.col("status") != "CLOSED").select(pl.len()).collect().item()
    assert shown["Backlog now"] == f"{open_now:,}"
    assert any("Demo data" in i.value for i in at.info)


def test_filters_come_from_the_url(source):
    at = run_app(PAGE, query={"tier": "Platinum"})
    assert not at.exception and not at.error
    shown = h.metrics(at)
    platinum = h.report(source, by=("tier",)).filter(pl.col("tier") == "Platinum").row(0, named=True)
    assert shown["FRT SLA"] == format_value(platinum["attainment"], "ratio")
    assert shown["Median FRT"] == format_duration(platinum["median_seconds"])
    start, end, tz = h.default_window(source)
    arrived = sla.in_window(h.facts(source).lazy(), start, end, tz).filter(pl.col("tier") == "Platinum").collect()
    assert shown["Conversations"] == f"{arrived.height:,}"


def test_a_filter_that_matches_nothing_says_so(source):
    at = run_app(PAGE, query=h.empty_filter(h.facts(source)))
    assert not at.exception and not at.error
    assert any("No conversations arrived" in w.value for w in at.warning)
    assert h.metrics(at)["Conversations"] == "0"
    assert h.metrics(at)["FRT SLA"] == "—"
