"""The data source: one demo world per data folder, recorded in its store and reused by every process until it
is refreshed; old per-minute demo folders pruned; the data version follows every write."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.settings import load_settings
from dashboard.source import DEMO_RECORD, DemoWorld, TenantSource, _prune_old_demo_stores
from tests._worlds import tenant_settings

# whole demo worlds, syncs or engines: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

SMALL = {"CARE_DASHBOARD_SIMULATOR_SEED": "3", "CARE_DASHBOARD_SIMULATOR_DAYS": "3",
         "CARE_DASHBOARD_SIMULATOR_CPD": "20"}


def demo_settings(data_dir, **env):
    return load_settings(env={**SMALL, "CARE_DASHBOARD_DATA_DIR": str(data_dir), **env})


def test_the_first_open_makes_and_records_the_world_and_every_later_open_reuses_it(tmp_path):
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    first = Dashboard.open(demo_settings(tmp_path))
    record = DemoWorld.read(first.store)
    assert record.synced and record.end >= before and record.end.second == 0
    assert first.now() == record.end
    conversations = first.scan("conversation").select(pl.len()).collect().item()
    assert conversations > 0
    version = first.data_version()
    first.close()

    # Another process (a CLI, a notebook, a restart) minutes later: same store folder, same world, nothing redone.
    second = Dashboard.open(demo_settings(tmp_path))
    assert second.store.root == first.store.root and second.store.root.name == "simulator-seed3-d3-c20"
    assert second.now() == record.end
    assert second.data_version() == version
    assert second.source._world is None  # not even generated: the store holds it
    assert second.scan("conversation").select(pl.len()).collect().item() == conversations
    # ... and when something needs the simulator, the world made from the record is the stored one
    assert second.source.world.tables["conversation"].height == conversations
    second.close()


def test_a_reader_changes_nothing(tmp_path):
    reader = Dashboard.open(demo_settings(tmp_path), demo="read")
    assert not (reader.store.root / DEMO_RECORD).exists()
    assert reader.scan("conversation").select(pl.len()).collect().item() == 0


def test_an_interrupted_fill_is_completed_with_the_same_world(tmp_path):
    core = Dashboard.open(demo_settings(tmp_path), demo="record")
    record = DemoWorld.read(core.store)
    assert not record.synced and core.scan("conversation").select(pl.len()).collect().item() == 0
    again = Dashboard.open(demo_settings(tmp_path))
    assert DemoWorld.read(again.store) == DemoWorld(**{**record.__dict__, "synced": True})
    assert again.scan("conversation").select(pl.len()).collect().item() > 0


def test_a_pinned_end_and_a_refresh_each_replace_the_world(tmp_path):
    pinned = "2026-11-18T15:30:00+00:00"
    core = Dashboard.open(demo_settings(tmp_path, CARE_DASHBOARD_SIMULATOR_END=pinned))
    assert core.now() == datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    def conversation_days(core) -> pl.Series:
        return core.store.manifest().filter(pl.col("export") == "conversation").get_column("day")

    assert conversation_days(core).max() == date(2026, 11, 18)
    moved = Dashboard.open(demo_settings(tmp_path, CARE_DASHBOARD_SIMULATOR_END="2026-12-01T09:00:00Z"))
    assert moved.now() == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert conversation_days(moved).min() > date(2026, 11, 18)  # the old world is gone
    # refresh (the Data page's button, sync --new-demo-world): a new world, seen by the next process
    later = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    moved.source.refresh(end=later)
    assert moved.now() == later
    reopened = Dashboard.open(demo_settings(tmp_path), demo="read")
    assert reopened.now() == later
    assert conversation_days(reopened).max() == later.date()


def test_only_stale_old_style_demo_stores_are_pruned(tmp_path):
    names = ("simulator-seed7-d90-c400-20261101T0930", "simulator-seed7-d90-c400-20261124T1500",
             "simulator-seed7-d90-c400", "acme@analytics")
    for name in names:
        (tmp_path / name / "export=conversation").mkdir(parents=True)
        (tmp_path / name / "export=conversation" / "part.parquet").write_bytes(b"x")
    stale = tmp_path / names[0]
    week_ago = time.time() - 7 * 86400
    for path in [stale, *stale.rglob("*")]:
        os.utime(path, (week_ago, week_ago))
    for path in [tmp_path / names[2], *(tmp_path / names[2]).rglob("*")]:  # the current folder is never pruned
        os.utime(path, (week_ago, week_ago))
    _prune_old_demo_stores(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])


def test_data_version_changes_when_a_day_is_written_or_rows_are_quarantined(tmp_path):
    from dashboard.schema import QUARANTINE_SCHEMA, parse_rows

    source = TenantSource(tenant_settings(tmp_path))
    store = source.store
    empty = source.data_version()
    rows = parse_rows("conversation", [{"conversation_id": "c1", "author_id": "a", "network": "twitter",
                                        "status": "OPEN", "created_time": 1_762_000_000_000}]).frame
    store.write_day("conversation", date(2025, 11, 1), rows, {"rows": 1, "source": "test"})
    written = source.data_version()
    assert written != empty
    bad = pl.DataFrame({"export": ["conversation"], "source": ["f.csv"], "line": [2], "reason": ["x"],
                        "raw": ["{}"]}, schema=QUARANTINE_SCHEMA)
    store.write_quarantine("conversation", "f.csv", bad)
    assert source.data_version() not in (empty, written)


def test_a_damaged_record_is_a_store_error_naming_it(tmp_path):
    from dashboard.errors import StoreError

    core = Dashboard.open(demo_settings(tmp_path), demo="record")
    (core.store.root / DEMO_RECORD).write_text("{not json")
    with pytest.raises(StoreError, match=DEMO_RECORD):
        Dashboard.open(demo_settings(tmp_path))
