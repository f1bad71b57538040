"""Our engine reading the facts kept in the store (``dashboard.store.facts``): the answers of
:mod:`bench.engine_ours`, from a store whose facts (and their evaluation under the policy) were kept when the
data was written. Each call plans over the kept Parquet files through the core, as the report CLI does: reading
the columns a metric needs is inside the timed region."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from dashboard.core import Dashboard
from dashboard.metrics import attainment_by, evaluate
from dashboard.metrics import backlog as backlog_metrics
from dashboard.metrics.policy import Policy
from dashboard.settings import Settings

__all__ = ["KEPT_SETTINGS", "at_risk", "backlog", "first_response", "open_kept", "sla_by_tier_priority"]

KEPT_SETTINGS = Settings().with_overrides(timezone="America/New_York")
"""The settings the kept store is written and read with (the rollups' days are in this zone)."""


def open_kept(root: Path | str) -> Dashboard:
    """A reader of the kept store (it never writes: the facts must have been kept already)."""
    return Dashboard.for_store(root, settings=KEPT_SETTINGS, keep=False)


def _as_of(as_of_ms: int) -> datetime:
    return datetime.fromtimestamp(as_of_ms / 1000, tz=UTC)


def _facts(core: Dashboard) -> pl.LazyFrame:
    return core.facts_lazy()


def first_response(core: Dashboard, policy: Policy, as_of_ms: int) -> pl.DataFrame:
    return evaluate(_facts(core), policy, "first_response", as_of=_as_of(as_of_ms)).select(
        "conversation_id", "status", pl.col("breach_at").dt.epoch("ms"), "elapsed_business_seconds",
        "response_seconds", "tier", "priority",
    ).collect()


def sla_by_tier_priority(core: Dashboard, policy: Policy, as_of_ms: int) -> pl.DataFrame:
    return attainment_by(evaluate(_facts(core), policy, "first_response", as_of=_as_of(as_of_ms)),
                         ["tier", "priority"]).collect()


def at_risk(core: Dashboard, policy: Policy, as_of_ms: int) -> pl.DataFrame:
    rows = backlog_metrics.at_risk(_facts(core), policy, _as_of(as_of_ms), metrics=("first_response",))
    return rows.select("conversation_id", pl.col("breach_at").dt.epoch("ms"), "tier", "priority").collect()


def backlog(core: Dashboard, at_ms: int) -> pl.DataFrame:
    open_now = backlog_metrics.open_at(_facts(core), _as_of(at_ms))
    counted = backlog_metrics.backlog_by_age(open_now, by=["work_queue_id"])
    return counted.select("age_order", "work_queue_id", "open").collect()
