"""Our engine called the way the pages and the report CLI call it: through the core (``dashboard.core``) over
the benchmark's tables, then ``dashboard.metrics``.

Each function takes LazyFrames of the exports and returns a collected Polars DataFrame in the same shape as
the baselines' answers, so that the three can be compared column by column.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from dashboard.core import Dashboard
from dashboard.metrics import FACT_EXPORTS, attainment_by, evaluate
from dashboard.metrics import backlog as backlog_metrics
from dashboard.metrics.policy import Policy

__all__ = ["at_risk", "backlog", "facts_plan", "first_response", "load_tables", "scan_tables", "sla_by_tier_priority"]

TABLES = FACT_EXPORTS


def load_tables(folder) -> dict[str, pl.LazyFrame]:
    """Every column of each export, read into memory once (as the pages' cached loaders hold them)."""
    return {name: pl.read_parquet(f"{folder}/{name}.parquet").lazy() for name in TABLES}


def scan_tables(folder) -> dict[str, pl.LazyFrame]:
    """Lazy scans of the Parquet files: each metric reads only the columns it needs, when it runs."""
    return {name: pl.scan_parquet(f"{folder}/{name}.parquet") for name in TABLES}


def _as_of(as_of_ms: int) -> datetime:
    return datetime.fromtimestamp(as_of_ms / 1000, tz=UTC)


def _evaluated(t: dict[str, pl.LazyFrame], policy: Policy, as_of_ms: int) -> pl.LazyFrame:
    return evaluate(facts_plan(t), policy, "first_response", as_of=_as_of(as_of_ms))


def first_response(t: dict[str, pl.LazyFrame], policy: Policy, as_of_ms: int) -> pl.DataFrame:
    return _evaluated(t, policy, as_of_ms).select(
        "conversation_id", "status", pl.col("breach_at").dt.epoch("ms"), "elapsed_business_seconds",
        "response_seconds", "tier", "priority",
    ).collect()


def sla_by_tier_priority(t: dict[str, pl.LazyFrame], policy: Policy, as_of_ms: int) -> pl.DataFrame:
    return attainment_by(_evaluated(t, policy, as_of_ms), ["tier", "priority"]).collect()


def facts_plan(t: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """The conversation facts as the core plans them over these tables (tier source, bot rule: the defaults)."""
    return Dashboard.from_tables(t).facts_lazy()


def at_risk(t: dict[str, pl.LazyFrame], policy: Policy, as_of_ms: int) -> pl.DataFrame:
    """The at-risk list for first response (open, pending, soonest breach first), as the Live queue shows it."""
    # Facts are materialised once, as the pages' cached loader holds them.
    facts = facts_plan(t).collect().lazy()
    rows = backlog_metrics.at_risk(facts, policy, _as_of(as_of_ms), metrics=("first_response",))
    return rows.select("conversation_id", pl.col("breach_at").dt.epoch("ms"), "tier", "priority").collect()


def backlog(t: dict[str, pl.LazyFrame], at_ms: int) -> pl.DataFrame:
    """Open at an instant, per age bucket and work queue."""
    facts = facts_plan(t).collect().lazy()
    open_now = backlog_metrics.open_at(facts, _as_of(at_ms))
    counted = backlog_metrics.backlog_by_age(open_now, by=["work_queue_id"])
    return counted.select("age_order", "work_queue_id", "open").collect()
