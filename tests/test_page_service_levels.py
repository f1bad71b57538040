"""The Service levels page through the entrypoint: the tier headline equals the report CLI's numbers, grouping
and drill-down show the report's groups and rows, an empty filter gets a message, and a failure is a message."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.errors import DashboardError
from dashboard.views import format_duration
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/service_levels.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def test_tier_headline_equals_the_report_cli(core):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    headline = {r["Tier"]: r for r in h.frame_with(at, "Tier", "First response SLA %").iter_rows(named=True)}
    first = h.report(core, by=("tier",))
    resolution = h.report(core, metric="resolution", by=("tier",))
    assert set(headline) == {*first.get_column("tier"), "All tiers"}
    for row in first.iter_rows(named=True):
        shown = headline[row["tier"]]
        assert shown["First response SLA %"] == pytest.approx(100 * row["attainment"], abs=1e-9)
        assert shown["FRT median"] == format_duration(row["median_seconds"])
        assert shown["FRT p90"] == format_duration(row["p90_seconds"])
        assert shown["FR pending"] == row["pending"]
    for row in resolution.iter_rows(named=True):
        assert headline[row["tier"]]["Resolution median"] == format_duration(row["median_seconds"])
    # tiers best served first, as the policy names them, then all of them together
    assert list(headline) == [*[t for t in core.tier_order if t in headline], "All tiers"]


def test_group_by_priority_and_drill_into_one_group(core):
    at = run_app(PAGE, query={"channel": "twitter"})
    assert not at.exception and not at.error
    at.segmented_control(key="sla_group_by").set_value("priority").run()
    assert not at.exception and not at.error
    # the report CLI grouped by channel and priority, twitter's rows
    expected = h.report(core, by=("channel", "priority")).filter(
        (pl.col("network") == "twitter") & (pl.col("total") > 0))
    options = at.selectbox(key="sla_pick").options
    assert [int(o) for o in options] == expected.get_column("priority").to_list()

    priority = expected.sort("total", descending=True).row(0, named=True)
    at.selectbox(key="sla_pick").set_value(priority["priority"]).run()
    assert not at.exception and not at.error
    rows = h.frame_with(at, "Conversation", "Breach at")
    assert set(rows.get_column("Channel")) == {"twitter"}
    assert rows.filter(pl.col("Status").is_in(["achieved", "breached", "pending"])).height == priority["total"]
    assert rows.filter(pl.col("Status") == "breached").height == priority["breached"]
    assert {b.label for b in at.get("download_button")} >= {"Download CSV", "Download Parquet"}


def test_next_response_is_reply_level_and_equals_the_report_cli(core):
    at = run_app(PAGE)
    at.segmented_control(key="sla_metric").set_value("next_response").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    report = h.report(core, metric="next_response", by=("tier",)).filter(pl.col("total") > 0)
    options = at.selectbox(key="sla_pick").options
    assert sorted(options) == sorted(report.get_column("tier").to_list())
    busiest = report.sort("total", descending=True).row(0, named=True)
    at.selectbox(key="sla_pick").set_value(busiest["tier"]).run()
    assert not at.exception and not at.error
    rows = h.frame_with(at, "Reply", "Breach at")
    decided = rows.filter(pl.col("Status").is_in(["achieved", "breached", "pending"]))
    assert decided.height == busiest["total"]
    assert rows.filter(pl.col("Status") == "breached").height == busiest["breached"]
    assert f"{rows.height:,} replies" in h.texts(at)


def test_a_filter_that_matches_nothing_says_so(core):
    at = run_app(PAGE, query=h.empty_filter(core.facts()))
    assert not at.exception and not at.error
    assert "No conversations with a service-level clock" in h.texts(at)


@pytest.mark.parametrize(("error", "shown", "hidden"), [
    (DashboardError("the policy names no schedule 'night'"), "the policy names no schedule 'night'", None),
    (ValueError("secret-ish internal detail"), "an internal error occurred", "secret-ish internal detail"),
])
def test_a_failure_below_the_headline_is_a_message_not_a_traceback(core, monkeypatch, error, shown, hidden):
    from dashboard.metrics import sla

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(sla, "attainment_by_period", broken)
    at = run_app(PAGE)
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any(m.startswith("Could not show service levels: ") and shown in m for m in messages), messages
    assert hidden is None or not any(hidden in m for m in messages)
    assert h.frame_with(at, "Tier", "First response SLA %").height > 0  # the headline above it stays
