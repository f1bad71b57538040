"""Small worlds for tests: a simulated world's tables written into a tenant's store, as a sync writes them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from dashboard.schema import EXPORTS
from dashboard.settings import Settings, load_settings
from dashboard.store import open_store

TENANT_ENV = {
    # A tenant whose API is unreachable: what reads the store must not call it.
    "KHOROS_ANALYTICS_URL": "http://127.0.0.1:9/api/public",
    "KHOROS_COMPANY_KEY": "test",
    "KHOROS_USERNAME": "test",
    "KHOROS_PASSWORD": "test",
}


def tenant_settings(data_dir: Path, **env: str) -> Settings:
    return load_settings(env={**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(data_dir), **env})


def write_tenant_store(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], data_dir: Path) -> Path:
    """Every table written into the test tenant's store, one file per export and UTC day; returns its root."""
    store = open_store(tenant_settings(data_dir))
    for export_id, table in tables.items():
        frame = table.lazy().collect()
        column = EXPORTS[export_id].time_column
        for (day,), part in frame.with_columns(pl.col(column).dt.date().alias("_day")).partition_by(
                "_day", as_dict=True).items():
            store.write_day(export_id, day, part.drop("_day"), meta={"source": "test world"})
    return store.root
