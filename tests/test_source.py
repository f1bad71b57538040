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
