"""The Service levels page through the entrypoint: the tier headline equals the report CLI's numbers, grouping
and drill-down show the right rows, and an empty filter gets a message."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.kpi import format_duration
from dashboard.metrics import sla
from tests import _page_helpers as h
from tests.conftest import run_app

PAGE = "pages/service_levels.py"


@pytest.fixture
def source(app_env, demo_source):
    return demo_source


def test_tier_headline_equals_the_report_cli(source):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    headline = {r["Tier"]: r for r in h.frame_with(at, "Tier", "First response SLA %").iter_rows(named=True)}
    first = h.report(source, by=("tier",))
    resolution = h.report(source, metric="resolution", by=("tier",))
    assert set(headline) == set(first.get_column("tier"))
    for row in first.iter_rows(named=True):
        shown = headline[row["tier"]]
        assert shown["First response SLA %"] == pytest.approx(100 * row["attainment"], abs=1e-9)
        assert shown["FRT median"] == format_duration(row["median_seconds"])
        assert shown["FRT p90"] == format_duration(row["p90_seconds"])
        assert shown["FR pending"] == row["pending"]
    for row in resolution.iter_rows(named=True):
        assert headline[row["tier"]]["Resolution median"] == format_duration(row["median_seconds"])
    # Platinum first: the headline is the top tier
    assert next(iter(headline)) == "Platinum"


def test_group_by_priority_and_drill_into_one_group(source):
    at = run_app(PAGE, query={"channel": "twitter"})
    assert not at.exception and not at.error
    at.segmented_control(key="sla_group_by").set_value("priority").run()
    assert not at.exception and not at.error
    report = h.report(source, by=("priority",))
    # report for twitter only: recompute through the same function with the channel filter applied
    start, end, tz = h.default_window(source)
    facts = sla.in_window(h.facts(source).lazy(), start, end, tz).filter(pl.col("network") == "twitter")
    from dashboard.metrics import attainment_by, evaluate, load_policy

    evaluated = evaluate(facts, load_policy(), "first_response", as_of=source.now())
    expected = attainment_by(evaluated, ["priority"]).collect().filter(pl.col("total") > 0)
    options = at.selectbox(key="sla_pick").options
    assert [int(o) for o in options] == expected.get_column("priority").to_list()
    assert report.height >= expected.height  # the unfiltered report has at least these priorities

    priority = expected.sort("total", descending=True).row(0, named=True)
    at.selectbox(key="sla_pick").set_value(priority["priority"]).run()
    assert not at.exception and not at.error
    rows = h.frame_with(at, "conversation_id", "breach_at")
    in_group = evaluated.filter(pl.col("priority") == priority["priority"]).collect()
    assert rows.height == in_group.height
    assert set(rows.get_column("network")) == {"twitter"}
    assert rows.filter(pl.col("status") == "breached").height == priority["breached"]
    assert {b.label for b in at.get("download_button")} >= {"Download CSV", "Download Parquet"}


def test_next_response_is_reply_level_and_equals_the_report_cli(source):
    at = run_app(PAGE)
    at.segmented_control(key="sla_metric").set_value("next_response").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    report = h.report(source, metric="next_response", by=("tier",)).filter(pl.col("total") > 0)
    options = at.selectbox(key="sla_pick").options
    assert sorted(options) == sorted(report.get_column("tier").to_list())
    busiest = report.sort("total", descending=True).row(0, named=True)
    at.selectbox(key="sla_pick").set_value(busiest["tier"]).run()
    assert not at.exception and not at.error
    rows = h.frame_with(at, "burst_index", "breach_at")
    decided = rows.filter(pl.col("status").is_in(["achieved", "breached", "pending"]))
    assert decided.height == busiest["total"]
    assert rows.filter(pl.col("status") == "breached").height == busiest["breached"]
    assert any(f"{rows.height:,} replies" in m.value for m in at.markdown)


def test_a_filter_that_matches_nothing_says_so(source):
    at = run_app(PAGE, query=h.empty_filter(h.facts(source)))
    assert not at.exception and not at.error
    assert any("No conversations with a service-level clock" in w.value for w in at.warning)


def test_a_failure_below_the_headline_is_a_message_not_a_traceback(source, monkeypatch):
    from dashboard.metrics import pages_support

    def broken(*args, **kwargs):
        raise ValueError("period comparison exploded")

    monkeypatch.setattr(pages_support, "period_comparison", broken)
    at = run_app(PAGE)
    assert not at.exception
    assert any("Could not show service levels: period comparison exploded" in e.value for e in at.error)
