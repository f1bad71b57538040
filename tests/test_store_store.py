"""The Parquet store: typed scans, atomic day writes, manifest, quarantine, freshness, import."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from dashboard import schema
from dashboard.settings import Settings
from dashboard.store import Store, open_store
from dashboard.store.importer import ImportFailed, import_files

DAY = date(2026, 11, 2)


def posts(ids: list[str], day: date = DAY, **over) -> pl.DataFrame:
    t0 = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    rows = [{"post_id": p, "conversation_id": f"c-{p}", "author_id": "a", "network": "twitter",
             "received_time": t0 + timedelta(minutes=i), "priority": 1, "work_queue_id": 3, "is_public": True,
             **over} for i, p in enumerate(ids)]
    return pl.DataFrame(rows, schema=schema.EXPORTS["incoming_post"].polars_schema)


def test_an_empty_store_scans_to_typed_empty_frames(tmp_path):
    store = Store(tmp_path)
    for export_id, s in schema.EXPORTS.items():
        frame = store.scan(export_id).collect()
        assert frame.height == 0 and frame.schema == s.polars_schema
    assert store.manifest().is_empty() and store.freshness().is_empty() and store.quarantine().is_empty()
    with pytest.raises(schema.SchemaError, match="unknown export"):
        store.scan("nope")


def test_write_day_then_scan_typed_and_deduplicated(tmp_path):
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1", "p2", "p1"]), {"source": "sync test"})
    store.write_day("incoming_post", DAY + timedelta(days=1), posts(["p3"], DAY + timedelta(days=1)),
                    {"source": "sync test"})
    frame = store.scan("incoming_post").collect()
    assert sorted(frame["post_id"].to_list()) == ["p1", "p2", "p3"]
    assert frame.schema == schema.EXPORTS["incoming_post"].polars_schema
    written = store.day_path("incoming_post", DAY)  # a new file under a new name, found through the manifest
    assert written.parent == tmp_path / "export=incoming_post" / "day=2026-11-02" and written.name.startswith("part-")
    # replacing a day replaces, never appends
    store.write_day("incoming_post", DAY, posts(["p9"]))
    assert sorted(store.scan("incoming_post").collect()["post_id"].to_list()) == ["p3", "p9"]
    # a key stored on two days (e.g. an import with another time) is kept once
    store.write_day("incoming_post", DAY + timedelta(days=1), posts(["p3", "p9"], DAY + timedelta(days=1)))
    assert store.scan("incoming_post").collect()["post_id"].sort().to_list() == ["p3", "p9"]


def test_write_day_refuses_wrong_columns(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ValueError, match="missing columns received_time"):
        store.write_day("incoming_post", DAY, posts(["p1"]).drop("received_time"))
    with pytest.raises(ValueError, match="unknown columns colour"):
        store.write_day("incoming_post", DAY, posts(["p1"]).with_columns(colour=pl.lit("red")))


def test_author_attribute_columns_survive_and_align_across_days(tmp_path):
    store = Store(tmp_path)
    base = {"author_id": "a1", "network": "twitter", "handle": "h", "display_name": "n", "tier": "Gold"}
    d1 = pl.DataFrame([{**base, "updated_time": datetime(2026, 11, 1, tzinfo=UTC), "region": "West"}])
    d2 = pl.DataFrame([{**base, "updated_time": datetime(2026, 11, 2, tzinfo=UTC), "lifetime_value": "12.5"}])
    store.write_day("author", date(2026, 11, 1), d1)
    store.write_day("author", date(2026, 11, 2), d2)
    frame = store.scan("author").collect().sort("updated_time")
    assert frame["region"].to_list() == ["West", None] and frame["lifetime_value"].to_list() == [None, "12.5"]


def test_a_failed_write_leaves_the_old_day_whole(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1", "p2"]))
    real_replace = os.replace

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.write_day("incoming_post", DAY, posts(["p7"]))
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(store.scan("incoming_post").collect()["post_id"].to_list()) == ["p1", "p2"]


def test_replace_days_stages_everything_before_renaming(tmp_path):
    store = Store(tmp_path)
    store.write_day("incoming_post", DAY, posts(["p1"]))
    bad = posts(["p2"]).drop("post_id")
    with pytest.raises(ValueError):
        store.replace_days("incoming_post", {DAY + timedelta(days=1): posts(["p3"], DAY + timedelta(days=1)),
                                              DAY: bad}, {})
    assert store.scan("incoming_post").collect()["post_id"].to_list() == ["p1"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_manifest_and_freshness(tmp_path):
    store = Store(tmp_path)
    fetched = datetime(2026, 11, 5, 8, tzinfo=UTC)
    store.write_day("incoming_post", DAY, posts(["p1", "p2"]),
                    {"fetched_at": fetched, "source": "sync incoming_post", "workflow_id": "wf", "run_id": "r+/="})
    store.write_day("incoming_post", DAY + timedelta(days=1), posts([], DAY),
                    {"fetched_at": fetched + timedelta(hours=1), "source": "import x.csv"})
    m = store.manifest()
    assert m.schema["day"] == pl.Date and m.height == 2
    first = m.row(0, named=True)
    assert (first["rows"], first["source"], first["workflow_id"], first["run_id"]) == (2, "sync incoming_post", "wf",
                                                                                       "r+/=")
    fresh = store.freshness().row(0, named=True)
    # last_success counts syncs only; rows and days count everything stored
    assert fresh == {"export": "incoming_post", "last_success": fetched, "rows": 2, "days": 2, "failed_windows": 0}
    assert m["as_of"].null_count() == 2  # written without a data clock
    data = json.loads((tmp_path / "export=incoming_post" / "_manifest.json").read_text())
    assert set(data["days"]) == {"2026-11-02", "2026-11-03"}


def test_quarantine_files_replace_by_name(tmp_path):
    store = Store(tmp_path)
    q = pl.DataFrame([{"export": "incoming_post", "source": "f.csv", "line": 3, "reason": "bad", "raw": "{}"}],
                     schema=schema.QUARANTINE_SCHEMA)
    store.write_quarantine("incoming_post", "sync-1", q)
    store.write_quarantine("incoming_post", "sync-1", q)
    assert store.quarantine().height == 1
    store.write_quarantine("incoming_post", "sync-1", q.clear())
    assert store.quarantine().is_empty()


def test_stale_temp_files_of_killed_writers_are_swept(tmp_path):
    day_dir = tmp_path / "export=incoming_post" / "day=2026-11-02"
    day_dir.mkdir(parents=True)
    stale = day_dir / ".part.parquet.dead.tmp"
    stale.write_bytes(b"half a file")
    os.utime(stale, (0, 0))
    fresh = day_dir / ".part.parquet.live.tmp"
    fresh.write_bytes(b"being written")
    Store(tmp_path)
    assert not stale.exists() and fresh.exists()


def test_open_store_is_per_tenant(tmp_path):
    store = open_store(Settings(data_dir=tmp_path, analytics_url="https://x.example/api/public", company_key="ck"))
    other = open_store(Settings(data_dir=tmp_path, analytics_url="https://x.example/api/public", company_key="ck2"))
    assert store.root.parent == tmp_path / "store" and store.root.name.startswith("khoros-")
    assert other.root != store.root
    assert store.root.stat().st_mode & 0o777 == 0o700


# ---- import ---------------------------------------------------------------------------------------------------

CSV = b"""Conversation ID,Author ID,Network,Status,Created Time,Priority,Tags,Disposition,Assigned Agent ID
c-1,a-1,twitter,OPEN,2026-11-01T10:00:00Z,3,Billing;VIP,,
c-2,a-2,twitter,CLOSED,2026-11-02T10:00:00Z,x,,,
c-3,,twitter,OPEN,2026-11-02T11:00:00Z,1,,,
c-4,a-4,facebook,PENDING,2026-11-02T12:00:00Z,0,, ,
"""


def test_import_matches_aliases_quarantines_bad_rows_and_reports(tmp_path):
    store = Store(tmp_path / "s")
    f = tmp_path / "conversations.csv"
    f.write_bytes(CSV)
    report = import_files(store, "conversation", [f])
    assert (report.rows, report.quarantined, report.days, report.stored_after) == (2, 2, 2, 2)
    frame = store.scan("conversation").collect().sort("conversation_id")
    assert frame["tags"].to_list() == [["Billing", "VIP"], []]
    assert frame["disposition"].to_list() == [None, None] and frame["assigned_agent_id"].null_count() == 2
    q = store.quarantine().sort("line")
    assert q["line"].to_list() == [3, 4] and q["source"].to_list() == [str(f)] * 2
    assert "priority: cannot read 'x' as int" in q["reason"][0] and "author_id" in q["reason"][1]
    assert store.manifest()["source"].to_list() == ["import conversations.csv"] * 2

    again = tmp_path / "more.json"
    again.write_text(json.dumps([{"conversation_id": "c-1", "author_id": "a-1", "network": "twitter",
                                  "status": "CLOSED", "created_time": 1793527200000}]))
    report = import_files(store, "conversation", [again])
    assert report.stored_before == 2 and report.stored_after == 2  # c-1 replaced, not duplicated
    assert store.scan("conversation").collect().filter(pl.col("conversation_id") == "c-1")["status"][0] == "CLOSED"


def test_import_never_half_applies(tmp_path):
    store = Store(tmp_path / "s")
    good = tmp_path / "good.csv"
    good.write_bytes(CSV)
    missing_column = tmp_path / "bad.csv"
    missing_column.write_text("Conversation ID,Network\nc-9,twitter\n")
    with pytest.raises(ImportFailed, match="required column"):
        import_files(store, "conversation", [good, missing_column])
    assert store.scan("conversation").collect().is_empty() and store.manifest().is_empty()
    with pytest.raises(ImportFailed, match="cannot read"):
        import_files(store, "conversation", [good, tmp_path / "absent.csv"])
    assert store.scan("conversation").collect().is_empty()


def test_import_cli_exit_codes(tmp_path, monkeypatch, capsys):
    import argparse

    from dashboard.store import cli_import

    monkeypatch.setenv("CARE_DASHBOARD_DATA_DIR", str(tmp_path / "data"))
    for name in ("KHOROS_ANALYTICS_URL", "KHOROS_CARE_URL", "KHOROS_BOT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    f = tmp_path / "c.csv"
    f.write_bytes(CSV)
    parser = argparse.ArgumentParser()
    cli_import.add_arguments(parser)
    assert cli_import.run(parser.parse_args(["--export", "conversation", "--strict", str(f)])) == 1
    assert "would be quarantined" in capsys.readouterr().err
    assert cli_import.run(parser.parse_args(["--export", "conversation", str(f)])) == 0
    out = capsys.readouterr().out
    assert "2 rows" in out and "2 quarantined" in out and f"{f}:3: priority" in out
    assert cli_import.run(parser.parse_args(["--export", "conversation", str(tmp_path / "nope.csv")])) == 1
    assert "nothing was written" in capsys.readouterr().err
