"""Digest content on the simulator's world: figures equal the report CLI's for the same window, counts and
attainment equal the world's ground truth, incidents are the scripted ones, charts render to PNG offline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard import report
from dashboard.metrics import load_policy
from dashboard.metrics.policy import parse_policy
from dashboard.metrics.sla import window_bounds
from dashboard.notify.content import SLA_COLUMNS, build_digest, create_digest_charts
from dashboard.notify.data import FramesData
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
def data(world) -> FramesData:
    return FramesData({k: v.lazy() for k, v in world.tables.items()}, load_policy())


def test_tier_figures_are_the_report_clis_for_the_same_window(data: FramesData) -> None:
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT,
                           bot_requests=data.bot_requests())
    printed = report.sla_report(data.tables, data.policy, by=["tier"], start=START, end=STOP, tz=NY, as_of=SLOT)
    assert content.tiers is not None and content.tiers.height == printed.height >= 4
    assert_frame_equal(content.tiers.sort("tier"), printed.select("tier", *SLA_COLUMNS).sort("tier"), rel_tol=1e-9)
    # the headline attainment is the same evaluation over all tiers together
    decided = printed["achieved"].sum() + printed["breached"].sum()
    assert content.kpi("first_response_attainment").value == pytest.approx(printed["achieved"].sum() / decided)
    # tiers are shown best-served first, as on the pages
    assert content.tiers["tier"].to_list()[:2] == ["Platinum", "Gold"]


def test_a_filtered_digest_shows_the_reports_rows_for_the_chosen_tiers(data: FramesData) -> None:
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT,
                           filters={"tier": ["Platinum", "Gold"]}, sections=["tiers", "kpis"])
    printed = report.sla_report(data.tables, data.policy, by=["tier"], start=START, end=STOP, tz=NY, as_of=SLOT)
    assert content.queues is None and content.incidents is None
    assert_frame_equal(content.tiers.sort("tier"),
                       printed.filter(pl.col("tier").is_in(["Platinum", "Gold"])).select("tier", *SLA_COLUMNS)
                       .sort("tier"), rel_tol=1e-9)


def _truth_in(world, start: date, end: date, tiers: list[str] | None = None) -> pl.DataFrame:
    lo, hi = window_bounds(start, end, NY)
    truth = world.truth.filter((pl.col("first_inbound_time") >= lo) & (pl.col("first_inbound_time") < hi))
    return truth.filter(pl.col("tier_at_start").is_in(tiers)) if tiers else truth


def test_counts_equal_the_worlds_truth_for_the_window_and_the_previous_one(world, data: FramesData) -> None:
    tiers = ["Platinum", "Gold"]
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT,
                           filters={"tier": tiers})
    conversations = content.kpi("conversations")
    assert conversations.value == _truth_in(world, START, STOP, tiers).height > 0
    assert conversations.previous == _truth_in(world, START - timedelta(days=7), START, tiers).height > 0


def test_first_response_attainment_per_tier_equals_the_truth_under_a_calendar_target(world) -> None:
    data = FramesData({k: v.lazy() for k, v in world.tables.items()}, CALENDAR_POLICY)
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT, sections=["tiers"])
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


def test_incidents_are_the_worlds_scripted_ones_in_the_window(world, data: FramesData) -> None:
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT,
                           bot_requests=data.bot_requests(), sections=["incidents"])
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


def test_without_request_records_the_incidents_section_says_so(data: FramesData) -> None:
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT,
                           bot_requests=data.bot_requests().head(0))
    assert content.incidents is None and "incidents" in content.sections


def test_charts_render_to_png_offline(data: FramesData) -> None:
    content = build_digest(data.facts(), data.policy, start=START, end=STOP, tz=NY, as_of=SLOT)
    charts = create_digest_charts(content)
    assert set(charts) == {"tiers", "queues"}
    spec = charts["tiers"].to_dict()
    assert spec["layer"][0]["encoding"]["x"]["field"] == "attainment"
    png = render_png(charts["tiers"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
