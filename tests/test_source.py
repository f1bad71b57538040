"""The data source bootstrap: demo stores are per world, and stale ones are pruned, fresh ones kept."""

import os
import time

from dashboard.source import _prune_old_demo_stores


def test_only_stale_demo_stores_are_pruned(tmp_path):
    stale, fresh, current, tenant = (tmp_path / n for n in ("simulator-old", "simulator-new", "simulator-now",
                                                            "acme@analytics"))
    for folder in (stale, fresh, current, tenant):
        (folder / "export=conversation").mkdir(parents=True)
        (folder / "export=conversation" / "part.parquet").write_bytes(b"x")
    week_ago = time.time() - 7 * 86400
    for path in [stale, *stale.rglob("*")]:
        os.utime(path, (week_ago, week_ago))
    _prune_old_demo_stores(tmp_path, keep="simulator-now")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme@analytics", "simulator-new", "simulator-now"]


def test_data_version_changes_when_a_day_is_written_or_rows_are_quarantined(tmp_path):
    from datetime import date

    import polars as pl

    from dashboard.schema import QUARANTINE_SCHEMA, parse_rows
    from dashboard.settings import load_settings
    from dashboard.source import DataSource
    from dashboard.store import Store

    store = Store(tmp_path)
    source = DataSource(load_settings(env={}), store)
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
