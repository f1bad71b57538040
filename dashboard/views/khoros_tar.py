"""Khoros' numbers beside ours: "time to agent response" as Khoros computes it (``currentTAR``, FIRST and
SUBSEQUENT), the same figure computed from the store to Khoros' definition, and our own first / next response as
this dashboard defines it — with one line per reason where they differ.

Khoros' figure is a live range ending now, filtered by the conversations' current priority and work queue. For the
reader's window it is asked for the range from the window's start to now (at most a year), with the sidebar's
priority and work-queue filters; the other filters cannot be passed to Khoros. Ours to Khoros' definition uses the
same range and filters (``dashboard.metrics.tar.khoros_tar``); ours is first response / next response over the
window's conversations, every sidebar filter and bot rule applied, in each conversation's target clock (as the
Service levels page shows it), median by nearest rank. The call goes through the core (cached for a minute); a
failure is a message, not a broken page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from dashboard.filters import DIMENSION_BY_KEY, Filters
from dashboard.metrics import sla, tar
from dashboard.views.kpi import format_duration

__all__ = ["RESPONSE_LABELS", "TarView", "build_khoros_tar"]

RESPONSE_LABELS = {"FIRST": "First response", "SUBSEQUENT": "Next response"}
KHOROS_FILTERS = ("priority", "queue")
"""The sidebar filters Khoros' currentTAR takes (priorities, workqueueIds); the others apply to ours only."""


@dataclass(frozen=True)
class TarView:
    table: pl.DataFrame
    """As shown: one row per response type — Khoros' mean and median, ours to Khoros' definition, ours."""
    reasons: dict[str, tuple[str, ...]]
    """Per response type, one line per reason the figures differ (empty when they agree)."""
    notes: list[str]
    unavailable: str | None
    """Why Khoros' figure could not be had (no client, an API error), or None."""
    comparisons: dict[str, tar.TarComparison] = field(default_factory=dict, repr=False)
    """The figures in ms (the report's rows)."""


def _ms(value: float | int | None) -> str:
    return "—" if value is None else format_duration(value / 1000)


def _figure(figure: tar.TarFigure | None) -> tuple[str, str, str]:
    if figure is None:
        return "—", "—", "—"
    count = "—" if figure.count is None else f"{figure.count:,}"
    return _ms(figure.mean_ms), _ms(figure.median_ms), count


def _ours(core, filters: Filters, response_type: str, as_of) -> tuple[tar.TarFigure, bool]:
    """Our first / next response over the window (every filter, the bot rule), in each target's clock."""
    metric = "first_response" if response_type == "FIRST" else "next_response"
    rows = core.facts(filters.bot_rule) if metric == "first_response" else core.bursts(filters.bot_rule)
    evaluated = sla.evaluate_window(filters.apply(rows).lazy(), core.policy(), metric, start=filters.start,
                                    end=filters.end, tz=filters.tz, as_of=as_of)
    answered = evaluated.filter(pl.col("response_seconds").is_not_null()).select("response_seconds", "clock").collect()
    figure = tar.tar_figure((answered["response_seconds"] * 1000).round(0).cast(pl.Int64), median="nearest_rank")
    return figure, bool(answered.filter(pl.col("clock") == "business").height)


def build_khoros_tar(core, filters: Filters) -> TarView:
    as_of = filters.as_of or core.now()
    lo, hi = sla.window_bounds(filters.start, filters.end, filters.tz)
    priorities = tuple(int(p) for p in filters.dimensions.get("priority") or ())
    queues = tuple(int(q) for q in filters.dimensions.get("queue") or ())
    notes: list[str] = []
    others = [DIMENSION_BY_KEY[k].label.lower() for k, v in filters.dimensions.items() if v and k not in KHOROS_FILTERS]
    if others:
        notes.append(f"Khoros' currentTAR filters by priority and work queue only; the {', '.join(others)} "
                     "filter applies to our own figure alone.")
    unavailable: str | None = None
    answer = None
    if lo >= as_of:
        unavailable = "the window starts after now; Khoros' figure covers a range ending now"
    else:
        answer, why = core.current_tar(lo, priorities=priorities, work_queue_ids=queues)
        if answer is None:
            unavailable = why or "no answer"
    ours_definition_window = f"{filters.start:%Y-%m-%d} to {filters.end - timedelta(days=1):%Y-%m-%d} ({filters.tz})"
    rows, reasons, comparisons = [], {}, {}
    for kind in tar.RESPONSE_TYPES:
        ours, business = _ours(core, filters, kind, as_of)
        ours_definition = tar.ResponseDefinition(filters.bot_rule, business, "first_inbound", ours_definition_window)
        khoros = to_khoros = None
        if answer is not None:
            tars, at = answer
            current = tars[kind]
            span = timedelta(milliseconds=current.range_ms)
            khoros = tar.TarFigure(None if current.average_ms is None else round(current.average_ms),
                                   None if current.median_ms is None else round(current.median_ms))
            to_khoros = tar.khoros_tar(core.facts("human").lazy(), core.bursts("human").lazy(),
                                       core.table("conversation").lazy(), now=at, time_range=span,
                                       response_type=kind, priorities=priorities, work_queue_ids=queues)
            comparison = tar.compare_with_khoros(kind, khoros, to_khoros, ours, ours_definition=ours_definition,
                                                 khoros_definition=tar.khoros_definition(at, span))
            comparisons[kind], reasons[kind] = comparison, comparison.reasons
        k_mean, k_median, _ = _figure(khoros)
        t_mean, t_median, t_count = _figure(to_khoros)
        o_mean, o_median, o_count = _figure(ours)
        rows.append({"Response": RESPONSE_LABELS[kind], "Khoros mean": k_mean, "Khoros median": k_median,
                     "Ours, Khoros' way: mean": t_mean, "Ours, Khoros' way: median": t_median,
                     "Ours, Khoros' way: intervals": t_count, "Ours: mean": o_mean, "Ours: median": o_median,
                     "Ours: answered": o_count})
    if answer is not None:
        at = answer[1]
        span = timedelta(milliseconds=answer[0]["FIRST"].range_ms)
        notes.insert(0, f"Khoros' range: {at - span:%Y-%m-%d %H:%M} to {at:%Y-%m-%d %H:%M} UTC (replies sent in it), "
                        f"calendar time, bot replies never count. Ours: conversations whose first inbound post is "
                        f"in {ours_definition_window}, bot rule {filters.bot_rule}, each target's clock.")
        if hi < at:
            notes.append("This window ends before now, but Khoros' figure is a live range ending now: it also covers "
                         "the days after the window.")
    return TarView(table=pl.DataFrame(rows), reasons=reasons, notes=notes, unavailable=unavailable,
                   comparisons=comparisons)
