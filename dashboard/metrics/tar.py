"""Khoros' "time to agent response" beside ours: the same definition computed from our tables, and why our own
first / next response time differs.

Khoros reports its own figure (``GET /api/v2/bots/currentTAR``: average and median, FIRST or SUBSEQUENT, over a
live range). Users of every peer tool first ask why the dashboard disagrees with the vendor; this module answers
with three figures and a one-line reason per difference:

1. **Khoros' figure**, as the API answers it;
2. **ours to Khoros' definition** (:func:`khoros_tar`), from the same rows the dashboard uses — so a difference
   between 1 and 2 is about data (a store not synced up to now) or about the definition, which is an
   assumption: Khoros does not publish how it computes TAR;
3. **ours** (DESIGN.md): first response / next response, placed by the conversation's first inbound post in
   the report window, with the bot rule and business hours of the policy, median by nearest rank.

Khoros' definition as assumed here (and in the simulator's README):

- FIRST: per conversation, from ``tarStartDate`` — the hand-off to an agent for a conversation a bot had first,
  else the first inbound post (our ``clock_start`` under bot rule ``human``) — to the first public agent reply;
- SUBSEQUENT: per customer burst after an agent's public reply, to the next public agent reply (our next-response
  bursts under bot rule ``human``);
- calendar time; an interval counts when its *reply* falls in ``[now - range, now)``; the priority and work-queue
  filters apply to the conversation's *current* values;
- mean and median (the mean of the two middle values for an even count) rounded to whole ms, halves up.

Inputs are frames (``conversation_facts`` and ``customer_bursts`` under bot rule ``human``, the conversation
export); nothing here reads a file or calls an API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from dashboard.schema import TIME

__all__ = [
    "KHOROS_MEDIAN",
    "RESPONSE_TYPES",
    "ResponseDefinition",
    "TarComparison",
    "TarFigure",
    "compare_with_khoros",
    "khoros_definition",
    "khoros_tar",
    "our_response_time",
    "tar_figure",
    "tar_intervals",
]

RESPONSE_TYPES = ("FIRST", "SUBSEQUENT")
KHOROS_MEDIAN = "midpoint"
"""Khoros' median, as assumed: the mean of the two middle values for an even count."""


@dataclass(frozen=True)
class TarFigure:
    """A response-time figure in milliseconds (None when nothing was answered)."""

    mean_ms: int | None
    median_ms: int | None
    count: int | None = None
    """Intervals behind it (Khoros does not say: None)."""


@dataclass(frozen=True)
class ResponseDefinition:
    """How a response-time figure was computed: what the reasons compare."""

    bot_rule: str
    """``human``: the clock starts at the hand-off to an agent and only an agent's reply stops it; ``any``: any
    public reply, a bot's too, from the first inbound post."""
    business_hours: bool
    placement: str
    """``reply``: intervals whose reply falls in the window; ``first_inbound``: conversations whose first inbound
    post falls in it."""
    window: str
    """The window in words ("the 7 days before 2026-11-18 15:30 UTC")."""
    median: str = "nearest_rank"
    """``nearest_rank`` (the ⌈n/2⌉-th value, the dashboard's choice) or ``midpoint``."""


def khoros_definition(now: datetime, time_range: timedelta) -> ResponseDefinition:
    return ResponseDefinition("human", False, "reply", f"the {_span(time_range)} before {now:%Y-%m-%d %H:%M} UTC",
                              KHOROS_MEDIAN)


def _span(time_range: timedelta) -> str:
    hours = time_range.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hours"


def tar_intervals(facts: pl.LazyFrame, bursts: pl.LazyFrame, response_type: str) -> pl.LazyFrame:
    """``conversation_id, start, end, tar_ms`` of every answered interval of ``response_type``.

    ``facts``: ``conversation_facts(..., bot_rule="human")``; ``bursts``: ``customer_bursts(..., bot_rule="human")``.
    """
    if response_type == "FIRST":
        spans = facts.lazy().select("conversation_id", start="clock_start", end="first_response_time")
    elif response_type == "SUBSEQUENT":
        spans = bursts.lazy().select("conversation_id", start="burst_time", end="response_time")
    else:
        raise ValueError(f"response type {response_type!r}: one of {', '.join(RESPONSE_TYPES)}")
    return (spans.filter(pl.col("start").is_not_null() & pl.col("end").is_not_null())
            .with_columns(tar_ms=(pl.col("end") - pl.col("start")).dt.total_milliseconds()))


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def tar_figure(durations_ms: Sequence[int] | pl.Series, *, median: str = KHOROS_MEDIAN) -> TarFigure:
    """Mean and median of millisecond durations, rounded to whole ms (halves up); ``median`` ``midpoint``
    (Khoros, assumed) or ``nearest_rank`` (the dashboard's)."""
    values = sorted(int(v) for v in (durations_ms.drop_nulls() if isinstance(durations_ms, pl.Series)
                                     else durations_ms) if v is not None)
    n = len(values)
    if not n:
        return TarFigure(None, None, 0)
    if median == "nearest_rank":
        middle = values[(n + 1) // 2 - 1]
    elif median == KHOROS_MEDIAN:
        middle = values[n // 2] if n % 2 else _half_up(values[n // 2 - 1] + values[n // 2], 2)
    else:
        raise ValueError(f"median {median!r}: midpoint or nearest_rank")
    return TarFigure(_half_up(sum(values), n), middle, n)


def khoros_tar(facts: pl.LazyFrame, bursts: pl.LazyFrame, conversation: pl.LazyFrame, *, now: datetime,
               time_range: timedelta, response_type: str = "FIRST", priorities: Sequence[int] = (),
               work_queue_ids: Sequence[int] = ()) -> TarFigure:
    """Our rows to Khoros' definition (see the module docstring): the figure ``currentTAR`` should answer for
    the same range and filters."""
    current = conversation.lazy().select("conversation_id", "priority", "work_queue_id")
    if priorities:
        current = current.filter(pl.col("priority").is_in(list(priorities)))
    if work_queue_ids:
        current = current.filter(pl.col("work_queue_id").is_in(list(work_queue_ids)))
    lo, hi = pl.lit(now - time_range).cast(TIME), pl.lit(now).cast(TIME)
    durations = (tar_intervals(facts, bursts, response_type)
                 .join(current.select("conversation_id"), on="conversation_id", how="semi")
                 .filter((pl.col("end") >= lo) & (pl.col("end") < hi))
                 .select("tar_ms").collect()["tar_ms"])
    return tar_figure(durations)


@dataclass(frozen=True)
class TarComparison:
    """Khoros' figure, ours to its definition and our own, with a one-line reason per difference."""

    response_type: str
    khoros: TarFigure
    ours_to_khoros: TarFigure
    ours: TarFigure
    ours_definition: ResponseDefinition
    khoros_definition: ResponseDefinition
    reasons: tuple[str, ...]


def _same(a: TarFigure, b: TarFigure) -> bool:
    return (a.mean_ms, a.median_ms) == (b.mean_ms, b.median_ms)


def compare_with_khoros(response_type: str, khoros: TarFigure, ours_to_khoros: TarFigure, ours: TarFigure, *,
                        ours_definition: ResponseDefinition, khoros_definition: ResponseDefinition
                        ) -> TarComparison:
    """The three figures side by side; ``reasons`` says, one line each, why they differ (nothing when they
    agree)."""
    ours_name = "first response" if response_type == "FIRST" else "next response"
    reasons: list[str] = []
    if not _same(khoros, ours_to_khoros):
        reasons.append("data or definition: computed to Khoros' definition from the store, the figure differs from "
                       "Khoros' own — the store may lack the latest rows (sync), or Khoros computes TAR otherwise "
                       "than assumed (its definition is not public)")
    if not _same(ours_to_khoros, ours):
        k, o = khoros_definition, ours_definition
        if k.bot_rule != o.bot_rule:
            reasons.append(f"bot rule: our {ours_name} counts any public reply, a bot's too, from the first inbound "
                           "post; Khoros starts at the hand-off to an agent and waits for an agent's reply"
                           if o.bot_rule == "any" else
                           f"bot rule: our {ours_name} waits for an agent from the hand-off; Khoros' counts "
                           "any reply")
        if k.business_hours != o.business_hours:
            reasons.append(f"business hours: our {ours_name} counts only time inside the business schedule; "
                           "Khoros counts calendar time" if o.business_hours else
                           "business hours: Khoros counts only business time; ours counts calendar time")
        if (k.placement, k.window) != (o.placement, o.window):
            reasons.append(f"window: ours takes the conversations whose first inbound post is in {o.window}; "
                           f"Khoros takes the replies sent in {k.window}" if o.placement == "first_inbound" else
                           f"window: ours takes the replies sent in {o.window}; Khoros' in {k.window}")
        if k.median != o.median and ours.median_ms != ours_to_khoros.median_ms:
            reasons.append("median: ours is the nearest-rank median (the ⌈n/2⌉-th value); Khoros' is taken as the "
                           "mean of the two middle values")
    return TarComparison(response_type, khoros, ours_to_khoros, ours, ours_definition, khoros_definition,
                         tuple(reasons))


def our_response_time(facts: pl.LazyFrame, bursts: pl.LazyFrame, *, response_type: str, start: datetime,
                      end: datetime) -> TarFigure:
    """Our first (FIRST) or next (SUBSEQUENT) response time in calendar ms, the DESIGN.md way: the
    conversations whose first inbound post is in ``[start, end)``, with the bot rule ``facts`` and ``bursts``
    were built with, median by nearest rank. (Business-hours figures come from ``sla.evaluate``; pass them to
    :func:`tar_figure` with ``median="nearest_rank"``.)"""
    lo, hi = pl.lit(start).cast(TIME), pl.lit(end).cast(TIME)
    placed = facts.lazy().filter((pl.col("first_inbound_time") >= lo) & (pl.col("first_inbound_time") < hi))
    durations = (tar_intervals(placed, bursts.lazy().join(placed.select("conversation_id"), on="conversation_id",
                                                          how="semi"), response_type)
                 .select("tar_ms").collect()["tar_ms"])
    return tar_figure(durations, median="nearest_rank")
