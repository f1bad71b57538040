"""Kept facts through the real command line, with ``kill -9`` at chosen write events of the recompute (injected
from outside the program, ``tests/_hooks/sitecustomize.py``): a killed recompute leaves the previous facts in
force — exactly the facts of the exports as they were before — and the next ``python -m dashboard facts`` brings
them current; ``--check`` then finds them equal to the facts of the stored exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.metrics import FACT_EXPORTS, conversation_facts
from dashboard.settings import Settings
from dashboard.store import Store
from dashboard.store.facts import FactsKeeper
from tests.test_integrity_cli import cli, required_csv, store_of, write_events

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def facts_of_exports(root: Path) -> pl.DataFrame:
    store = Store(root)
    return conversation_facts(*(store.scan(e) for e in FACT_EXPORTS)).collect().sort("conversation_id")


def kept_in_force(root: Path) -> pl.DataFrame:
    """The facts the store's derived-data manifest names now, current or not."""
    core = Dashboard.for_store(root, settings=Settings(), keep=False)
    kept = FactsKeeper(core.store).lookup("human", core._tier_source(), current_only=False)
    assert kept is not None
    return kept.conversations().select(facts_of_exports(root).columns).collect().sort("conversation_id")


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("synced")
    done = cli(data_dir, "sync", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "Facts: facts kept (full)" in done.stdout, done.stdout
    assert cli(data_dir, "facts", "--check").returncode == 0
    return data_dir


def test_kill_9_at_any_point_of_a_recompute_leaves_the_previous_facts_in_force(synced, tmp_path):
    root = store_of(synced).root
    before = facts_of_exports(root)
    stored = Store(root).scan("conversation").collect().sort("conversation_id")
    f = required_csv(stored.head(40), tmp_path / "some.csv", Disposition=pl.lit("imported"),
                     **{"Work Queue ID": pl.lit(424242)})
    clean = tmp_path / "clean"
    shutil.copytree(synced, clean)
    log = tmp_path / "clean.log"
    done = cli(clean, "import", "--export", "conversation", str(f), hook={"log": str(log)})
    assert done.returncode == 0, done.stderr
    assert "facts kept (incremental)" in done.stdout, done.stdout
    after = facts_of_exports(store_of(clean).root)
    assert not after.equals(before)
    events = write_events(log)
    data_commit = next(i for i, e in enumerate(events, 1) if e.startswith("replace") and "/export=" in e)
    facts_commit = next(i for i, e in enumerate(events, 1) if e.startswith("replace") and "/facts/_manifest" in e)
    assert data_commit < facts_commit
    recompute = list(range(data_commit + 1, facts_commit + 1))
    points = sorted({recompute[0], recompute[len(recompute) // 2], facts_commit - 1, facts_commit})
    for point in points:
        killed = tmp_path / f"killed-{point}"
        shutil.copytree(synced, killed)
        run = cli(killed, "import", "--export", "conversation", str(f), hook={"kill_at": point})
        assert run.returncode == -9, (point, run.stderr)
        killed_root = store_of(killed).root
        assert facts_of_exports(killed_root).equals(after)  # the import itself was committed
        assert kept_in_force(killed_root).equals(before), f"kill at {events[point - 1]}"
        check = cli(killed, "facts", "--check")
        assert check.returncode == 1 and "not kept for the stored data" in check.stdout, check.stdout
        again = cli(killed, "facts")
        assert again.returncode == 0 and "incremental" in again.stdout, again.stderr
        assert cli(killed, "facts", "--check").returncode == 0
        assert kept_in_force(killed_root).equals(after)


def test_the_facts_command_rebuilds_and_a_changed_policy_is_evaluated_once(synced, tmp_path):
    data_dir = tmp_path / "copy"
    shutil.copytree(synced, data_dir)
    policy = tmp_path / "policy.toml"
    policy.write_text((Path(__file__).resolve().parents[1] / "dashboard" / "default_policy.toml").read_text()
                      .replace('target = "15m"', 'target = "10m"', 1))
    first = cli(data_dir, "facts", CARE_DASHBOARD_POLICY=str(policy))
    assert first.returncode == 0 and "facts kept (evaluation)" in first.stdout, first.stdout
    second = cli(data_dir, "facts", CARE_DASHBOARD_POLICY=str(policy))
    assert second.returncode == 0 and "facts are current" in second.stdout, second.stdout
    full = cli(data_dir, "facts", "--full")
    assert full.returncode == 0 and "facts kept (full)" in full.stdout, full.stdout
    assert cli(data_dir, "facts", "--check").returncode == 0
