"""Staffing: Erlang C against published values, the forecast, the workload model and the gap worked out by hand,
and the forecast's error (WAPE) on a simulator world, reported."""

from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from dashboard.metrics import make_schedule
from dashboard.metrics._planning import PlanningError, local_hour_grid
from dashboard.metrics.occupancy import handling_segments, occupancy_hours
from dashboard.metrics.staffing import (
    ASYNC,
    REALTIME,
    GroupAssumptions,
    available_by_hour_of_week,
    backtest_forecast,
    erlang_c,
    erlang_c_agents,
    erlang_c_service_level,
    forecast_wape,
    hourly_arrivals,
    plan_staffing,
    poisson_quantile,
    seasonal_forecast,
    staffing_gap,
    staffing_requirements,
)
from tests._planning_helpers import build_tables, facts_of, states_frame, utc

# ------------------------------------------------------------------------------------------ Erlang C


def test_erlang_c_against_the_published_worked_example() -> None:
    # Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example"
    # (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm): 100 calls in 30 minutes, average
    # handling time 180 s, so 10 Erlangs; target answer time 20 s at 80 %. Published: 14 agents (raw), probability
    # of waiting 17.41 %, service level 88.84 %, occupancy 71.4 %. The same figures (rounded to 3 places) are the
    # expected values of pyworkforce's test suite (rodrigo-arenas/pyworkforce, queuing/tests/test_erlang.py).
    traffic = 100 * 180 / (30 * 60)
    assert traffic == 10
    assert erlang_c(14, traffic) == pytest.approx(0.1741, abs=5e-5)
    assert erlang_c_service_level(14, traffic, 180, 20) == pytest.approx(0.8884, abs=5e-5)
    assert traffic / 14 == pytest.approx(0.714, abs=5e-4)
    assert erlang_c_agents(traffic, 180, 20, 0.8) == 14
    # one agent fewer misses the target (13 agents: 79.6 % < 80 %)
    assert erlang_c_service_level(13, traffic, 180, 20) < 0.8 < erlang_c_service_level(14, traffic, 180, 20)
    # pyworkforce's second case: at 15 agents the probability of waiting is 0.102 and the service level 0.941
    assert erlang_c(15, traffic) == pytest.approx(0.102, abs=5e-4)
    assert erlang_c_service_level(15, traffic, 180, 20) == pytest.approx(0.941, abs=5e-4)


@pytest.mark.parametrize(("agents", "traffic"), [(5, 1.36), (10, 4.46), (20, 12.03), (50, 37.90)])
def test_the_erlang_b_recursion_behind_erlang_c_matches_the_erlang_b_table(agents: int, traffic: float) -> None:
    # The 1 % blocking column of the Erlang B table as printed in traffic-engineering tables (offered traffic that
    # N trunks carry with 1 % of calls blocked: 1.36, 4.46, 12.03 and 37.90 Erlangs for 5, 10, 20 and 50 trunks).
    # Erlang C is computed from the Erlang B recursion, C = N·B / (N − A·(1 − B)), so the table checks it too.
    from dashboard.metrics.staffing._queueing import _erlang_b

    assert _erlang_b(agents, traffic) == pytest.approx(0.01, rel=0.03)
    b = _erlang_b(agents, traffic)
    assert erlang_c(agents, traffic) == pytest.approx(agents * b / (agents - traffic * (1 - b)))


def test_erlang_c_edges() -> None:
    assert erlang_c(3, 0.0) == 0.0 and erlang_c(10, 10.0) == 1.0  # no traffic; an unstable queue always waits
    assert erlang_c_agents(0.0, 180, 20, 0.8) == 0
    assert erlang_c_agents(10, 180, 0, 0.8) == 14  # taken on arrival: C(N, A) <= 0.2 first at 14 (0.1741)
    with pytest.raises(PlanningError, match="attainment"):
        erlang_c_agents(10, 180, 20, 1.0)


def test_heavy_traffic_is_planned_without_numeric_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in the unstable hours once leaked as a RuntimeWarning
        # a long wait allowed against a short handle time: exp((A − n)·t/h) overflows for n well below A
        agents = erlang_c_agents(100.0, 1300, 12000, 0.8)
    assert agents == 101  # any stable number of agents takes 80 % within 12000 s
    assert erlang_c_service_level(101, 100.0, 1300, 12000) >= 0.8


def test_poisson_quantile_by_hand() -> None:
    # Poisson(1): P(0) = e^-1 = 0.368, P(<=1) = 0.736, P(<=2) = 0.920
    assert [poisson_quantile(1, p) for p in (0.3, 0.5, 0.8, 0.95)] == [0, 1, 2, 3]
    assert poisson_quantile(0, 0.9) == 0
    # the median of a Poisson with a whole-number mean is the mean; large means stay exact and cheap
    assert poisson_quantile(650, 0.5) == 650 and poisson_quantile(10_000, 0.5) == 10_000
    assert poisson_quantile(10_000, 0.8413) == pytest.approx(10_100, abs=3)  # one standard deviation up


# ------------------------------------------------------------------------------------------ arrivals and forecast


def test_hourly_arrivals_count_human_clock_starts_per_local_hour_and_group() -> None:
    # UTC 2026-11-16. c3 is bot-contained (no human clock): it needs no agent and is not an arrival.
    tables = build_tables({
        "c1": dict(posts=["2026-11-16 09:05"]),
        "c2": dict(posts=["2026-11-16 09:59"], network="brand_messenger"),
        "c3": dict(posts=["2026-11-16 09:30"], responses=[("2026-11-16 09:31", None, True)],
                   actions=[("CLOSED", "2026-11-16 09:40", None, None, None)], closed="2026-11-16 09:40"),
        "c4": dict(posts=["2026-11-16 10:00"]),
        "c5": dict(posts=["2026-11-17 00:00"]),  # the next day: outside the window
    })
    out = hourly_arrivals(facts_of(tables), start=date(2026, 11, 16), end=date(2026, 11, 17), tz="UTC").collect()
    assert out.height == 48  # 24 hours × 2 groups
    got = {(r["hour"], r["channel_group"]): r["arrivals"] for r in out.iter_rows(named=True) if r["arrivals"]}
    assert got == {(9, ASYNC): 1, (9, REALTIME): 1, (10, ASYNC): 1}


def history_frame(weeks: int, start: date, value) -> pl.DataFrame:
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
    grid = local_hour_grid(lo, lo + timedelta(days=7 * weeks), "UTC")
    rows = []
    for r in grid.iter_rows(named=True):
        week = (r["local_date"] - start).days // 7
        for group in (REALTIME, ASYNC):
            rows.append({**r, "channel_group": group, "arrivals": value(week, r["weekday"], r["hour"], group)})
    return pl.DataFrame(rows).with_columns(pl.col("hour_start", "hour_end").cast(pl.Datetime("ms", "UTC")))


def test_seasonal_forecast_and_its_wape_by_hand() -> None:
    # Three weeks from Monday 2026-10-26 (UTC). Async arrivals at 09:00 on weekday d of week w: 10·d + w;
    # nothing else anywhere.
    def value(week, weekday, hour, group):
        return 10 * weekday + week if (hour == 9 and group == ASYNC) else 0

    start, end = date(2026, 10, 26), date(2026, 11, 16)
    history = history_frame(3, start, value)
    forecast = seasonal_forecast(history, end=end, tz="UTC", horizon_days=14, weeks=2)
    assert forecast.height == 14 * 24 * 2
    nine = forecast.filter((pl.col("hour") == 9) & (pl.col("channel_group") == ASYNC))
    # mean of weeks 1 and 2 (the last two before the end): 10·d + 1.5, the same in both forecast weeks
    assert nine["forecast"].to_list() == [10 * d + 1.5 for d in range(1, 8)] * 2
    assert forecast.filter(pl.col("hour") != 9)["forecast"].sum() == 0
    # back-test: hold out week 2, forecast it from weeks 0 and 1 (10·d + 0.5) and naively from week 1 (10·d + 1):
    # errors 1.5 and 1 per day against actuals 10·d + 2, which add up to 280 + 14 = 294
    back = backtest_forecast(history, end=end, tz="UTC", holdout_weeks=1, weeks=2)
    total = forecast_wape(back).row(0, named=True)
    assert (total["hours"], total["actual"]) == (7 * 24, 294)
    assert total["wape"] == pytest.approx(10.5 / 294)
    assert total["naive_wape"] == pytest.approx(7 / 294)
    by_group = {r["channel_group"]: r for r in forecast_wape(back, ["channel_group"]).iter_rows(named=True)}
    assert by_group[REALTIME]["wape"] is None  # nothing arrived: no error to speak of


def test_the_forecast_says_when_the_history_is_too_short() -> None:
    history = history_frame(1, date(2026, 11, 9), lambda *_: 1)
    with pytest.raises(PlanningError, match=r"needs 4 week\(s\) of hourly arrivals before 2026-11-16"):
        seasonal_forecast(history, end=date(2026, 11, 16), tz="UTC")


# ------------------------------------------------------------------------------------------ agents needed


def flat_forecast(per_hour: float, days: int = 14, start: date = date(2026, 11, 16)) -> pl.DataFrame:
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
    grid = local_hour_grid(lo, lo + timedelta(days=days), "UTC")
    return pl.concat([grid.with_columns(channel_group=pl.lit(g),
                                        forecast=pl.lit(float(per_hour) if g == ASYNC else 0.0))
                      for g in (REALTIME, ASYNC)])


WEEKDAYS_9_TO_5 = make_schedule("UTC", {d: [("09:00", "17:00")] for d in
                                        ("monday", "tuesday", "wednesday", "thursday", "friday")})


def needed(frame: pl.DataFrame, day: int, hour: int, group: str = ASYNC) -> int:
    row = frame.filter((pl.col("local_date") == date(2026, 11, day)) & (pl.col("hour") == hour)
                       & (pl.col("channel_group") == group))
    return row["agents_needed"][0]


def test_workload_model_on_a_calendar_clock_by_hand() -> None:
    # 10 conversations an hour, 360 s of agent time each, 2 h target: 20 conversations in any 2 h, their median
    # count is 20, 20 × 360 s / 7200 s = 1 agent; with agents at most 80 % occupied, 1.25 -> 2.
    a = GroupAssumptions(ASYNC, target_seconds=7200, clock="calendar", busy_seconds_per_conversation=360)
    plan = staffing_requirements(flat_forecast(10), [a], attainment=0.5, occupancy_cap=1.0)
    assert set(plan["agents_needed"]) == {1}
    assert set(plan["load"].round(6)) == {20.0}  # the first hours look back into the week before (a copy)
    assert set(staffing_requirements(flat_forecast(10), [a], attainment=0.5, occupancy_cap=0.8)["agents_needed"]) \
        == {2}


def test_workload_model_on_business_hours_by_hand() -> None:
    # Monday to Friday 09:00-17:00, 1 business hour target, 10 an hour round the clock, 360 s each, median.
    a = GroupAssumptions(ASYNC, target_seconds=3600, clock="business", busy_seconds_per_conversation=360,
                         schedule=WEEKDAYS_9_TO_5)
    plan = staffing_requirements(flat_forecast(10), [a], attainment=0.5, occupancy_cap=1.0)
    # Monday 09:00: the weekend's arrivals (Fri 17:00 - Mon 09:00, 64 h × 10 = 640; the Friday evening taken from
    # the plan's own first week) start their clocks at the opening and are due by 10:00, with the hour's 10:
    # 650 × 360 / 3600 = 65 agents.
    assert needed(plan, 16, 9) == 65
    assert needed(plan, 16, 10) == 1 and needed(plan, 16, 16) == 1
    # Tuesday 09:00: the night's 16 h × 10 = 160, plus 10 -> 17
    assert needed(plan, 17, 9) == 17
    # closed hours need nobody on a business-hours target
    assert needed(plan, 16, 8) == 0 and needed(plan, 21, 12) == 0


def test_erlang_c_model_per_hour() -> None:
    # 200 real-time conversations an hour, 180 s each: 10 Erlangs. Target 30 s less a 10 s first touch = 20 s
    # to be taken: the published example's 14 agents at 80 %.
    frame = flat_forecast(0).with_columns(
        forecast=pl.when(pl.col("channel_group") == REALTIME).then(pl.lit(200.0)).otherwise(pl.lit(0.0)))
    a = GroupAssumptions(REALTIME, target_seconds=30, clock="calendar", busy_seconds_per_conversation=180,
                         first_touch_seconds=10)
    plan = staffing_requirements(frame, [a], attainment=0.8)
    assert set(plan["agents_needed"]) == {14}
    assert set(plan["load"]) == {10.0}
    assert plan["model"].unique().to_list() == ["erlang_c"]
    # closed hours on a business target: none needed then, the night's arrivals join the opening hour
    b = GroupAssumptions(REALTIME, target_seconds=30, clock="business", busy_seconds_per_conversation=180,
                         first_touch_seconds=10, schedule=WEEKDAYS_9_TO_5)
    business = staffing_requirements(frame, [b], attainment=0.8)
    assert needed(business, 17, 8, REALTIME) == 0 and needed(business, 17, 10, REALTIME) == 14
    assert business.filter((pl.col("local_date") == date(2026, 11, 17)) & (pl.col("hour") == 9))["load"][0] \
        == pytest.approx((200 * 17) * 180 / 3600)  # 16 night hours + its own


def test_assumptions_are_checked() -> None:
    with pytest.raises(PlanningError, match="needs its schedule"):
        GroupAssumptions(ASYNC, target_seconds=3600, clock="business", busy_seconds_per_conversation=60)
    with pytest.raises(PlanningError, match="no measured handling"):
        GroupAssumptions(ASYNC, target_seconds=3600, clock="calendar", busy_seconds_per_conversation=0)
    a = GroupAssumptions(ASYNC, target_seconds=3600, clock="calendar", busy_seconds_per_conversation=60)
    with pytest.raises(PlanningError, match="at least 7 days"):
        staffing_requirements(flat_forecast(1, days=3), [a])


def test_available_agents_and_the_gap_by_hand() -> None:
    # ann is available Monday 09:00-10:30 on two Mondays; bob 09:00-10:00 on the second only.
    states = states_frame([
        ("ann", "Available", "2026-11-02 09:00", "2026-11-02 10:30"),
        ("ann", "Available", "2026-11-09 09:00", "2026-11-09 10:30"),
        ("bob", "Available", "2026-11-09 09:00", "2026-11-09 10:00"),
    ])
    empty = build_tables({"x": dict(posts=["2026-11-01 00:00"])})
    segments = handling_segments(facts_of(empty), empty["incoming_post"], empty["response"],
                                 empty["conversation_history_action"])
    hours = occupancy_hours(segments, states, start=date(2026, 11, 2), end=date(2026, 11, 16), tz="UTC",
                            as_of=utc("2026-11-20 00:00"))
    available = available_by_hour_of_week(hours, end=date(2026, 11, 16), weeks=2)
    cell = {(r["weekday"], r["hour"]): r["available_agents"] for r in available.iter_rows(named=True)}
    assert cell[(1, 9)] == 1.5  # (1 + 2) / 2
    assert cell[(1, 10)] == 0.5  # (0.5 + 0.5) / 2
    assert cell[(1, 11)] == 0.0 and cell[(3, 9)] == 0.0
    a = GroupAssumptions(ASYNC, target_seconds=7200, clock="calendar", busy_seconds_per_conversation=360)
    requirements = staffing_requirements(flat_forecast(10), [a], attainment=0.5, occupancy_cap=1.0)  # 1 an hour
    gap = staffing_gap(requirements, available)
    monday = {r["hour"]: r for r in gap.filter(pl.col("local_date") == date(2026, 11, 16)).iter_rows(named=True)}
    assert (monday[9]["agents_needed"], monday[9]["available_agents"], monday[9]["short_by"], monday[9]["surplus"]) \
        == (1, 1.5, 0.0, 0.5)
    assert (monday[10]["short_by"], monday[11]["short_by"]) == (0.5, 1.0)
    assert gap.height == 14 * 24


# ------------------------------------------------------------------------------------------ the simulator


@pytest.fixture(scope="module")
def sim_world():
    from tests._planning_helpers import sim_world as build

    return build()


def test_forecast_wape_on_the_simulator_world(sim_world, record_property) -> None:
    _, facts, _ = sim_world
    end = date(2026, 11, 16)
    history = hourly_arrivals(facts, start=end - timedelta(weeks=6), end=end, tz="America/New_York").collect()
    # oracle for the counting: every conversation of the export with a human clock start in the six weeks
    lo, hi = datetime(2026, 10, 5, 4, tzinfo=UTC), datetime(2026, 11, 16, 5, tzinfo=UTC)
    expected = facts.filter(pl.col("clock_start").is_between(lo, hi, closed="left")).collect().height
    assert history["arrivals"].sum() == expected
    backtest = backtest_forecast(history, end=end, tz="America/New_York", holdout_weeks=2, weeks=4)
    total = forecast_wape(backtest).row(0, named=True)
    record_property("forecast_wape", round(total["wape"], 4))
    record_property("naive_wape", round(total["naive_wape"], 4))
    print(f"\nforecast WAPE per hour on the simulator world (seed 5, 300 a day, 2 held-back weeks): "
          f"{total['wape']:.3f} (same hour last week: {total['naive_wape']:.3f}; {total['actual']:.0f} arrivals)")
    assert total["hours"] == 14 * 24  # two weeks of local hours (no change of daylight saving in them)
    # The world's arrivals are Poisson around a weekly profile: at ~12 an hour the noise alone costs a WAPE near
    # 0.25; averaging four weeks must beat "same hour last week" clearly.
    assert total["wape"] < 0.45
    assert total["wape"] < total["naive_wape"] - 0.1


def test_the_whole_plan_on_the_simulator_world(sim_world) -> None:
    world, facts, policy = sim_world
    t = {k: v.lazy() for k, v in world.tables.items()}
    plan = plan_staffing(facts, t["incoming_post"], t["response"], t["conversation_history_action"],
                         t["raw_agent_states"], policy, end=date(2026, 11, 16), tz="America/New_York",
                         as_of=world.now)
    assert plan.wape == forecast_wape(plan.backtest)["wape"][0]
    assert {a.channel_group: a.model for a in plan.assumptions} == {REALTIME: "erlang_c", ASYNC: "workload"}
    # the prevailing target: the default policy's Standard 4 business hours (Standard is half the customers)
    assert {a.target_seconds for a in plan.assumptions} == {4 * 3600}
    assert plan.gap.height == 14 * 24
    thanksgiving = pl.col("local_date") == date(2026, 11, 26)  # a holiday of the default schedule
    is_open = (pl.col("weekday") <= 5) & pl.col("hour").is_between(9, 16) & ~thanksgiving
    open_hours, closed = plan.gap.filter(is_open), plan.gap.filter(~is_open)
    assert open_hours.height == 9 * 8
    assert closed["agents_needed"].sum() == 0  # a business-hours target needs nobody when closed
    assert (open_hours["agents_needed"] > 0).all()
    # agents work weekdays 9 to 5 in the simulator; on Thanksgiving the recent Thursdays' agents show as surplus
    assert (open_hours["available_agents"] > 0).all()
    assert closed.filter(~thanksgiving)["available_agents"].sum() == 0
    assert closed.filter(thanksgiving)["surplus"].sum() > 0
    # Monday mornings carry the weekend's work: more agents needed than on a Wednesday morning
    monday = plan.gap.filter((pl.col("weekday") == 1) & (pl.col("hour") == 9))["agents_needed"]
    wednesday = plan.gap.filter((pl.col("weekday") == 3) & (pl.col("hour") == 9))["agents_needed"]
    assert monday.min() > wednesday.max()
    assert math.isclose(plan.gap["forecast"].sum(), plan.forecast["forecast"].sum())
