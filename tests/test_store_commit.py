"""The store's promises (issue 18): one commit point per write over immutable files, one writer at a time, damaged
days named and set aside and fetched again, a layout-1 store opens, old files are swept only after a grace."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from dashboard import schema
from dashboard.errors import StoreBusy, StoreError
from dashboard.store import Store
from dashboard.store import _store as store_module

DAY = date(2026, 11, 2)


def posts(ids: list[str], day: date = DAY) -> pl.DataFrame:
    t0 = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    rows = [{"post_id": p, "conversation_id": f"c-{p}", "author_id": "a", "network": "twitter",
             "received_time": t0 + timedelta(minutes=i), "priority": 1, "work_queue_id": 3, "is_public": True}
            for i, p in enumerate(ids)]
    return pl.DataFrame(rows, schema=schema.EXPORTS["incoming_post"].polars_schema)


def state(store: Store) -> tuple:
    """Everything a reader sees: rows, manifest, quarantine, failures."""
    rows = store.scan("incoming_post").collect().sort("post_id")
    manifest = store.manifest().drop("fetched_at")
    return rows.to_dicts(), manifest.to_dicts(), store.quarantine().to_dicts(), store.failures()


def parquet_files(root) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")}


def test_a_commit_that_fails_at_any_step_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.commit("incoming_post", days={DAY: posts(["p1", "p2"])}, meta={DAY: {"source": "sync x"}})
    before, files_before = state(store), parquet_files(tmp_path)
    q = pl.DataFrame([{"export": "incoming_post", "source": "f", "line": 2, "reason": "bad", "raw": "{}"}])
    days = {DAY: posts(["p9"]), DAY + timedelta(days=1): posts(["p3"], DAY + timedelta(days=1))}
    real_write, real_commit = store_module._LocalFiles.write_new, store_module._LocalFiles.commit
    for fail_at in range(1, 5):  # the first, second and third new file, then the manifest itself
        calls = {"n": 0}

        def write_new(self, rel, data, fail_at=fail_at, calls=calls):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(28, "No space left on device")
            return real_write(self, rel, data)

        def commit(self, rel, data, fail_at=fail_at, calls=calls):
            if fail_at == 4:
                raise OSError(28, "No space left on device")
            return real_commit(self, rel, data)

        monkeypatch.setattr(store_module._LocalFiles, "write_new", write_new)
        monkeypatch.setattr(store_module._LocalFiles, "commit", commit)
        with pytest.raises(OSError, match="No space"):
            store.commit("incoming_post", days=days, quarantine={"f": q}, failed=(DAY, DAY, "x"))
        assert state(store) == before and parquet_files(tmp_path) == files_before, fail_at
    monkeypatch.undo()
    store.commit("incoming_post", days=days, quarantine={"f": q})
    assert [r["post_id"] for r in state(store)[0]] == ["p3", "p9"] and store.quarantine().height == 1


def test_readers_find_files_through_the_manifest_never_by_listing(tmp_path):
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1"]))
    stray = tmp_path / "export=incoming_post" / f"day={DAY}" / "part-0000.parquet"
    posts(["intruder"]).write_parquet(stray)  # e.g. left by a writer killed before its commit
    other_day = tmp_path / "export=incoming_post" / "day=2026-11-05" / "part.parquet"
    other_day.parent.mkdir()
    posts(["ghost"], date(2026, 11, 5)).write_parquet(other_day)
    assert store.scan("incoming_post").collect()["post_id"].to_list() == ["p1"]


def test_old_files_are_swept_only_after_the_grace_period(tmp_path):
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1"]))
    first = store.day_path("incoming_post", DAY)
    store.write_day("incoming_post", DAY, posts(["p2"]))
    orphan = first.parent / "part-orphan.parquet"
    posts(["x"]).write_parquet(orphan)
    assert store.sweep() == 0 and first.exists() and orphan.exists()  # a reader of the old manifest may read it
    old = time.time() - 2 * store_module.GRACE_S
    os.utime(orphan, (old, old))
    manifest = json.loads((tmp_path / "export=incoming_post" / "_manifest.json").read_text())
    assert [r["file"] for r in manifest["retired"]] == [first.relative_to(tmp_path).as_posix()]
    assert store.sweep(grace_s=0) == 2
    assert not first.exists() and not orphan.exists() and store.day_path("incoming_post", DAY).exists()
    assert store.scan("incoming_post").collect()["post_id"].to_list() == ["p2"]


def test_one_writer_at_a_time_and_the_waiter_is_told_who(tmp_path):
    store = Store(tmp_path)
    inside, release, told = threading.Event(), threading.Event(), []

    def hold():
        with store.writer("sync conversation 2026-11-01..2026-11-20"):
            inside.set()
            release.wait(10)
            store.write_day("incoming_post", DAY, posts(["from-sync"]))

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    busy = r"being written by sync conversation 2026-11-01..2026-11-20 \(process"
    with pytest.raises(StoreBusy, match=busy), Store(tmp_path).writer("import", wait_s=0.2):
        pass
    threading.Timer(0.3, release.set).start()
    with Store(tmp_path).writer("import", on_wait=told.append):
        # the holder has committed before the waiter gets in
        assert Store(tmp_path).scan("incoming_post").collect()["post_id"].to_list() == ["from-sync"]
    holder.join(10)
    assert len(told) == 1 and "sync conversation" in told[0]
    with store.writer("repair"), store.writer("sync inside repair"):  # re-entrant in one thread
        store.write_day("incoming_post", DAY, posts(["p5"]))


def test_a_commit_needs_the_lease_and_the_generation_it_replaces(tmp_path):
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1"]))
    manifest = store._read("incoming_post")
    with pytest.raises(StoreError, match="writer lease"):
        store._commit(manifest, manifest.generation)
    with store.writer("test"), pytest.raises(StoreError, match="changed under the writer lease"):
        store._commit(manifest, manifest.generation - 1)


# ---- damaged days ----------------------------------------------------------------------------------------------


def two_days(tmp_path) -> Store:
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1", "p2"]), {"source": "sync incoming_post x"})
    store.write_day("incoming_post", DAY + timedelta(days=1), posts(["p3"], DAY + timedelta(days=1)),
                    {"source": "sync incoming_post x"})
    return store


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "delete"])
def test_a_damaged_day_is_skipped_named_set_aside_and_kept(tmp_path, damage):
    store = two_days(tmp_path)
    path = store.day_path("incoming_post", DAY)
    body = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(body[: len(body) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not parquet at all" * 40)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    damaged_bytes = path.read_bytes() if path.exists() else None
    reader = Store(tmp_path)
    assert reader.scan("incoming_post").collect()["post_id"].to_list() == ["p3"]  # the other days still read
    damaged = reader.damaged().row(0, named=True)
    assert (damaged["export"], damaged["day"]) == ("incoming_post", DAY)
    assert damaged["file"] == path.relative_to(tmp_path).as_posix() and damaged["source"] == "sync incoming_post x"
    # no writer was busy, so the reader set it aside: kept (not deleted), and the day is missing for the next sync
    assert DAY not in reader.day_entries("incoming_post")
    if damaged_bytes is not None:
        assert (tmp_path / damaged["set_aside"]).read_bytes() == damaged_bytes and not path.exists()
    else:
        assert damaged["set_aside"] is None and "missing" in damaged["reason"]
    reader.write_day("incoming_post", DAY, posts(["p1", "p2"]), {"source": "sync again"})  # fetched again
    assert reader.damaged().is_empty()
    assert sorted(reader.scan("incoming_post").collect()["post_id"].to_list()) == ["p1", "p2", "p3"]


def test_a_damaged_day_found_while_a_writer_is_busy_waits_for_a_writer(tmp_path):
    store = two_days(tmp_path)
    path = store.day_path("incoming_post", DAY)
    path.write_bytes(path.read_bytes()[:100])
    busy, done = threading.Event(), threading.Event()

    def hold():
        with Store(tmp_path).writer("sync"):
            busy.set()
            done.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    busy.wait(10)
    reader = Store(tmp_path)
    assert reader.scan("incoming_post").collect()["post_id"].to_list() == ["p3"]
    assert reader.damaged()["set_aside"].to_list() == [None] and path.exists()
    done.set()
    t.join(10)
    assert [d.day for d in reader.check()] == [DAY] and not path.exists()
    assert reader.damaged()["set_aside"].is_not_null().all()


def test_a_file_changed_in_place_is_found_by_the_deep_check(tmp_path):
    store = two_days(tmp_path)
    path = store.day_path("incoming_post", DAY)
    body = bytearray(path.read_bytes())
    body[len(body) // 3] ^= 0xFF  # same size, footer intact: only its content differs
    path.write_bytes(bytes(body))
    assert store.check(["incoming_post"]) == []
    found = store.check(["incoming_post"], deep=True)
    assert [(d.day, d.reason) for d in found] == [(DAY, "the file's content is not what was written (its SHA-256 "
                                                         "differs)")]
    assert DAY not in store.day_entries("incoming_post")


# ---- a store written by the layout before issue 18 opens ------------------------------------------------------


def test_a_layout_1_store_opens_as_it_was_and_is_migrated_in_place(tmp_path):
    """Written by hand the way the store wrote before: ``day=<d>/part.parquet`` found by listing, a manifest of
    days only, ``_failures.json``, a quarantine file beside; one day file without a manifest entry."""
    export = tmp_path / "export=incoming_post"
    for day, ids in ((DAY, ["p1", "p2"]), (DAY + timedelta(days=1), ["p3"]), (DAY + timedelta(days=2), ["p4"])):
        (export / f"day={day}").mkdir(parents=True)
        posts(ids, day).write_parquet(export / f"day={day}" / "part.parquet")
    fetched = "2026-11-05T08:00:00.000+00:00"
    (export / "_manifest.json").write_text(json.dumps({"export": "incoming_post", "days": {
        str(DAY): {"rows": 2, "fetched_at": fetched, "source": "sync incoming_post 2026-11-02..2026-11-03"},
        str(DAY + timedelta(days=1)): {"rows": 1, "fetched_at": fetched, "source": "sync incoming_post"}}}))
    (tmp_path / "_failures.json").write_text(json.dumps([{"export": "incoming_post", "first_day": "2026-11-10",
                                                          "last_day": "2026-11-12", "reason": "FAILED",
                                                          "at": fetched}]))
    (tmp_path / "_quarantine" / "export=incoming_post").mkdir(parents=True)
    pl.DataFrame([{"export": "incoming_post", "source": "f.csv", "line": 3, "reason": "bad", "raw": "{}"}],
                 schema=schema.QUARANTINE_SCHEMA).write_parquet(tmp_path / "_quarantine" / "export=incoming_post" /
                                                                "import-f.parquet")
    files = parquet_files(tmp_path)

    store = Store(tmp_path)
    assert sorted(store.scan("incoming_post").collect()["post_id"].to_list()) == ["p1", "p2", "p3", "p4"]
    entries = store.day_entries("incoming_post")
    assert entries[DAY]["source"] == "sync incoming_post 2026-11-02..2026-11-03" and entries[DAY]["rows"] == 2
    assert entries[DAY + timedelta(days=2)]["rows"] == 1  # adopted; not a sync's, so the next sync fetches it
    assert store.failures()[0]["first_day"] == "2026-11-10" and store.quarantine()["line"].to_list() == [3]
    assert parquet_files(tmp_path) == files and not (tmp_path / "_failures.json").exists()  # nothing moved
    assert json.loads((export / "_manifest.json").read_text())["layout"] == 2
    store.write_day("incoming_post", DAY, posts(["p9"]))
    assert sorted(Store(tmp_path).scan("incoming_post").collect()["post_id"].to_list()) == ["p3", "p4", "p9"]
