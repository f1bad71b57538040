"""Issue 18's probes, as a careless or hostile user runs them: the real CLI (``python -m dashboard sync / import /
repair / report`` in subprocesses) on a real store of the data folder's demo world, with ``kill -9`` and pauses at
chosen write events injected from outside (``tests/_hooks/sitecustomize.py``: the CLI itself is unchanged).

- item 1: an import with fewer columns erases nothing, says what it changed, and the next sync has nothing to fix;
- item 2: an unbalanced quote loses one line, not the file; no traceback past 128 KB;
- item 3: an import and a sync run together: one writer at a time, no synced row lost;
- item 4: kill -9 at chosen points of an import leaves the store as before or as after; of a sync, every window
  whole or absent, and the resumed sync gives the uninterrupted store;
- item 5: a damaged day file: the report and an import keep working and name the day; ``repair`` sets it aside
  (kept) and fetches it again; a sync fetches it too;
- item 6: odd arguments and values get one line naming them, no traceback;
- item 11: a tenant's company key is in no store path and no sync output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from dashboard import schema
from dashboard.store import Store

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "tests" / "_hooks"
WORLD = {"CARE_DASHBOARD_SIMULATOR_SEED": "4", "CARE_DASHBOARD_SIMULATOR_DAYS": "12",
         "CARE_DASHBOARD_SIMULATOR_CPD": "30", "CARE_DASHBOARD_SIMULATOR_END": "2026-11-18T15:30:00+00:00"}
ANALYTICS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
             "raw_agent_states", "team_performance")


def env_for(data_dir: Path, hook: dict | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KHOROS_", "CARE_DASHBOARD_", "CARE_TEST_"))}
    env.update(WORLD, CARE_DASHBOARD_DATA_DIR=str(data_dir), **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(HOOKS), str(ROOT)])
    if hook is not None:
        env["CARE_TEST_HOOK"] = json.dumps(hook)
    return env


def cli(data_dir: Path, *args: str, hook: dict | None = None, timeout: float = 180, **extra: str
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, env=env_for(data_dir, hook, **extra),
                          capture_output=True, text=True, timeout=timeout)


def store_of(data_dir: Path) -> Store:
    (folder,) = (data_dir / "store").iterdir()
    return Store(folder)


def snapshot(data_dir: Path, *, sources: bool = True) -> dict:
    """What a reader sees: every export's rows (sorted by key) and each day's manifest entry (rows, source: the
    sync window that fetched it, left out with ``sources=False``)."""
    store = store_of(data_dir)
    out = {}
    for export_id in (*ANALYTICS, "bot_request"):
        frame = store.scan(export_id).collect()
        out[export_id] = frame.select(sorted(frame.columns)).sort(list(schema.EXPORTS[export_id].key)).to_dicts()
    out["manifest"] = store.manifest().select("export", "day", "rows", *(["source"] if sources else [])).to_dicts()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A data folder whose demo world was synced by ``python -m dashboard sync``."""
    data_dir = tmp_path_factory.mktemp("reference")
    done = cli(data_dir, "sync", "--quiet", "--bot-requests")
    assert done.returncode == 0, done.stderr
    return data_dir


@pytest.fixture(scope="module")
def reference_snapshot(reference) -> dict:
    return snapshot(reference)


def copy_of(reference: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(reference, target)
    return target


def conversations(data_dir: Path) -> pl.DataFrame:
    return store_of(data_dir).scan("conversation").collect().sort("conversation_id")


def required_csv(frame: pl.DataFrame, path: Path, **extra: pl.Expr) -> Path:
    """A file as a user exports it with only the required columns (display names, ISO times)."""
    frame.select(
        pl.col("conversation_id").alias("Conversation ID"), pl.col("author_id").alias("Author ID"),
        pl.col("network").alias("Network"), pl.col("status").alias("Status"),
        pl.col("created_time").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias("Created Time"),
        *(e.alias(n) for n, e in extra.items())).write_csv(path)
    return path


# ---- item 1 ---------------------------------------------------------------------------------------------------------


def test_item1_an_import_with_fewer_columns_erases_nothing_and_says_what_it_changed(reference, tmp_path):
    data = copy_of(reference, tmp_path)
    before = conversations(data)
    assert before["priority"].null_count() < before.height and before["closed_time"].null_count() < before.height
    f = required_csv(before.with_columns(status=pl.when(pl.int_range(pl.len()) < 5).then(pl.lit("OPEN"))
                                         .otherwise("status")), tmp_path / "only-required.csv")
    with f.open("a") as fh:
        fh.write("c-short,a-1,twitter\n")  # a row with fewer fields than the header
    done = cli(data, "import", "--export", "conversation", str(f))
    assert done.returncode == 0, done.stderr
    assert f"{before.height:,} rows, 1 quarantined" in done.stdout
    assert f"only-required.csv:{before.height + 2}: expected 5 fields, found 3" in done.stdout
    changed = int((before["status"].head(5) != "OPEN").sum())
    assert f"0 added, {changed} updated, {before.height - changed} unchanged" in done.stdout
    assert "kept as stored: conversation_display_id, priority, work_queue_id, team_id, closed_time, " \
           "assigned_agent_id, tags, disposition" in done.stdout
    after = conversations(data)
    assert after.drop("status").equals(before.drop("status"))  # not one stored value erased
    assert after["status"].head(5).to_list() == ["OPEN"] * 5
    # the days keep the sync's settle state: the next sync has nothing to repair
    again = cli(data, "sync", "--quiet")
    assert again.returncode == 0 and "0 export jobs" in again.stdout, again.stdout + again.stderr


# ---- item 2 ---------------------------------------------------------------------------------------------------------


def test_item2_an_unbalanced_quote_loses_its_line_only_and_never_a_traceback(reference, tmp_path):
    data = copy_of(reference, tmp_path)
    rows = conversations(data).head(263)
    f = required_csv(rows, tmp_path / "quote.csv", Disposition=pl.lit("done"))
    lines = f.read_text().splitlines()
    lines[2] = lines[2].replace(",done", ',"done')  # the quote of the file's line 3 never closes
    f.write_text("\n".join(lines) + "\n")
    done = cli(data, "import", "--export", "conversation", str(f))
    assert done.returncode == 0, done.stderr
    assert "262 rows, 1 quarantined" in done.stdout and "quote.csv:3: a quote opens on this line" in done.stdout

    big = conversations(data)
    g = required_csv(big, tmp_path / "big.csv", Disposition=pl.lit("x" * 600))
    lines = g.read_text().splitlines()
    lines[1] = lines[1].replace(",xxx", ',"xxx', 1)
    g.write_text("\n".join(lines) + "\n")
    assert len("\n".join(lines[2:])) > 128 * 1024
    done = cli(data, "import", "--export", "conversation", str(g))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"{big.height - 1:,} rows, 1 quarantined" in done.stdout and "big.csv:2:" in done.stdout


# ---- item 3 ---------------------------------------------------------------------------------------------------------


def test_item3_an_import_and_a_sync_run_together_and_nothing_is_lost(reference, tmp_path):
    """The import is paused at its first write (after reading the stored days); the sync starts meanwhile. One
    writer at a time: the sync waits and says for whom. (Before: the sync wrote the days the paused import had
    read, and the import's write then replaced them: synced conversations lost.)"""
    want = conversations(reference)
    data = tmp_path / "fresh"
    some = want.filter(pl.col("created_time").dt.date() == want["created_time"].dt.date().max()).head(3)
    f = required_csv(some, tmp_path / "three.csv", Disposition=pl.lit("imported"))
    paused, resume = tmp_path / "paused", tmp_path / "resume"
    importer = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "import", "--export", "conversation", str(f)], cwd=ROOT,
        env=env_for(data, {"pause_on": ".parquet", "paused": str(paused), "resume": str(resume)}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not paused.exists():
        assert importer.poll() is None and time.monotonic() < deadline, importer.communicate()
        time.sleep(0.05)
    syncer = subprocess.Popen([sys.executable, "-m", "dashboard", "sync", "--quiet"], cwd=ROOT, env=env_for(data),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    waited = False
    assert syncer.stdout is not None
    for line in syncer.stdout:
        if line.startswith("Waiting for import three.csv"):
            waited = True
            break
    resume.touch()
    _, sync_err = syncer.communicate(timeout=180)
    _, import_err = importer.communicate(timeout=180)
    assert importer.returncode == 0 and syncer.returncode == 0, import_err + sync_err
    got = conversations(data)
    assert got["conversation_id"].to_list() == want["conversation_id"].to_list()  # no synced row lost
    assert got.equals(want)  # and the sync, which came second, has the API's values
    assert waited, "the sync did not wait for the import"


# ---- item 4 ---------------------------------------------------------------------------------------------------------


def write_events(log: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.slow
def test_item4_kill_9_at_any_point_of_an_import_leaves_the_store_before_or_after(reference, reference_snapshot,
                                                                                  tmp_path):
    stored = conversations(reference)
    f = required_csv(stored, tmp_path / "all.csv",
                     Disposition=pl.concat_str([pl.lit("imported-"), pl.col("conversation_id")]))
    clean = copy_of(reference, tmp_path, "clean")
    log = tmp_path / "clean.log"
    done = cli(clean, "import", "--export", "conversation", str(f), hook={"log": str(log)})
    assert done.returncode == 0, done.stderr
    after = snapshot(clean)
    events = write_events(log)
    # the import's commit: the export's manifest (the kept facts' own commit follows it)
    commit = max(i for i, e in enumerate(events, 1) if e.startswith("replace") and "/export=" in e
                 and "_manifest.json" in e)
    days = after["manifest"]
    assert sum(1 for e in events if "part" in e) >= 10, events  # every day of the store was rewritten
    points = sorted({1, len(events) // 2, 3 * len(events) // 4, commit - 1, commit, commit + 1} & set(
        range(1, len(events) + 1)))
    for point in points:
        killed = copy_of(reference, tmp_path, f"killed-{point}")
        run = cli(killed, "import", "--export", "conversation", str(f), hook={"kill_at": point})
        assert run.returncode == -9, (point, run.stderr)
        seen = snapshot(killed)
        expected = after if point > commit else reference_snapshot
        assert seen == expected, f"kill before write event {point} ({events[point - 1]}) left a mixed store"
        again = cli(killed, "import", "--export", "conversation", str(f))  # and the next import completes it
        assert again.returncode == 0 and snapshot(killed) == after, again.stderr
    assert days


@pytest.mark.slow
def test_item4_kill_9_inside_sync_commits_leaves_whole_windows_and_the_resumed_sync_completes(reference_snapshot,
                                                                                            tmp_path):
    log = tmp_path / "clean.log"
    clean = tmp_path / "clean"
    assert cli(clean, "sync", "--quiet", "--bot-requests", hook={"log": str(log)}).returncode == 0
    events = write_events(log)
    commits = [i for i, e in enumerate(events, 1) if e.startswith("replace") and "_manifest.json" in e]
    assert len(commits) >= 8
    middle = commits[len(commits) // 2]
    for point in (middle - 3, middle, commits[-1] - 1):
        killed = tmp_path / f"killed-{point}"
        run = cli(killed, "sync", "--quiet", "--bot-requests", hook={"kill_at": point})
        assert run.returncode == -9, run.stderr
        store, ref = store_of(killed), reference_snapshot
        for export_id in ANALYTICS:
            entries = store.day_entries(export_id)
            ref_days = {r["day"]: r["rows"] for r in ref["manifest"] if r["export"] == export_id}
            # every committed day is whole (its rows are the uninterrupted sync's), and no row is visible that
            # a committed day does not hold
            assert {d: int(e["rows"]) for d, e in entries.items()}.items() <= ref_days.items(), export_id
            assert store.scan(export_id).select(pl.len()).collect().item() <= sum(
                int(e["rows"]) for e in entries.values()), export_id
        resumed = cli(killed, "sync", "--quiet", "--bot-requests")
        assert resumed.returncode == 0, resumed.stderr
        assert snapshot(killed) == ref


# ---- item 5 ---------------------------------------------------------------------------------------------------------


def damage_a_conversation_day(data_dir: Path) -> tuple[str, Path, bytes]:
    files = store_of(data_dir).day_files("conversation")
    path = files[len(files) // 2]
    body = path.read_bytes()[:200]
    path.write_bytes(body)  # as a full disk or a bad copy leaves it: "File out of specification"
    return path.parent.name.removeprefix("day="), path, body


@pytest.mark.slow
def test_item5_a_damaged_day_is_named_set_aside_and_fetched_again(reference, tmp_path):
    data = copy_of(reference, tmp_path)
    day, path, damaged = damage_a_conversation_day(data)
    report = cli(data, "report", "sla", "--by", "tier", "--start", "2026-11-07", "--end", "2026-11-19")
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr
    assert f"conversation {day} is left out" in report.stderr and "tier" in report.stdout
    other = conversations(data).filter(pl.col("created_time").dt.date().cast(pl.String) != day).head(5)
    imported = cli(data, "import", "--export", "conversation", str(required_csv(other, tmp_path / "other.csv")))
    assert imported.returncode == 0 and "Traceback" not in imported.stderr, imported.stderr
    assert f"conversation {day} is missing from the store" in imported.stderr
    check = cli(data, "repair", "--check-only")
    assert check.returncode == 1 and f"conversation {day}" in check.stdout
    repaired = cli(data, "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"damaged: conversation {day}: {path.relative_to(store_of(data).root).as_posix()}" in repaired.stdout
    assert snapshot(data, sources=False) == snapshot(reference, sources=False)  # fetched again, exactly
    assert store_of(data).day_entries("conversation")[date.fromisoformat(day)]["source"].startswith("sync")
    kept = list((store_of(data).root / "_damaged" / "export=conversation" / f"day={day}").iterdir())
    assert [p.read_bytes() for p in kept] == [damaged]  # set aside, not deleted
    assert cli(data, "repair", "--check-only").returncode == 0


@pytest.mark.slow
def test_item5_a_sync_fetches_a_damaged_day_again(reference, tmp_path):
    data = copy_of(reference, tmp_path)
    day, _, _ = damage_a_conversation_day(data)
    done = cli(data, "sync")
    assert done.returncode == 0, done.stderr
    assert "1 export jobs" in done.stdout and f"conversation {day}..{day}" in done.stdout
    assert snapshot(data, sources=False) == snapshot(reference, sources=False)


# ---- item 6 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "named"), [
    (("sync", "--start", "0001-01-02"), "'0001-01-02' is not between 1990-01-01 and 2099-12-31"),
    (("sync", "--author-lookback-days", "1000000"), "1,000,000 is not between 0 and 3,650 days"),
    (("report", "sla", "--start", "0001-01-02", "--end", "2026-11-10"), "'0001-01-02' is not between"),
])
def test_item6_odd_arguments_get_one_line_naming_the_value(tmp_path, args, named):
    done = cli(tmp_path, *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert named in done.stderr.splitlines()[-1]


def test_item6_a_non_numeric_setting_is_one_line_naming_it(tmp_path):
    done = cli(tmp_path, "report", "sla", "--start", "2026-11-01", "--end", "2026-11-10",
               CARE_DASHBOARD_IFRAME_MAX_AGE="five minutes")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "report: setting CARE_DASHBOARD_IFRAME_MAX_AGE must be a whole number, got " \
                                  "'five minutes'"


def test_item6_odd_values_in_an_imported_file_are_quarantined_by_name(reference, tmp_path):
    data = copy_of(reference, tmp_path)
    f = tmp_path / "odd.json"
    base = {"conversation_id": "c-odd", "author_id": "a", "network": "twitter", "status": "OPEN",
            "created_time": 1_794_326_400_000}
    f.write_text(json.dumps([{**base, "priority": 99_999_999_999_999_999_999_999},
                             {**base, "conversation_id": "c-far", "created_time": -1e15},
                             {**base, "conversation_id": "c-ok", "__row": 7}]).replace("-1e+15", "-1e15"))
    done = cli(data, "import", "--export", "conversation", str(f))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "1 rows, 2 quarantined" in done.stdout
    assert "odd.json:1: priority: cannot read '99999999999999999999999' as int" in done.stdout
    assert "odd.json:2: created_time: '-1000000000000000.0' is not between 1990-01-01 and 2100-01-01" in done.stdout
    g = tmp_path / "authors.csv"
    g.write_text("author_id,network,updated_time,region,Region \na1,twitter,2026-11-10T09:00:00Z,West,EMEA\n")
    done = cli(data, "import", "--export", "author", str(g))
    assert done.returncode == 0 and "kept apart as 'region_2'" in done.stdout, done.stderr


# ---- item 11 --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_item11_the_company_key_is_in_no_path_and_no_output(tmp_path):
    from dashboard.simulator.app import SimulatorOptions
    from dashboard.simulator.server import start_simulator
    from dashboard.simulator.world import WorldConfig, generate_world

    key, user, password = "ck-secret-91b2c7e4", "sync-user", "pa55-word-x"
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    world = generate_world(WorldConfig(seed=6, days=3, conversations_per_day=20, end=end))
    options = SimulatorOptions(username=user, password=password, company_key=key, analytics_per_min=100_000,
                               care_per_min=100_000)
    data = tmp_path / "data"
    with start_simulator(world, options) as sim:
        host = sim.base_url.split("//")[1]
        legacy = data / "store" / f"{key}_{host}".replace(":", "_")  # how the folder was named before
        (legacy / "export=conversation").mkdir(parents=True)
        tenant = {"KHOROS_ANALYTICS_URL": sim.base_url, "KHOROS_CARE_URL": sim.base_url,
                  "KHOROS_COMPANY_KEY": key, "KHOROS_USERNAME": user, "KHOROS_PASSWORD": password,
                  "KHOROS_RATE_ANALYTICS_PER_MIN": "100000", "KHOROS_RATE_CARE_PER_MIN": "100000",
                  "KHOROS_EXPORT_TIME_FORMAT": "MM/dd/yyyy HH:mm:ss"}
        first = (end.date().fromordinal(end.date().toordinal() - 2)).isoformat()
        done = cli(data, "sync", "--exports", "conversation", "--start", first, "--author-lookback-days", "0",
                   **tenant)
        assert done.returncode == 0, done.stderr
        named = cli(data, "sync", "--exports", "conversation", "--start", first, CARE_DASHBOARD_TENANT_NAME="acme-eu",
                    **tenant)
        assert named.returncode == 0, named.stderr
    for run in (done, named):
        assert key not in run.stdout + run.stderr
    paths = [p.relative_to(data).as_posix() for p in data.rglob("*")]
    assert paths and not [p for p in paths if key in p]
    stores = sorted(p.name for p in (data / "store").iterdir())
    assert stores == ["acme-eu"]  # the key-named folder became the hash label, then the configured name
    assert store_of(data).scan("conversation").select(pl.len()).collect().item() > 0
    assert "into " + str(data / "store" / "acme-eu") in named.stdout
