"""Facts kept with the data (``dashboard.store.facts``): after a sync, an import and a policy change the facts,
bursts and evaluation read from the store equal those computed from the stored exports; only what changed is
computed again; a failed recompute leaves the previous facts in force; an unchanged policy recomputes nothing.

The oracle is the definition itself run on the raw tables (``conversation_facts``, ``customer_bursts``,
``sla.evaluate`` without kept columns), and the simulator world's truth where it has one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.metrics import FACT_EXPORTS, conversation_facts, load_policy, parse_policy
from dashboard.metrics.sla import KEPT_PREFIX, evaluate
from dashboard.settings import load_settings
from dashboard.store import _store as store_module
from dashboard.store.facts import FactsKeeper

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
WORLD = {"CARE_DASHBOARD_SIMULATOR_SEED": "3", "CARE_DASHBOARD_SIMULATOR_DAYS": "10",
         "CARE_DASHBOARD_SIMULATOR_CPD": "25", "CARE_DASHBOARD_SIMULATOR_END": END.isoformat()}
POLICY = """\
tiers = ["Platinum", "Gold", "Silver", "Standard"]
[schedules.default]
timezone = "America/New_York"
monday = [["09:00", "17:00"]]
tuesday = [["09:00", "17:00"]]
wednesday = [["09:00", "17:00"]]
thursday = [["09:00", "17:00"]]
friday = [["09:00", "17:00"]]
[[targets]]
metric = "first_response"
tier = "Platinum"
target = "{platinum}"
clock = "business"
[[targets]]
metric = "first_response"
target = "2h"
clock = "calendar"
[[targets]]
metric = "next_response"
target = "1h"
clock = "business"
[[targets]]
metric = "time_to_assign"
target = "20m"
clock = "calendar"
[[targets]]
metric = "resolution"
target = "1d"
clock = "business"
"""


def demo(data_dir: Path, **env: str) -> Dashboard:
    """The small demo world's core, made and recorded; its store empty (the tests sync it)."""
    settings = load_settings(env={**WORLD, "CARE_DASHBOARD_DATA_DIR": str(data_dir), **env})
    return Dashboard.open(settings, demo="record")


def raw_facts(core: Dashboard, rule: str = "human") -> pl.DataFrame:
    return conversation_facts(*(core.scan(e) for e in FACT_EXPORTS), bot_rule=rule).collect()


def derived_files(core: Dashboard) -> set[str]:
    return {p.relative_to(core.store.root).as_posix() for p in (core.store.root / "facts").rglob("*.parquet")}


def test_after_a_sync_and_a_later_sync_the_kept_facts_are_those_of_the_stored_exports(tmp_path):
    core = demo(tmp_path)
    first = (END - timedelta(days=10)).date()
    middle = (END - timedelta(days=4)).date()
    core.sync(first, middle, ["conversation", "incoming_post", "response", "conversation_history_action", "author"])
    kept = core._keeper().lookup("human", core._tier_source(), core.policy(), core.settings.timezone)
    assert kept is not None and kept.entry["last"]["kind"] == "full"
    assert core.check_kept_facts() == []
    assert core.facts().sort("conversation_id").equals(raw_facts(core).sort("conversation_id"))
    before = derived_files(core)

    core.sync(middle + timedelta(days=1), END.date(),
              ["conversation", "incoming_post", "response", "conversation_history_action", "author"])
    kept = core._keeper().lookup("human", core._tier_source(), core.policy(), core.settings.timezone)
    assert kept.entry["last"]["kind"] == "incremental"
    assert 0 < kept.entry["last"]["conversations"] < core.facts().height  # only what the new days touched
    assert core.check_kept_facts() == []
    # every conversation of the simulated world, with the world's own truth for its first response
    truth = core.source.world.truth.select("conversation_id", pl.col("first_human_response_time").alias(
        "first_response_time"))
    mine = core.facts().select("conversation_id", "first_response_time")
    assert mine.sort("conversation_id").equals(truth.sort("conversation_id"))
    assert derived_files(core) - before  # new files, the earlier ones still named or retired, none rewritten


def test_an_import_keeps_the_facts_current_and_computes_only_what_it_touched(tmp_path):
    core = demo(tmp_path)
    core.sync((END - timedelta(days=10)).date(), END.date(), list(FACT_EXPORTS))
    assert core.check_kept_facts() == []
    stored = core.scan("conversation").collect().sort("conversation_id").head(7)
    csv = tmp_path / "conversations.csv"
    stored.select(
        pl.col("conversation_id").alias("Conversation ID"), pl.col("author_id").alias("Author ID"),
        pl.col("network").alias("Network"), pl.col("status").alias("Status"),
        pl.col("created_time").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias("Created Time"),
        pl.lit(5).alias("Priority"), pl.lit(987654).alias("Work Queue ID"),
    ).write_csv(csv)
    core.import_files("conversation", [csv])
    kept = core._keeper().lookup("human", core._tier_source(), core.policy(), core.settings.timezone)
    assert kept.entry["last"]["kind"] == "incremental" and kept.entry["last"]["conversations"] == 7
    assert core.check_kept_facts() == []
    changed = core.facts().filter(pl.col("conversation_id").is_in(stored["conversation_id"].implode()))
    assert set(changed["work_queue_id"]) == {987654}


def test_a_changed_policy_evaluates_the_kept_facts_again_and_an_unchanged_one_recomputes_nothing(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.format(platinum="30m"))
    core = demo(tmp_path, CARE_DASHBOARD_POLICY=str(policy))
    core.sync((END - timedelta(days=10)).date(), END.date(), list(FACT_EXPORTS))
    generation = core.store.derived().generation
    assert [r.kind for r in core.keep_facts()] == ["current"]  # nothing changed: nothing computed or written
    assert core.store.derived().generation == generation
    facts_files = {d: e["conversations"]["file"] for d, e in
                   core._keeper().lookup("human", core._tier_source()).entry["days"].items()}

    policy.write_text(POLICY.format(platinum="5m"))
    new_policy = parse_policy(policy.read_text())
    core._files.clear()  # (the file's mtime may not have moved within the test's time resolution)
    frame = core.facts_with_sla()  # the reader finds no evaluation for this policy and keeps one
    kept = core._keeper().lookup("human", core._tier_source(), new_policy, core.settings.timezone)
    assert kept is not None and kept.policy is not None and kept.entry["last"]["kind"] == "evaluation"
    assert {d: e["conversations"]["file"] for d, e in kept.entry["days"].items()} == facts_files  # facts kept
    assert any(c.startswith(KEPT_PREFIX) for c in frame.columns)
    facts = core.facts()
    for metric in ("first_response", "time_to_assign", "resolution"):
        for as_of in (END, END - timedelta(days=3)):
            fast = evaluate(frame.lazy(), new_policy, metric, as_of=as_of).collect().select(
                pl.exclude(f"^{KEPT_PREFIX}.*$"))
            slow = evaluate(facts.lazy(), new_policy, metric, as_of=as_of).collect()
            assert fast.equals(slow), (metric, as_of)
    bursts = core.bursts_with_sla()
    fast = evaluate(bursts.lazy(), new_policy, "next_response", as_of=END).collect().select(
        pl.exclude(f"^{KEPT_PREFIX}.*$"))
    assert fast.equals(evaluate(core.bursts().lazy(), new_policy, "next_response", as_of=END).collect())
    assert core.check_kept_facts() == []


def test_a_recompute_that_fails_leaves_the_previous_facts_in_force(tmp_path, monkeypatch):
    core = demo(tmp_path)
    core.sync((END - timedelta(days=10)).date(), (END - timedelta(days=3)).date(), list(FACT_EXPORTS))
    before_manifest = core.store.derived().to_json()
    before_files = derived_files(core)
    before_facts = core.facts()
    from dashboard.store.sync import sync

    real = store_module._LocalFiles.write_new
    calls = {"n": 0}

    def full_disk(self, rel, data):
        if rel.startswith("facts/"):
            calls["n"] += 1
            if calls["n"] == 5:
                raise OSError(28, "No space left on device")
        return real(self, rel, data)

    sync(core.client, core.store, (END - timedelta(days=2)).date(), END.date(), exports=FACT_EXPORTS, now=END)
    monkeypatch.setattr(store_module._LocalFiles, "write_new", full_disk)
    with pytest.raises(OSError):
        core.keep_facts()
    monkeypatch.undo()
    assert core.store.derived().to_json() == before_manifest  # the previous facts are in force
    assert derived_files(core) == before_files  # the new files were removed again
    kept = core._keeper().lookup("human", core._tier_source(), current_only=False)
    assert kept.conversations().select(before_facts.columns).collect().sort("conversation_id").equals(
        before_facts.sort("conversation_id"))
    core.keep_facts()
    assert core.check_kept_facts() == []


def test_a_reader_that_must_change_nothing_computes_from_the_exports(tmp_path):
    core = demo(tmp_path)
    core.sync((END - timedelta(days=10)).date(), END.date(), list(FACT_EXPORTS))
    settings = load_settings(env={**WORLD, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)})
    reader = Dashboard.open(settings, demo="read")
    policy = tmp_path / "other.toml"
    policy.write_text(POLICY.format(platinum="10m"))
    other = Dashboard(reader.source, policy=load_policy(policy), keep=False)
    generation = core.store.derived().generation
    assert other.facts().sort("conversation_id").equals(raw_facts(core).sort("conversation_id"))
    other.facts_with_sla()
    assert core.store.derived().generation == generation  # nothing written


def test_the_kept_facts_of_the_other_bot_rule_are_kept_once_asked_for(tmp_path):
    core = demo(tmp_path)
    core.sync((END - timedelta(days=10)).date(), (END - timedelta(days=2)).date(), list(FACT_EXPORTS))
    any_rule = core.facts("any")
    assert any_rule.sort("conversation_id").equals(raw_facts(core, "any").sort("conversation_id"))
    assert sorted(FactsKeeper(core.store).kept_rules(core._tier_source())) == ["any", "human"]
    core.sync((END - timedelta(days=1)).date(), END.date(), list(FACT_EXPORTS))
    assert core.check_kept_facts("any") == [] and core.check_kept_facts("human") == []


def test_old_files_of_kept_facts_are_swept_after_the_grace_period(tmp_path):
    core = demo(tmp_path)
    core.sync((END - timedelta(days=10)).date(), (END - timedelta(days=2)).date(), list(FACT_EXPORTS))
    core.sync((END - timedelta(days=1)).date(), END.date(), list(FACT_EXPORTS))
    retired = [r["file"] for r in core.store.derived().retired]
    assert retired and all((core.store.root / r).exists() for r in retired)
    stray = core.store.root / "facts" / "left-by-a-killed-writer.parquet"
    stray.write_bytes(b"PAR1")
    with core.store.writer("test"):
        assert core.store.sweep(grace_s=3600) == 0  # within the grace period nothing goes
        swept = core.store.sweep(grace_s=0)
    assert swept >= len(retired) + 1 and not stray.exists()
    assert not core.store.derived().retired
    assert core.check_kept_facts() == []


def test_the_memo_is_bounded_by_entries_and_by_size():
    from dashboard._memo import BoundedMemo

    memo = BoundedMemo(max_entries=3, max_bytes=10_000)
    small = pl.DataFrame({"x": range(10)})
    for i in range(5):
        memo.put(i, small)
    assert len(memo) == 3 and memo.get(0) == (False, None) and memo.get(4)[0]
    big = pl.DataFrame({"x": range(5_000)})  # 40 kB: over the budget alone
    memo.put("big", big)
    assert len(memo) == 1 and memo.get("big")[0]  # the one being used is kept, alone
    roomy = BoundedMemo(max_entries=8, max_bytes=60_000)
    roomy.put("big", big)
    roomy.put("view", big.select("x"), counted=False)  # a projection holds the same memory: not counted twice
    assert len(roomy) == 2 and roomy.bytes == big.estimated_size()


def test_a_store_without_kept_facts_gets_them_on_first_read(tmp_path):
    core = demo(tmp_path)
    core.sync((END - timedelta(days=10)).date(), END.date(), list(FACT_EXPORTS))
    import shutil

    shutil.rmtree(core.store.root / "facts")  # a store written before facts were kept
    fresh = Dashboard.for_store(core.store.root, settings=core.settings)
    assert fresh.facts().sort("conversation_id").equals(raw_facts(core).sort("conversation_id"))
    assert fresh.check_kept_facts() == []
    assert date.fromisoformat(min(fresh._current_kept("human").entry["days"])) <= END.date()


def test_an_update_reads_the_latest_stored_version_of_each_conversation_it_filters_as_it_reads(tmp_path):
    """The update filters the conversation rows as each day file is read (before the de-duplication): a
    conversation stored under two days is read as the later day has it, as a scan of the store reads it."""
    from dashboard.schema import export_schema
    from dashboard.store import Store

    schema = export_schema("conversation").polars_schema
    store = Store(tmp_path / "store")

    def rows(ids: list[str], status: str, day: date) -> pl.DataFrame:
        start = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        return pl.DataFrame({"conversation_id": ids, "status": [status] * len(ids),
                             "created_time": [start] * len(ids)}).with_columns(
            pl.lit(None).cast(dtype).alias(c) for c, dtype in schema.items()
            if c not in ("conversation_id", "status", "created_time"))
    first, second = date(2026, 11, 1), date(2026, 11, 2)
    store.commit("conversation", days={first: rows(["A", "B", "C"], "OPEN", first),
                                       second: rows(["B", "D"], "CLOSED", second)})
    files = {d.isoformat(): rel for d, rel in store.readable_rels("conversation").items()}
    keeper = FactsKeeper(store)
    wanted = pl.col("conversation_id").is_in(pl.Series(["B", "C"]).implode())
    read = keeper._read("conversation", files, ["status"], keys=wanted).collect()
    expected = store.scan("conversation").filter(wanted).select("conversation_id", "status").collect()
    assert read.select("conversation_id", "status").sort("conversation_id").equals(expected.sort("conversation_id"))
    assert dict(read.select("conversation_id", "status").iter_rows()) == {"B": "CLOSED", "C": "OPEN"}
    with pytest.raises(ValueError, match="must read its key only"):
        keeper._read("conversation", files, ["status"], keys=pl.col("status") == "OPEN")
