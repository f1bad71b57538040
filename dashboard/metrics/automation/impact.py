"""Impact of incidents on customers: conversations handed off automatically while a bot was failing, and their
first response against the baseline (rules in :mod:`dashboard.metrics.automation`)."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dashboard.metrics.automation.health import lit_time
from dashboard.metrics.stats import nearest_rank

__all__ = ["AUTO_HANDOFF_TAG", "impact_conversations", "incident_impact"]

AUTO_HANDOFF_TAG = "Automatic Bot Handoff"
"""The tag Khoros puts on a conversation it handed to an agent because the bot could not take it."""




def impact_conversations(facts: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """The conversation rows :func:`incident_impact` takes, from ``conversation_facts``: ``conversation_id,
    tags, created_time, first_response_seconds`` (calendar seconds from the human clock's start — the hand-off
    for bot-first conversations — to the first public agent response; null when not answered)."""
    return facts.lazy().select(
        "conversation_id",
        "tags",
        "created_time",
        first_response_seconds=(pl.col("first_response_time") - pl.col("clock_start")).dt.total_milliseconds()
        / 1000,
    )


def incident_impact(
    incident_frame: pl.LazyFrame,
    conversations: pl.LazyFrame,
    records: pl.LazyFrame | None = None,
    *,
    as_of: datetime | None = None,
    response_column: str = "first_response_seconds",
    time_column: str = "created_time",
    tag: str = AUTO_HANDOFF_TAG,
) -> pl.LazyFrame:
    """Conversations handed off automatically during each incident, and their first response vs the baseline.

    ``conversations``: ``conversation_id, tags, <time_column>, <response_column>`` (seconds; null when not
    answered). A conversation is *affected* by an incident when it carries ``tag`` and its ``time_column``
    (the hand-off; the conversation's creation by default, because an automatic hand-off happens when the
    first message cannot be delivered) falls in ``[start, end)`` (``end`` = ``as_of`` while ongoing). With
    ``records``, it must also have a request record of the incident's app id — so two incidents of different
    bots at the same time do not share conversations. The baseline is every conversation in the frame that no
    incident affected.

    Columns: ``incident_id, affected, answered, p50_first_response_s, p90_first_response_s,
    baseline_p50_first_response_s, baseline_p90_first_response_s, p50_delta_s`` (nearest-rank)."""
    if as_of is None:
        as_of = datetime.now().astimezone()
    spans = incident_frame.select(
        "incident_id", "app_id", "start", _end=pl.coalesce("end", lit_time(as_of))
    )
    handed = conversations.filter(pl.col("tags").list.contains(tag)).select(
        "conversation_id", _handoff=pl.col(time_column), _response=pl.col(response_column).cast(pl.Float64)
    )
    affected = spans.join_where(handed, pl.col("_handoff") >= pl.col("start"), pl.col("_handoff") < pl.col("_end"))
    if records is not None:
        links = records.filter(pl.col("conversation_id").is_not_null()).select("conversation_id", "app_id").unique()
        affected = affected.join(links, on=["conversation_id", "app_id"], how="semi")
    # An incident per origin of the same app can list the same conversation; count it once per incident.
    affected = affected.unique(["incident_id", "conversation_id"])
    baseline = (
        conversations.join(affected.select("conversation_id").unique(), on="conversation_id", how="anti")
        .select(_response=pl.col(response_column).cast(pl.Float64))
        .select(
            baseline_p50_first_response_s=nearest_rank(pl.col("_response"), 0.5),
            baseline_p90_first_response_s=nearest_rank(pl.col("_response"), 0.9),
        )
    )
    per_incident = affected.group_by("incident_id").agg(
        affected=pl.len().cast(pl.Int64),
        answered=pl.col("_response").is_not_null().sum().cast(pl.Int64),
        p50_first_response_s=nearest_rank(pl.col("_response"), 0.5),
        p90_first_response_s=nearest_rank(pl.col("_response"), 0.9),
    )
    return (
        spans.select("incident_id", "start")
        .join(per_incident, on="incident_id", how="left")
        .join(baseline, how="cross")
        .with_columns(pl.col("affected", "answered").fill_null(0))
        .with_columns(p50_delta_s=pl.col("p50_first_response_s") - pl.col("baseline_p50_first_response_s"))
        .sort("start")
        .drop("start")
    )


