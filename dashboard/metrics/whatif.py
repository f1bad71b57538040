"""What-if targets: the same window re-scored under an edited policy, beside the real one.

- :func:`targets_table` lists a policy's targets as rows to edit (in order: the first matching target wins);
  :func:`policy_with_targets` turns edited rows back into a policy, checking every row and saying which one is
  wrong. The edited policy lives only in memory; :mod:`dashboard.metrics.policy_toml` writes it as TOML text for
  a download. Nothing is written to the policy file.
- :func:`compare_policies` evaluates the same rows (conversations, or bursts for next response) with
  :func:`dashboard.metrics.sla.evaluate` under both policies, as of the same instant: attainment per group
  before and after, the rows whose status changes, and the breaches avoided (breached before, not after) and
  added (not breached before, breached after). With the real policy re-entered every figure is unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import polars as pl

from dashboard.metrics._planning import PlanningError
from dashboard.metrics.policy import CLOCKS, METRICS, Policy, Target, parse_duration
from dashboard.metrics.policy_toml import format_duration
from dashboard.metrics.sla import attainment_by, evaluate, resolve_as_of

__all__ = ["TARGET_COLUMNS", "PolicyComparison", "compare_policies", "policy_with_targets", "targets_table"]

TARGET_COLUMNS = ("position", "name", "metric", "tier", "priority", "channel", "target", "target_seconds", "clock",
                  "schedule")
"""The columns of :func:`targets_table`. ``tier``, ``priority`` and ``channel`` are comma-separated lists, empty
for "any"; ``target`` is the duration text ("30m", "1h30m", "2d") that is read back; ``target_seconds`` is
shown for sorting and is ignored when read back."""

_STATUS_COUNTS = ("achieved", "breached", "pending")


def _joined(values: tuple | None) -> str | None:
    return None if values is None else ", ".join(str(v) for v in values)


def targets_table(policy: Policy) -> pl.DataFrame:
    """The policy's targets, one row each, in the order that decides which target wins."""
    return pl.DataFrame(
        [{"position": i + 1, "name": t.name or None, "metric": t.metric, "tier": _joined(t.tier),
          "priority": _joined(t.priority), "channel": _joined(t.channel), "target": format_duration(t.target_seconds),
          "target_seconds": t.target_seconds, "clock": t.clock, "schedule": t.schedule}
         for i, t in enumerate(policy.targets)],
        schema={"position": pl.Int64, "name": pl.String, "metric": pl.String, "tier": pl.String,
                "priority": pl.String, "channel": pl.String, "target": pl.String, "target_seconds": pl.Float64,
                "clock": pl.String, "schedule": pl.String},
    )


def _split(text: object) -> tuple[str, ...] | None:
    if text is None:
        return None
    items = tuple(part.strip() for part in str(text).split(",") if part.strip())
    return items or None


def policy_with_targets(policy: Policy, table: pl.DataFrame) -> Policy:
    """``policy`` with its targets replaced by the rows of ``table`` (:func:`targets_table`'s columns; rows in
    the order given). Schedules are kept. Raises :class:`PlanningError` naming the first wrong row."""
    required = ("metric", "target", "clock")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise PlanningError(f"edited targets: missing column(s) {', '.join(missing)}")
    targets = []
    for number, row in enumerate(table.iter_rows(named=True), start=1):

        def fail(reason: str, number: int = number) -> PlanningError:
            return PlanningError(f"edited targets, row {number}: {reason}")

        metric = (row.get("metric") or "").strip()
        if metric not in METRICS:
            raise fail(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        clock = (row.get("clock") or "").strip()
        if clock not in CLOCKS:
            raise fail(f"clock {clock!r} is not one of {', '.join(CLOCKS)}")
        try:
            seconds = parse_duration(row.get("target") if row.get("target") is not None else "")
        except ValueError as e:
            raise fail(str(e)) from None
        if seconds <= 0:
            raise fail("the target must be positive")
        schedule = (row.get("schedule") or "").strip() or policy.default_schedule.name
        if schedule not in policy.schedules:
            raise fail(f"schedule {schedule!r} is not defined (defined: {', '.join(policy.schedules)})")
        priorities = _split(row.get("priority"))
        if priorities is not None:
            try:
                numbers = tuple(int(p) for p in priorities)
            except ValueError:
                raise fail(f"priority {row.get('priority')!r} is not a list of numbers 0-5") from None
            if any(not 0 <= p <= 5 for p in numbers):
                raise fail(f"priority {row.get('priority')!r} is outside 0-5")
            priorities = numbers
        channels = _split(row.get("channel"))
        targets.append(Target(
            metric=metric, target_seconds=seconds, clock=clock, schedule=schedule, tier=_split(row.get("tier")),
            priority=priorities, channel=tuple(c.lower() for c in channels) if channels else None,
            name=(row.get("name") or "").strip(),
        ))
    if not targets:
        raise PlanningError("edited targets: at least one target is needed")
    return dataclasses.replace(policy, targets=tuple(targets), source=f"{policy.source} (edited)")


@dataclasses.dataclass(frozen=True)
class PolicyComparison:
    """The re-scored window: see :func:`compare_policies`."""

    attainment: pl.LazyFrame
    """Per group: ``achieved`` / ``breached`` / ``pending`` / ``attainment`` ``_before`` and ``_after``, and
    ``change`` (attainment after − before)."""
    changed: pl.LazyFrame
    """Rows whose status differs: the keys, ``tier``, ``priority``, ``network``, ``status_before`` /
    ``_after``, ``target_before`` / ``_after`` (names), ``target_seconds_before`` / ``_after``,
    ``elapsed_seconds_before`` / ``_after`` (in each target's clock)."""
    summary: pl.LazyFrame
    """One row: ``rows``, ``breached_before``, ``breached_after``, ``breaches_avoided``, ``breaches_added``,
    ``changed``, ``attainment_before``, ``attainment_after``."""


def compare_policies(
    frame: pl.LazyFrame,
    real: Policy,
    edited: Policy,
    metric: str = "first_response",
    *,
    as_of: datetime | None = None,
    by: Sequence[str] = ("tier",),
    pending: pl.LazyFrame | None = None,
) -> PolicyComparison:
    """Evaluate ``frame`` (conversation facts, or :func:`~dashboard.metrics.conversations.customer_bursts` for
    ``next_response``, already cut to the window) under ``real`` and ``edited`` as of the same instant.

    ``pending``: the pending intervals, to exclude waiting-on-customer time from resolution (as the real
    report does), applied to both.
    """
    moment = resolve_as_of(as_of)
    keys = ["conversation_id", "burst_index"] if metric == "next_response" else ["conversation_id"]
    before = evaluate(frame, real, metric, as_of=moment, pending=pending)
    after = evaluate(frame, edited, metric, as_of=moment, pending=pending)

    def counts(evaluated: pl.LazyFrame, suffix: str, group: Sequence[str]) -> pl.LazyFrame:
        table = attainment_by(evaluated, group)
        return table.select(*group, *[pl.col(c).alias(f"{c}{suffix}") for c in (*_STATUS_COUNTS, "attainment")])

    group = list(by)
    left, right = counts(before, "_before", group), counts(after, "_after", group)
    attainment = (
        left.join(right, on=group, how="full", coalesce=True, nulls_equal=True) if group
        else left.join(right, how="cross")
    ).with_columns(change=pl.col("attainment_after") - pl.col("attainment_before"))
    if group:
        attainment = attainment.sort(group, nulls_last=True)
    picked = ["status", "target_name", "target_seconds", "elapsed_seconds"]
    dims = [c for c in ("tier", "priority", "network") if c not in keys]
    joined = before.select(*keys, *dims, *[pl.col(c).alias(f"{c}_before") for c in picked]).join(
        after.select(*keys, *[pl.col(c).alias(f"{c}_after") for c in picked]), on=keys, how="inner")
    changed = (
        joined.filter(pl.col("status_before") != pl.col("status_after"))
        .rename({"target_name_before": "target_before", "target_name_after": "target_after"})
        .sort(keys)
    )
    was, now = pl.col("status_before") == "breached", pl.col("status_after") == "breached"
    decided_before = pl.col("status_before").is_in(["achieved", "breached"])
    decided_after = pl.col("status_after").is_in(["achieved", "breached"])
    summary = joined.select(
        rows=pl.len().cast(pl.Int64),
        breached_before=was.sum().cast(pl.Int64),
        breached_after=now.sum().cast(pl.Int64),
        breaches_avoided=(was & ~now).sum().cast(pl.Int64),
        breaches_added=(~was & now).sum().cast(pl.Int64),
        changed=(pl.col("status_before") != pl.col("status_after")).sum().cast(pl.Int64),
        attainment_before=pl.when(decided_before.sum() > 0)
        .then((pl.col("status_before") == "achieved").sum() / decided_before.sum()),
        attainment_after=pl.when(decided_after.sum() > 0)
        .then((pl.col("status_after") == "achieved").sum() / decided_after.sum()),
    )
    return PolicyComparison(attainment=attainment, changed=changed, summary=summary)
