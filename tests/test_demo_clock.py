"""Issue 17, item 4: the demo world's clock advances by syncing new days, not by regenerating history.

An advanced demo store holds what a fresh sync of the same world to the new end holds (same rows, same figures),
while the days settled before the advance are not fetched again; every process follows the recorded end; the app's
fill brings a stale demo up to now; an interrupted advance is completed. The world's prefix property itself:
tests/test_simulator_prefix.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.errors import SettingsError
from dashboard.schema import EXPORTS, export_schema
from dashboard.settings import load_settings
from dashboard.simulator.world import GENERATOR
from dashboard.source import DemoSource, DemoWorld
from dashboard.store import Store
from dashboard.store.reference import REFERENCE_NAMES
from dashboard.ui import loaders
from dashboard.views import advance_demo, build_sla_breakdown
from tests import _page_helpers as h
from tests._worlds import tenant_settings
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

# Ten days: the first ones are settled at T1 for every export (conversations settle after 7 days), so the advance
# really keeps stored history rather than fetching everything again.
SIZE = {"CARE_DASHBOARD_SIMULATOR_SEED": "21", "CARE_DASHBOARD_SIMULATOR_DAYS": "10",
        "CARE_DASHBOARD_SIMULATOR_CPD": "20", "CARE_DASHBOARD_TIMEZONE": "America/New_York"}
T1 = datetime(2026, 11, 15, 18, 30, tzinfo=UTC)
"""A Sunday: the agents' Offline states from Friday's log-off are still going on (they end on Monday)."""
T2 = datetime(2026, 11, 18, 9, 45, tzinfo=UTC)


def demo(data_dir, **env) -> Dashboard:
    return Dashboard.open(load_settings(env={**SIZE, "CARE_DASHBOARD_DATA_DIR": str(data_dir), **env}))


def stored(core: Dashboard, table: str) -> pl.DataFrame:
    schema = export_schema(table)
    frame = core.scan(table).collect()
    if table in REFERENCE_NAMES.values():
        frame = frame.drop("fetched_time")  # when it was listed differs; what was listed may not
    columns = sorted(frame.columns)
    # sorted by the key, then by every other column: a table without a key (or with duplicate keys) compares too
    order = [*schema.key, *[c for c in columns if c not in schema.key and frame.schema[c] != pl.List]]
    return frame.select(columns).sort(order)


def file_names(core: Dashboard, export_id: str) -> dict:
    return {day: entry.get("file") for day, entry in core.store.day_entries(export_id).items()}


@pytest.fixture(scope="module")
def advanced(tmp_path_factory):
    """A demo made at T1 (pinned, as the suite pins it), then brought to T2 with the Data page's action."""
    core = demo(tmp_path_factory.mktemp("advanced"), CARE_DASHBOARD_SIMULATOR_END=T1.isoformat())
    before = {e: file_names(core, e) for e in EXPORTS}
    start = DemoWorld.read(core.store).first
    outcome = core.source.advance(end=T2)
    yield core, before, start, outcome
    core.close()


@pytest.fixture(scope="module")
def fresh(advanced, tmp_path_factory):
    """A fresh demo store of the same world (same seed, size, start) ending T2, synced in one go."""
    core, _, start, _ = advanced
    settings = load_settings(env={**SIZE, "CARE_DASHBOARD_DATA_DIR": str(tmp_path_factory.mktemp("fresh"))})
    record = DemoWorld(**{**DemoWorld.read(core.store).__dict__, "start": start, "end": T2, "synced": False})
    source = DemoSource(settings, Store(settings.data_dir / "fresh-demo"), record)
    source.fill()
    core = Dashboard(source)
    assert DemoWorld.read(core.store).first == start
    yield core
    core.close()


def test_an_advanced_demo_store_equals_a_fresh_sync_of_the_world_to_the_new_end(advanced, fresh):
    core, _, start, outcome = advanced
    assert outcome is True and core.now() == T2 == fresh.now()
    record = DemoWorld.read(core.store)
    assert (record.first, record.end, record.synced, record.advancing_to) == (start, T2, True, None)
    assert record.generator == GENERATOR
    for table in [*EXPORTS, *REFERENCE_NAMES.values()]:
        ours, theirs = stored(core, table), stored(fresh, table)
        assert ours.height == theirs.height, table
        assert ours.equals(theirs), table
    # the same figures: every conversation's facts, and attainment per tier and per work queue
    assert core.facts().sort("conversation_id").equals(fresh.facts().sort("conversation_id"))
    for group in ("tier", "queue"):
        ours = build_sla_breakdown(core, core.default_filters(days=12), "first_response", group)
        theirs = build_sla_breakdown(fresh, fresh.default_filters(days=12), "first_response", group)
        assert ours.options and ours.options == theirs.options
        assert ours.groups.height and ours.groups.equals(theirs.groups), group


def test_the_advance_kept_the_settled_history_and_synced_only_new_and_unsettled_days(advanced):
    core, before, _, _ = advanced
    after = {e: file_names(core, e) for e in EXPORTS}
    conversation_days = sorted(before["conversation"])
    # days more than a week before T1 were settled: the same files, not fetched again
    settled = [d for d in conversation_days if d < (T1 - timedelta(days=8)).date()]
    assert settled, "the world must be longer than the settle margin for this test to say anything"
    assert all(after["conversation"][d] == before["conversation"][d] for d in settled)
    # the new days are there, and the world still starts where it did
    assert max(after["conversation"]) == T2.date() > max(conversation_days)
    assert min(after["conversation"]) == min(conversation_days)


def test_every_process_follows_the_recorded_end(tmp_path):
    first = demo(tmp_path, CARE_DASHBOARD_SIMULATOR_END=T1.isoformat())
    other = Dashboard.open(load_settings(env={**SIZE, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}), demo="read")
    assert other.now() == T1
    version = other.data_version()
    first.source.advance(end=T1 + timedelta(hours=5))
    # the other process (a page already open, a notebook) moves on with the record at its next look
    assert other.now() == T1 + timedelta(hours=5)
    assert other.data_version() != version
    reader = Dashboard.open(load_settings(env={**SIZE, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}), demo="read")
    assert reader.now() == T1 + timedelta(hours=5)
    # an end at or before the recorded one changes nothing
    assert first.source.advance(end=T1) is False and first.now() == T1 + timedelta(hours=5)
    for core in (first, other, reader):
        core.close()


def test_the_apps_fill_brings_a_stale_demo_up_to_now_and_the_data_page_can_too(tmp_path):
    stale = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    made = demo(tmp_path, CARE_DASHBOARD_SIMULATOR_END=stale.isoformat())
    start = DemoWorld.read(made.store).first
    made.close()
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    app = demo(tmp_path)  # the app (or a notebook) opening the demo unpinned, three hours later
    record = DemoWorld.read(app.store)
    assert record.end >= before and record.first == start and record.synced
    assert app.now() == record.end
    # a restart minutes later reuses it as it is
    again = demo(tmp_path)
    assert again.now() == record.end and again.source._world is None
    again.close()
    # the Data page's action: nothing to do when the clock is within the minute
    outcome = advance_demo(app, "America/New_York")
    assert outcome.ok and outcome.label in {"The demo is up to now", "Demo brought up to now"}
    app.close()


def test_an_interrupted_advance_is_completed_by_the_next_fill(tmp_path):
    core = demo(tmp_path, CARE_DASHBOARD_SIMULATOR_END=T1.isoformat())
    record = DemoWorld.read(core.store)
    core.close()
    # the process died after recording the advance under way, before the new days were in
    DemoWorld(**{**record.__dict__, "advancing_to": T2}).write(core.store)
    reopened = Dashboard.open(load_settings(env={**SIZE, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}), demo="read")
    assert reopened.now() == T1  # until the advance is done, every process reads the old end
    reopened.close()
    resumed = demo(tmp_path)  # the app's fill (unpinned) completes it, then brings it up to now
    done = DemoWorld.read(resumed.store)
    assert done.advancing_to is None and done.end >= T2 and done.first == record.first
    assert max(resumed.store.day_entries("conversation")) >= T2.date()
    resumed.close()


def test_only_the_demo_has_a_clock_to_bring_forward(tmp_path):
    tenant = Dashboard.open(tenant_settings(tmp_path))
    with pytest.raises(SettingsError, match="only the demo"):
        advance_demo(tenant, "UTC")
    tenant.close()


def test_the_data_pages_button_brings_the_demo_up_to_now(tmp_path, monkeypatch, app_env):
    # its own small demo folder, pinned three hours back (the suite's shared demo stays as it is)
    stale = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    env = {**SIZE, "CARE_DASHBOARD_DATA_DIR": str(tmp_path), "CARE_DASHBOARD_SIMULATOR_END": stale.isoformat(),
           "CARE_DASHBOARD_SIMULATOR_DAYS": "3"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = run_app("pages/data.py")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "The demo world's clock" in h.texts(at) and "behind the wall clock" in h.texts(at)
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    at.button(key="data_advance_demo").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("The demo world now ends") for s in at.success)
    record = DemoWorld.read(next(c for c in loaders._CORES.values() if c.store.root.is_relative_to(tmp_path)).store)
    assert record.end >= before and record.first == stale - timedelta(days=3)
