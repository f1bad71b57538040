"""Across tenants: volume and service-level attainment per tenant side by side, and their total.

Each tenant's row is computed from that tenant's own core (its store, policy, tiers and "now"), over the reader's
window and report zone, by the functions of ``python -m dashboard report sla`` (its ``total`` row for the
window). The total adds up: counts are summed, and its attainment is recomputed from the summed counts (never an
average of rates). The caller passes only the cores of tenants the reader may see (``access.allowed_tenants``):
a tenant the reader may not see is never in the table, its total, or a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from dashboard.filters import Filters
from dashboard.metrics import sla
from dashboard.views.service_levels import METRIC_LABELS

__all__ = ["ALL_TENANTS_LABEL", "TenantComparison", "build_by_tenant", "tenant_counts"]

ALL_TENANTS_LABEL = "All tenants"
COUNTS = ("achieved", "breached", "pending")


@dataclass(frozen=True)
class TenantComparison:
    table: pl.DataFrame
    """As shown: ``Tenant``, ``Conversations``, then per metric its met / missed / pending and SLA %; the last row
    is the total."""
    counts: pl.DataFrame = field(repr=False)
    """``tenant, conversations, metric, achieved, breached, pending, attainment`` (the total row included, tenant
    ``All tenants``): the numbers behind the table."""
    caption: str
    notes: tuple[str, ...] = ()
    """Tenants that could not be opened, each with why (its own message)."""


def tenant_counts(core, filters: Filters, metrics: Sequence[str]) -> pl.DataFrame:
    """One tenant's volume and, per metric, its achieved / breached / pending over the window (all conversations
    of the tenant: the sidebar's filters name one tenant's agents, queues and tiers)."""
    rule = core.bot_rule(filters.bot_rule)
    as_of = core.now()
    facts = core.facts_lazy(rule)
    conversations = sla.in_window(facts, filters.start, filters.end, filters.tz).select(pl.len()).collect().item()
    rows = []
    for metric in metrics:
        frame = core.bursts_lazy(rule) if metric == "next_response" else facts
        evaluated = sla.evaluate(sla.in_window(frame, filters.start, filters.end, filters.tz), core.policy(), metric,
                                 as_of=as_of)
        counted = sla.attainment_by(evaluated).select(*COUNTS).collect()
        achieved, breached, pending = (int(v or 0) for v in counted.row(0)) if counted.height else (0, 0, 0)
        rows.append({"conversations": int(conversations), "metric": metric, "achieved": achieved,
                     "breached": breached, "pending": pending})
    return pl.DataFrame(rows, schema={"conversations": pl.Int64, "metric": pl.String, "achieved": pl.Int64,
                                      "breached": pl.Int64, "pending": pl.Int64})


def _attainment() -> pl.Expr:
    decided = pl.col("achieved") + pl.col("breached")
    return pl.when(decided > 0).then(pl.col("achieved") / decided).otherwise(None).alias("attainment")


def build_by_tenant(cores: Mapping[str, object], filters: Filters, *,
                    metrics: Sequence[str] = ("first_response", "resolution"),
                    problems: Mapping[str, str] | None = None) -> TenantComparison:
    """The tenants of ``cores`` side by side (in their order) and the total, for the window of ``filters``."""
    per_tenant = [tenant_counts(core, filters, metrics).with_columns(tenant=pl.lit(name))
                  for name, core in cores.items()]
    schema = {"tenant": pl.String, "conversations": pl.Int64, "metric": pl.String,
              **{c: pl.Int64 for c in COUNTS}}
    counts = pl.concat(per_tenant, how="vertical") if per_tenant else pl.DataFrame(schema=schema)
    counts = counts.select(list(schema))
    total = (counts.group_by("metric", maintain_order=True)
             .agg(pl.col("conversations", *COUNTS).sum())
             .with_columns(tenant=pl.lit(ALL_TENANTS_LABEL)).select(list(schema)))
    counts = pl.concat([counts, total], how="vertical").with_columns(_attainment())
    table = _shown(counts, metrics)
    names = ", ".join(cores) or "none"
    caption = (f"Every conversation of each tenant whose first inbound post is in {filters.start} – "
               f"{filters.end} (exclusive, {filters.tz}), each tenant as of its own now; the sidebar's filters are "
               f"one tenant's and do not apply here. The total sums the counts and computes its SLA % from the "
               f"sums. Tenants: {names}.")
    notes = tuple(f"{name}: not shown — {why}" for name, why in (problems or {}).items())
    return TenantComparison(table=table, counts=counts, caption=caption, notes=notes)


def _shown(counts: pl.DataFrame, metrics: Sequence[str]) -> pl.DataFrame:
    order = counts.select("tenant").unique(maintain_order=True)
    volume = counts.group_by("tenant", maintain_order=True).agg(pl.col("conversations").first())
    table = order.join(volume, on="tenant", how="left", maintain_order="left")
    for metric in metrics:
        label = METRIC_LABELS.get(metric, metric)
        part = counts.filter(pl.col("metric") == metric).select(
            "tenant",
            pl.col("achieved").alias(f"{label} met"),
            pl.col("breached").alias(f"{label} missed"),
            pl.col("pending").alias(f"{label} pending"),
            (pl.col("attainment") * 100).alias(f"{label} SLA %"),
        )
        table = table.join(part, on="tenant", how="left", maintain_order="left")
    return table.rename({"tenant": "Tenant", "conversations": "Conversations"})
