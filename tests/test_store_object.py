"""The store on object storage (issue 14 items 1 and 3): the real CLI (``python -m dashboard sync / report``) in
subprocesses on a bucket of a real S3-compatible server (moto's server mode, ``tests/conftest.py`` ``s3_server``),
with kills and pauses injected from outside at chosen PUTs (``tests/_hooks/sitecustomize.py``).

- the server honours the conditional PUTs the store relies on (else every other promise here would be luck);
- a sync into a bucket: the report equals the same report from a local store of the same sync, and the world's
  truth; the kept facts are kept and read on the bucket;
- a sync killed between its data PUTs and its manifest PUT, then resumed: the bucket equals an uninterrupted sync's;
- two syncs of one tenant at once: one waits for the other (named), nothing is lost; the lease expires, is taken
  over, and a writer that lost it commits nothing;
- measured: two reader processes ("replicas") on one bucket while a sync commits: every answer is the figure
  before or the figure after, never a mix (the numbers are printed: ``pytest -s``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from dashboard import schema
from dashboard.errors import StoreBusy, StoreError
from dashboard.store import Store
from dashboard.store._lease import ObjectLease
from dashboard.store._objects import ObjectFiles

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "tests" / "_hooks"
END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
WORLD = {"CARE_DASHBOARD_SIMULATOR_SEED": "4", "CARE_DASHBOARD_SIMULATOR_DAYS": "12",
         "CARE_DASHBOARD_SIMULATOR_CPD": "30", "CARE_DASHBOARD_SIMULATOR_END": END.isoformat()}
ANALYTICS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
             "raw_agent_states", "team_performance")
SLA = ("report", "sla", "--start", "2026-11-07", "--end", "2026-11-19", "--tz", "America/New_York", "--format",
       "json")
TENANT = "simulator-seed4-d12-c30"


def env_for(data_dir: Path, store_url: str | None, s3: dict[str, str], hook: dict | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KHOROS_", "CARE_DASHBOARD_", "CARE_TEST_", "AWS_"))}
    env.update(WORLD, CARE_DASHBOARD_DATA_DIR=str(data_dir), **s3)
    if store_url:
        env["CARE_DASHBOARD_STORE_URL"] = store_url
    env["PYTHONPATH"] = os.pathsep.join([str(HOOKS), str(ROOT)])
    if hook is not None:
        env["CARE_TEST_HOOK"] = json.dumps(hook)
    return env


def cli(data_dir: Path, store_url: str | None, s3: dict[str, str], *args: str, hook: dict | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT,
                          env=env_for(data_dir, store_url, s3, hook), capture_output=True, text=True,
                          timeout=timeout)


def snapshot(store: Store) -> dict:
    """What a reader sees: every export's rows (sorted by key) and each day's manifest entry (rows, source)."""
    out = {}
    for export_id in (*ANALYTICS, "bot_request"):
        frame = store.scan(export_id).collect()
        out[export_id] = frame.select(sorted(frame.columns)).sort(list(schema.EXPORTS[export_id].key)).to_dicts()
    out["manifest"] = store.manifest().select("export", "day", "rows", "source").to_dicts()
    return out


def sla_rows(done: subprocess.CompletedProcess) -> list[dict]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def put_events(log: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(scope="module")
def synced(s3_server, tmp_path_factory) -> dict:
    """The demo world synced by ``python -m dashboard sync`` into a bucket and into a local folder, each
    uninterrupted; the bucket's sync logs its PUTs."""
    s3 = s3_server.env
    url = s3_server.new_bucket("synced")
    data_dir = tmp_path_factory.mktemp("bucket-data")
    log = data_dir / "puts.log"
    done = cli(data_dir, url, s3, "sync", "--quiet", "--bot-requests", hook={"log": str(log)})
    assert done.returncode == 0, done.stderr
    local = tmp_path_factory.mktemp("local-data")
    done = cli(local, None, s3, "sync", "--quiet", "--bot-requests")
    assert done.returncode == 0, done.stderr
    return {"url": url, "data_dir": data_dir, "local": local, "log": log, "s3": s3}


# ---- the server does what the store relies on -------------------------------------------------------------------


def test_the_server_honours_create_only_and_if_match_puts(s3_server, s3_env):
    files = ObjectFiles(s3_server.new_bucket("probe"))
    files.write_new("a/one.json", b"1")
    with pytest.raises(StoreError, match="exists already"):
        files.write_new("a/one.json", b"2")
    data, version = files.read("a/one.json")
    assert data == b"1" and version
    files.commit("a/one.json", b"3", version)
    with pytest.raises(StoreError, match="replaced by another writer"):
        files.commit("a/one.json", b"4", version)  # the version read before: someone wrote since
    with pytest.raises(StoreError, match="replaced by another writer"):
        files.commit("a/one.json", b"5")  # a first commit, but there is one
    assert files.read("a/one.json")[0] == b"3"


# ---- a sync into a bucket ---------------------------------------------------------------------------------------


def test_a_sync_into_a_bucket_reports_what_a_local_store_of_the_same_sync_reports(synced):
    url, s3 = synced["url"], synced["s3"]
    on_bucket = sla_rows(cli(synced["data_dir"], url, s3, *SLA))
    # Another machine: a data folder of its own, the same bucket.
    elsewhere = sla_rows(cli(synced["data_dir"].parent / "replica-of-synced", url, s3, *SLA))
    local = sla_rows(cli(synced["local"], None, s3, *SLA))
    assert on_bucket == local == elsewhere and sum(r["total"] for r in on_bucket) > 50
    # Oracle: the world's own record (first inbound post in the window, tier at its start).
    from dashboard.simulator.world import WorldConfig, generate_world

    world = generate_world(WorldConfig(seed=4, days=12, conversations_per_day=30, end=END,
                                       timezone="America/New_York"))
    local_day = pl.col("first_inbound_time").dt.convert_time_zone("America/New_York").dt.date()
    truth = world.truth.filter(local_day.is_between(date(2026, 11, 7), date(2026, 11, 19), closed="left"))
    per_tier = {r["tier"]: r["total"] + r["bot_contained"] + r["not_started"] + r["no_target"] for r in on_bucket}
    assert per_tier == dict(truth.group_by("tier_at_start").len().iter_rows())
    queue = ("report", "queue", "--format", "json")
    assert cli(synced["data_dir"], url, s3, *queue).stdout == cli(synced["local"], None, s3, *queue).stdout
    # The bucket holds the tenant's store under its label, nothing in the data folder but this machine's state.
    assert not any((synced["data_dir"] / "store").rglob("*.parquet"))


def test_the_bucket_holds_what_the_local_store_holds_and_keeps_the_facts(synced, s3_env):
    from dashboard.core import Dashboard

    bucket = Store(f"{synced['url']}/{TENANT}")
    (local_root,) = (synced["local"] / "store").iterdir()
    local = Store(local_root)
    assert snapshot(bucket) == snapshot(local)
    # The kept facts (issue 13) are on the bucket, named by its derived manifest, and read from there.
    kept = bucket.derived().files()
    assert kept and all(bucket.exists(rel) for rel in kept)
    on_bucket, on_disk = Dashboard.for_store(bucket.root, keep=False), Dashboard.for_store(local_root, keep=False)
    assert on_bucket.check_kept_facts() == [] and on_disk.check_kept_facts() == []
    facts = on_bucket.facts().sort("conversation_id")
    assert facts.equals(on_disk.facts().sort("conversation_id")) and facts.height > 100


def test_readers_find_files_through_the_manifest_and_the_sweep_keeps_the_grace(synced, s3_env):
    bucket = Store(f"{synced['url']}/{TENANT}")
    before = snapshot(bucket)
    stray = "export=conversation/day=2026-11-10/part-left-by-a-killed-writer.parquet"
    bucket._files.write_new(stray, b"not parquet at all")
    assert snapshot(bucket) == before  # named by no manifest: no reader sees it
    assert bucket.sweep() == 0 and bucket.exists(stray)  # younger than the grace period
    assert bucket.sweep(grace_s=0) >= 1 and not bucket.exists(stray)
    assert snapshot(bucket) == before


# ---- a killed sync resumes ----------------------------------------------------------------------------------------


def test_a_sync_killed_between_its_data_puts_and_its_manifest_put_resumes_to_the_same_bucket(synced, s3_server,
                                                                                             s3_env, tmp_path):
    s3 = synced["s3"]
    reference = snapshot(Store(f"{synced['url']}/{TENANT}"))
    commits = [e for e in put_events(synced["log"]) if e.startswith("put ") and e.endswith("_manifest.json")
               and "facts/" not in e]
    assert len(commits) >= 8
    for nth in (2, len(commits) // 2, len(commits) - 1):
        url = s3_server.new_bucket(f"killed{nth}")
        data_dir = tmp_path / f"killed-{nth}"
        run = cli(data_dir, url, s3, "sync", "--quiet", "--bot-requests",
                  hook={"kill_on": "_manifest.json", "kill_nth": nth})
        assert run.returncode == -9, run.stderr
        store = Store(f"{url}/{TENANT}")
        for export_id in ANALYTICS:  # every committed day whole, no row that no manifest names
            entries = store.day_entries(export_id)
            ref_days = {r["day"]: r["rows"] for r in reference["manifest"] if r["export"] == export_id}
            assert {d: int(e["rows"]) for d, e in entries.items()}.items() <= ref_days.items(), export_id
            assert store.scan(export_id).select(pl.len()).collect().item() <= sum(
                int(e["rows"]) for e in entries.values()), export_id
        resumed = cli(data_dir, url, s3, "sync", "--quiet", "--bot-requests")  # the dead holder's lease: taken over
        assert resumed.returncode == 0, resumed.stderr
        assert snapshot(store) == reference, nth
        assert sla_rows(cli(data_dir, url, s3, *SLA)) == sla_rows(cli(synced["data_dir"], synced["url"], s3, *SLA))


# ---- one writer ----------------------------------------------------------------------------------------------------


def test_two_syncs_of_one_tenant_at_once_one_waits_for_the_other_and_nothing_is_lost(synced, s3_server, s3_env,
                                                                                     tmp_path):
    s3 = synced["s3"]
    url = s3_server.new_bucket("concurrent")
    paused, resume = tmp_path / "paused", tmp_path / "resume"
    first = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "sync", "--quiet", "--bot-requests"], cwd=ROOT, text=True,
        env=env_for(tmp_path / "one", url, s3, {"pause_on": "export=conversation/day=", "paused": str(paused),
                                                 "resume": str(resume)}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not paused.exists():  # the first sync holds the lease, its first day PUT pending
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.stderr else ""
        time.sleep(0.05)
    second = subprocess.Popen([sys.executable, "-m", "dashboard", "sync", "--quiet", "--bot-requests"], cwd=ROOT,
                              env=env_for(tmp_path / "two", url, s3), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert second.stdout is not None
    said = ""
    for line in second.stdout:
        said += line
        if line.startswith("Waiting for"):
            break
    resume.touch()
    _, err2 = second.communicate(timeout=300)
    _, err1 = first.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "Waiting for sync" in said and f"process {first.pid}" in said, said  # names the other writer
    assert snapshot(Store(f"{url}/{TENANT}")) == snapshot(Store(f"{synced['url']}/{TENANT}"))


def test_the_second_writer_is_told_who_writes_and_an_expired_lease_is_taken_over(s3_server, s3_env):
    url = f"{s3_server.new_bucket('lease')}/tenant"
    holder, other = Store(url, lease_ttl_s=1.5), Store(url, lease_ttl_s=1.5)
    done = threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with holder.writer("sync conversation 2026-11-01..2026-11-20"):
                done.wait(10)
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        time.sleep(0.5)
        told: list[str] = []
        busy = r"being written by sync conversation 2026-11-01\.\.2026-11-20 \(process"
        # It waits longer than the lease's time to live: the holder renews it.
        with pytest.raises(StoreBusy, match=busy), other.writer("import", wait_s=2.5, on_wait=told.append):
            pass
        assert told and "sync conversation" in told[0]
    finally:
        done.set()
        thread.join()
    assert not errors
    with other.writer("import", wait_s=0):  # released by a delete: free at once
        pass
    # A lease whose holder stopped renewing (a paused machine) is taken over once it has expired...
    files = ObjectFiles(url)
    stale = ObjectLease(files, ttl_s=1.0)
    handle = stale._acquire("a paused sync", None, None)
    handle.stop.set()
    handle.renewer.join()
    handle.record["host"] = "another-host"  # not a process of this host: only the expiry frees it
    files.put(".writer.lock", stale._body(handle.record))
    began = time.monotonic()
    with other.writer("a sync after the expiry", wait_s=10):
        assert time.monotonic() - began >= 0.5
        # ... and the writer that lost it cannot commit over the new holder's work.
        assert files.put_if(".writer.lock", b"{}", handle.version) is None


def posts(ids: list[str], day: date) -> pl.DataFrame:
    frame = pl.DataFrame({"post_id": ids, "conversation_id": ["c1"] * len(ids), "author_id": ["a1"] * len(ids),
                          "network": ["x"] * len(ids),
                          "received_time": [datetime(day.year, day.month, day.day, 10, tzinfo=UTC)] * len(ids)})
    return frame.with_columns([pl.lit(None).cast(t).alias(c) for c, t in
                               schema.EXPORTS["incoming_post"].polars_schema.items() if c not in frame.columns])


def test_a_damaged_day_on_a_bucket_is_skipped_named_and_set_aside_by_copy_and_delete(s3_server, s3_env):
    store = Store(f"{s3_server.new_bucket('damaged')}/tenant")
    first, second = date(2026, 11, 2), date(2026, 11, 3)
    store.write_day("incoming_post", first, posts(["p1", "p2"], first), {"source": "sync x"})
    store.write_day("incoming_post", second, posts(["p3"], second), {"source": "sync x"})
    rel = store.day_entries("incoming_post")[first]["file"]
    store._files.put(rel, b"PAR1 cut short")  # a bad copy: another size, no footer
    assert store.scan("incoming_post").collect()["post_id"].to_list() == ["p3"]  # the other day still reads
    (damaged,) = store.damaged().to_dicts()
    assert damaged["day"] == first and damaged["file"] == rel and "bytes where" in damaged["reason"]
    assert damaged["set_aside"].startswith("_damaged/export=incoming_post/day=2026-11-02/")
    assert store.exists(damaged["set_aside"]) and not store.exists(rel)  # moved: kept, not deleted
    assert first not in store.day_entries("incoming_post")  # so the next sync fetches it again


def test_a_writer_that_lost_its_lease_commits_nothing(s3_server, s3_env):
    url = f"{s3_server.new_bucket('lost')}/tenant"
    store = Store(url, lease_ttl_s=0.6)
    frame = posts(["p1"], date(2026, 11, 2))
    lost = "taken over by a sync on another machine"
    with pytest.raises(StoreError, match=lost), store.writer("a sync that pauses"):
        lease = store._lease
        # Another machine's sync takes the lease over (as it may once this one's has expired).
        time.sleep(0.7)
        lease.files.put(".writer.lock", json.dumps({"purpose": "a sync on another machine", "host": "other",
                                                     "expires_at": "2100-01-01T00:00:00+00:00"}).encode())
        deadline = time.monotonic() + 5
        while lease.lost_to() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        store.write_day("incoming_post", date(2026, 11, 2), frame, {"source": "import"})
    assert store.day_entries("incoming_post") == {}


# ---- measured: replicas read one bucket while a sync commits ------------------------------------------------------


def test_two_replicas_report_the_figure_before_or_after_while_a_sync_commits(s3_server, tmp_path):
    """Two reader processes loop ``report sla`` on one bucket while a sync of the last days commits (one window of
    the conversations and one of their inbound posts: the figure needs both, so one of the two commits changes it).
    The sync is held after its inbound posts' day PUTs, before their manifest PUT, while the readers read; then it
    commits. Every answer must be the figure before or the figure after, and "before" while it is held."""
    s3 = s3_server.env
    url = s3_server.new_bucket("replicas")
    writer_dir = tmp_path / "writer"
    assert cli(writer_dir, url, s3, "sync", "--quiet", "--end", "2026-11-15").returncode == 0
    before = sla_rows(cli(writer_dir, url, s3, *SLA))
    paused, resume = tmp_path / "paused", tmp_path / "resume"
    sync = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "sync", "--quiet", "--exports", "conversation,incoming_post", "--start",
         "2026-11-16",
         "--end", "2026-11-18", "--author-lookback-days", "0"], cwd=ROOT, text=True,
        env=env_for(writer_dir, url, s3, {"pause_on": "export=incoming_post/_manifest.json", "paused": str(paused),
                                          "resume": str(resume)}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    answers: dict[str, list[tuple[float, str, str]]] = {"replica-1": [], "replica-2": []}
    stop = threading.Event()

    def replica(name: str) -> None:
        while not stop.is_set():
            began = time.monotonic()
            held_at_start = paused.exists() and not resume.exists()
            rows = sla_rows(cli(tmp_path / name, url, s3, *SLA))
            # "paused": the whole read ran while the sync was held between its day PUTs and its manifest PUT
            phase = "paused" if held_at_start and not resume.exists() else "running"
            answers[name].append((time.monotonic() - began, phase, json.dumps(rows, sort_keys=True)))

    readers = [threading.Thread(target=replica, args=(n,)) for n in answers]
    for r in readers:
        r.start()
    deadline = time.monotonic() + 240
    while not paused.exists():
        assert sync.poll() is None and time.monotonic() < deadline, sync.stderr.read() if sync.stderr else ""
        time.sleep(0.05)
    while min(sum(1 for a in got if a[1] == "paused") for got in answers.values()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    resume.touch()
    _, err = sync.communicate(timeout=300)
    assert sync.returncode == 0, err
    after = sla_rows(cli(writer_dir, url, s3, *SLA))
    time.sleep(1)
    seen_after = lambda: all(any(a[2] == json.dumps(after, sort_keys=True) for a in got)  # noqa: E731
                             for got in answers.values())
    while not seen_after() and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    for r in readers:
        r.join()
    figures = {json.dumps(before, sort_keys=True): "before", json.dumps(after, sort_keys=True): "after"}
    assert before != after
    summary = {}
    for name, got in answers.items():
        kinds = [figures.get(a[2], "MIXED") for a in got]
        assert "MIXED" not in kinds, name
        assert all(k == "before" for k, a in zip(kinds, got, strict=True) if a[1] == "paused"), name
        assert kinds[-1] == "after", name
        summary[name] = {"reads": len(got), "before": kinds.count("before"), "after": kinds.count("after"),
                         "while the day files were PUT and the manifest not": sum(a[1] == "paused" for a in got),
                         "median report s": round(sorted(a[0] for a in got)[len(got) // 2], 2)}
    print("\nreplicas while a sync commits:", json.dumps(summary, indent=1))
    (tmp_path / "replicas.json").write_text(json.dumps(summary, indent=1))
