"""Tier comparison with an honest interval, and conversation-level ("met all") attainment."""

from __future__ import annotations

import polars as pl

from dashboard.metrics.sla import compare_attainment, met_all


def test_compare_attainment_pairs_and_verdicts() -> None:
    table = pl.LazyFrame({
        "tier": ["Gold", "Platinum", "Silver", "Standard"],
        "achieved": [48, 56, 9, 0],
        "breached": [32, 14, 1, 0],
        "attainment": [0.6, 0.8, 0.9, None],
    })
    out = compare_attainment(table, "tier", order=["Platinum", "Gold", "Silver", "Standard"]).collect()
    pairs = [(r["group"], r["other"]) for r in out.iter_rows(named=True)]
    assert pairs == [("Platinum", "Gold"), ("Platinum", "Silver"), ("Platinum", "Standard"), ("Gold", "Silver"),
                     ("Gold", "Standard"), ("Silver", "Standard")]
    rows = {(r["group"], r["other"]): r for r in out.iter_rows(named=True)}
    # 56/70 vs 48/80: difference 0.2, interval (0.052, 0.334) excludes 0 -> Platinum is served better
    assert rows[("Platinum", "Gold")]["verdict"] == "better"
    assert abs(rows[("Platinum", "Gold")]["difference"] - 0.2) < 1e-12
    # 56/70 vs 9/10: too few Silver conversations to tell
    assert rows[("Platinum", "Silver")]["verdict"] == "not distinguishable"
    # 48/80 vs 9/10: 30 points lower, but the interval (-0.437, 0.020) still contains 0 with 10 Silver cases
    assert rows[("Gold", "Silver")]["verdict"] == "not distinguishable"
    assert rows[("Gold", "Silver")]["difference_high"] > 0 > rows[("Gold", "Silver")]["difference_low"]
    # Standard has nothing decided: no verdict
    assert rows[("Gold", "Standard")]["verdict"] is None
    # the other way round, Gold is worse than Platinum; without an order, the table's order is used
    reverse = compare_attainment(table, "tier").collect()
    assert reverse.row(0, named=True)["group"] == "Gold"
    assert reverse.row(0, named=True)["verdict"] == "worse"


def test_met_all_is_conversation_level() -> None:
    first = pl.LazyFrame({"conversation_id": ["a", "b", "c", "d"], "metric": "first_response",
                          "status": ["achieved", "achieved", "breached", "bot_contained"]})
    resolution = pl.LazyFrame({"conversation_id": ["a", "b", "c", "d"], "metric": "resolution",
                               "status": ["achieved", "pending", "achieved", "achieved"]})
    out = met_all([first, resolution]).sort("conversation_id").collect()
    assert out["met_all"].to_list() == [True, False, False, True]
    assert out["any_breached"].to_list() == [False, False, True, False]
    assert out["undecided"].to_list() == [0, 1, 0, 0]
    assert out["metrics"].to_list() == [2, 2, 2, 1]  # d's first response was the bot's: not a human metric
