"""Sync: Khoros (or the simulator) -> the local store, incremental, economical and resumable.

- **What is fetched.** For each export, the UTC days of ``[start, end]`` (both inclusive, up to ``now``) that
  are *missing* from the manifest or *unsettled*: fetched before the day ended plus the export's settle
  margin. Conversations change after creation (status, closed time, tags), so their days stay unsettled for a
  week; agent states get a day (an open state's ``end_time`` fills in); event exports (posts, responses,
  actions, author versions) are immutable per event time and only need the day to be over (plus an hour of
  ingestion lag).
- **How.** The days to fetch are covered with the fewest windows of at most 31 days (greedy from the
  earliest needed day; optimal for covering points with fixed-length intervals); one export job per window.
  Settled days inside a window are rewritten with identical rows — cheaper than a second job.
- **All or nothing per window.** A window's days, their quarantined rows and the failures it settles are one
  commit of the export's manifest (:meth:`Store.commit`): a kill leaves each window as before or as after, and
  the next sync fetches what is missing. Nothing duplicates, nothing is lost. The sync holds the store's writer
  lease: another sync, an import or a repair of the same store waits for it (and it for them).
- **Damaged days** (a file that no longer reads) are set aside before planning, so the sync fetches them again.
- **Failures** of a window (after the client's retries and job re-runs) are recorded in the store and the
  summary; the other windows still sync. Except one: times the client cannot read without a setting (a date
  format that reads two ways, :class:`~dashboard.schema.TimeFormatError`) stop the whole sync, with nothing of
  that window written and the message naming ``KHOROS_EXPORT_TIME_FORMAT``: every other window of the tenant
  would be read the same doubtful way.
- **Times**: the client asks Khoros for UTC and reads the company's format (``KHOROS_EXPORT_TIME_FORMAT``).
- **Author rows without ``updated_time``** (Khoros may not export one) apply from the beginning of time; they
  are stored in the first day of their window, so a later window's values replace an earlier one's.
- **Names.** A sync of the conversation export also lists work queues and teams once
  (:func:`dashboard.store.reference.refresh_reference`: not again within 15 minutes), so pages show their names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from dashboard.schema import BEGINNING_OF_TIME, TimeFormatError, export_schema, parse_rows
from dashboard.store import Store
from dashboard.store.reference import refresh_reference

__all__ = [
    "DEFAULT_EXPORTS",
    "EVENT_SETTLE_MARGIN",
    "EXPORT_FILTERS",
    "SETTLE_MARGINS",
    "SyncSummary",
    "SyncWindow",
    "plan_sync",
    "settle_margin",
    "sync",
    "sync_bot_requests",
]

DEFAULT_EXPORTS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
                   "raw_agent_states", "team_performance")
REFRESH_AFTER = timedelta(minutes=15)
"""An unsettled day fetched less than this before ``now`` is fresh enough: a sync run twice in a row (or the
app and the CLI one after the other) sends nothing the second time."""
EXPORT_FILTERS: dict[str, dict[str, Any]] = {
    # One row per conversation created in the window: its day never changes, so days partition cleanly.
    "conversation": {"report_type": "CREATED"},
}
MAX_WINDOW_DAYS = 31
SETTLE_MARGINS: dict[str, timedelta] = {
    # Conversations change after creation (status, closed time, tags, queue) for days.
    "conversation": timedelta(days=7),
    # An open agent state gets its end_time later: the Offline state from Friday's log-off lasts until Monday's
    # log-in, or Tuesday's after a holiday Monday (about 3.7 days); per-window aggregates are recomputed for a while.
    "raw_agent_states": timedelta(days=4),
    "team_performance": timedelta(days=1),
    "bot_request": timedelta(days=1),
}
EVENT_SETTLE_MARGIN = timedelta(hours=1)
"""Posts, responses, actions and author versions are immutable per event time: an hour of ingestion lag."""
JOB_WORKERS = 4
"""Export jobs in flight at once: jobs run on Khoros' side, so overlapping their waits shortens a sync; the
shared rate limiter keeps the request rate legal whatever this number is."""

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class SyncWindow:
    export_id: str
    first_day: date
    last_day: date
    """Inclusive."""
    start: datetime
    end: datetime
    """``[start, end)`` sent to the API (end is ``now`` for today's partial day)."""

    @property
    def days(self) -> list[date]:
        n = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(n)]

    def label(self) -> str:
        return f"{self.export_id} {self.first_day}..{self.last_day}"


@dataclass
class SyncSummary:
    jobs: int = 0
    requests: int = 0
    throttled: int = 0
    """HTTP 429 answers seen (each was waited out and retried)."""
    retries: int = 0
    rows: int = 0
    seconds: float = 0.0
    windows: int = 0
    days: int = 0
    from_cache: int = 0
    quarantined: int = 0
    failures: list[str] = field(default_factory=list)
    names: str = ""
    """What the refresh of work queue and team names did (empty: this sync did not list them)."""

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {"jobs": self.jobs, "requests": self.requests, "429s": self.throttled, "retries": self.retries,
                "rows": self.rows, "seconds": round(self.seconds, 2), "windows": self.windows, "days": self.days,
                "from_cache": self.from_cache, "quarantined": self.quarantined, "failures": list(self.failures),
                "names": self.names}

    def __str__(self) -> str:
        text = (f"{self.jobs} jobs, {self.requests} requests, {self.throttled} 429s, {self.retries} retries, "
                f"{self.rows:,} rows in {self.days} days, {self.seconds:.1f} s")
        if self.from_cache:
            text += f", {self.from_cache} windows from cache"
        if self.names:
            text += f", {self.names}"
        if self.failures:
            text += f"; {len(self.failures)} FAILED: " + "; ".join(self.failures)
        return text


def settle_margin(export_id: str) -> timedelta:
    """How long after its end a window's rows stop changing (the sync re-fetches days younger than this)."""
    return SETTLE_MARGINS.get(export_id, EVENT_SETTLE_MARGIN)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _needs_fetch(entry: dict[str, Any] | None, day: date, export_id: str, now: datetime) -> bool:
    """Missing, imported (the API is the reference), or unsettled and older than :data:`REFRESH_AFTER`."""
    if entry is None or not str(entry.get("source", "")).startswith("sync"):
        return True
    as_of = entry.get("as_of")
    as_of = datetime.fromisoformat(as_of) if isinstance(as_of, str) else entry["fetched_at"]
    settled = as_of >= _midnight(day) + timedelta(days=1) + settle_margin(export_id)
    return not settled and as_of < now - REFRESH_AFTER


def plan_sync(store: Store, start: date, end: date, *, exports: Iterable[str] | None = None,
              now: datetime | None = None, author_lookback_days: int = 0) -> list[SyncWindow]:
    """The windows a sync of ``[start, end]`` would fetch (fewest jobs covering every missing/unsettled day).

    ``author_lookback_days`` starts the author export that many days earlier: a conversation's tier is the
    author version in effect when it started, which for a returning customer was recorded long before.
    """
    now = now or datetime.now(UTC)
    if end < start:
        raise ValueError(f"sync end {end} is before start {start}")
    windows: list[SyncWindow] = []
    for export_id in exports or DEFAULT_EXPORTS:
        export_schema(export_id)
        if export_id not in DEFAULT_EXPORTS:
            raise ValueError(f"{export_id!r} is not an Analytics export; bot_request records sync with "
                             "sync_bot_requests()")
        entries = store.day_entries(export_id)
        last = min(end, now.date()) if _midnight(now.date()) < now else min(end, now.date() - timedelta(days=1))
        day = start - timedelta(days=author_lookback_days if export_id == "author" else 0)
        needed: list[date] = []
        while day <= last:
            if _needs_fetch(entries.get(day), day, export_id, now):
                needed.append(day)
            day += timedelta(days=1)
        i = 0
        while i < len(needed):
            first = needed[i]
            limit = first + timedelta(days=MAX_WINDOW_DAYS - 1)
            j = i
            while j + 1 < len(needed) and needed[j + 1] <= limit:
                j += 1
            last_day = needed[j]
            w_end = min(_midnight(last_day) + timedelta(days=1), now)
            windows.append(SyncWindow(export_id, first, last_day, _midnight(first), w_end))
            i = j + 1
    return windows


def _store_window(store: Store, window: SyncWindow, download: Any, now: datetime, fetched: datetime
                  ) -> tuple[int, int]:
    """Parse a download and write its days, then their manifest entries; returns (rows, quarantined)."""
    schema = export_schema(window.export_id)
    source = f"sync {window.label()}"
    result = download.parse(source=source)
    frame = result.frame
    placed = pl.col(schema.time_column)
    if window.export_id == "author":
        # A row with no updated_time (derived: the beginning of time) goes to the window's first day.
        derived = placed == pl.lit(BEGINNING_OF_TIME).cast(frame.schema[schema.time_column])
        placed = pl.when(derived).then(pl.lit(window.first_day)).otherwise(placed.dt.date())
    else:
        placed = placed.dt.date()
    by_day = frame.with_columns(placed.alias("__day"))
    parts = {day: by_day.filter(pl.col("__day") == day).drop("__day") for day in window.days}
    meta = {
        day: {"rows": part.height, "fetched_at": fetched, "as_of": now.isoformat(), "source": source,
              "workflow_id": download.workflow_id or None, "run_id": download.run_id or None,
              "failures": max(0, download.jobs - 1), "from_cache": bool(download.from_cache)}
        for day, part in parts.items()
    }
    # One commit: the window's days, their quarantine and the failures it settles, or nothing of them.
    store.commit(window.export_id, days=parts, meta=meta,
                 quarantine={f"sync-{window.first_day}-{window.last_day}": result.quarantine},
                 fetched=(window.first_day, window.last_day), purpose=f"sync {window.label()}")
    return sum(p.height for p in parts.values()), result.quarantine.height


def sync(client: Any, store: Store, start: date, end: date, *, exports: Iterable[str] | None = None,
         now: datetime | None = None, progress: ProgressCallback | None = None,
         workers: int = JOB_WORKERS, author_lookback_days: int = 0,
         on_wait: Callable[[str], None] | None = None, wait_s: float | None = None) -> SyncSummary:
    """Fetch every missing or unsettled day of ``[start, end]`` (inclusive) into ``store``.

    ``author_lookback_days``: see :func:`plan_sync`. The sync holds the store's writer lease throughout; when
    another writer has it, ``on_wait(who)`` is told once and the sync waits (at most ``wait_s`` seconds, then
    :class:`~dashboard.errors.StoreBusy`; None: as long as it takes)."""
    from dashboard.khoros import KhorosError

    began = time.perf_counter()
    now = now or client.now()
    summary = SyncSummary()
    with store.writer("sync", on_wait=on_wait, wait_s=wait_s):
        # A damaged day is set aside first, so the plan fetches it again.
        store.check([e for e in (exports or DEFAULT_EXPORTS)])
        store.sweep()
        windows = plan_sync(store, start, end, exports=exports, now=now, author_lookback_days=author_lookback_days)
        summary.windows = len(windows)
        if progress:
            progress(f"{len(windows)} export jobs to run" if windows else "everything is up to date", 0.0)

        def run(window: SyncWindow) -> tuple[Any, Any, KhorosError | None]:
            filters = EXPORT_FILTERS.get(window.export_id, {})
            settled = window.end <= now - settle_margin(window.export_id)
            with client.counting() as used:  # this job's requests only, whatever else the client is doing
                try:
                    download = client.run_export(window.export_id, window.start, window.end, settled=settled,
                                                 **filters)
                    return download, used, None
                except KhorosError as exc:
                    return None, used, exc

        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sync-job")
        try:
            futures = {pool.submit(run, w): w for w in windows}
            for done, future in enumerate(as_completed(futures), start=1):
                window = futures[future]
                download, used, error = future.result()
                summary.requests += used.requests
                summary.throttled += used.throttled
                summary.retries += used.retries
                if error is not None:
                    summary.failures.append(str(error))
                    store.update_failures(window.export_id, failed=(window.first_day, window.last_day, str(error)))
                    if progress:
                        progress(f"FAILED: {error}", done / len(windows))
                    continue
                try:
                    rows, bad = _store_window(store, window, download, now, datetime.now(UTC))
                except TimeFormatError:
                    raise  # every window would be read the same doubtful way: stop (see the module docstring)
                except Exception as exc:  # a download we cannot parse is this window's failure, not the sync's
                    reason = f"{window.label()}: cannot store the download ({exc})"
                    summary.failures.append(reason)
                    store.update_failures(window.export_id, failed=(window.first_day, window.last_day, reason))
                    continue
                summary.rows += rows
                summary.quarantined += bad
                summary.days += len(window.days)
                summary.jobs += download.jobs
                summary.from_cache += int(download.from_cache)
                if progress:
                    progress(f"{window.label()}: {rows:,} rows", done / len(windows))
        except BaseException:
            # Ctrl-C or a bug: do not start the queued jobs; what is stored stays consistent (resumable).
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if "conversation" in (exports or DEFAULT_EXPORTS):
            names = refresh_reference(client, store, now=now)
            summary.requests += names.requests
            summary.names = "" if names.skipped else str(names)
    summary.seconds = time.perf_counter() - began
    return summary


# ---- Bot API v3 request records ---------------------------------------------------------------------------


def sync_bot_requests(client: Any, store: Store, *, app_ids: Iterable[str] | None = None, days: int = 31,
                      now: datetime | None = None, progress: ProgressCallback | None = None,
                      wait_s: float | None = None) -> SyncSummary:
    """Keep Bot API v3 request records as export ``bot_request`` (one file per UTC day, all apps together).

    The API lists the records of the last ``from`` (at most 31 days, relative to now): only the span back to
    the earliest missing or unsettled day is asked for, per app, newest first; the simulator's ``before``
    extension pages further back (Khoros documents no paging; gap 15).
    """
    began = time.perf_counter()
    now = now or client.now()
    summary = SyncSummary()
    days = max(1, min(31, days))
    first_day = (now - timedelta(days=days)).date() + timedelta(days=1)
    store.check(["bot_request"])  # a damaged day is set aside, so it is fetched again
    entries = store.day_entries("bot_request")
    wanted = [first_day + timedelta(days=i) for i in range((now.date() - first_day).days + 1)]
    need = [d for d in wanted if _needs_fetch(entries.get(d), d, "bot_request", now)]
    apps = list(app_ids or ([client.bot_app_id] if client.bot_app_id else []))
    if not need or not apps:
        summary.seconds = time.perf_counter() - began
        return summary
    span_start = _midnight(need[0])
    hours = int((now - span_start).total_seconds() // 3600) + 1
    since = f"{hours}h" if hours <= 31 * 24 else "31d"
    records: dict[str, dict[str, Any]] = {}
    from dashboard.khoros import KhorosError

    with store.writer("sync bot request records", wait_s=wait_s), client.counting() as used:
        for n, app in enumerate(apps):
            upper: int | None = None
            try:
                while True:
                    page = client.bot_request_records(app, since=since, before_ms=upper)
                    summary.jobs += 1
                    fresh = [r for r in page if str(r.get("id")) not in records]
                    for r in page:
                        records[str(r.get("id"))] = r
                    if not fresh:
                        break
                    # The list is capped (1,000 in the simulator) and the cap is not announced: page back from
                    # the oldest record seen until a page brings nothing new (one extra call per app). A server
                    # that ignores ``before`` answers the same page again, which ends the loop too.
                    upper = min(int(r["createdEpochMillis"]) for r in page) + 1
            except KhorosError as exc:
                summary.failures.append(f"bot request records of {app}: {exc}")
            if progress:
                progress(f"bot request records of {app}", (n + 1) / len(apps))
        if not summary.failures:
            # A day holds every app's records, so days are written only when every app answered.
            result = parse_rows("bot_request", list(records.values()), source="sync bot_request")
            frame = result.frame.with_columns(pl.col("created_time").dt.date().alias("__day"))
            fetched = datetime.now(UTC)
            parts = {day: frame.filter(pl.col("__day") == day).drop("__day") for day in need}
            meta = {day: {"rows": part.height, "fetched_at": fetched, "as_of": now.isoformat(),
                          "source": "sync bot_request", "failures": 0} for day, part in parts.items()}
            store.commit("bot_request", days=parts, meta=meta, quarantine={"sync-bot_request": result.quarantine},
                         purpose="sync bot request records")
            summary.rows = sum(p.height for p in parts.values())
            summary.days = len(need)
            summary.quarantined = result.quarantine.height
    summary.requests, summary.throttled, summary.retries = used.requests, used.throttled, used.retries
    summary.seconds = time.perf_counter() - began
    return summary
