"""What SLA alert rules see at an instant: the conditions that hold, from the same metric functions as the pages.

- ``breach_soon``: the Live queue's at-risk list (:func:`dashboard.metrics.backlog.at_risk`, running clocks of
  open conversations) for the rule's filters and metrics, cut to those whose ``breach_at`` is within ``within``
  of the instant. With ``once = "conversation"`` each conversation × metric is its own condition (told about
  once); with ``once = "episode"`` there is one condition while the cut is not empty (reminded after the
  back-off, resolved when it empties).
- ``attainment_below``: attainment (:func:`dashboard.metrics.sla.attainment_by`: achieved ÷ (achieved +
  breached)) of conversations whose first inbound post is in the rolling window ``[at − window, at)`` —
  the pages' window rule — evaluated as of the instant. It holds while attainment is below the threshold; with
  fewer than ``min_decided`` decided conversations it is *undecidable* and an open episode stays open (a quiet
  hour is not a recovery).

The evaluation returns the rows behind it, so a message can list exactly the conversations it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from dashboard.alerts import Condition
from dashboard.filters import apply_filters
from dashboard.metrics.backlog import at_risk
from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import attainment_by, evaluate, in_window, resolve_as_of
from dashboard.notify.rules import SlaAlertRule
from dashboard.views.kpi import format_duration

__all__ = ["SlaEvaluation", "evaluate_sla_alert", "risk_line"]

RISK_SHOWN = ("conversation_id", "conversation_display_id", "metric", "target_name", "tier", "priority",
              "work_queue_id", "network", "breach_at", "seconds_to_breach")


@dataclass(frozen=True)
class SlaEvaluation:
    rule: SlaAlertRule
    as_of: datetime
    conditions: tuple[Condition, ...]
    decidable: bool
    rows: pl.DataFrame
    """breach_soon: the at-risk rows within the rule's horizon (:data:`RISK_SHOWN`); attainment_below: one row
    of :func:`attainment_by` for the rolling window."""
    summary: str
    """One line saying what was found, whether or not it fires."""


def evaluate_sla_alert(rule: SlaAlertRule, facts: pl.LazyFrame, policy: Policy, as_of: datetime) -> SlaEvaluation:
    """Evaluate ``rule`` on conversation facts (built with the rule's bot rule) as of ``as_of``."""
    moment = resolve_as_of(as_of)
    scoped = apply_filters(facts, rule.filters)
    if rule.kind == "breach_soon":
        return _breach_soon(rule, scoped, policy, moment)
    if rule.kind == "attainment_below":
        return _attainment_below(rule, scoped, policy, moment)
    raise ValueError(f"unknown SLA alert kind {rule.kind!r}")


def _breach_soon(rule: SlaAlertRule, facts: pl.LazyFrame, policy: Policy, as_of: datetime) -> SlaEvaluation:
    assert rule.within is not None
    horizon = rule.within.total_seconds()
    rows = (
        at_risk(facts, policy, as_of, metrics=rule.metrics)
        .filter(pl.col("seconds_to_breach") <= horizon)
        .select(RISK_SHOWN)
        .collect()
    )
    minutes = f"{horizon / 60:g} min"
    if rule.once == "conversation":
        conditions = tuple(
            Condition(
                key=f"{row['conversation_id']}|{row['metric']}",
                message=risk_line(row),
                since=as_of,
                value=row["seconds_to_breach"],
                detail=row,
            )
            for row in rows.iter_rows(named=True)
        )
    elif rows.height:
        conditions = (Condition(key="episode", message=f"{rows.height} running clock(s) will breach within "
                                f"{minutes}", since=as_of, value=float(rows.height)),)
    else:
        conditions = ()
    summary = f"{rows.height} running clock(s) will breach within {minutes}"
    return SlaEvaluation(rule, as_of, conditions, True, rows, summary)


def risk_line(row: dict) -> str:
    """One at-risk clock as plain text (values are data, shown as text by every renderer)."""
    return (f"{row['conversation_display_id'] or row['conversation_id']}: {row['metric'].replace('_', ' ')} "
            f"breaches in {format_duration(row['seconds_to_breach'])} "
            f"(tier {row['tier'] or 'unknown'}, priority {row['priority']}, queue {row['work_queue_id'] or '—'}, "
            f"{row['network'] or '—'})")


def _attainment_below(rule: SlaAlertRule, facts: pl.LazyFrame, policy: Policy, as_of: datetime) -> SlaEvaluation:
    assert rule.window is not None
    start = as_of - rule.window
    evaluated = evaluate(in_window(facts, start, as_of), policy, rule.metric, as_of=as_of)
    row = attainment_by(evaluated, []).collect()
    decided = int(row["achieved"][0] + row["breached"][0])
    attainment = row["attainment"][0]
    span = _span(rule.window)
    if decided < rule.min_decided or attainment is None:
        summary = (f"{rule.metric.replace('_', ' ')}: {decided} decided over the last {span} — fewer than "
                   f"{rule.min_decided}, not judged")
        return SlaEvaluation(rule, as_of, (), False, row, summary)
    pct = 100 * attainment
    summary = (f"{rule.metric.replace('_', ' ')} attainment {pct:.1f} % over the last {span} "
               f"({row['achieved'][0]} of {decided} decided; threshold {rule.threshold_pct:g} %)")
    conditions = (Condition("episode", summary, since=as_of, value=pct),) if pct < rule.threshold_pct else ()
    return SlaEvaluation(rule, as_of, conditions, True, row, summary)


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"
