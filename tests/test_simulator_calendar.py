"""The simulated centre's business calendar: hours, holidays, DST, and the clock's inverse."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.simulator.calendar import build_calendar, us_holidays

NY = ZoneInfo("America/New_York")
CAL = build_calendar("America/New_York", date(2026, 1, 1), date(2027, 3, 31), (date(2026, 1, 1), date(2026, 12, 31)))
LATEST_DRAW = datetime(2026, 12, 20, tzinfo=NY)
MOST_BUSINESS_MS = 30 * 8 * 3600 * 1000
"""The property draws instants up to LATEST_DRAW plus up to 30 business days (8 h each): past mid-February with
the year-end holidays, so the calendar runs to the end of March. Beyond its last closing time a calendar runs
on as if open (by design), and the inverse would no longer hold: the test checks it stays inside."""


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_holidays_are_observed_on_weekdays():
    days = us_holidays(2026)
    assert days[date(2026, 7, 3)] == "Independence Day"  # 4 July 2026 is a Saturday
    assert days[date(2026, 11, 26)] == "Thanksgiving Day"
    assert days[date(2026, 9, 7)] == "Labor Day"
    assert all(d.weekday() < 5 for d in days)
    listed = {h["date"] for h in CAL.describe()["holidays"]}
    assert "2026-12-25" in listed and "2027-01-01" not in listed  # only holidays inside the period are listed


def test_opening_hours_follow_local_time_across_daylight_saving():
    # 9:00 New York is 14:00 UTC in winter and 13:00 UTC in summer.
    winter = CAL.add(np.array([ms(datetime(2026, 3, 6, 20, 0, tzinfo=NY))]), np.array([1000]))[0]
    assert datetime.fromtimestamp(winter / 1000, NY) == datetime(2026, 3, 9, 9, 0, 1, tzinfo=NY)
    summer = CAL.add(np.array([ms(datetime(2026, 7, 2, 17, 30, tzinfo=NY))]), np.array([60_000]))[0]
    # Friday 3 July is the observed Independence Day: the next opening is Monday 6 July.
    assert datetime.fromtimestamp(summer / 1000, NY) == datetime(2026, 7, 6, 9, 1, tzinfo=NY)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=ms(datetime(2026, 1, 2, tzinfo=NY)), max_value=ms(LATEST_DRAW)),
    st.integers(min_value=1, max_value=MOST_BUSINESS_MS),
)
@example(ms(LATEST_DRAW), MOST_BUSINESS_MS)  # the latest result the draws allow: 3 Feb 2027
def test_adding_business_time_is_the_inverse_of_the_clock(t, business_ms):
    out = CAL.add(np.array([t]), np.array([business_ms]))[0]
    assert out < CAL.closes[-1], "the draw left the calendar the test built: widen CAL, not the property"
    assert out >= t
    assert CAL.clock(np.array([out]))[0] - CAL.clock(np.array([t]))[0] == business_ms
    local = datetime.fromtimestamp(out / 1000, NY)
    assert local.weekday() < 5 and 9 <= local.hour + local.minute / 60 <= 17
