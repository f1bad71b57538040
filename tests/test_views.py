"""The views on a simulated world through a core over its tables: figures equal the report CLI's function and
the world's own record; the presentation steps (tier order, long tails, hour labels) worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.filters import Filters
from dashboard.report import sla_report
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.views import build_drilldown, build_live_queue, build_overview, build_sla_breakdown
from dashboard.views.service_levels import _clip_long_tail, tier_headline

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
TZ = "America/New_York"
WEEK = Filters(start=date(2026, 11, 12), end=date(2026, 11, 19), tz=TZ, as_of=NOW)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=5, days=14, conversations_per_day=60, end=NOW))


@pytest.fixture(scope="module")
def core(world) -> Dashboard:
    return Dashboard.from_tables(world.tables, now=NOW)


def arrivals(world, start: date, end: date) -> pl.DataFrame:
    day = pl.col("first_inbound_time").dt.convert_time_zone(TZ).dt.date()
    return world.truth.filter(day.is_between(start, end, closed="left"))


def test_overview_kpis_are_the_reports_and_the_worlds(core, world):
    view = build_overview(core, WEEK)
    kpis = {k.key: k for k in view.kpis}
    overall = sla_report(core, by=[], start=WEEK.start, end=WEEK.end, tz=TZ, as_of=NOW).row(0, named=True)
    assert kpis["frt_median"].value == overall["median_seconds"]
    assert kpis["frt_p90"].value == overall["p90_seconds"]
    assert kpis["sla_attainment"].value == overall["attainment"]
    week = arrivals(world, WEEK.start, WEEK.end).height
    assert kpis["conversations"].value == week == view.volume["conversations"].sum() == view.heatmap[
        "conversations"].sum()
    # today (Wed 18 Nov, to 10:30 in New York) is partial: the sparklines hold the six complete days
    today = arrivals(world, date(2026, 11, 18), date(2026, 11, 19)).height
    assert sum(kpis["conversations"].sparkline) == week - today > 0 and len(kpis["conversations"].sparkline) == 6
    # the previous week is covered by the 14-day world: a real comparison, of the same span (to Wed 11 Nov 10:30)
    cut = datetime(2026, 11, 11, 10, 30, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    same_span = arrivals(world, date(2026, 11, 5), WEEK.start).filter(pl.col("first_inbound_time") < cut).height
    assert kpis["conversations"].previous == same_span < arrivals(world, date(2026, 11, 5), WEEK.start).height
    assert "Wed 11 Nov 10:30" in kpis["conversations"].delta_description and "partial" in view.comparison_note
    open_truth = world.truth.filter(pl.col("status") != "CLOSED").height
    assert kpis["backlog_now"].value == open_truth
    # automation: successes among the window's request records with an outcome, counted from the raw table
    records = world.tables["bot_request"].filter(
        pl.col("state").is_in(["SUCCESS", "ERROR"]) & (pl.col("completed_time") <= NOW)
        & (pl.col("created_time").dt.convert_time_zone(TZ).dt.date().is_between(WEEK.start, WEEK.end, closed="left")))
    assert records.height > 0
    assert kpis["automation_health"].value == pytest.approx(records.filter(pl.col("state") == "SUCCESS").height
                                                            / records.height, abs=1e-12)
    # a window before the data starts has no previous value (not a false "0")
    early = build_overview(core, Filters(start=date(2026, 11, 5), end=WEEK.end, tz=TZ, as_of=NOW))
    assert {k.key: k for k in early.kpis}["conversations"].previous is None


def test_breakdown_periods_and_drilldown_are_the_reports_groups(core):
    breakdown = build_sla_breakdown(core, WEEK, "first_response", "channel")
    report = sla_report(core, by=["channel"], start=WEEK.start, end=WEEK.end, tz=TZ, as_of=NOW).filter(
        pl.col("total") > 0)
    assert breakdown.options == report.get_column("network").to_list()
    twitter = report.filter(pl.col("network") == "twitter").row(0, named=True)
    drill = build_drilldown(breakdown, "twitter")
    assert set(drill.table.get_column("Channel")) == {"twitter"} == set(drill.rows.get_column("network"))
    assert drill.rows.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).height == twitter[
        "total"]
    assert drill.count == f"{drill.rows.height:,} conversations" and f"{twitter['breached']:,} breached" in drill.detail
    periods = breakdown.period_chart.to_dict()["datasets"]
    rows = next(iter(periods.values()))
    # today is partial: the previous week is cut at the same local time (Wed 11 Nov 10:30 New York)
    cut = datetime(2026, 11, 11, 10, 30, tzinfo=ZoneInfo(TZ))
    previous = sla_report(core, by=["channel"], start=date(2026, 11, 5), end=cut, tz=TZ, as_of=NOW)
    by_period = {(r["period"], r["network"]): r["attainment"] for r in rows}
    for row in previous.iter_rows(named=True):
        assert by_period[("previous", row["network"])] == pytest.approx(row["attainment"], nan_ok=True)


def test_the_breaches_due_chart_labels_hours_on_the_report_zones_clock(core):
    view = build_live_queue(core, WEEK)
    data = next(iter(view.breaches_chart.to_dict()["datasets"].values()))
    # 15:30 UTC on 18 Nov is 10:30 in New York (EST): the next eight hours start there
    assert [row["hour_label"] for row in data] == ["10:30", "11:30", "12:30", "13:30", "14:30", "15:30", "16:30",
                                                   "17:30"]


def test_tier_headline_follows_the_policys_order_and_puts_metrics_side_by_side():
    comparison = pl.DataFrame({
        "metric": ["first_response", "first_response", "resolution"],
        "tier": ["Standard", "Platinum", "Platinum"],
        "attainment": [0.5, 1.0, 0.75], "attainment_low": [0.1, 0.5, 0.3], "attainment_high": [0.9, 1.0, 0.9],
        "median_seconds": [60.0, 30.0, 900.0], "p90_seconds": [120.0, 40.0, 1000.0],
        "breached": [1, 0, 1], "pending": [0, 0, 0],
    })
    headline = tier_headline(comparison, ("Platinum", "Standard", "unknown"))
    assert headline.get_column("tier").to_list() == ["Platinum", "Standard"]
    assert headline.row(0, named=True)["resolution_median_seconds"] == 900.0
    assert headline.row(1, named=True)["resolution_attainment"] is None
    # a tenant whose policy ranks its own tiers
    assert tier_headline(comparison, ("Standard", "Platinum")).get_column("tier").to_list() == ["Standard",
                                                                                                 "Platinum"]


def test_the_long_tail_is_clipped_at_the_nearest_rank_quantile():
    rows = pl.DataFrame({"elapsed_seconds": [float(v) for v in range(1, 21)] + [None]})
    kept, hidden, limit = _clip_long_tail(rows, 0.9)
    assert limit == 18.0 and hidden == 2 and kept.height == 19  # the null row is kept
    empty = pl.DataFrame({"elapsed_seconds": []}, schema={"elapsed_seconds": pl.Float64})
    assert _clip_long_tail(empty) == (empty, 0, None)
