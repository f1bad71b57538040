"""Sync against the simulator: completeness, zero repeat requests, the request minimum, the rate limits, faults,
kill -9 and resume, and what the cache folder holds.

The client talks to the simulator's ASGI app in process (``InProcessASGITransport``: no port, same code path);
the kill -9 test and one end-to-end sync run a real server (``integration``). The simulator speaks the
documented formats: the client reads US-locale times (the simulated company's setting) in UTC, as asked."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest

from dashboard import schema
from dashboard.khoros import KhorosClient, PollPolicy, RetryPolicy
from dashboard.khoros._http import InProcessASGITransport
from dashboard.settings import Settings
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.server import start_simulator
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.store import Store
from dashboard.store.sync import DEFAULT_EXPORTS, sync, sync_bot_requests

# whole demo worlds, syncs or engines: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FIRST = date(2026, 10, 21)  # 31 days up to and including END's day
LAST = END.date()
USER, PASSWORD, COMPANY_KEY = "sync-user-7f3a", "s3cret-pa55word-x", "ck-91b2c7e4"
FAST_POLL = PollPolicy(first_delay_s=0.02, factor=2.0, max_delay_s=0.5, timeout_s=60.0)
US_FORMAT = "MM/dd/yyyy HH:mm:ss"  # the simulated company's time format setting (WorldConfig default)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=5, days=40, conversations_per_day=40, end=END))


def options(**over) -> SimulatorOptions:
    base = {"username": USER, "password": PASSWORD, "company_key": COMPANY_KEY, "analytics_per_min": 100_000,
            "care_per_min": 100_000, "slow_seconds": 0.05}
    return SimulatorOptions(**{**base, **over})


def settings(data_dir: Path, **over) -> Settings:
    base = {"data_dir": data_dir, "username": USER, "password": PASSWORD, "company_key": COMPANY_KEY,
            "simulator_end": END, "rate_analytics_per_min": 100_000, "rate_care_per_min": 100_000,
            "export_time_format": US_FORMAT}
    return Settings(**{**base, **over})


class InProcess:
    """The simulator's app for in-process clients: ``base_url`` names it, ``transport()`` reaches it."""

    base_url = "http://simulator.test"

    def __init__(self, world, opts: SimulatorOptions) -> None:
        self.app = create_app(world, opts)
        self._transports: list[InProcessASGITransport] = []

    def transport(self) -> InProcessASGITransport:
        self._transports.append(InProcessASGITransport(self.app))
        return self._transports[-1]

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        for t in self._transports:
            t.close()


def client_for(sim, data_dir: Path, *, rate_window_s: float = 60.0, use_cache: bool = True, retry=None,
               **over) -> KhorosClient:
    transport = sim.transport() if isinstance(sim, InProcess) else None
    return KhorosClient.from_settings(settings(data_dir, **over), base_url=sim.base_url, poll=FAST_POLL,
                                      rate_window_s=rate_window_s, use_cache=use_cache, transport=transport,
                                      retry=retry)


def sim_stats(sim) -> dict:
    if isinstance(sim, InProcess):
        with httpx.Client(transport=sim.transport(), base_url=sim.base_url) as c:
            return c.get("/__simulator__/stats", timeout=10).json()
    return httpx.get(f"{sim.base_url}/__simulator__/stats", timeout=10).json()


def stored(store: Store) -> dict[str, pl.DataFrame]:
    out = {}
    for export_id in DEFAULT_EXPORTS:
        s = schema.EXPORTS[export_id]
        frame = store.scan(export_id).collect()
        out[export_id] = frame.select(sorted(frame.columns)).sort(list(s.key))
    return out


def expected(world, export_id: str) -> pl.DataFrame:
    s = schema.EXPORTS[export_id]
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
    t = pl.col(s.time_column)
    return world.tables[export_id].filter((t >= start) & (t < END)).select(s.names).sort(list(s.key))


def test_a_30_day_sync_is_complete_minimal_and_not_repeated(world, tmp_path):
    with InProcess(world, options()) as sim:
        client = client_for(sim, tmp_path)
        store = Store(tmp_path / "store")
        first = sync(client, store, FIRST, LAST, now=END)
        assert first.ok, first.failures
        # one job per export (31 days fit one window), each: run + one status poll + download; and the two listings
        # that name work queues and teams
        assert first.jobs == len(DEFAULT_EXPORTS) and first.requests == 3 * first.jobs + 2
        assert first.throttled == 0 and first.retries == 0
        assert sim_stats(sim)["total"] == first.requests
        for export_id in DEFAULT_EXPORTS:
            got = store.scan(export_id).collect().select(schema.EXPORTS[export_id].names)
            want = expected(world, export_id)
            assert got.sort(list(schema.EXPORTS[export_id].key)).equals(want), export_id
        assert first.rows == sum(expected(world, e).height for e in DEFAULT_EXPORTS)
        # author versions keep their CRM attribute columns
        assert {"region", "lifetime_value"} <= set(store.scan("author").collect_schema().names())

        before = sim_stats(sim)["total"]
        again = sync(client, store, FIRST, LAST, now=END)
        assert again.requests == 0 and again.jobs == 0
        assert sim_stats(sim)["total"] == before

        fresh = store.freshness()
        assert set(fresh["export"]) == set(DEFAULT_EXPORTS) and (fresh["days"] == 31).all()
        m = store.manifest().filter(pl.col("export") == "conversation")
        assert m.height == 31 and m["workflow_id"].null_count() == 0 and m["rows"].sum() > 0
        assert set(m["as_of"].to_list()) == {END}
        client.close()


def test_csv_and_json_downloads_parse_to_the_same_rows(world, tmp_path):
    with InProcess(world, options()) as sim:
        client = client_for(sim, tmp_path, use_cache=False)
        start = datetime(2026, 11, 2, tzinfo=UTC)  # after the daylight-saving night (see test_documented_formats)
        for export_id in ("conversation", "response", "author"):
            filters = {"report_type": "CREATED"} if export_id == "conversation" else {}
            as_json = client.run_export(export_id, start, END, **filters).parse()
            as_csv = client.run_export(export_id, start, END, fmt="csv", timezone="America/Chicago", **filters)
            parsed = as_csv.parse()
            assert as_csv.body.startswith(schema.EXPORTS[export_id].names[0].upper().encode() + b",")
            assert parsed.quarantine.is_empty() and as_json.quarantine.is_empty()
            key = list(schema.EXPORTS[export_id].key)
            names = schema.EXPORTS[export_id].names
            # times in another zone, lists, numbers, empty fields: the same rows either way
            assert parsed.frame.select(names).sort(key).equals(as_json.frame.select(names).sort(key)), export_id
        client.close()


def test_a_restarted_client_is_served_from_the_cache(world, tmp_path):
    with InProcess(world, options()) as sim:
        client = client_for(sim, tmp_path)
        sync(client, Store(tmp_path / "a"), FIRST, LAST, now=END, exports=["response"])
        client.close()
        before = sim_stats(sim)["total"]
        client = client_for(sim, tmp_path)  # same data dir: same cache and key
        other = Store(tmp_path / "b")
        summary = sync(client, other, FIRST, LAST, now=END, exports=["response"])
        assert summary.from_cache == 1 and summary.requests == 0 and sim_stats(sim)["total"] == before
        assert stored(other)["response"].equals(stored(Store(tmp_path / "a"))["response"])
        client.close()


def test_two_syncs_of_one_store_at_once_do_the_work_once(world, tmp_path):
    import threading

    with InProcess(world, options(job_seconds=0.1)) as sim:
        app_side = client_for(sim, tmp_path / "app", use_cache=False)
        cli_side = client_for(sim, tmp_path / "cli", use_cache=False)
        results = []

        def run(client):
            results.append(sync(client, Store(tmp_path / "store"), FIRST, LAST, now=END))

        threads = [threading.Thread(target=run, args=(c,)) for c in (app_side, cli_side)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(r.jobs for r in results) == [0, len(DEFAULT_EXPORTS)]
        assert sorted(r.requests for r in results)[0] == 0  # the second waited for the first, then had nothing to do
        assert sim_stats(sim)["total"] == sum(r.requests for r in results)
        store = Store(tmp_path / "store")
        for export_id in DEFAULT_EXPORTS:
            key = list(schema.EXPORTS[export_id].key)
            assert store.scan(export_id).collect().select(key).is_duplicated().sum() == 0
        app_side.close()
        cli_side.close()


def test_bot_request_records_sync_incrementally(world, tmp_path):
    apps = world.bots["app_id"].to_list()
    with InProcess(world, options(bot_list_cap=300)) as sim:
        client = client_for(sim, tmp_path)
        store = Store(tmp_path / "store")
        first = sync_bot_requests(client, store, app_ids=apps, now=END, days=31)
        got = store.scan("bot_request").collect()
        first_day = datetime(2026, 10, 21, tzinfo=UTC)
        want = world.tables["bot_request"].filter(pl.col("created_time") >= first_day)
        assert got.height == want.height and got["request_id"].n_unique() == got.height
        # every column, the event and its conversation included, read from the documented record and payload
        names = schema.EXPORTS["bot_request"].names
        assert got.select(names).sort("request_id").equals(want.select(names).sort("request_id"))
        assert first.jobs > len(apps)  # pages beyond the 300-record cap were fetched
        again = sync_bot_requests(client, store, app_ids=apps, now=END, days=31)
        assert again.requests == 0
        client.close()


def test_failed_windows_are_reported_and_nothing_is_half_stored(world, tmp_path):
    with InProcess(world, options(failed_job_rate=1.0)) as sim:
        client = client_for(sim, tmp_path)
        client.job_attempts = 2
        store = Store(tmp_path / "store")
        summary = sync(client, store, FIRST, LAST, now=END, exports=["incoming_post"])
        assert not summary.ok and len(summary.failures) == 1
        assert "incoming_post export for 2026-10-21T00:00Z..2026-11-20T12:00Z" in summary.failures[0]
        assert "FAILED" in summary.failures[0] and PASSWORD not in summary.failures[0]
        assert store.scan("incoming_post").collect().is_empty() and store.manifest().is_empty()
        failures = store.failures_frame()
        assert failures.select("export", "first_day", "last_day").row(0) == ("incoming_post", FIRST, LAST)
        assert store.failures()[0]["first_day"] == FIRST.isoformat() and "FAILED" in store.failures()[0]["reason"]
        assert store.freshness().row(0, named=True)["failed_windows"] == 1
        client.close()
    with InProcess(world, options()) as sim:
        client = client_for(sim, tmp_path / "later")
        assert sync(client, store, FIRST, LAST, now=END, exports=["incoming_post"]).ok
        assert store.failures() == [] and store.freshness()["failed_windows"].to_list() == [0]
        client.close()


def test_the_cache_folder_holds_no_pickle_no_credential_and_no_readable_customer_text(world, tmp_path):
    with InProcess(world, options()) as sim:
        client = client_for(sim, tmp_path, bot_app_id=world.bots["app_id"][0])
        sync(client, Store(tmp_path / "store"), FIRST, LAST, now=END)
        client.work_queues()
        client.tags()
        author_id = world.tables["author"]["author_id"][0]
        client.author(author_id)
        client.bot_health()
        client.close()
    cache_dir = tmp_path / "cache"
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert files and oct(cache_dir.stat().st_mode & 0o777) == "0o700"
    blob = b"".join(p.read_bytes() for p in files)
    with sqlite3.connect(cache_dir / "cache.db") as db:
        rows = db.execute("select mode, filename, value from Cache").fetchall()
    assert len(rows) >= 8
    assert {mode for mode, _, _ in rows} <= {1, 2}, "only raw/binary rows, never text (3) or pickle (4)"
    for _, filename, value in rows:
        stored_value = (cache_dir / filename).read_bytes() if filename else bytes(value)
        assert stored_value.startswith(b"kc1"), "every value is our AES-GCM envelope, nothing else"
    for secret in (USER, PASSWORD, COMPANY_KEY):
        assert secret.encode() not in blob, f"credential {secret!r} found in the cache"
    authors = world.tables["author"]
    conversations = world.tables["conversation"]
    customer_text = (authors["handle"].head(50).to_list() + authors["display_name"].head(50).to_list()
                     + conversations["conversation_id"].head(50).to_list() + [author_id, "Billing", "personList"])
    leaked = [t for t in customer_text if t and t.encode() in blob]
    assert leaked == []


@pytest.mark.slow
def test_zero_429s_under_the_documented_limits_time_scaled(world, tmp_path):
    # Khoros' 20 Analytics calls per minute, on a 1.5-second "minute" on both sides so the test stays fast.
    window = 1.5
    with InProcess(world, options(analytics_per_min=20, care_per_min=60, rate_window_s=window)) as sim:
        client = client_for(sim, tmp_path, rate_window_s=window, rate_analytics_per_min=20, rate_care_per_min=60)
        started = time.monotonic()
        summary = sync(client, Store(tmp_path / "store"), date(2026, 10, 12), LAST, now=END)
        took = time.monotonic() - started
        assert summary.ok and summary.jobs == 2 * len(DEFAULT_EXPORTS)  # 40 days -> 2 windows per export
        assert summary.requests == 3 * summary.jobs + 2 == 44  # and the work queue and team listings
        assert sim_stats(sim)["throttled"] == 0 and summary.throttled == 0
        assert took >= 2 * window  # 44 calls at 20 per window need at least two waits
        client.close()
    # Without the shared limiter the same sync runs into the server's limit (so the check above can fail).
    with InProcess(world, options(analytics_per_min=20, rate_window_s=window)) as sim:
        greedy = client_for(sim, tmp_path / "greedy", rate_window_s=window)
        summary = sync(greedy, Store(tmp_path / "greedy-store"), date(2026, 10, 12), LAST, now=END)
        assert summary.ok and summary.throttled > 0 and sim_stats(sim)["throttled"] > 0
        greedy.close()


@pytest.mark.slow
def test_a_sync_through_20_percent_faults_stores_exactly_what_a_clean_sync_stores(world, tmp_path):
    with InProcess(world, options()) as sim:
        clean_client = client_for(sim, tmp_path / "clean")
        clean = Store(tmp_path / "clean" / "store")
        assert sync(clean_client, clean, FIRST, LAST, now=END).ok
        clean_client.close()
    with InProcess(world, options(fault_rate=0.2, seed=3)) as sim:
        client = client_for(sim, tmp_path / "faulty", retry=RetryPolicy(attempts=8, base_s=0.05, cap_s=0.5))
        client.job_attempts = 8  # a 20% FAILED-job rate: keep the chance of a window giving up negligible
        faulty = Store(tmp_path / "faulty" / "store")
        summary = sync(client, faulty, FIRST, LAST, now=END)
        assert summary.ok, summary.failures
        assert summary.retries > 0 or summary.jobs > len(DEFAULT_EXPORTS), "faults were injected and handled"
        client.close()
    a, b = stored(clean), stored(faulty)
    for export_id in DEFAULT_EXPORTS:
        assert a[export_id].height > 0 and a[export_id].equals(b[export_id]), export_id


CHILD = textwrap.dedent("""
    import sys
    from datetime import UTC, date, datetime
    from pathlib import Path
    from dashboard.khoros import KhorosClient, PollPolicy, RetryPolicy
    from dashboard.settings import Settings
    from dashboard.store import Store
    from dashboard.store.sync import sync

    base_url, data_dir = sys.argv[1], Path(sys.argv[2])
    end = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    settings = Settings(data_dir=data_dir, username="{user}", password="{password}", company_key="{key}",
                        simulator_end=end, rate_analytics_per_min=100000, rate_care_per_min=100000,
                        export_time_format="MM/dd/yyyy HH:mm:ss")
    client = KhorosClient.from_settings(settings, base_url=base_url,
                                        poll=PollPolicy(first_delay_s=0.02, factor=2.0, max_delay_s=0.5))
    def progress(message, fraction):
        print("progress", fraction, message, flush=True)
    sync(client, Store(data_dir / "store"), date(2026, 10, 12), date(2026, 11, 20), now=end, progress=progress,
         workers=2)
    print("finished", flush=True)
""").format(user=USER, password=PASSWORD, key=COMPANY_KEY)


@pytest.mark.slow
@pytest.mark.integration
def test_kill_9_in_the_middle_of_a_sync_then_resume_gives_the_same_store(world, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with start_simulator(world, options(job_seconds=0.15)) as sim:
        reference = Store(tmp_path / "ref" / "store")
        ref_client = client_for(sim, tmp_path / "ref")
        assert sync(ref_client, reference, date(2026, 10, 12), LAST, now=END).ok
        ref_client.close()

        data_dir = tmp_path / "killed"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        child = subprocess.Popen([sys.executable, str(script), sim.base_url, str(data_dir)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env, text=True)
        done = 0
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("progress") and "rows" in line:
                done += 1
                if done == 5:  # some windows stored, others in flight
                    child.send_signal(signal.SIGKILL)
                    break
            assert not line.startswith("finished"), "the sync ended before it could be killed"
        child.wait(30)
        assert child.returncode == -signal.SIGKILL

        killed = Store(data_dir / "store")
        partial = killed.manifest()
        assert 0 < partial.height < 14 * 20, "the kill landed mid-sync"
        client = client_for(sim, tmp_path / "resume-client")
        resumed = sync(client, killed, date(2026, 10, 12), LAST, now=END)
        assert resumed.ok and 0 < resumed.jobs < 2 * len(DEFAULT_EXPORTS)  # only what was missing
        client.close()
    a, b = stored(reference), stored(killed)
    for export_id in DEFAULT_EXPORTS:
        key = list(schema.EXPORTS[export_id].key)
        assert b[export_id].select(key).is_duplicated().sum() == 0, export_id
        assert a[export_id].equals(b[export_id]), export_id
    assert (killed.manifest()["rows"].sum()) == (reference.manifest()["rows"].sum())
