"""Business clock: hand-checked durations across DST, holidays and weekends; properties against a brute-force
minute-by-minute oracle; the inverse round-trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.metrics.business_hours import (
    WEEKDAYS,
    ScheduleError,
    add_business_seconds,
    business_clock_ms,
    business_seconds,
    is_business_time,
    make_schedule,
)

NY = ZoneInfo("America/New_York")
OFFICE = make_schedule(
    "America/New_York",
    {d: [("09:00", "17:00")] for d in WEEKDAYS[:5]},
    holidays=["2026-11-26"],
)
# Split days, a late shift that closes at midnight, Saturday mornings, and a change of hours on 2026-06-01.
SPLIT = make_schedule(
    "Europe/London",
    {
        "monday": [("08:30", "12:00"), ("13:00", "17:45")],
        "tuesday": [("08:30", "12:00"), ("13:00", "17:45")],
        "wednesday": [("08:30", "12:00"), ("13:00", "22:00")],
        "thursday": [("00:00", "24:00")],
        "friday": [("08:30", "12:00")],
        "saturday": [("10:00", "12:00")],
    },
    holidays=["2026-12-25", "2026-03-30"],
    changes=[("2026-06-01", {"monday": [("09:00", "17:00")], "friday": [("00:00", "24:00")]})],
    name="split",
)


def ny(text: str) -> datetime:
    """A New York wall-clock time as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


def bh(a: datetime, b: datetime, schedule=OFFICE) -> float:
    frame = pl.DataFrame({"a": [a], "b": [b]}, schema={"a": pl.Datetime("ms", "UTC"), "b": pl.Datetime("ms", "UTC")})
    return frame.select(business_seconds(pl.col("a"), pl.col("b"), schedule)).item()


def plus(t: datetime, seconds: float, schedule=OFFICE) -> datetime:
    frame = pl.DataFrame({"t": [t]}, schema={"t": pl.Datetime("ms", "UTC")})
    return frame.select(add_business_seconds(pl.col("t"), seconds, schedule)).item()


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        # same day, inside hours
        ("2026-11-16 10:00", "2026-11-16 12:30", 2.5),
        # arrives before opening, answered after closing: the whole 8 h day
        ("2026-11-16 07:00", "2026-11-16 19:00", 8.0),
        # weekend: nothing
        ("2026-11-14 10:00", "2026-11-15 16:00", 0.0),
        # Friday 16:30 to Monday 09:45 across the weekend: 30 min + 45 min
        ("2026-11-13 16:30", "2026-11-16 09:45", 1.25),
        # DST starts Sunday 2026-03-08: Friday 16:30 EST to Monday 09:45 EDT = 30 + 45 min (not 23 h off)
        ("2026-03-06 16:30", "2026-03-09 09:45", 1.25),
        # DST ends Sunday 2026-11-01: Friday 16:00 EDT to Monday 10:00 EST = 1 h + 1 h
        ("2026-10-30 16:00", "2026-11-02 10:00", 2.0),
        # Thanksgiving (Thursday 2026-11-26) is a holiday: Wednesday 16:00 -> Friday 09:30 = 1 h + 30 min
        ("2026-11-25 16:00", "2026-11-27 09:30", 1.5),
        # a full week with the holiday: 4 days x 8 h
        ("2026-11-23 00:00", "2026-11-30 00:00", 32.0),
        # reversed interval is negative (F(b) - F(a))
        ("2026-11-16 12:00", "2026-11-16 10:00", -2.0),
    ],
)
def test_hand_checked_business_hours(start: str, end: str, hours: float) -> None:
    assert bh(ny(start), ny(end)) == hours * 3600


def test_dst_start_day_is_23_hours_for_a_round_the_clock_schedule() -> None:
    always = make_schedule("America/New_York", {d: [("00:00", "24:00")] for d in WEEKDAYS}, name="always")
    assert bh(ny("2026-03-08 00:00"), ny("2026-03-09 00:00"), always) == 23 * 3600
    assert bh(ny("2026-11-01 00:00"), ny("2026-11-02 00:00"), always) == 25 * 3600
    # a normal day
    assert bh(ny("2026-11-03 00:00"), ny("2026-11-04 00:00"), always) == 24 * 3600


@pytest.mark.parametrize(
    ("start", "seconds", "expected"),
    [
        ("2026-11-16 10:00", 3600, "2026-11-16 11:00"),
        # starts before opening: counts from 09:00
        ("2026-11-16 07:00", 3600, "2026-11-16 10:00"),
        # runs over the close into the next morning
        ("2026-11-16 16:30", 3600, "2026-11-17 09:30"),
        # Friday evening, weekend, DST start: Monday 10:00 EDT
        ("2026-03-06 18:00", 3600, "2026-03-09 10:00"),
        # over the Thanksgiving holiday
        ("2026-11-25 16:00", 2 * 3600, "2026-11-27 10:00"),
        # exactly a day's worth ends at the close, not the next opening
        ("2026-11-16 09:00", 8 * 3600, "2026-11-16 17:00"),
        # zero seconds out of hours is the instant itself
        ("2026-11-14 10:00", 0, "2026-11-14 10:00"),
    ],
)
def test_hand_checked_inverse(start: str, seconds: float, expected: str) -> None:
    assert plus(ny(start), seconds) == ny(expected)


def test_is_business_time_open_inclusive_close_exclusive() -> None:
    frame = pl.DataFrame(
        {"t": [ny("2026-11-16 09:00"), ny("2026-11-16 16:59"), ny("2026-11-16 17:00"), ny("2026-11-26 10:00"), None]},
        schema={"t": pl.Datetime("ms", "UTC")},
    )
    assert frame.select(is_business_time(pl.col("t"), OFFICE)).to_series().to_list() == [True, True, False, False,
                                                                                         None]


def test_nulls_and_out_of_range_give_null() -> None:
    frame = pl.DataFrame(
        {"a": [None, datetime(1990, 1, 1, tzinfo=UTC)], "b": [ny("2026-11-16 10:00")] * 2},
        schema={"a": pl.Datetime("ms", "UTC"), "b": pl.Datetime("ms", "UTC")},
    )
    assert frame.select(business_seconds(pl.col("a"), pl.col("b"), OFFICE)).to_series().to_list() == [None, None]


def test_schedule_version_applies_from_its_date() -> None:
    # Monday 2026-05-25 (old hours 08:30-12:00, 13:00-17:45 = 8.25 h) vs Monday 2026-06-01 (new: 09:00-17:00)
    london = ZoneInfo("Europe/London")

    def ld(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=london).astimezone(UTC)

    assert bh(ld("2026-05-25 00:00"), ld("2026-05-26 00:00"), SPLIT) == 8.25 * 3600
    assert bh(ld("2026-06-01 00:00"), ld("2026-06-02 00:00"), SPLIT) == 8 * 3600
    # Friday 2026-05-29 old hours (3.5 h); Friday 2026-06-05 round the clock
    assert bh(ld("2026-05-29 00:00"), ld("2026-05-30 00:00"), SPLIT) == 3.5 * 3600
    assert bh(ld("2026-06-05 00:00"), ld("2026-06-06 00:00"), SPLIT) == 24 * 3600


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"monday": [("09:00", "08:00")]}, "closes before it opens"),
        ({"monday": [("09:00", "12:00"), ("11:00", "13:00")]}, "overlap"),
        ({"monday": [("9am", "12:00")]}, "not a time of day"),
        ({"moonday": [("09:00", "12:00")]}, "unknown weekday"),
        ({"monday": [("09:00", "24:30")]}, "after 24:00"),
    ],
)
def test_bad_schedules_are_rejected(hours, message) -> None:
    with pytest.raises(ScheduleError, match=message):
        make_schedule("America/New_York", hours)


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        make_schedule("America/Gotham", {"monday": [("09:00", "17:00")]})


# ---- properties -------------------------------------------------------------------------------------------

def _oracle_minutes(a: datetime, b: datetime, schedule) -> int:
    """Business minutes in [a, b) by looking at the local wall clock of every UTC minute (independent of the
    interval table): slow, obviously right, only for short spans on minute boundaries."""
    zone = ZoneInfo(schedule.timezone)
    count = 0
    t = a
    while t < b:
        local = t.astimezone(zone)
        seconds = local.hour * 3600 + local.minute * 60
        if any(o <= seconds < c for o, c in schedule.hours_on(local.date())):
            count += 1
        t += timedelta(minutes=1)
    return count


BASE = datetime(2026, 1, 1, tzinfo=UTC)
minutes_2026 = st.integers(min_value=0, max_value=365 * 24 * 60)
span = st.integers(min_value=0, max_value=4 * 24 * 60)


@settings(max_examples=40, deadline=None)
@given(start=minutes_2026, length=span, schedule=st.sampled_from([OFFICE, SPLIT]))
def test_business_seconds_match_minute_by_minute_oracle(start: int, length: int, schedule) -> None:
    a = BASE + timedelta(minutes=start)
    b = a + timedelta(minutes=length)
    assert bh(a, b, schedule) == _oracle_minutes(a, b, schedule) * 60


ms_2025_2027 = st.integers(min_value=int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000),
                           max_value=int(datetime(2027, 12, 31, tzinfo=UTC).timestamp() * 1000))


@settings(max_examples=60, deadline=None)
@given(points=st.lists(ms_2025_2027, min_size=3, max_size=3), schedule=st.sampled_from([OFFICE, SPLIT]))
def test_additive_and_bounded(points: list[int], schedule) -> None:
    a, b, c = sorted(points)
    frame = pl.DataFrame({"a": [a], "b": [b], "c": [c]}).with_columns(pl.all().cast(pl.Datetime("ms", "UTC")))
    row = frame.select(
        ab=business_clock_ms(pl.col("b"), schedule) - business_clock_ms(pl.col("a"), schedule),
        bc=business_clock_ms(pl.col("c"), schedule) - business_clock_ms(pl.col("b"), schedule),
        ac=business_clock_ms(pl.col("c"), schedule) - business_clock_ms(pl.col("a"), schedule),
    ).row(0, named=True)
    assert row["ab"] + row["bc"] == row["ac"]
    assert 0 <= row["ab"] <= b - a
    assert 0 <= row["ac"] <= c - a


@settings(max_examples=60, deadline=None)
@given(t=ms_2025_2027, seconds=st.integers(min_value=0, max_value=30 * 24 * 3600),
       schedule=st.sampled_from([OFFICE, SPLIT]))
def test_inverse_round_trips(t: int, seconds: int, schedule) -> None:
    frame = pl.DataFrame({"t": [t]}).with_columns(pl.col("t").cast(pl.Datetime("ms", "UTC")))
    out = frame.with_columns(later=add_business_seconds(pl.col("t"), seconds, schedule)).with_columns(
        gained=business_clock_ms(pl.col("later"), schedule) - business_clock_ms(pl.col("t"), schedule),
        before=add_business_seconds(pl.col("t"), seconds, schedule)
        - pl.duration(milliseconds=1),
    ).with_columns(
        gained_before=business_clock_ms(pl.col("before"), schedule) - business_clock_ms(pl.col("t"), schedule),
    ).row(0, named=True)
    # exactly B business seconds have passed at the result ...
    assert out["gained"] == seconds * 1000
    assert out["later"] >= datetime.fromtimestamp(t / 1000, UTC)
    # ... and it is the first such instant (one ms earlier, fewer had passed) unless B is 0
    if seconds > 0:
        assert out["gained_before"] < seconds * 1000


@settings(max_examples=40, deadline=None)
@given(points=st.lists(ms_2025_2027, min_size=2, max_size=2), schedule=st.sampled_from([OFFICE, SPLIT]))
def test_inverse_of_elapsed_lands_at_or_before_the_end(points: list[int], schedule) -> None:
    t, u = sorted(points)
    frame = pl.DataFrame({"t": [t], "u": [u]}).with_columns(pl.all().cast(pl.Datetime("ms", "UTC")))
    out = frame.with_columns(
        back=add_business_seconds(pl.col("t"), business_seconds(pl.col("t"), pl.col("u"), schedule), schedule)
    ).with_columns(rest=business_seconds(pl.col("back"), pl.col("u"), schedule)).row(0, named=True)
    assert out["back"] <= out["u"]
    assert out["rest"] == 0


def test_clock_covers_the_documented_range() -> None:
    early = pl.DataFrame({"t": [datetime(2000, 1, 3, 15, tzinfo=UTC), datetime(2060, 12, 29, 15, tzinfo=UTC)]},
                         schema={"t": pl.Datetime("ms", "UTC")})
    values = early.select(business_clock_ms(pl.col("t"), OFFICE)).to_series().to_list()
    assert values[0] == 3600 * 1000  # Monday 2000-01-03 10:00 EST: one hour after the first opening
    assert values[1] is not None and values[1] > values[0]
    assert date(2000, 1, 3).weekday() == 0
