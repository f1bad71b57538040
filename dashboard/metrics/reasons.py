"""Contact reasons: why customers write, by conversation tag or by disposition.

Definitions (conversations of the window: first inbound post in [start, end) in the report's zone):

- **Reason** of a conversation, ``by="tag"``: each distinct tag on it (``tags``, a list of names, as they stand
  now in the conversation export). A conversation with several tags **counts once under each of its tags**,
  so the volumes of the tags add up to more than the conversations and their shares to more than 100 %
  (:data:`MULTI_TAG_NOTE`; ``multi_tagged`` says how many of a tag's conversations carry other tags too). A
  conversation without tags is listed under :data:`NO_TAG`.
- ``by="disposition"``: the conversation's disposition; exactly one per conversation, so shares add up to
  100 %. Open conversations have none yet and are listed under :data:`NO_DISPOSITION`.
- ``conversations``: conversations of the window with the reason; ``share`` = that ÷ all conversations of
  the window.
- First response and resolution per reason are the SLA figures of :func:`dashboard.metrics.sla.evaluate`
  and :func:`dashboard.metrics.sla.attainment_by`, unchanged: attainment = achieved ÷ (achieved + breached),
  median and p90 nearest-rank (:mod:`dashboard.metrics.stats`) in each conversation's target clock.
- **Rising reasons** (:func:`rising_reasons`): volume in the window against the previous window of the same
  length; ``growth`` = current ÷ previous − 1, null for a reason the previous window did not have (``new``).
  Only reasons with at least ``min_volume`` conversations in the window are ranked, so that one conversation
  more than last week does not rank first; new reasons rank first, then by growth, then by volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from dashboard.metrics._planning import PlanningError
from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import (
    ATTAINMENT_PARTS,
    attainment_by,
    attainment_columns,
    evaluate,
    in_window,
    previous_window,
    resolve_as_of,
)

__all__ = [
    "MULTI_TAG_NOTE",
    "NO_DISPOSITION",
    "NO_TAG",
    "REASON_KINDS",
    "conversations_with_reason",
    "reason_table",
    "rising_reasons",
]

REASON_KINDS = ("tag", "disposition")
NO_TAG = "(no tag)"
NO_DISPOSITION = "(no disposition)"
MULTI_TAG_NOTE = (
    "A conversation with several tags counts once under each of its tags, so tag volumes add up to more than "
    "the number of conversations and shares to more than 100 %."
)


def _check_kind(by: str) -> None:
    if by not in REASON_KINDS:
        raise PlanningError(f"contact reasons by {by!r}: use one of {', '.join(REASON_KINDS)}")


def _with_reasons(facts: pl.LazyFrame, by: str, exclude: Sequence[str] = ()) -> pl.LazyFrame:
    """One row per conversation and reason (column ``reason``), plus ``reason_count`` (the conversation's
    number of distinct reasons)."""
    _check_kind(by)
    if by == "tag":
        tags = (
            pl.col("tags").list.eval(pl.element().str.strip_chars())
            .list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
            .list.unique(maintain_order=True)
        )
        if exclude:
            tags = tags.list.eval(pl.element().filter(~pl.element().is_in(list(exclude))))
        listed = facts.with_columns(_reasons=tags)
        listed = listed.with_columns(
            _reasons=pl.when(pl.col("_reasons").list.len().fill_null(0) == 0)
            .then(pl.lit([NO_TAG], pl.List(pl.String))).otherwise(pl.col("_reasons")),
        )
    else:
        value = pl.col("disposition").str.strip_chars()
        listed = facts.with_columns(
            _reasons=pl.concat_list(
                pl.when(value.is_null() | (value == "")).then(pl.lit(NO_DISPOSITION)).otherwise(value))
        )
    return (
        listed.with_columns(reason_count=pl.col("_reasons").list.len().cast(pl.Int64))
        .explode("_reasons")
        .rename({"_reasons": "reason"})
    )


def reason_table(
    facts: pl.LazyFrame,
    policy: Policy,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str = "UTC",
    by: str = "tag",
    as_of: datetime | None = None,
    exclude: Sequence[str] = (),
) -> pl.LazyFrame:
    """One row per reason (tag or disposition) over the window's conversations, largest first.

    ``facts``: :func:`dashboard.metrics.conversations.conversation_facts` (filters on other dimensions applied
    before). ``exclude``: tag names left out (e.g. the system tags "Bot Handoff"); a conversation whose only
    tags are excluded is listed under :data:`NO_TAG`.

    Columns: ``reason``, ``conversations``, ``share``, ``multi_tagged`` (conversations of the reason with
    other reasons too; always 0 by disposition), ``first_response_achieved`` / ``_breached`` / ``_pending``,
    ``first_response_attainment`` (+ ``_low`` / ``_high``, 95 % Wilson), ``first_response_median_seconds``,
    ``first_response_p90_seconds``, ``resolved``, ``resolution_attainment``, ``resolution_median_seconds``,
    ``resolution_p90_seconds``.
    """
    moment = resolve_as_of(as_of)
    window = in_window(facts, start, end, tz)
    total = window.select(pl.len().cast(pl.Int64).alias("_total"))
    first = attainment_by(_with_reasons(evaluate(window, policy, "first_response", as_of=moment), by, exclude),
                          ["reason"]).select(
        "reason",
        *attainment_columns("first_response", (*ATTAINMENT_PARTS, "median_seconds", "p90_seconds")),
    )
    resolution = attainment_by(_with_reasons(evaluate(window, policy, "resolution", as_of=moment), by, exclude),
                               ["reason"]).select(
        "reason",
        pl.col("responded").alias("resolved"),
        *attainment_columns("resolution", ("attainment", "median_seconds", "p90_seconds")),
    )
    volume = _with_reasons(window, by, exclude).group_by("reason").agg(
        conversations=pl.len().cast(pl.Int64),
        multi_tagged=(pl.col("reason_count") > 1).sum().cast(pl.Int64),
    )
    return (
        volume.join(total, how="cross")
        .with_columns(share=pl.when(pl.col("_total") > 0).then(pl.col("conversations") / pl.col("_total")))
        .join(first, on="reason", how="left")
        .join(resolution, on="reason", how="left")
        .sort(["conversations", "reason"], descending=[True, False])
        .select(
            "reason", "conversations", "share", "multi_tagged",
            "first_response_achieved", "first_response_breached", "first_response_pending",
            "first_response_attainment", "first_response_attainment_low", "first_response_attainment_high",
            "first_response_median_seconds", "first_response_p90_seconds",
            "resolved", "resolution_attainment", "resolution_median_seconds", "resolution_p90_seconds",
        )
    )


def rising_reasons(
    facts: pl.LazyFrame,
    *,
    start: date,
    end: date,
    tz: str = "UTC",
    by: str = "tag",
    min_volume: int = 10,
    exclude: Sequence[str] = (),
) -> pl.LazyFrame:
    """Reasons that grew against the previous window of the same length, fastest first.

    Only reasons with ``conversations >= min_volume`` in the window that grew (or are new) are listed.
    Columns: ``reason``, ``conversations``, ``previous``, ``change`` (conversations − previous), ``growth``
    (null when new), ``new``, ``share``, ``previous_share``, ``share_change`` (share points).
    """
    if not isinstance(min_volume, int) or isinstance(min_volume, bool) or min_volume < 1:
        raise PlanningError(f"min_volume must be a whole number of conversations >= 1, got {min_volume!r}")
    if not (isinstance(start, date) and not isinstance(start, datetime)
            and isinstance(end, date) and not isinstance(end, datetime)):
        raise PlanningError("rising_reasons compares whole local days: give start and end as dates")
    prev_start, prev_end = previous_window(start, end)

    def counts(lo: date, hi: date, name: str) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        window = in_window(facts, lo, hi, tz)
        per_reason = _with_reasons(window, by, exclude).group_by("reason").agg(pl.len().cast(pl.Int64).alias(name))
        return per_reason, window.select(pl.len().cast(pl.Int64).alias(f"_{name}_total"))

    now, now_total = counts(start, end, "conversations")
    before, before_total = counts(prev_start, prev_end, "previous")
    joined = (
        now.join(before, on="reason", how="left")
        .join(now_total, how="cross")
        .join(before_total, how="cross")
        .with_columns(pl.col("previous").fill_null(0))
    )
    share = pl.col("conversations") / pl.col("_conversations_total")
    previous_share = pl.when(pl.col("_previous_total") > 0).then(pl.col("previous") / pl.col("_previous_total"))
    return (
        joined.filter((pl.col("conversations") >= min_volume) & (pl.col("conversations") > pl.col("previous")))
        .with_columns(
            change=pl.col("conversations") - pl.col("previous"),
            growth=pl.when(pl.col("previous") > 0).then(pl.col("conversations") / pl.col("previous") - 1),
            new=pl.col("previous") == 0,
            share=share,
            previous_share=previous_share.fill_null(0.0),
        )
        .with_columns(share_change=pl.col("share") - pl.col("previous_share"))
        .sort(["new", "growth", "conversations", "reason"], descending=[True, True, True, False], nulls_last=True)
        .select("reason", "conversations", "previous", "change", "growth", "new", "share", "previous_share",
                "share_change")
    )


def conversations_with_reason(
    facts: pl.LazyFrame,
    reason: str,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str = "UTC",
    by: str = "tag",
    exclude: Sequence[str] = (),
) -> pl.LazyFrame:
    """The window's conversations listed under ``reason`` (the drill-down behind a row of
    :func:`reason_table`): the facts' columns, newest first."""
    window = in_window(facts, start, end, tz)
    ids = _with_reasons(window, by, exclude).filter(pl.col("reason") == reason).select("conversation_id").unique()
    return window.join(ids, on="conversation_id", how="semi").sort("first_inbound_time", descending=True)
