"""Slots and windows, worked out by hand: the slot at, just before and after its minute, across daylight saving,
the catch-up horizon, and the local days of every window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.notify.schedule import digest_window, due_slot, latest_slot, next_slot, slot_key

NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_slot_at_its_own_minute_is_that_minute() -> None:
    # 08:00 New York on 18 Nov 2026 (EST) is 13:00 UTC
    assert latest_slot("0 8 * * *", NY, utc(2026, 11, 18, 13, 0)) == utc(2026, 11, 18, 13, 0)
    assert latest_slot("0 8 * * *", NY, utc(2026, 11, 18, 13, 0, 0) + timedelta(microseconds=1)) == utc(
        2026, 11, 18, 13, 0)
    assert latest_slot("0 8 * * *", NY, utc(2026, 11, 18, 12, 59, 59)) == utc(2026, 11, 17, 13, 0)
    assert next_slot("0 8 * * *", NY, utc(2026, 11, 18, 13, 0)) == utc(2026, 11, 19, 13, 0)


def test_daylight_saving_changes_follow_debian_cron() -> None:
    # Spring forward, 8 Mar 2026: 02:30 does not exist; the job runs at 03:00 EDT (07:00 UTC).
    assert latest_slot("30 2 * * *", NY, utc(2026, 3, 8, 12, 0)) == utc(2026, 3, 8, 7, 0)
    # Fall back, 1 Nov 2026: 01:30 happens twice; the job runs once, at the first (EDT, 05:30 UTC).
    assert latest_slot("30 1 * * *", NY, utc(2026, 11, 1, 12, 0)) == utc(2026, 11, 1, 5, 30)
    assert next_slot("30 1 * * *", NY, utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30)
    # 08:00 local is 12:00 UTC in summer and 13:00 UTC in winter
    assert latest_slot("0 8 * * *", NY, utc(2026, 7, 1, 12, 5)) == utc(2026, 7, 1, 12, 0)


def test_a_slot_is_due_until_the_catch_up_horizon() -> None:
    six_hours = timedelta(hours=6)
    assert due_slot("0 8 * * *", NY, utc(2026, 11, 18, 13, 0), six_hours) == utc(2026, 11, 18, 13, 0)
    assert due_slot("0 8 * * *", NY, utc(2026, 11, 18, 19, 0), six_hours) == utc(2026, 11, 18, 13, 0)
    assert due_slot("0 8 * * *", NY, utc(2026, 11, 18, 19, 1), six_hours) is None
    # a job down for two days sends only the latest slot, never the backlog
    assert due_slot("*/30 * * * *", NY, utc(2026, 11, 20, 9, 47), six_hours) == utc(2026, 11, 20, 9, 30)


def test_slot_key_is_the_rule_and_the_utc_instant() -> None:
    assert slot_key("daily", datetime(2026, 11, 18, 8, 0, tzinfo=UTC)) == "daily@2026-11-18T08:00:00Z"


@pytest.mark.parametrize(("window", "slot", "expected"), [
    ("yesterday", utc(2026, 11, 18, 13, 0), (date(2026, 11, 17), date(2026, 11, 18))),
    # 00:30 UTC on the 18th is still the 17th in New York: yesterday is the 16th
    ("yesterday", utc(2026, 11, 18, 0, 30), (date(2026, 11, 16), date(2026, 11, 17))),
    # Wednesday 18 Nov: the last whole week is Mon 9 – Sun 15
    ("last_week", utc(2026, 11, 18, 13, 0), (date(2026, 11, 9), date(2026, 11, 16))),
    # on a Monday (16 Nov) it is the week that just ended
    ("last_week", utc(2026, 11, 16, 13, 0), (date(2026, 11, 9), date(2026, 11, 16))),
    ("month_to_date", utc(2026, 11, 18, 13, 0), (date(2026, 11, 1), date(2026, 11, 18))),
    # on the 1st: the whole month that just ended
    ("month_to_date", utc(2026, 12, 1, 13, 0), (date(2026, 11, 1), date(2026, 12, 1))),
    ("last_28_days", utc(2026, 11, 18, 13, 0), (date(2026, 10, 21), date(2026, 11, 18))),
])
def test_windows_are_whole_local_days_before_the_slot(window: str, slot: datetime,
                                                      expected: tuple[date, date]) -> None:
    assert digest_window(window, slot, NY) == expected


def test_unknown_window_and_naive_instants_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown window"):
        digest_window("fortnight", utc(2026, 11, 18), NY)
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_slot("0 8 * * *", NY, datetime(2026, 11, 18, 8, 0))
