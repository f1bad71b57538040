"""Digest content through the core on the simulator's world: tier and queue figures are the report's for the
same window and filters, counts and attainment equal the world's ground truth, incidents are the scripted ones,
charts render to PNG offline. (The report CLI's own output against a digest e-mail: tests/test_notify_core.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard import report
from dashboard.core import Dashboard
from dashboard.metrics.policy import parse_policy
from dashboard.metrics.sla import window_bounds
from dashboard.notify.content import SLA_COLUMNS, build_digest, create_digest_charts
from dashboard.notify.render import render_png

world_module = pytest.importorskip("dashboard.simulator.world")
END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
NY = "America/New_York"
SLOT = datetime(2026, 11, 16, 13, 0, tzinfo=UTC)  # Monday 08:00 New York
START, STOP = date(2026, 11, 9), date(2026, 11, 16)  # last week as of that slot

CALENDAR_POLICY = parse_policy("""
[schedules.default]
timezone = "America/New_York"
monday = [["09:00", "17:00"]]

[[targets]]
metric = "first_response"
target = "1h"
clock = "calendar"

[[targets]]
metric = "resolution"
target = "1d"
clock = "calendar"
""", "calendar-policy")


@pytest.fixture(scope="module")
def world():
    return world_module.generate_world(world_module.WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))


@pytest.fixture(scope="module")
def core(world) -> Dashboard:
    return Dashboard.from_tables(world.tables, now=END)


def test_tier_figures_are_the_report_clis_for_the_same_window(core: Dashboard) -> None:
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT)
    printed = report.sla_report(core, by=["tier"], start=START, end=STOP, tz=NY, as_of=SLOT)
    assert content.tiers is not None and content.tiers.height == printed.height >= 4
    assert_frame_equal(content.tiers.sort("tier"), printed.select("tier", *SLA_COLUMNS).sort("tier"), rel_tol=1e-9)
    # the headline attainment is the same evaluation over all tiers together
    decided = printed["achieved"].sum() + printed["breached"].sum()
    assert content.kpi("first_response_attainment").value == pytest.approx(printed["achieved"].sum() / decided)
    # tiers are shown best-served first, as on the pages
    assert content.tiers["tier"].to_list()[:2] == ["Platinum", "Gold"]


def test_a_filtered_digest_shows_the_reports_rows_for_the_chosen_tiers(core: Dashboard) -> None:
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT, filters={"tier": ["Platinum", "Gold"]},
                           sections=["tiers", "kpis"])
    printed = report.sla_report(core, by=["tier"], start=START, end=STOP, tz=NY, as_of=SLOT)
    assert content.queues is None and content.incidents is None
    assert_frame_equal(content.tiers.sort("tier"),
                       printed.filter(pl.col("tier").is_in(["Platinum", "Gold"])).select("tier", *SLA_COLUMNS)
                       .sort("tier"), rel_tol=1e-9)


def _truth_in(world, start: date, end: date, tiers: list[str] | None = None) -> pl.DataFrame:
    lo, hi = window_bounds(start, end, NY)
    truth = world.truth.filter((pl.col("first_inbound_time") >= lo) & (pl.col("first_inbound_time") < hi))
    return truth.filter(pl.col("tier_at_start").is_in(tiers)) if tiers else truth


def test_counts_equal_the_worlds_truth_for_the_window_and_the_previous_one(world, core: Dashboard) -> None:
    tiers = ["Platinum", "Gold"]
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT, filters={"tier": tiers})
    conversations = content.kpi("conversations")
    assert conversations.value == _truth_in(world, START, STOP, tiers).height > 0
    assert conversations.previous == _truth_in(world, START - timedelta(days=7), START, tiers).height > 0


def test_first_response_attainment_per_tier_equals_the_truth_under_a_calendar_target(world) -> None:
    core = Dashboard.from_tables(world.tables, now=END, policy=CALENDAR_POLICY)
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT, sections=["tiers"])
    truth = _truth_in(world, START, STOP).filter(~pl.col("bot_contained"))
    start = pl.when(pl.col("bot_first")).then(pl.col("handoff_time")).otherwise(pl.col("first_inbound_time"))
    stop = pl.col("first_human_response_time")
    slot = pl.lit(SLOT).cast(pl.Datetime("ms", "UTC"))
    due = start + pl.duration(hours=1)
    known = stop.is_not_null() & (stop <= slot)
    expected = (
        truth.with_columns(_start=start, _due=due)
        .filter(pl.col("_start").is_not_null() & (pl.col("_start") <= slot))
        .with_columns(
            achieved=known & (stop <= pl.col("_due")),
            breached=(known & (stop > pl.col("_due"))) | (~known & (slot > pl.col("_due"))),
        )
        .group_by(pl.col("tier_at_start").alias("tier"))
        .agg(pl.col("achieved").sum().cast(pl.Int64), pl.col("breached").sum().cast(pl.Int64))
        .sort("tier")
    )
    shown = content.tiers.select("tier", "achieved", "breached").sort("tier")
    assert expected.height >= 4 and expected["achieved"].sum() > 50 and expected["breached"].sum() > 50
    assert_frame_equal(shown, expected)


def test_incidents_are_the_worlds_scripted_ones_in_the_window(world, core: Dashboard) -> None:
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT, sections=["incidents"])
    lo, hi = window_bounds(START, STOP, NY)
    scripted = [i for i in world.incidents if i["start"] < hi and i["end"] > lo]
    assert scripted, "the world has incidents in this window"
    found = content.incidents
    assert found is not None
    for incident in scripted:
        near = found.filter((pl.col("app_id") == incident["app_id"]) & (pl.col("origin") == incident["origin"])
                            & ((pl.col("start") - incident["start"]).abs() < timedelta(minutes=5)))
        assert near.height == 1, incident
        assert near["top_http_code"][0] == incident["http_code"]


def test_without_request_records_the_incidents_section_says_so(world) -> None:
    core = Dashboard.from_tables({k: v for k, v in world.tables.items() if k != "bot_request"}, now=END)
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT)
    assert content.incidents is None and "incidents" in content.sections


def test_charts_render_to_png_offline(core: Dashboard) -> None:
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT)
    charts = create_digest_charts(content)
    assert set(charts) == {"tiers", "queues"}
    spec = charts["tiers"].to_dict()
    assert spec["layer"][0]["encoding"]["x"]["field"] == "attainment"
    # bars in the order of the tables beside them: the policy's tiers; the worst queue first
    assert spec["layer"][0]["encoding"]["y"]["sort"] == [t for t in core.tier_order if t in set(content.tiers["tier"])]
    queues = charts["queues"].to_dict()["layer"][0]["encoding"]["y"]["sort"]
    assert queues == content.queues["work_queue_id"].to_list() and content.queues["attainment"].is_sorted()
    png = render_png(charts["tiers"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_headline_figures_are_the_overviews_for_the_same_window_and_filters(core: Dashboard) -> None:
    from dashboard.filters import Filters
    from dashboard.views import build_overview

    chosen = {"tier": ["Platinum", "Gold"]}
    content = build_digest(core, start=START, end=STOP, tz=NY, as_of=SLOT, filters=chosen, sections=["kpis"])
    overview = {k.key: k for k in build_overview(core, Filters(START, STOP, NY, chosen, as_of=SLOT)).kpis}
    for digest_key, page_key in (("conversations", "conversations"), ("frt_median_seconds", "frt_median"),
                                 ("frt_p90_seconds", "frt_p90"), ("first_response_attainment", "sla_attainment")):
        assert content.kpi(digest_key).value == pytest.approx(overview[page_key].value), digest_key
        assert content.kpi(digest_key).previous == pytest.approx(overview[page_key].previous), digest_key
    assert content.kpi("conversations").value > 0 and content.kpi("conversations").previous is not None
