"""Issue 18 item 1: an import merges by key. A column the file does not have never erases a stored value; the
file's values win where it has the column; the report says what changed (rows added, updated, unchanged, which
values, which columns were kept as stored)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl

from dashboard import schema
from dashboard.store import Store
from dashboard.store.importer import import_files

DAY = date(2026, 11, 2)
T = datetime(2026, 11, 2, 9, tzinfo=UTC)


def synced(tmp_path) -> Store:
    """Three conversations as a sync stores them: every column filled."""
    rows = [{"conversation_id": f"c-{i}", "conversation_display_id": 100 + i, "author_id": f"a-{i}",
             "network": "twitter", "priority": 3, "work_queue_id": 7, "team_id": 2, "status": "CLOSED",
             "created_time": T.replace(minute=i), "closed_time": T.replace(hour=10, minute=i),
             "assigned_agent_id": "agent-9", "tags": ["VIP"], "disposition": "resolved"} for i in range(3)]
    store = Store(tmp_path / "store")
    store.write_day("conversation", DAY, pl.DataFrame(rows, schema=schema.EXPORTS["conversation"].polars_schema),
                    {"source": "sync conversation 2026-11-01..2026-11-20", "as_of": "2026-11-20T12:00:00+00:00"})
    return store


def test_a_file_with_only_the_required_columns_erases_nothing(tmp_path):
    store = synced(tmp_path)
    before = store.scan("conversation").collect().sort("conversation_id")
    f = tmp_path / "required.csv"
    f.write_text("Conversation ID,Author ID,Network,Status,Created Time\n"
                 "c-0,a-0,twitter,OPEN,2026-11-02T09:00:00Z\n"  # reopened: a new status
                 "c-1,a-1,twitter,CLOSED,2026-11-02T09:01:00Z\n"  # the same values
                 "c-7,a-7,facebook,OPEN,2026-11-02T11:00:00Z\n")  # new
    report = import_files(store, "conversation", [f])
    after = store.scan("conversation").collect().sort("conversation_id")
    assert after["conversation_id"].to_list() == ["c-0", "c-1", "c-2", "c-7"]
    kept = ["priority", "work_queue_id", "closed_time", "assigned_agent_id", "disposition", "tags"]
    assert after.head(3).select(kept).equals(before.select(kept))  # not one stored value erased
    assert after["status"].to_list() == ["OPEN", "CLOSED", "CLOSED", "OPEN"]
    assert after.row(3, named=True)["priority"] is None  # a new key has only what the file says
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    assert report.changed_values == {"status": 1}
    assert set(kept) <= set(report.kept_columns)
    text = str(report)
    assert "1 added, 1 updated, 1 unchanged" in text and "values changed: status 1" in text
    assert "kept as stored: conversation_display_id, priority, work_queue_id, team_id" in text
    assert "3 -> 4 rows stored" in text
    # the day keeps the sync's entry (its settle state): the next sync does not need to fetch it
    entry = store.day_entries("conversation")[DAY]
    assert entry["source"].startswith("sync") and entry["as_of"] == "2026-11-20T12:00:00+00:00" and entry["rows"] == 4


def test_where_the_file_has_the_column_its_value_wins_even_an_empty_one(tmp_path):
    store = synced(tmp_path)
    f = tmp_path / "reopened.json"
    f.write_text(json.dumps([{"conversation_id": "c-2", "author_id": "a-2", "network": "twitter", "status": "OPEN",
                              "created_time": "2026-11-02T09:02:00Z", "closed_time": None, "priority": 5}]))
    report = import_files(store, "conversation", [f])
    row = store.scan("conversation").collect().filter(pl.col("conversation_id") == "c-2").row(0, named=True)
    assert row["closed_time"] is None and row["priority"] == 5 and row["status"] == "OPEN"
    assert row["work_queue_id"] == 7 and row["disposition"] == "resolved"
    assert report.changed_values == {"priority": 1, "status": 1, "closed_time": 1}


def test_a_row_whose_time_moved_it_to_another_day_is_not_stored_twice(tmp_path):
    store = synced(tmp_path)
    f = tmp_path / "moved.csv"
    f.write_text("conversation_id,author_id,network,status,created_time\nc-1,a-1,twitter,CLOSED,2026-11-04T08:00:00Z\n")
    report = import_files(store, "conversation", [f])
    frame = store.scan("conversation").collect()
    assert frame.height == 3 and frame.filter(pl.col("conversation_id") == "c-1")["work_queue_id"].to_list() == [7]
    assert store.manifest().filter(pl.col("export") == "conversation")["rows"].to_list() == [2, 1]
    assert report.days == 2 and report.updated == 1


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tmp_path):
    store = synced(tmp_path)
    f = tmp_path / "same.csv"
    f.write_text("conversation_id,author_id,network,status,created_time,priority\n"
                 "c-0,a-0,twitter,CLOSED,2026-11-02T09:00:00Z,1\n")
    import_files(store, "conversation", [f])
    files = sorted(p.name for p in (tmp_path / "store").rglob("*.parquet"))
    again = import_files(store, "conversation", [f])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1) and again.changed_values == {}
    assert sorted(p.name for p in (tmp_path / "store").rglob("*.parquet")) == files  # no file rewritten


def test_author_attributes_the_file_lacks_are_kept(tmp_path):
    store = Store(tmp_path / "store")
    base = {"author_id": "a1", "network": "twitter", "handle": "h", "display_name": "Ann", "tier": "Gold",
            "updated_time": T, "region": "West", "lifetime_value": "1200"}
    store.write_day("author", DAY, pl.DataFrame([base]))
    f = tmp_path / "tiers.csv"
    f.write_text("author_id,network,updated_time,tier\na1,twitter,2026-11-02T09:00:00Z,Platinum\n")
    report = import_files(store, "author", [f])
    row = store.scan("author").collect().row(0, named=True)
    assert (row["tier"], row["region"], row["lifetime_value"], row["display_name"]) == ("Platinum", "West", "1200",
                                                                                        "Ann")
    assert {"region", "lifetime_value", "display_name"} <= set(report.kept_columns)
