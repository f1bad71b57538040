"""What-if targets: the Service levels window re-scored under edited targets, beside the real policy.

The reader edits the policy's targets as rows (:func:`dashboard.metrics.whatif.targets_table`: metric, tier,
priority, channel, target, clock, schedule; the row order — ``position`` — decides which target wins). The same
conversations (and replies, for next response) are evaluated under both policies as of the same instant
(:func:`dashboard.metrics.whatif.compare_policies`): attainment per tier before and after, the rows whose status
changes, breaches avoided and added. Nothing is written: the edited policy is offered as TOML text to download
(the policy file with only its ``[[targets]]`` replaced, else the whole policy written anew).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import polars as pl

from dashboard import charts_planning
from dashboard.errors import PlanningError
from dashboard.filters import Filters
from dashboard.metrics import sla, whatif
from dashboard.metrics.policy_toml import policy_to_toml, replace_targets
from dashboard.views.kpi import in_zone
from dashboard.views.service_levels import METRIC_LABELS

__all__ = ["WHATIF_METRICS", "MetricWhatIf", "WhatIfView", "build_whatif", "edited_policy", "whatif_targets"]

WHATIF_METRICS = ("first_response", "next_response", "time_to_assign", "resolution")
EDITABLE_COLUMNS = ("position", "name", "metric", "tier", "priority", "channel", "target", "clock", "schedule")
"""The columns the reader edits (``target_seconds`` is shown, and ignored when read back)."""


@dataclass(frozen=True)
class MetricWhatIf:
    metric: str
    unit: str
    """"conversations", or "replies" for next response."""
    by_tier: pl.DataFrame
    """As shown: per tier, attainment % under each policy, the change (points), breached before and after."""
    chart: alt.Chart | None
    changed: pl.DataFrame
    """The rows whose status changes (times in the report zone): the drill-down."""
    attainment: pl.DataFrame = field(repr=False)
    """``PolicyComparison.attainment`` per tier (raw)."""
    summary: dict = field(default_factory=dict)
    """``PolicyComparison.summary`` (raw, one row)."""


@dataclass(frozen=True)
class WhatIfView:
    targets: pl.DataFrame
    """The real policy's targets as rows to edit (:data:`dashboard.metrics.whatif.TARGET_COLUMNS`)."""
    error: str | None
    """Why the edited targets cannot be used (the row and the reason), or None."""
    changed_targets: bool
    """Whether the edited targets differ from the real ones."""
    summary: pl.DataFrame
    """As shown: one row per metric — attainment under each policy, breaches avoided / added, status changes."""
    metrics: dict[str, MetricWhatIf]
    toml: str
    """The edited policy as TOML (nothing is written; the page offers it as a download)."""
    toml_note: str
    note: str


def whatif_targets(core) -> pl.DataFrame:
    """The real policy's targets as rows to edit, in the order that decides which target wins."""
    return whatif.targets_table(core.policy())


def _ordered(table: pl.DataFrame) -> pl.DataFrame:
    """Edited rows in the order that decides which target wins: by ``position`` (rows without one last, in the
    order given)."""
    if "position" not in table.columns:
        return table
    return (table.with_row_index("_given")
            .sort(pl.col("position").cast(pl.Float64, strict=False), "_given", nulls_last=True)
            .drop("_given"))


def edited_policy(core, edited_targets: pl.DataFrame | None):
    """The core's policy with ``edited_targets`` (rows of ``targets_table``) as its targets; the real policy when
    None. Raises :class:`PlanningError` naming the first wrong row."""
    real = core.policy()
    if edited_targets is None:
        return real
    missing = [c for c in ("metric", "target", "clock") if c not in edited_targets.columns]
    if missing:
        raise PlanningError(f"edited targets: missing column(s) {', '.join(missing)}")
    return whatif.policy_with_targets(real, _ordered(edited_targets))


def _same_targets(a, b) -> bool:
    def key(t) -> tuple:
        return (t.metric, t.target_seconds, t.clock, t.schedule, t.tier, t.priority, t.channel, t.name)

    return [key(t) for t in a.targets] == [key(t) for t in b.targets]


def _toml(core, real, policy) -> tuple[str, str]:
    path: Path = core.policy_path
    if real.source == str(path):  # the policy in force is that file (not one handed to the core in memory)
        try:
            original = path.read_text(encoding="utf-8")
            return replace_targets(original, policy), (f"{path.name} with its [[targets]] replaced; its schedules, "
                                                      "comments and other tables are kept as written.")
        except (OSError, UnicodeDecodeError, PlanningError):
            pass
    return (policy_to_toml(policy, header="SLA policy with edited targets (written by the Khoros Care Dashboard's "
                                          "what-if)"),
            "The whole policy written anew (schedules, then the targets in order).")


def _percent(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(1)


def build_whatif(core, filters: Filters, edited_targets: pl.DataFrame | None) -> WhatIfView:
    """The window of ``filters`` re-scored under ``edited_targets`` (None: the real targets, unchanged)."""
    real = core.policy()
    targets = whatif_targets(core)
    note = ("Same conversations, same as-of instant, both policies: a status changes only because its target did. "
            "Attainment = achieved ÷ (achieved + breached). The first matching target wins, in position order. "
            "Nothing is written to the policy file.")
    try:
        edited = edited_policy(core, edited_targets)
    except PlanningError as exc:
        return WhatIfView(targets, str(exc), True, pl.DataFrame(), {}, "", "", note)
    as_of = filters.as_of or core.now()
    summaries, metrics = [], {}
    for metric in WHATIF_METRICS:
        rows = core.bursts(filters.bot_rule) if metric == "next_response" else core.facts(filters.bot_rule)
        frame = sla.in_window(filters.apply(rows).lazy(), filters.start, filters.end, filters.tz)
        result = whatif.compare_policies(frame, real, edited, metric, as_of=as_of, by=("tier",))
        attainment = result.attainment.collect()
        summary = result.summary.collect().row(0, named=True)
        order = {t: i for i, t in enumerate(core.tier_order)}
        attainment = attainment.sort(pl.col("tier").replace_strict(order, default=len(order), return_dtype=pl.Int64),
                                     "tier")
        by_tier = attainment.select(
            pl.col("tier").alias("Tier"),
            _percent("attainment_before").alias("Real policy %"),
            _percent("attainment_after").alias("Edited targets %"),
            (pl.col("change") * 100).round(1).alias("Change (pp)"),
            pl.col("breached_before").alias("Breached (real)"),
            pl.col("breached_after").alias("Breached (edited)"),
            pl.col("pending_after").alias("Pending (edited)"),
        )
        changed = in_zone(result.changed.collect(), filters.tz)
        unit = "replies" if metric == "next_response" else "conversations"
        metrics[metric] = MetricWhatIf(
            metric=metric, unit=unit, by_tier=by_tier,
            chart=charts_planning.create_whatif_chart(attainment, order=list(core.tier_order))
            if attainment.height else None,
            changed=changed, attainment=attainment, summary=summary,
        )
        before, after = summary["attainment_before"], summary["attainment_after"]
        summaries.append({
            "Metric": METRIC_LABELS[metric], "Counted": f"{summary['rows']:,} {unit}",
            "Real policy %": None if before is None else round(100 * before, 1),
            "Edited targets %": None if after is None else round(100 * after, 1),
            "Breaches avoided": summary["breaches_avoided"], "Breaches added": summary["breaches_added"],
            "Status changes": summary["changed"],
        })
    text, toml_note = _toml(core, real, edited)
    return WhatIfView(
        targets=targets, error=None, changed_targets=not _same_targets(real, edited),
        summary=pl.DataFrame(summaries, schema={"Metric": pl.String, "Counted": pl.String,
                                                "Real policy %": pl.Float64, "Edited targets %": pl.Float64,
                                                "Breaches avoided": pl.Int64, "Breaches added": pl.Int64,
                                                "Status changes": pl.Int64}),
        metrics=metrics, toml=text, toml_note=toml_note, note=note,
    )
