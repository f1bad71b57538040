"""When a digest is due, and which days it covers.

A digest's *slot* is an instant its cron expression names, read in the rule's IANA time zone (cronsim, which
follows Debian's cron across daylight saving: a time the spring change skips fires at the first valid minute
after it, a time the autumn change repeats fires once). At an instant ``at`` the slot due is the latest one at
or before ``at``, if it is at most ``catch_up`` old — so a job that runs every few minutes, or late after a
restart, sends each digest once per slot and never a backlog of missed ones.

The window is a set of whole local days before the slot's day, in the rule's time zone:

- ``yesterday``: the day before;
- ``last_week``: the last complete week, Monday to Sunday;
- ``month_to_date``: the month of yesterday, from its first day to yesterday (on the 1st: the whole past month);
- ``last_28_days``: the 28 days before.

Figures are evaluated as of the slot, so a late run reports what was known at the scheduled time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from dashboard.notify.rules import WINDOWS

__all__ = ["digest_window", "due_slot", "latest_slot", "next_slot", "slot_key"]


def latest_slot(schedule: str, timezone: str, at: datetime) -> datetime | None:
    """The latest instant (UTC) at or before ``at`` that ``schedule`` names in ``timezone``; None if none in
    the past 50 years."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(ZoneInfo(timezone))
    # cronsim's reverse iteration starts *before* a whole-second start; a microsecond past it includes it.
    probe = local.replace(microsecond=0) + timedelta(microseconds=1)
    try:
        return next(CronSim(schedule, probe, reverse=True)).astimezone(UTC)
    except StopIteration:
        return None


def next_slot(schedule: str, timezone: str, after: datetime) -> datetime | None:
    """The first instant (UTC) strictly after ``after`` that ``schedule`` names in ``timezone``."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    local = after.astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    try:
        return next(CronSim(schedule, local)).astimezone(UTC)
    except StopIteration:
        return None


def due_slot(schedule: str, timezone: str, at: datetime, catch_up: timedelta) -> datetime | None:
    """The slot due at ``at``: the latest one at or before it, unless it is older than ``catch_up``."""
    slot = latest_slot(schedule, timezone, at)
    if slot is None or at - slot > catch_up:
        return None
    return slot


def digest_window(window: str, slot: datetime, timezone: str) -> tuple[date, date]:
    """``[start, end)`` local days of ``window`` for a digest sent at ``slot`` (see the module docstring)."""
    today = slot.astimezone(ZoneInfo(timezone)).date()
    if window == "yesterday":
        return today - timedelta(days=1), today
    if window == "last_week":
        this_monday = today - timedelta(days=today.weekday())
        return this_monday - timedelta(days=7), this_monday
    if window == "month_to_date":
        yesterday = today - timedelta(days=1)
        return yesterday.replace(day=1), today
    if window == "last_28_days":
        return today - timedelta(days=28), today
    raise ValueError(f"unknown window {window!r}; known: {', '.join(WINDOWS)}")


def slot_key(rule_name: str, slot: datetime) -> str:
    """The state key of one digest slot: the rule's name and the slot as a UTC instant."""
    return f"{rule_name}@{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
