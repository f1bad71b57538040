"""The local store: Parquet per export and day found through a manifest (the commit point), quarantine, freshness,
damaged days set aside, one writer at a time.

The class lives in :mod:`dashboard.store._store`; :mod:`~dashboard.store.sync` fills it from the Khoros client,
:mod:`~dashboard.store.importer` from files exported in the Khoros UI. Every error it raises on purpose is a
:class:`~dashboard.errors.StoreError`.
"""

from dashboard.errors import StoreBusy, StoreError
from dashboard.store._store import (
    DAMAGED_SCHEMA,
    FAILURES_SCHEMA,
    FRESHNESS_SCHEMA,
    MANIFEST_SCHEMA,
    Damage,
    Store,
    open_store,
    store_location,
    store_root,
)

__all__ = ["DAMAGED_SCHEMA", "FAILURES_SCHEMA", "FRESHNESS_SCHEMA", "MANIFEST_SCHEMA", "Damage", "Store", "StoreBusy",
           "StoreError", "open_store", "store_location", "store_root"]
