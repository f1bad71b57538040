"""The simulated world: schema-exact tables, determinism, and the semantics the metric engine relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard.schema import EXPORTS, export_schema
from dashboard.simulator.world import WorldConfig, generate_world

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))


def test_every_export_has_exactly_the_schema_columns_and_dtypes(world):
    assert set(world.tables) == set(EXPORTS)
    for export_id, frame in world.tables.items():
        schema = export_schema(export_id).polars_schema
        assert frame.columns[: len(schema)] == list(schema), export_id
        assert frame.select(list(schema)).schema == schema, export_id
        extra = frame.columns[len(schema):]
        if export_schema(export_id).extra_attributes:
            assert {"region", "lifetime_value", "crm_id"} <= set(extra)
            assert all(frame.schema[c] == pl.String for c in extra)
        else:
            assert extra == [], export_id
        assert frame.height > 0, export_id


def test_required_columns_have_no_nulls_and_keys_are_unique(world):
    for export_id, frame in world.tables.items():
        schema = export_schema(export_id)
        for col in schema.columns:
            if col.required:
                assert frame[col.name].null_count() == 0, (export_id, col.name)
        assert frame.select(schema.key).is_duplicated().sum() == 0, export_id


def test_same_config_gives_identical_tables():
    cfg = WorldConfig(seed=3, days=5, conversations_per_day=60, end=END)
    a, b = generate_world(cfg), generate_world(cfg)
    for export_id in a.tables:
        assert a.tables[export_id].equals(b.tables[export_id]), export_id
    assert a.truth.equals(b.truth)
    other = generate_world(WorldConfig(seed=4, days=5, conversations_per_day=60, end=END))
    assert not other.tables["conversation"].equals(a.tables["conversation"])


def test_nothing_happens_after_now_or_before_start(world):
    for export_id, frame in world.tables.items():
        col = export_schema(export_id).time_column
        assert frame[col].max() < world.now, export_id
    conv = world.tables["conversation"]
    assert conv["created_time"].min() >= world.start

