"""Hand-checked answers for the page aggregations in ``dashboard.metrics.pages_support``."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.metrics import pages_support as ps
from dashboard.schema import TIME


def _times(*values: datetime) -> pl.Series:
    return pl.Series(list(values), dtype=TIME)


def test_window_bounds_are_local_midnights_across_a_dst_change():
    # New York leaves daylight saving on 1 Nov 2026: midnight is 04:00 UTC before, 05:00 UTC after.
    lo, hi = ps.window_bounds(date(2026, 10, 31), date(2026, 11, 2), "America/New_York")
    assert lo == datetime(2026, 10, 31, 4, tzinfo=UTC)
    assert hi == datetime(2026, 11, 2, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="must end after it starts"):
        ps.window_bounds(date(2026, 11, 2), date(2026, 11, 2), "UTC")


def test_in_window_keeps_the_start_and_drops_the_end():
    frame = pl.DataFrame({"t": _times(datetime(2026, 11, 2, 5, tzinfo=UTC), datetime(2026, 11, 3, 4, 59, tzinfo=UTC),
                                      datetime(2026, 11, 3, 5, tzinfo=UTC))})
    kept = ps.in_window(frame, date(2026, 11, 2), date(2026, 11, 3), "America/New_York", "t")
    assert kept.height == 2


def test_volume_and_daily_counts_use_local_days():
    # 03:00 UTC on 3 Nov is still 2 Nov in New York.
    frame = pl.DataFrame({
        "t": _times(datetime(2026, 11, 3, 3, tzinfo=UTC), datetime(2026, 11, 3, 15, tzinfo=UTC),
                    datetime(2026, 11, 3, 16, tzinfo=UTC), None),
        "network": ["twitter", "twitter", "facebook", "twitter"],
    })
    daily = ps.volume_by_day(frame, "America/New_York", time_column="t")
    assert daily.rows() == [(date(2026, 11, 2), "twitter", 1), (date(2026, 11, 3), "facebook", 1),
                            (date(2026, 11, 3), "twitter", 1)]
    counts = ps.daily_counts(frame, date(2026, 11, 1), date(2026, 11, 4), "America/New_York", time_column="t")
    assert counts.rows() == [(date(2026, 11, 1), 0), (date(2026, 11, 2), 1), (date(2026, 11, 3), 2)]


def test_heatmap_counts_local_weekday_and_hour():
    frame = pl.DataFrame({"t": _times(datetime(2026, 11, 2, 14, tzinfo=UTC), datetime(2026, 11, 2, 14, 30, tzinfo=UTC),
                                      datetime(2026, 11, 8, 4, tzinfo=UTC))})
    heat = ps.arrivals_heatmap(frame.lazy(), "America/New_York", time_column="t").collect()
    # Mon 2 Nov 09:00 local (x2); Sun 8 Nov 04:00 UTC = Sat 7 Nov 23:00 local.
    assert heat.rows() == [(1, 9, 2), (6, 23, 1)]


def _states() -> pl.DataFrame:
    t = lambda h, m=0: datetime(2026, 11, 2, h, m, tzinfo=UTC)  # noqa: E731
    return pl.DataFrame({
        "agent_id": ["a", "a", "b", "c", "d"],
        "agent_name": ["Ann", "Ann", "Bob", None, "Dee"],
        "state": ["Available", "Lunch", "Available", "Busy", "Available"],
        "start_time": _times(t(9), t(12), t(9), t(11), t(8)),
        "end_time": _times(t(12), t(13), None, t(11, 30), t(10)),
    })


def test_agent_states_now_counts_each_agents_covering_interval():
    now = ps.agent_states_now(_states(), datetime(2026, 11, 2, 12, 15, tzinfo=UTC))
    # a: Lunch (12-13); b: Available (open); c ended 11:30; d ended 10:00 -> not counted.
    assert now.rows() == [("Available", 1), ("Lunch", 1)]


def test_agent_state_timeline_clips_to_the_window():
    timeline = ps.agent_state_timeline(_states(), datetime(2026, 11, 2, 11, tzinfo=UTC),
                                       datetime(2026, 11, 2, 12, 30, tzinfo=UTC))
    rows = {(r["agent_name"], r["state"]): r["seconds"] for r in timeline.iter_rows(named=True)}
    assert rows == {("Ann", "Available"): 3600.0, ("Ann", "Lunch"): 1800.0, ("Bob", "Available"): 5400.0,
                    ("c", "Busy"): 1800.0}
