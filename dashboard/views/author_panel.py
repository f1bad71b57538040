"""The author panel Khoros Care frames next to a conversation: one author — tier and attributes, recent
conversations with their service levels, open conversations and their time to breach — and nothing else.

The numbers come from ``dashboard.metrics.author_panel``; the tier from the core's tier source, as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.embed import EmbedPayload
from dashboard.metrics.author_panel import author_conversations, author_open_conversations
from dashboard.source import DEMO_NOTICE
from dashboard.views.kpi import Card, duration_text, format_duration, time_text
from dashboard.views.names import readable

__all__ = ["AuthorPanelView", "build_author_panel"]

# Words, not emoji: the agent's browser inside Khoros may have no emoji font.
STATUS_WORDS = {"achieved": "met", "breached": "BREACHED", "pending": "running", "bot_contained": "bot handled",
                "not_started": "not started", "no_target": "no target"}  # fmt: skip
METRIC_LABELS = {"first_response": "First response", "resolution": "Resolution"}
NOT_SYNCED = "This author is not in the synced data yet (new authors appear after the next sync)."
OPEN_HEADERS = {"conversation_display_id": "Conversation", "this_one": "This one", "state": "State",
                "when": "Overdue by / due in", "metric": "Clock", "breach_at": "Breach at", "network": "Channel"}
RECENT_HEADERS = {"conversation_display_id": "Conversation", "created": "Created", "network": "Channel",
                  "status": "Status", "first_response_status": "First response",
                  "first_response": "First response time", "resolution_status": "Resolution", "tier": "Tier",
                  "priority": "Priority"}  # fmt: skip


@dataclass(frozen=True)
class AuthorPanelView:
    name: str
    caption: str
    demo_note: str | None
    missing_message: str | None
    """Set when the author is not in the synced data (then there are no cards)."""
    cards: list[Card]
    attributes: pl.DataFrame | None
    tier_history: str | None
    open_conversations: pl.DataFrame | None
    """As shown: overdue clocks first (most overdue on top), then the running ones by time to breach; None when
    no open conversation has a running clock."""
    recent: pl.DataFrame | None
    """As shown; None when there is no earlier conversation."""


def build_author_panel(core, payload) -> AuthorPanelView:
    """The panel for the author of a verified iFrame payload (``dashboard.embed.EmbedPayload``)."""
    as_of, tz = core.now(), core.settings.timezone
    zone = ZoneInfo(tz)
    profile = core.author_profile(payload.author.id, network=payload.author.network, handle=payload.author.handle)
    facts, policy = core.facts(), core.policy()
    author_id = profile.author_id if profile else payload.author.id
    recent = author_conversations(facts, policy, author_id, as_of, limit=10)
    clocks = author_open_conversations(facts, policy, author_id, as_of)
    cards: list[Card] = []
    attributes = history = None
    if profile is not None:
        overdue = clocks.filter(pl.col("seconds_to_breach") < 0)
        cards = [
            Card("Tier", profile.tier or "unknown", "The CRM tier effective now (the tier source's latest version)."),
            Card("Open conversations", f"{clocks['conversation_id'].n_unique() if clocks.height else 0}"),
            Card("Overdue", f"{overdue['conversation_id'].n_unique() if overdue.height else 0}",
                 "Open conversations of this author with a service-level clock past its target and still running."),
            Card("Customer since", f"{profile.first_seen.astimezone(zone):%d %b %Y}" if profile.first_seen else "—"),
        ]
        if profile.attributes:
            attributes = pl.DataFrame({"attribute": list(profile.attributes),
                                       "value": list(profile.attributes.values())})
        if len(profile.tier_history) > 1:
            history = "Tier history: " + " → ".join(f"{tier or 'unknown'} ({since.astimezone(zone):%d %b %Y})"
                                                     for since, tier in profile.tier_history)
    late = pl.col("seconds_to_breach") < 0
    open_table = clocks.with_columns(
        metric=pl.col("metric").replace_strict(METRIC_LABELS, default=pl.col("metric")),
        state=pl.when(late).then(pl.lit("Overdue")).otherwise(pl.lit("At risk")),
        when=pl.when(late).then((-pl.col("seconds_to_breach")).map_elements(format_duration, return_dtype=pl.String))
        .otherwise(pl.lit("in ") + duration_text("seconds_to_breach")),
        this_one=pl.col("conversation_id") == payload.conversation_id,
        breach_at=time_text("breach_at", tz),
    )
    # A running clock has no response time yet: say so, never "0s".
    running = pl.col("first_response_status") == "pending"
    recent_table = recent.with_columns(
        first_response=pl.when(running).then(pl.lit("running")).otherwise(duration_text("first_response_elapsed_s")),
        created=time_text("created_time", tz),
    ).with_columns(
        pl.col("first_response_status").replace_strict(STATUS_WORDS, default=pl.col("first_response_status")),
        pl.col("resolution_status").replace_strict(STATUS_WORDS, default=pl.col("resolution_status")),
        pl.col("priority").cast(pl.String),
    )
    return AuthorPanelView(
        name=(profile.display_name if profile else None) or payload.author.handle or payload.author.id,
        caption=_caption(payload),
        demo_note=DEMO_NOTICE if core.is_demo else None,
        missing_message=None if profile else NOT_SYNCED,
        cards=cards, attributes=attributes, tier_history=history,
        open_conversations=readable(open_table, OPEN_HEADERS) if open_table.height else None,
        recent=readable(recent_table, RECENT_HEADERS) if recent_table.height else None,
    )


def _caption(payload: EmbedPayload) -> str:
    """Who, where, which conversation, for whom — from the fields Khoros sent (several are optional)."""
    who = f"{payload.author.handle} on {payload.author.network}" if payload.author.handle else payload.author.network
    number = payload.conversation_display_id
    conversation = f"conversation #{number}" if number is not None else f"conversation {payload.conversation_id}"
    agent = payload.agent.name or payload.agent.email or payload.agent.id
    return f"{who} · {conversation} · for {agent}"
