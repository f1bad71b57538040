"""Volume per local day (DST day included), the arrivals heatmap, and the KPI summary against the previous
period — hand-made facts, answers by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.metrics import parse_policy
from dashboard.metrics.volume import KPI_UNITS, arrivals_heatmap, conversations_by_day, kpi_summary, previous_window

T = pl.Datetime("ms", "UTC")
POLICY = parse_policy('[schedules.default]\ntimezone = "UTC"\nmonday = [["00:00", "24:00"]]\n'
                      '[[targets]]\nmetric = "first_response"\ntarget = "1h"\nclock = "calendar"\n')


def utc(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


def test_conversations_by_day_in_the_report_zone_across_dst_end() -> None:
    # DST ends 2026-11-01 in New York. 03:30Z Nov 1 = Oct 31 23:30 EDT; 04:30Z Nov 1 = Nov 1 00:30 EDT;
    # 04:30Z Nov 2 = Nov 1 23:30 EST (Nov 1 is 25 h long); 05:30Z Nov 2 = Nov 2 00:30 EST.
    facts = pl.DataFrame({
        "first_inbound_time": [utc(1, 3, 30), utc(1, 4, 30), utc(2, 4, 30), utc(2, 5, 30)],
        "network": ["twitter", "twitter", "facebook", "twitter"],
    }, schema_overrides={"first_inbound_time": T}).lazy()
    total = conversations_by_day(facts, date(2026, 10, 31), date(2026, 11, 4), "America/New_York", by=None).collect()
    assert total["conversations"].to_list() == [1, 2, 1, 0]
    split = conversations_by_day(facts, date(2026, 10, 31), date(2026, 11, 4), "America/New_York").collect()
    assert split.height == 4 * 2  # every day for every channel
    nov1 = split.filter(pl.col("day") == date(2026, 11, 1))
    assert dict(zip(nov1["network"], nov1["conversations"], strict=True)) == {"facebook": 1, "twitter": 1}
    in_utc = conversations_by_day(facts, date(2026, 11, 1), date(2026, 11, 3), "UTC", by=None).collect()
    assert in_utc["conversations"].to_list() == [2, 2]


def test_arrivals_heatmap_has_every_cell() -> None:
    facts = pl.DataFrame({"first_inbound_time": [utc(16, 14), utc(16, 14, 59), utc(22, 3)]},
                         schema_overrides={"first_inbound_time": T}).lazy()
    out = arrivals_heatmap(facts, "America/New_York").collect()
    assert out.height == 7 * 24
    # Monday 2026-11-16 14:xx UTC = 09:xx EST (weekday 1, hour 9); Sunday 22nd 03:00 UTC = Saturday 22:00
    assert out.filter((pl.col("weekday") == 1) & (pl.col("hour") == 9))["conversations"].item() == 2
    assert out.filter((pl.col("weekday") == 6) & (pl.col("hour") == 22))["conversations"].item() == 1
    assert out["conversations"].sum() == 3


def test_kpi_summary_against_previous_period() -> None:
    rows = [
        # current window Nov 16: answered in 30 min (achieved)
        ("c1", utc(16, 9), utc(16, 9, 30), False, False),
        # bot handled alone
        ("c2", utc(16, 10), None, True, True),
        # bot first, handed off, answered after 2 h (breached)
        ("c3", utc(16, 11), utc(16, 13), True, False),
        # previous window Nov 15: answered in 10 min
        ("p1", utc(15, 9), utc(15, 9, 10), False, False),
        # outside both windows
        ("old", utc(10, 9), utc(10, 9, 5), False, False),
    ]
    facts = pl.DataFrame(
        [{"conversation_id": c, "first_inbound_time": t0, "clock_start": t0, "created_time": t0,
          "first_response_time": t1, "closed_time": None, "bot_first": bf, "bot_contained": bc, "tier": "Gold",
          "priority": 2, "network": "twitter"} for c, t0, t1, bf, bc in rows],
        schema_overrides={"first_response_time": T, "closed_time": T, "first_inbound_time": T,
                          "clock_start": T, "created_time": T},
    ).lazy()
    out = kpi_summary(facts, POLICY, start=date(2026, 11, 16), end=date(2026, 11, 17), tz="UTC",
                      as_of=utc(20, 0)).collect()
    assert out["kpi"].to_list() == list(KPI_UNITS)
    kpi = {r["kpi"]: r for r in out.iter_rows(named=True)}
    assert (kpi["conversations"]["value"], kpi["conversations"]["previous"], kpi["conversations"]["change"]) == (
        3, 1, 2)
    assert kpi["first_response_attainment"]["value"] == 0.5
    assert kpi["first_response_attainment"]["previous"] == 1.0
    assert kpi["first_response_attainment"]["change"] == -0.5
    # responded 1800 and 7200: nearest-rank median = ceil(0.5 * 2) = 1st = 1800; p90 = 2nd = 7200
    assert (kpi["frt_median_seconds"]["value"], kpi["frt_p90_seconds"]["value"]) == (1800, 7200)
    assert kpi["frt_median_seconds"]["previous"] == 600
    assert kpi["bot_containment_rate"]["value"] == 0.5
    assert kpi["bot_containment_rate"]["previous"] is None
    assert kpi["resolution_attainment"]["value"] is None  # no resolution target in this policy
    assert kpi["first_response_attainment"]["unit"] == "ratio"


def test_previous_window() -> None:
    assert previous_window(date(2026, 11, 16), date(2026, 11, 23)) == (date(2026, 11, 9), date(2026, 11, 16))
    with pytest.raises(ValueError):
        previous_window(date(2026, 11, 16), date(2026, 11, 16))
