"""The local store: hive-partitioned Parquet per export and day, a manifest, quarantine and freshness.

The class lives in :mod:`dashboard.store._store`; :mod:`~dashboard.store.sync` fills it from the Khoros client,
:mod:`~dashboard.store.importer` from files exported in the Khoros UI. Every error it raises on purpose is a
:class:`~dashboard.errors.StoreError`.
"""

from dashboard.errors import StoreError
from dashboard.store._store import (
    FAILURES_SCHEMA,
    FRESHNESS_SCHEMA,
    MANIFEST_SCHEMA,
    Store,
    open_store,
    store_root,
)

__all__ = ["FAILURES_SCHEMA", "FRESHNESS_SCHEMA", "MANIFEST_SCHEMA", "Store", "StoreError", "open_store", "store_root"]
