"""The planning pages through the entrypoint (AppTest): Contact reasons, Occupancy & staffing, and the sections the
Service levels page gained (Khoros' time to agent response beside ours; what-if targets). Every figure is checked
against the metric functions called directly on the core's tables, never against the page's own view."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dashboard.metrics import reasons as reason_metrics
from dashboard.metrics import sla
from dashboard.metrics.occupancy import handling_segments, occupancy_by, occupancy_hours
from dashboard.metrics.staffing import plan_staffing
from dashboard.metrics.tar import khoros_tar
from dashboard.views import format_duration
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

REASONS = "pages/contact_reasons.py"
OCCUPANCY = "pages/occupancy_staffing.py"
SERVICE_LEVELS = "pages/service_levels.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def _no_failure(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_contact_reasons_page_shows_the_metric_per_tag_and_the_rows_behind_one(core):
    at = run_app(REASONS)
    _no_failure(at)
    filters = core.default_filters()
    expected = reason_metrics.reason_table(core.facts().lazy(), core.policy(), start=filters.start, end=filters.end,
                                           tz=filters.tz, as_of=core.now()).collect()
    shown = h.frame_with(at, "Tag", "Conversations", "First response SLA %")
    assert dict(zip(shown["Tag"], shown["Conversations"], strict=True)) == dict(
        zip(expected["reason"], expected["conversations"], strict=True))
    billing = expected.filter(pl.col("reason") == "Billing").row(0, named=True)
    row = shown.filter(pl.col("Tag") == "Billing").row(0, named=True)
    assert row["First response SLA %"] == pytest.approx(100 * billing["first_response_attainment"])
    assert row["FRT median"] == format_duration(billing["first_response_median_seconds"])
    assert "counts once under each of its tags" in h.texts(at)
    at.selectbox(key="reasons_pick").set_value("Billing").run()
    _no_failure(at)
    rows = h.frame_with(at, "conversation_id", "tags")
    assert rows.height == billing["conversations"]
    assert f"{billing['conversations']:,} conversations" in h.texts(at)


def test_contact_reasons_by_disposition_with_a_filter_from_the_url(core):
    at = run_app(REASONS, query={"tier": "Platinum"})
    _no_failure(at)
    at.segmented_control(key="reasons_by").set_value("disposition").run()
    _no_failure(at)
    filters = core.default_filters()
    platinum = core.facts().filter(pl.col("tier") == "Platinum").lazy()
    expected = reason_metrics.reason_table(platinum, core.policy(), start=filters.start, end=filters.end,
                                           tz=filters.tz, by="disposition", as_of=core.now()).collect()
    shown = h.frame_with(at, "Disposition", "Conversations")
    assert dict(zip(shown["Disposition"], shown["Conversations"], strict=True)) == dict(
        zip(expected["reason"], expected["conversations"], strict=True))
    assert shown["Conversations"].sum() == sla.in_window(platinum, filters.start, filters.end, filters.tz).select(
        pl.len()).collect().item()


def test_occupancy_and_staffing_page_shows_the_metric_figures_and_the_forecast_error(core):
    at = run_app(OCCUPANCY)
    _no_failure(at)
    filters = core.default_filters()
    tables = {e: core.table(e).lazy() for e in ("incoming_post", "response", "conversation_history_action",
                                                "raw_agent_states")}
    segments = handling_segments(core.facts().lazy(), tables["incoming_post"], tables["response"],
                                 tables["conversation_history_action"])
    hours = occupancy_hours(segments, tables["raw_agent_states"], start=filters.start, end=filters.end,
                            tz=filters.tz, as_of=core.now())
    total = occupancy_by(hours, []).collect().row(0, named=True)
    metrics = h.metrics(at)
    assert metrics["Occupancy"] == f"{100 * total['occupancy']:.1f}%"
    assert metrics["Concurrency"] == f"{total['concurrency']:,.2f}"
    agents = h.frame_with(at, "Agent", "Occupancy %")
    per_agent = occupancy_by(hours).collect()
    assert agents.height == per_agent.height
    # the plan from the metric function, on the history the page states (two weeks: one averaged, one held back)
    plan = plan_staffing(core.facts().lazy(), tables["incoming_post"], tables["response"],
                         tables["conversation_history_action"], tables["raw_agent_states"], core.policy(),
                         end=date(2026, 11, 18), tz=filters.tz, weeks=1, holdout_weeks=1, as_of=core.now())
    assert metrics["Forecast WAPE"] == f"{100 * plan.wape:.1f} %"
    assert f"{100 * plan.wape:.1f} %" in " ".join(i.value for i in at.info)
    short = h.frame_with(at, "Hour (local)", "Short by")
    assert short.height == plan.gap.filter(pl.col("short_by") > 0).height
    # the rows behind an agent's figure
    name = agents["Agent"][0]
    at.selectbox(key="occupancy_pick").set_value(name).run()
    _no_failure(at)
    assert h.frame_with(at, "conversation_id", "kinds", "in_hand").height > 0


def test_staffing_controls_rerun_the_plan(core):
    at = run_app(OCCUPANCY)
    needed = h.metrics(at)["Peak agents needed"]
    at.slider(key="staffing_attainment").set_value(0.95).run()
    _no_failure(at)
    assert int(h.metrics(at)["Peak agents needed"]) > int(needed)


def test_service_levels_shows_khoros_figure_beside_ours_and_the_real_targets_rescored(core):
    at = run_app(SERVICE_LEVELS)
    _no_failure(at)
    tar = h.frame_with(at, "Response", "Khoros mean", "Ours, Khoros' way: mean")
    filters = core.default_filters()
    lo, _ = sla.window_bounds(filters.start, filters.end, filters.tz)
    first = khoros_tar(core.facts("human").lazy(), core.bursts("human").lazy(), core.table("conversation").lazy(),
                       now=core.now(), time_range=core.now() - lo)
    row = tar.filter(pl.col("Response") == "First response").row(0, named=True)
    assert row["Khoros mean"] == row["Ours, Khoros' way: mean"] == format_duration(first.mean_ms / 1000)
    assert "why the figures differ" in h.texts(at)
    summary = h.frame_with(at, "Metric", "Real policy %", "Edited targets %")
    overall = h.report(core, by=())
    row = summary.filter(pl.col("Metric") == "First response").row(0, named=True)
    assert row["Real policy %"] == row["Edited targets %"] == round(100 * overall["attainment"][0], 1)
    assert summary["Status changes"].sum() == 0
    assert "exactly the Service levels figures" in h.texts(at)
    assert "Download the edited policy (TOML)" in {b.label for b in at.get("download_button")}
