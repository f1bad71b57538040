"""What the iFrame author panel shows for one author: profile as of now, recent conversations with their
service levels, open conversations and their time to breach. Pure functions over the store's frames.

The author comes from the verified iFrame payload (``dashboard.embed.EmbedPayload.author``). Khoros' author
id is matched first; when the synced author export does not know that id (an author seen only after the last
sync, or a tenant whose payload carries another id), the network and handle are tried, case-insensitively and
ignoring a leading "@".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from dashboard.metrics import sla
from dashboard.metrics.policy import Policy
from dashboard.schema import EXPORTS, TIME

__all__ = [
    "SLA_METRICS",
    "AuthorProfile",
    "author_conversations",
    "author_open_conversations",
    "find_author",
]

SLA_METRICS: tuple[str, ...] = ("first_response", "resolution")
_KNOWN_AUTHOR_COLUMNS = set(EXPORTS["author"].names)


@dataclass(frozen=True)
class AuthorProfile:
    author_id: str
    network: str | None
    handle: str | None
    display_name: str | None
    tier: str | None
    first_seen: datetime | None
    """The author's first version (their first inbound post)."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Extra CRM attribute columns of the latest version, non-empty ones only."""
    tier_history: tuple[tuple[datetime, str | None], ...] = ()
    """(effective from, tier) for every version up to ``as_of``, oldest first."""
    matched_by: str = "id"
    """How the payload's author was found: "id" or "handle"."""


def _handle_key(value: pl.Expr) -> pl.Expr:
    return value.str.strip_chars().str.strip_chars_start("@").str.to_lowercase()


def find_author(
    author: pl.LazyFrame,
    as_of: datetime,
    author_id: str,
    *,
    network: str | None = None,
    handle: str | None = None,
    tier_attribute: str = "tier",
    tier_table: pl.LazyFrame | None = None,
) -> AuthorProfile | None:
    """The author as of ``as_of`` (the latest version effective by then), or None when unknown.

    The tier and its history come from ``tier_attribute`` of the author versions, or, when ``tier_table`` is
    given (``author_id``, ``updated_time``, ``tier``: the core's tier source), from that table."""
    as_of_lit = pl.lit(as_of).cast(TIME)
    effective = author.filter(pl.col("updated_time") <= as_of_lit)
    versions = effective.filter(pl.col("author_id") == author_id).collect()
    matched_by = "id"
    if versions.is_empty() and handle:
        wanted = handle.strip().lstrip("@").lower()
        by_handle = effective.filter(_handle_key(pl.col("handle")) == wanted)
        if network:
            by_handle = by_handle.filter(pl.col("network").str.to_lowercase() == network.lower())
        found = by_handle.collect()
        if found.height and found["author_id"].n_unique() == 1:  # an ambiguous handle matches nobody
            versions, matched_by = found, "handle"
    if versions.is_empty():
        return None
    versions = versions.sort("updated_time")
    latest = versions.row(-1, named=True)
    tier_column = tier_attribute if tier_attribute in versions.columns else "tier"
    if tier_table is None:
        history = tuple(zip(versions["updated_time"].to_list(), versions[tier_column].to_list(), strict=True))
    else:
        tiers = (tier_table.filter((pl.col("author_id") == latest["author_id"]) & (pl.col("updated_time") <= as_of_lit))
                 .sort("updated_time").collect())
        history = tuple(zip(tiers["updated_time"].to_list(), tiers["tier"].to_list(), strict=True))
    extra = {
        name: str(value)
        for name, value in latest.items()
        if name not in _KNOWN_AUTHOR_COLUMNS and name != tier_column and value not in (None, "")
    }
    return AuthorProfile(
        author_id=latest["author_id"],
        network=latest["network"],
        handle=latest["handle"],
        display_name=latest["display_name"],
        tier=history[-1][1] if history else None,
        first_seen=versions["updated_time"][0],
        attributes=extra,
        tier_history=history,
        matched_by=matched_by,
    )


def _evaluated(facts: pl.LazyFrame, policy: Policy, as_of: datetime, metrics: Sequence[str]) -> pl.LazyFrame:
    """One row per conversation × metric: status, target, elapsed and breach instant (``sla.evaluate``)."""
    frames = [
        sla.evaluate(facts, policy, metric, as_of=as_of).select(
            "conversation_id", "metric", "status", "target_seconds", "elapsed_seconds", "breach_at", "clock",
            "stop_time",
        )
        for metric in metrics
    ]
    return pl.concat(frames, how="vertical_relaxed")


def author_conversations(
    facts: pl.LazyFrame | pl.DataFrame,
    policy: Policy,
    author_id: str,
    as_of: datetime,
    *,
    limit: int = 10,
    metrics: Sequence[str] = SLA_METRICS,
) -> pl.DataFrame:
    """The author's latest ``limit`` conversations created by ``as_of``, newest first, with per metric
    ``<metric>_status`` (achieved / breached / pending / ...), ``<metric>_elapsed_s`` and ``<metric>_target_s``.
    Base columns: ``conversation_id, conversation_display_id, network, created_time, closed_time, status,
    tier, priority, work_queue_id, agent_id``."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    as_of_lit = pl.lit(as_of).cast(TIME)
    mine = (
        facts.lazy()
        .filter((pl.col("author_id") == author_id) & (pl.col("created_time") <= as_of_lit))
        .sort("created_time", descending=True)
        .head(limit)
    )
    base = mine.select(
        "conversation_id", "conversation_display_id", "network", "created_time",
        pl.when(pl.col("closed_time") <= as_of_lit).then(pl.col("closed_time")).alias("closed_time"),
        pl.when(pl.col("closed_time") <= as_of_lit).then(pl.lit("CLOSED")).otherwise(pl.lit("OPEN")).alias("status"),
        "tier", "priority", "work_queue_id", "agent_id",
    )  # fmt: skip
    evaluated = _evaluated(mine, policy, as_of, metrics).collect()
    out = base.collect()
    for metric in metrics:
        part = evaluated.filter(pl.col("metric") == metric).select(
            "conversation_id",
            pl.col("status").alias(f"{metric}_status"),
            pl.col("elapsed_seconds").alias(f"{metric}_elapsed_s"),
            pl.col("target_seconds").alias(f"{metric}_target_s"),
        )
        out = out.join(part, on="conversation_id", how="left")
    return out.sort("created_time", descending=True)


def author_open_conversations(
    facts: pl.LazyFrame | pl.DataFrame,
    policy: Policy,
    author_id: str,
    as_of: datetime,
    *,
    metrics: Sequence[str] = SLA_METRICS,
) -> pl.DataFrame:
    """The author's conversations open at ``as_of`` and each running clock — pending, or breached and still
    running (overdue: no stopping event yet) — : ``conversation_id, conversation_display_id, network,
    created_time, metric, status, target_seconds, elapsed_seconds, breach_at, seconds_to_breach`` (negative when
    overdue), the most overdue first, then the soonest breach. A clock that already stopped (a late first
    response) is history, not something to act on: it is not listed."""
    as_of_lit = pl.lit(as_of).cast(TIME)
    open_now = facts.lazy().filter(
        (pl.col("author_id") == author_id)
        & (pl.col("created_time") <= as_of_lit)
        & (pl.col("closed_time").is_null() | (pl.col("closed_time") > as_of_lit))
    )
    clocks = (
        _evaluated(open_now, policy, as_of, metrics)
        .filter(((pl.col("status") == "pending") | ((pl.col("status") == "breached") & pl.col("stop_time").is_null()))
                & pl.col("breach_at").is_not_null())
        .with_columns(seconds_to_breach=(pl.col("breach_at") - as_of_lit).dt.total_milliseconds() / 1000)
    )
    return (
        open_now.select("conversation_id", "conversation_display_id", "network", "created_time")
        .join(clocks, on="conversation_id", how="inner")
        .sort("seconds_to_breach")
        .select("conversation_id", "conversation_display_id", "network", "created_time", "metric", "status",
                "target_seconds", "elapsed_seconds", "breach_at", "seconds_to_breach")
        .collect()
    )  # fmt: skip
