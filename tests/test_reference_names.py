"""Issue 17, item 3 (the data half): the sync lists work queues and teams and keeps them in the store as reference
tables; ``core.reference_names()`` returns them. Oracle: the simulated world's ``work_queues`` and ``teams``
frames, served by the simulator's ``GET /api/v2/workqueues/active`` and ``GET /api/public/teams``. The pages and
the CLI on the demo: tests/test_ux_names.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.source import TenantSource
from dashboard.store import Store
from dashboard.store.reference import REFERENCE_NAMES, reference_names
from dashboard.store.sync import sync
from tests.test_sync_simulator import InProcess, client_for, options, settings

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=8, days=4, conversations_per_day=20, end=END))


def queue_names(world) -> dict[int, str]:
    return dict(world.work_queues.select("id", "name").iter_rows())


def team_names(world) -> dict[int, str]:
    return dict(world.teams.select("team_id", "name").iter_rows())


def stored_names(store: Store) -> dict[str, dict[int, str]]:
    return {column: dict(frame.iter_rows()) for column, frame in reference_names(store.scan).items()}


def run_sync(world, store: Store, data_dir, now: datetime, **opts):
    with InProcess(world, options(**opts)) as sim:
        client = client_for(sim, data_dir)
        try:
            return sync(client, store, (now - timedelta(days=2)).date(), now.date(), now=now)
        finally:
            client.close()


def test_the_simulator_lists_the_worlds_work_queues_and_teams(world, tmp_path):
    with InProcess(world, options()) as sim:
        client = client_for(sim, tmp_path)
        queues = {q.id: q.name for q in client.work_queues(fresh=True)}
        teams = {t.team_id: t.name for t in client.teams(fresh=True)}
        members = {t.team_id: t.members for t in client.teams(fresh=True)}
        client.close()
    assert queues == queue_names(world) and len(queues) >= 5
    assert teams == team_names(world) and len(teams) >= 3
    assert members == dict(world.agents.group_by("team_id").len().iter_rows())


def test_a_sync_stores_the_names_and_the_core_returns_them(world, tmp_path):
    # the core, as any page or the CLI opens it on a tenant's store
    core = Dashboard(TenantSource(settings(tmp_path / "data")))
    store = core.store
    summary = run_sync(world, store, tmp_path, END)
    assert summary.ok, summary.failures
    assert "names of" in summary.names
    for table in REFERENCE_NAMES.values():
        frame = store.scan(table).collect()
        assert frame.height and frame.get_column("fetched_time").unique().to_list() == [END]
    assert stored_names(store) == {"work_queue_id": queue_names(world), "team_id": team_names(world)}
    try:
        names = core.reference_names()
        assert dict(names["work_queue_id"].iter_rows()) == queue_names(world)
        assert dict(names["team_id"].iter_rows()) == team_names(world)
        assert names["agent_id"].height  # agents still named by raw_agent_states
    finally:
        core.close()


def test_names_are_listed_at_most_once_per_sync_and_not_again_within_15_minutes(world, tmp_path):
    store = Store(tmp_path / "store")
    run_sync(world, store, tmp_path, END)
    again = run_sync(world, store, tmp_path, END + timedelta(minutes=10))
    assert again.ok and again.names == ""  # nothing asked: fresh enough
    version = store.data_version()
    later = run_sync(world, store, tmp_path, END + timedelta(minutes=20))
    assert "names of" in later.names and store.data_version() != version


def test_a_renamed_queue_shows_after_the_next_sync_and_an_unlisted_one_keeps_its_last_name(world, tmp_path):
    store = Store(tmp_path / "store")
    run_sync(world, store, tmp_path, END)
    before = queue_names(world)
    renamed_id, gone_id = sorted(before)[-1], sorted(before)[0]
    renamed = replace(world, work_queues=world.work_queues.filter(pl.col("id") != gone_id).with_columns(
        name=pl.when(pl.col("id") == renamed_id).then(pl.lit("Escalations (renamed)")).otherwise("name")),
        teams=world.teams.with_columns(name=pl.col("name") + " EMEA"))
    # the next day's sync: a name changed in Khoros appears, even though the client cached yesterday's listing
    summary = run_sync(renamed, store, tmp_path, END + timedelta(days=1))
    assert summary.ok, summary.failures
    names = stored_names(store)
    assert names["work_queue_id"][renamed_id] == "Escalations (renamed)"
    assert names["work_queue_id"][gone_id] == before[gone_id]  # no longer listed: its last known name
    assert names["team_id"] == {t: f"{n} EMEA" for t, n in team_names(world).items()}
    # the same day again, later: the listing of that day is replaced, what other days listed stays
    third = run_sync(world, store, tmp_path, END + timedelta(days=1, hours=1))
    assert third.ok
    assert stored_names(store)["work_queue_id"] == before


def test_a_failed_listing_leaves_the_names_as_they_were_and_fails_no_export(world, tmp_path):
    store = Store(tmp_path / "store")
    run_sync(world, store, tmp_path, END)
    renamed = replace(world, teams=world.teams.with_columns(name=pl.col("name") + " (new)"))
    # the Care API refuses this user (403: no Care access); the Analytics API still answers
    summary = run_sync(renamed, store, tmp_path, END + timedelta(days=1), forbidden_families=("care",))
    assert summary.ok and summary.failures == []
    assert "not refreshed: work queues" in summary.names
    names = stored_names(store)
    assert names["work_queue_id"] == queue_names(world)
    assert names["team_id"] == {t: f"{n} (new)" for t, n in team_names(world).items()}

