"""The benchmark's baselines (plain pandas, DuckDB SQL) give the engine's numbers on small worlds.

A ratio between engines is only worth printing when they compute the same thing, so these tests run the
three implementations of each benchmarked metric on a tiny synthetic world and on a small simulator world,
and require every comparison to come back empty. The comparisons themselves are checked to catch a
changed value, so an agreement cannot be vacuous.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from bench import baseline_duckdb, baseline_pandas, engine_ours
from bench.agreement import COMPARE
from bench.synthetic import SyntheticConfig, generate
from dashboard.metrics import load_policy
from dashboard.simulator.world import WorldConfig, generate_world

# whole demo worlds, syncs or engines: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

TABLES = ("conversation", "incoming_post", "response", "conversation_history_action", "author")
END = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def _answers(tables: dict[str, pl.DataFrame], as_of: datetime, backlog_at: datetime) -> dict[str, dict]:
    policy = load_policy()
    as_of_ms, backlog_ms = int(as_of.timestamp() * 1000), int(backlog_at.timestamp() * 1000)
    lazy = {t: tables[t].lazy() for t in TABLES}
    frames = {t: tables[t].select(baseline_pandas.COLUMNS[t]).to_pandas() for t in TABLES}
    con = baseline_duckdb.connect(threads=1)
    baseline_duckdb.load_frames(con, tables)
    out: dict[str, dict] = {}
    for engine, mod, ctx in (("ours", engine_ours, lazy), ("pandas", baseline_pandas, frames),
                             ("duckdb", baseline_duckdb, con)):
        out[engine] = {
            "first_response": mod.first_response(ctx, policy, as_of_ms),
            "sla": mod.sla_by_tier_priority(ctx, policy, as_of_ms),
            "at_risk": mod.at_risk(ctx, policy, as_of_ms),
            "backlog": mod.backlog(ctx, backlog_ms),
        }
    return out


@pytest.fixture(scope="module")
def synthetic_answers() -> dict[str, dict]:
    tables = generate(SyntheticConfig(n_conversations=3000, n_authors=4000, days=20, seed=5, end=END))
    return _answers(tables, END, END - timedelta(hours=36))


@pytest.fixture(scope="module")
def simulator_answers() -> dict[str, dict]:
    world = generate_world(WorldConfig(seed=3, days=5, conversations_per_day=80, end=END))
    tables = {t: world.tables[t] for t in TABLES}
    # as of a moment inside the world too, so that pending clocks and later events are exercised
    return _answers(tables, END - timedelta(hours=30), END - timedelta(hours=50))


@pytest.mark.parametrize("metric", ["first_response", "sla", "at_risk", "backlog"])
@pytest.mark.parametrize("baseline", ["pandas", "duckdb"])
def test_baselines_agree_with_engine_on_synthetic_world(synthetic_answers, metric, baseline):
    problems = COMPARE[metric](synthetic_answers["ours"][metric], synthetic_answers[baseline][metric])
    assert problems == []


@pytest.mark.parametrize("metric", ["first_response", "sla", "at_risk", "backlog"])
@pytest.mark.parametrize("baseline", ["pandas", "duckdb"])
def test_baselines_agree_with_engine_on_simulator_world(simulator_answers, metric, baseline):
    problems = COMPARE[metric](simulator_answers["ours"][metric], simulator_answers[baseline][metric])
    assert problems == []


def test_the_synthetic_world_exercises_every_status(synthetic_answers):
    statuses = set(synthetic_answers["ours"]["first_response"]["status"].to_list())
    assert {"achieved", "breached", "pending", "bot_contained"} <= statuses
    assert synthetic_answers["ours"]["at_risk"].height > 0
    assert synthetic_answers["ours"]["backlog"]["open"].sum() > 0


def test_comparisons_catch_a_changed_number(synthetic_answers):
    ours = synthetic_answers["ours"]
    frt = ours["first_response"]
    answered = frt["response_seconds"].is_not_null().arg_true()[0]
    changed = frt.with_columns(
        pl.when(pl.int_range(pl.len()) == answered).then(pl.col("response_seconds") + 1.0)
        .otherwise(pl.col("response_seconds")).alias("response_seconds"))
    assert any("response_seconds" in p for p in COMPARE["first_response"](frt, changed))

    sla = ours["sla"]
    bumped = sla.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.col("achieved") + 1)
                              .otherwise(pl.col("achieved")).alias("achieved"))
    assert any("achieved" in p for p in COMPARE["sla"](sla, bumped))

    risk = ours["at_risk"]
    assert COMPARE["at_risk"](risk, risk.head(risk.height - 1))

    backlog = ours["backlog"]
    assert COMPARE["backlog"](backlog, backlog.with_columns(pl.col("open") * 2))
