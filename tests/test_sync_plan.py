"""Planning a sync: which days are fetched, and in how few windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.store import Store
from dashboard.store.sync import MAX_WINDOW_DAYS, REFRESH_AFTER, plan_sync

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def mark(store: Store, export_id: str, days: list[date], as_of: datetime, source: str = "sync test") -> None:
    store.record_days(export_id, {d: {"rows": 0, "fetched_at": as_of, "as_of": as_of.isoformat(), "source": source}
                                  for d in days})


def days_between(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def test_an_empty_store_needs_the_fewest_31_day_windows(tmp_path):
    store = Store(tmp_path)
    windows = plan_sync(store, date(2026, 8, 1), date(2026, 11, 20), exports=["incoming_post"], now=NOW)
    # 112 days -> 4 windows of at most 31 days, covering every day exactly once
    assert len(windows) == 4
    covered = [d for w in windows for d in w.days]
    assert covered == days_between(date(2026, 8, 1), date(2026, 11, 20))
    assert all(len(w.days) <= MAX_WINDOW_DAYS for w in windows)
    assert all(w.end - w.start <= timedelta(days=MAX_WINDOW_DAYS) for w in windows)
    # today's window ends now, not at midnight
    assert windows[-1].end == NOW and windows[0].start == datetime(2026, 8, 1, tzinfo=UTC)


def test_days_after_now_are_not_planned(tmp_path):
    windows = plan_sync(Store(tmp_path), date(2026, 11, 18), date(2026, 12, 5), exports=["response"], now=NOW)
    assert [w.days for w in windows] == [days_between(date(2026, 11, 18), date(2026, 11, 20))]
    midnight = datetime(2026, 11, 20, tzinfo=UTC)
    windows = plan_sync(Store(tmp_path), date(2026, 11, 18), date(2026, 11, 25), exports=["response"], now=midnight)
    assert windows[-1].last_day == date(2026, 11, 19)


def test_only_missing_and_unsettled_days_are_fetched(tmp_path):
    store = Store(tmp_path)
    fetched = NOW - timedelta(days=1)
    mark(store, "conversation", days_between(date(2026, 10, 1), date(2026, 11, 19)), fetched)
    mark(store, "incoming_post", days_between(date(2026, 10, 1), date(2026, 11, 19)), fetched)
    plan = {w.export_id: w for w in plan_sync(store, date(2026, 10, 1), date(2026, 11, 20),
                                              exports=["conversation", "incoming_post"], now=NOW)}
    # events settle an hour after their day: only the last fetched day and today are re-fetched
    assert plan["incoming_post"].days == [date(2026, 11, 19), date(2026, 11, 20)]
    # conversations change for a week after creation: the week before the fetch is re-fetched too
    assert plan["conversation"].first_day == date(2026, 11, 12)
    assert plan["conversation"].last_day == date(2026, 11, 20)


def test_a_fresh_fetch_is_not_repeated_within_the_refresh_interval(tmp_path):
    store = Store(tmp_path)
    mark(store, "conversation", days_between(date(2026, 10, 20), date(2026, 11, 20)), NOW)
    assert plan_sync(store, date(2026, 10, 20), date(2026, 11, 20), exports=["conversation"], now=NOW) == []
    later = NOW + REFRESH_AFTER + timedelta(seconds=1)
    assert plan_sync(store, date(2026, 10, 20), date(2026, 11, 20), exports=["conversation"], now=later)


def test_gaps_are_bridged_when_that_saves_a_job(tmp_path):
    store = Store(tmp_path)
    # settled everywhere except 1 Oct and 20 Oct: one window covers both
    mark(store, "response", days_between(date(2026, 10, 2), date(2026, 10, 19)), NOW)
    mark(store, "response", days_between(date(2026, 10, 21), date(2026, 11, 19)), NOW)
    windows = plan_sync(store, date(2026, 10, 1), date(2026, 11, 19), exports=["response"], now=NOW)
    assert [(w.first_day, w.last_day) for w in windows] == [(date(2026, 10, 1), date(2026, 10, 20))]


def test_imported_days_are_fetched_from_the_api(tmp_path):
    store = Store(tmp_path)
    mark(store, "response", [date(2026, 10, 5)], NOW, source="import r.csv")
    windows = plan_sync(store, date(2026, 10, 5), date(2026, 10, 5), exports=["response"], now=NOW)
    assert [w.days for w in windows] == [[date(2026, 10, 5)]]


def test_author_versions_are_fetched_from_further_back(tmp_path):
    windows = plan_sync(Store(tmp_path), date(2026, 11, 1), date(2026, 11, 19), exports=["author", "response"],
                        now=NOW, author_lookback_days=60)
    by_export: dict[str, list[date]] = {}
    for w in windows:
        by_export.setdefault(w.export_id, []).extend(w.days)
    assert by_export["author"][0] == date(2026, 9, 2) and by_export["author"][-1] == date(2026, 11, 19)
    assert by_export["response"][0] == date(2026, 11, 1)


# ---- properties --------------------------------------------------------------------------------------------



def fewest_windows(needed: list[int], span: int) -> int:
    """Minimum number of windows of ``span`` consecutive days covering every needed day (dynamic programming)."""
    best = {len(needed): 0}
    for i in range(len(needed) - 1, -1, -1):
        j = i
        while j < len(needed) and needed[j] < needed[i] + span:
            j += 1
        best[i] = 1 + best[j]
    return best[0] if needed else 0


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=120), max_size=60))
def test_windows_cover_exactly_the_unsettled_days_with_the_fewest_jobs(tmp_path_factory, settled_offsets):
    store = Store(tmp_path_factory.mktemp("plan"))
    first = date(2026, 7, 1)
    settled = [first + timedelta(days=o) for o in sorted(settled_offsets)]
    mark(store, "response", settled, NOW)
    last = first + timedelta(days=120)
    windows = plan_sync(store, first, last, exports=["response"], now=NOW)
    needed = [d for d in days_between(first, last) if d not in set(settled)]
    covered = [d for w in windows for d in w.days]
    assert set(needed) <= set(covered) and len(covered) == len(set(covered))
    assert all(len(w.days) <= MAX_WINDOW_DAYS and w.first_day in needed and w.last_day in needed for w in windows)
    offsets = [(d - first).days for d in needed]
    assert len(windows) == fewest_windows(offsets, MAX_WINDOW_DAYS)
