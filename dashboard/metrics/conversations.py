"""Conversation facts: one row per conversation with every instant the service-level metrics need.

Inputs are the export frames (columns as in ``dashboard/schema.py``); the output is a LazyFrame. Everything
is joins, group-bys and expressions: no Python per row.

Definitions (DESIGN.md "Metric definitions"):

- ``first_inbound_time``: the earliest inbound post of the conversation.
- ``bot_first``: a bot answered publicly before any human agent, or the conversation was handed off from a
  bot (a ``HANDOFF_TO_AGENT`` action before any human answer; an automatic hand-off can happen before the
  bot says anything).
- Bot rule ``human`` (default): only public AGENT responses stop the first-response clock. For a bot-first
  conversation the clock starts at the first ``HANDOFF_TO_AGENT``; a bot-first conversation with no hand-off
  and no human answer is ``bot_contained`` once closed (``bot_active`` while still open); it has no clock.
  Bot rule ``any``: any public response (bot or agent) stops the clock, which starts at the first inbound.
- ``tier``: the author's tier as of ``clock_start`` (the latest author version with ``updated_time <=
  clock_start``; from the author export's tier attribute, or a CRM tier table); ``unknown`` when there is none.
- ``priority``: the priority as of ``clock_start``: the latest ``PRIORITY_CHANGED`` at or before it, else the
  ``from_value`` of the first later change, else the conversation's (with no change recorded, its priority
  now is its priority then), else the first inbound post's.
- ``queue_entry_time``: when the conversation was waiting for a human (``clock_start``);
  ``first_assigned_time`` the first ``ASSIGNED`` action; ``agent_first_touch_time`` the first public agent
  response at or after that assignment.
- ``first_closed_time`` / ``closed_time``: first and final close (after a reopen the final close is later),
  ``reopen_count`` and ``last_reopened_time``;
  ``pending_seconds``: calendar seconds spent in PENDING status up to now; ``pending_since`` is set when the
  conversation is pending at the end of the data.
"""

from __future__ import annotations

import polars as pl

from dashboard.schema import TIME

__all__ = [
    "ACTION_COLUMNS",
    "BOT_RULES",
    "BURST_DIMENSIONS",
    "FACT_EXPORTS",
    "ID_CHECK",
    "ID_HASH",
    "KEY",
    "POST_COLUMNS",
    "RESPONSE_COLUMNS",
    "UNKNOWN_TIER",
    "bursts_from_keyed",
    "conversation_facts",
    "customer_bursts",
    "facts_from_keyed",
    "id_hashes",
    "keyed",
    "pending_intervals",
    "tier_versions",
]

BOT_RULES = ("human", "any")
UNKNOWN_TIER = "unknown"
FACT_EXPORTS = ("conversation", "incoming_post", "response", "conversation_history_action", "author")
"""The exports :func:`conversation_facts` reads, in the order of its arguments."""


def _check_bot_rule(bot_rule: str) -> None:
    if bot_rule not in BOT_RULES:
        raise ValueError(f"unknown bot rule {bot_rule!r}; use one of {', '.join(BOT_RULES)}")


def _public(response: pl.LazyFrame) -> pl.LazyFrame:
    # Only public responses stop clocks; private notes never do. A missing flag counts as public.
    return response.filter(pl.col("is_public").fill_null(True))


def _stopping_responses(response: pl.LazyFrame, bot_rule: str, key: str = "conversation_id") -> pl.LazyFrame:
    public = _public(response)
    if bot_rule == "human":
        public = public.filter(pl.col("responder_type").str.to_uppercase() == "AGENT")
    return public.select(key, "published_time", "agent_id", "responder_type")


KEY = "_conversation_key"
"""The dense integer key the computations below join and group on (never in an output)."""
ID_HASH = "_conversation_hash"
ID_CHECK = "_conversation_check"
_CHECK_SEED = 0x5EED_C0DE


def id_hashes(column: str = "conversation_id") -> list[pl.Expr]:
    """Two independent 64-bit hashes of a text id: the first to join on, the second to check each match."""
    return [pl.col(column).hash().alias(ID_HASH), pl.col(column).hash(seed=_CHECK_SEED).alias(ID_CHECK)]


def _with_keys(conversations: pl.LazyFrame) -> pl.LazyFrame:
    """The conversations with a dense integer key (their row number) and the two hashes of their id."""
    return conversations.with_row_index(KEY).with_columns(id_hashes())


def keyed(frame: pl.LazyFrame, keys: pl.LazyFrame) -> pl.LazyFrame:
    """``frame``'s rows whose ``conversation_id`` is one of ``keys``' conversations, with that conversation's
    integer key in place of the text id.

    Performance: the text ids are hashed once (cheap, linear) and joined on the 64-bit hash; every later join
    and group-by runs on the integer key. A match is kept only when a second, independently seeded 64-bit hash
    agrees too: two different ids are taken for each other only if both hashes collide (odds of about 2^-128
    per pair, where comparing the text itself would cost as much as the join on text this replaces). An id that
    matches no conversation is dropped, as the joins on text dropped it.
    """
    return (
        frame.with_columns(id_hashes())
        .join(keys.select(ID_HASH, KEY, pl.col(ID_CHECK).alias("_key_check")), on=ID_HASH, how="inner")
        .filter(pl.col(ID_CHECK) == pl.col("_key_check"))
        .drop(ID_HASH, ID_CHECK, "_key_check", "conversation_id")
    )


def conversation_facts(
    conversation: pl.LazyFrame,
    incoming_post: pl.LazyFrame,
    response: pl.LazyFrame,
    actions: pl.LazyFrame,
    author: pl.LazyFrame,
    *,
    bot_rule: str = "human",
    tier_attribute: str = "tier",
    tier_table: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One row per conversation with its first inbound, clock start, first response, tier and priority at
    start, assignment, closes and pending time (see the module docstring for each definition).

    Tiers come from the author export's ``tier_attribute`` column, or, when ``tier_table`` is given (a CRM
    file: ``author_id``, ``tier`` and optionally ``updated_time``), from that table instead; rows without an
    ``updated_time`` apply from the beginning of time.
    """
    _check_bot_rule(bot_rule)
    versions = tier_versions(author, tier_attribute=tier_attribute, tier_table=tier_table)
    cid = "conversation_id"
    # Each keyed table is read by several parts of the plan: cached, so it is keyed once.
    conversation = _with_keys(conversation).cache()
    return facts_from_keyed(
        conversation,
        keyed(incoming_post.select(cid, *POST_COLUMNS), conversation).cache(),
        keyed(response.select(cid, *RESPONSE_COLUMNS), conversation).cache(),
        keyed(actions.select(cid, *ACTION_COLUMNS), conversation).cache(),
        versions,
        bot_rule=bot_rule,
    )


def tier_versions(author: pl.LazyFrame, *, tier_attribute: str = "tier",
                  tier_table: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Each author's tier from when it applied (``author_id``, ``_tier_time``, ``_tier``): from the author
    export's ``tier_attribute`` column, or from ``tier_table`` (a CRM file) when given (see
    :func:`conversation_facts`)."""
    if tier_table is not None:
        crm_columns = tier_table.collect_schema().names()
        missing = [c for c in ("author_id", "tier") if c not in crm_columns]
        if missing:
            raise ValueError(f"the tier table needs column(s) {', '.join(missing)} (has: {', '.join(crm_columns)})")
        return tier_table.select(
            pl.col("author_id").cast(pl.String),
            (pl.col("updated_time").cast(TIME) if "updated_time" in crm_columns
             else pl.lit(0).cast(TIME)).fill_null(pl.lit(0).cast(TIME)).alias("_tier_time"),
            pl.col("tier").cast(pl.String).alias("_tier"),
        )
    author_columns = author.collect_schema().names()
    if tier_attribute not in author_columns:
        raise ValueError(
            f"tier attribute {tier_attribute!r} is not a column of the author export "
            f"(columns: {', '.join(author_columns)})"
        )
    return author.select(
        pl.col("author_id"),
        pl.col("updated_time").alias("_tier_time"),
        pl.col(tier_attribute).cast(pl.String).alias("_tier"),
    )


POST_COLUMNS = ("received_time", "priority")
RESPONSE_COLUMNS = ("published_time", "agent_id", "responder_type", "is_public")
ACTION_COLUMNS = ("action", "action_time", "from_value", "to_value")
"""The columns of each event export the conversation facts read (besides the conversation's key)."""


def facts_from_keyed(conversation: pl.LazyFrame, incoming_post: pl.LazyFrame, response: pl.LazyFrame,
                     actions: pl.LazyFrame, versions: pl.LazyFrame, *, bot_rule: str = "human",
                     keep_key: bool = False) -> pl.LazyFrame:
    """:func:`conversation_facts` from inputs that carry the integer key :data:`KEY` (the conversation table
    beside its text id, the event tables in its place: :data:`POST_COLUMNS`, ...) and the tier versions of
    :func:`tier_versions`; ``keep_key`` keeps :data:`KEY` as the last column."""
    cid = "conversation_id"
    # Performance: every join and group-by below runs on the integer key, never on the text ids (see keyed);
    # one group-by per source table over pre-masked columns (a predicate evaluated inside a group-by runs per
    # group, many times slower on millions of rows), and no join of all responses against all conversations:
    # the common case is read from the aggregates, only odd conversations are joined.

    posts = incoming_post.group_by(KEY).agg(
        first_inbound_time=pl.col("received_time").min(),
        first_inbound_priority=pl.col("priority").get(pl.col("received_time").arg_min()),
        inbound_posts=pl.len().cast(pl.Int64),
    )

    kind = pl.col("responder_type").str.to_uppercase()
    public = _public(response).with_columns(
        _agent_t=pl.when(kind == "AGENT").then(pl.col("published_time")),
        _bot_t=pl.when(kind == "BOT").then(pl.col("published_time")),
    )
    replies = public.group_by(KEY).agg(
        first_any_response_time=pl.col("published_time").min(),
        first_any_agent_id=pl.col("agent_id").get(pl.col("published_time").arg_min()),
        first_agent_response_any=pl.col("_agent_t").min(),
        first_agent_id_any=pl.col("agent_id").get(pl.col("_agent_t").arg_min()),
        first_bot_response_time=pl.col("_bot_t").min(),
        public_responses=pl.len().cast(pl.Int64),
        agent_responses=pl.col("_agent_t").count().cast(pl.Int64),
    )

    typed = actions.select(
        KEY, "action_time", "from_value", "to_value", pl.col("action").str.to_uppercase().alias("_action"),
    )
    action = pl.col("_action")
    at = pl.col("action_time")
    to_closed = pl.col("to_value").str.to_uppercase() == "CLOSED"
    is_close = (action == "CLOSED") | ((action == "STATUS_CHANGED") & to_closed)
    action_facts = (
        typed.with_columns(
            _handoff_t=pl.when(action == "HANDOFF_TO_AGENT").then(at),
            _assign_t=pl.when(action == "ASSIGNED").then(at),
            _close_t=pl.when(is_close).then(at),
            _reopen=(action == "REOPENED"),
            _reopen_t=pl.when(action == "REOPENED").then(at),
        )
        .group_by(KEY)
        .agg(
            handoff_time=pl.col("_handoff_t").min(),
            first_assigned_time=pl.col("_assign_t").min(),
            first_assigned_agent_id=pl.col("to_value").get(pl.col("_assign_t").arg_min()),
            first_closed_time=pl.col("_close_t").min(),
            reopen_count=pl.col("_reopen").sum().cast(pl.Int64),
            last_reopened_time=pl.col("_reopen_t").max(),
        )
    )

    base = (
        conversation.select(
            KEY, cid, "conversation_display_id", "author_id", "network", "work_queue_id", "team_id", "status",
            "created_time", "closed_time", "assigned_agent_id", "tags", "disposition",
            pl.col("priority").alias("conversation_priority"),
        )
        .join(posts, on=KEY, how="left")
        .join(replies, on=KEY, how="left")
        .join(action_facts, on=KEY, how="left")
        .with_columns(pl.col("inbound_posts", "public_responses", "agent_responses", "reopen_count").fill_null(0))
    )

    human_any = pl.col("first_agent_response_any")
    handoff = pl.col("handoff_time")
    bot_first = (
        pl.col("first_bot_response_time").is_not_null()
        & (human_any.is_null() | (pl.col("first_bot_response_time") < human_any))
    ) | (handoff.is_not_null() & (human_any.is_null() | (handoff <= human_any)))
    if bot_rule == "human":
        no_human = human_any.is_null() & handoff.is_null()
        clock_start = (
            pl.when(pl.col("bot_first") & handoff.is_not_null()).then(handoff)
            .when(pl.col("bot_first") & no_human).then(pl.lit(None, TIME))
            .otherwise(pl.col("first_inbound_time"))
        )
        bot_contained = pl.col("bot_first") & no_human & pl.col("closed_time").is_not_null()
        bot_active = pl.col("bot_first") & no_human & pl.col("closed_time").is_null()
        first_stop, first_stop_agent = pl.col("first_agent_response_any"), pl.col("first_agent_id_any")
    else:
        clock_start = pl.col("first_inbound_time")
        bot_contained = pl.lit(False)
        bot_active = pl.lit(False)
        first_stop, first_stop_agent = pl.col("first_any_response_time"), pl.col("first_any_agent_id")
    tier_time = pl.coalesce("clock_start", "first_inbound_time", "created_time")
    base = (
        base.with_columns(bot_first=bot_first.fill_null(False))
        .with_columns(
            clock_start=clock_start.cast(TIME),
            bot_contained=bot_contained.fill_null(False),
            bot_active=bot_active.fill_null(False),
        )
        .with_columns(_tier_time=tier_time)
        .with_columns(
            # The stopping response is the first one at or after the clock start. Usually that is simply the
            # first one; the rest (a reply before the clock started) are looked up below.
            _stop_ok=(first_stop >= pl.col("clock_start")).fill_null(False),
            _touch_ok=(human_any >= pl.col("first_assigned_time")).fill_null(False),
        )
    )

    odd_stop = base.filter(~pl.col("_stop_ok") & pl.col("clock_start").is_not_null() & first_stop.is_not_null())
    late_stop = (
        _stopping_responses(response, bot_rule, KEY)
        .join(odd_stop.select(KEY, "clock_start"), on=KEY, how="inner")
        .filter(pl.col("published_time") >= pl.col("clock_start"))
        .group_by(KEY)
        .agg(
            _late_stop=pl.col("published_time").min(),
            _late_stop_agent=pl.col("agent_id").get(pl.col("published_time").arg_min()),
        )
    )
    odd_touch = base.filter(~pl.col("_touch_ok") & pl.col("first_assigned_time").is_not_null()
                            & human_any.is_not_null())
    late_touch = (
        _stopping_responses(response, "human", KEY)
        .join(odd_touch.select(KEY, "first_assigned_time"), on=KEY, how="inner")
        .filter(pl.col("published_time") >= pl.col("first_assigned_time"))
        .group_by(KEY)
        .agg(_late_touch=pl.col("published_time").min())
    )

    # Tier as of the clock start (or the first inbound / creation when there is no clock).
    versions = versions.drop_nulls(["author_id", "_tier_time"]).sort("_tier_time")
    tiers = (
        base.select(KEY, "author_id", "_tier_time")
        .drop_nulls("_tier_time")
        .sort("_tier_time")
        .join_asof(versions, on="_tier_time", by="author_id", strategy="backward", check_sortedness=False)
        .select(KEY, "_tier")
    )

    # Priority as of the clock start.
    changes = typed.filter(action == "PRIORITY_CHANGED").select(
        KEY,
        "action_time",
        pl.col("from_value").str.strip_chars().cast(pl.Int64, strict=False).alias("_from"),
        pl.col("to_value").str.strip_chars().cast(pl.Int64, strict=False).alias("_to"),
    )
    priorities = (
        changes.join(base.select(KEY, "_tier_time"), on=KEY, how="inner")
        .with_columns(_known_t=pl.when(pl.col("action_time") <= pl.col("_tier_time")).then(pl.col("action_time")))
        .group_by(KEY)
        .agg(
            _before=pl.col("_to").get(pl.col("_known_t").arg_max()),
            _first_from=pl.col("_from").get(pl.col("action_time").arg_min()),
        )
    )

    pending = (
        _pending_intervals(actions, KEY)
        .with_columns(
            _seconds=(pl.col("pending_end") - pl.col("pending_start")).dt.total_milliseconds() / 1000.0,
            _open_since=pl.when(pl.col("pending_end").is_null()).then(pl.col("pending_start")),
        )
        .group_by(KEY)
        .agg(pending_seconds=pl.col("_seconds").sum(), pending_since=pl.col("_open_since").max())
    )

    first_response_time = pl.when(pl.col("_stop_ok")).then(first_stop).otherwise(pl.col("_late_stop"))
    first_response_agent = pl.when(pl.col("_stop_ok")).then(first_stop_agent).otherwise(pl.col("_late_stop_agent"))
    agent_first_touch = pl.when(pl.col("_touch_ok")).then(human_any).otherwise(pl.col("_late_touch"))
    base = (
        base.join(late_stop, on=KEY, how="left")
        .join(late_touch, on=KEY, how="left")
        .join(tiers, on=KEY, how="left")
        .join(priorities, on=KEY, how="left")
        .join(pending, on=KEY, how="left")
        .with_columns(
            first_response_time=first_response_time,
            first_response_agent_id=first_response_agent,
            agent_first_touch_time=agent_first_touch,
        )
    )
    return (
        base.select(
            cid,
            "conversation_display_id",
            "author_id",
            "network",
            "work_queue_id",
            "team_id",
            pl.coalesce("assigned_agent_id", "first_assigned_agent_id", "first_response_agent_id").alias("agent_id"),
            "status",
            "created_time",
            "closed_time",
            "first_inbound_time",
            "bot_first",
            "handoff_time",
            "bot_contained",
            "bot_active",
            "clock_start",
            "first_response_time",
            "first_response_agent_id",
            "first_bot_response_time",
            "first_any_response_time",
            pl.when(pl.col("_tier").is_null() | (pl.col("_tier").str.strip_chars() == ""))
            .then(pl.lit(UNKNOWN_TIER)).otherwise(pl.col("_tier").str.strip_chars()).alias("tier"),
            pl.coalesce("_before", "_first_from", "conversation_priority", "first_inbound_priority")
            .cast(pl.Int64).alias("priority"),
            pl.col("clock_start").alias("queue_entry_time"),
            "first_assigned_time",
            "first_assigned_agent_id",
            "agent_first_touch_time",
            "first_closed_time",
            "reopen_count",
            "last_reopened_time",
            pl.col("pending_seconds").fill_null(0.0),
            "pending_since",
            "inbound_posts",
            "public_responses",
            "agent_responses",
            "tags",
            "disposition",
            *([KEY] if keep_key else []),
        )
    )


def pending_intervals(actions: pl.LazyFrame) -> pl.LazyFrame:
    """Intervals a conversation spent PENDING (waiting on the customer), from its status actions.

    An interval starts at a status change to PENDING and ends at the next status event (STATUS_CHANGED,
    CLOSED, REOPENED); ``pending_end`` is null while it lasts. Columns: ``conversation_id``,
    ``pending_start``, ``pending_end``.
    """
    return _pending_intervals(actions, "conversation_id")


def _pending_intervals(actions: pl.LazyFrame, key: str) -> pl.LazyFrame:
    action = pl.col("action").str.to_uppercase()
    # Text ids are sorted by their 64-bit hash (much faster to sort than the UUID strings); the neighbour check
    # compares the ids themselves, so a hash collision cannot join two conversations.
    order = pl.col(key).hash() if key == "conversation_id" else pl.col(key)
    return (
        actions.filter(action.is_in(["STATUS_CHANGED", "CLOSED", "REOPENED"]))
        .select(
            key,
            "action_time",
            pl.when(action == "CLOSED").then(pl.lit("CLOSED"))
            .when(action == "REOPENED").then(pl.lit("OPEN"))
            .otherwise(pl.col("to_value").str.to_uppercase()).alias("_status"),
        )
        .sort(order, "action_time")
        .with_columns(_next=pl.when(pl.col(key).shift(-1) == pl.col(key)).then(pl.col("action_time").shift(-1)))
        .filter(pl.col("_status") == "PENDING")
        .select(key, pl.col("action_time").alias("pending_start"), pl.col("_next").alias("pending_end"))
    )


BURST_DIMENSIONS = ("author_id", "network", "work_queue_id", "team_id", "agent_id", "tier", "priority",
                    "first_inbound_time", "status", "bot_contained")
"""The conversation's columns each burst carries (from its facts)."""


def customer_bursts(
    incoming_post: pl.LazyFrame,
    response: pl.LazyFrame,
    facts: pl.LazyFrame,
    *,
    bot_rule: str = "human",
) -> pl.LazyFrame:
    """One row per customer burst after a reply (the next-response-time grain).

    A burst starts at an inbound post whose previous event in the conversation was a stopping response
    (a public human response; with bot rule ``any``, any public response). The conversation's first burst
    is the first-response metric, so it is not repeated here. ``burst_time`` starts the clock;
    ``response_time`` is the next stopping response at or after it (null while unanswered). Tier, priority
    and the other dimensions are the conversation's (as of its clock start), from ``facts``.
    """
    _check_bot_rule(bot_rule)
    cid = "conversation_id"
    # cached: the keys are numbered once, whatever order a plan of the facts yields its rows in
    keys = _with_keys(facts.select(cid, *BURST_DIMENSIONS)).cache()
    return bursts_from_keyed(keyed(incoming_post.select(cid, *POST_COLUMNS), keys),
                             keyed(response.select(cid, *RESPONSE_COLUMNS), keys), keys, bot_rule=bot_rule)


def bursts_from_keyed(incoming_post: pl.LazyFrame, response: pl.LazyFrame, facts: pl.LazyFrame, *,
                      bot_rule: str = "human", keep_key: bool = False) -> pl.LazyFrame:
    """:func:`customer_bursts` from inputs keyed as :func:`facts_from_keyed`'s (``facts``: :data:`KEY`, the
    text id and :data:`BURST_DIMENSIONS`); ``keep_key`` keeps :data:`KEY` as the last column."""
    _check_bot_rule(bot_rule)
    cid = "conversation_id"
    inbound = incoming_post.select(KEY, pl.col("received_time").alias("t"), pl.lit(0, pl.Int8).alias("_kind"),
                                   pl.lit(None, pl.String).alias("_agent"))
    replies = _stopping_responses(response, bot_rule, KEY).select(
        KEY, pl.col("published_time").alias("t"), pl.lit(1, pl.Int8).alias("_kind"), pl.col("agent_id").alias("_agent"))
    same = pl.col(KEY) == pl.col(KEY).shift(1)
    events = (
        pl.concat([inbound, replies], how="vertical_relaxed")
        # At the same instant the inbound post sorts first: a reply cannot answer a message sent after it.
        .sort(KEY, "t", "_kind")
        .with_columns(
            _prev=pl.when(same).then(pl.col("_kind").shift(1)),
            _reply_key=pl.when(pl.col("_kind") == 1).then(pl.col(KEY)).backward_fill(),
            _reply_t=pl.when(pl.col("_kind") == 1).then(pl.col("t")).backward_fill(),
            # the next reply's row, then its agent: a reply without an agent (a bot's) has none, where filling
            # the agent itself backward would take the agent of some later reply
            _reply_row=pl.when(pl.col("_kind") == 1).then(pl.int_range(pl.len(), dtype=pl.Int64)).backward_fill(),
        )
        .with_columns(_reply_agent=pl.col("_agent").gather(pl.col("_reply_row")))
        .with_columns(
            # the next reply counts only when it belongs to the same conversation
            response_time=pl.when(pl.col("_reply_key") == pl.col(KEY)).then(pl.col("_reply_t")),
            response_agent_id=pl.when(pl.col("_reply_key") == pl.col(KEY)).then(pl.col("_reply_agent")),
        )
    )
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    bursts = (
        events.filter((pl.col("_kind") == 0) & (pl.col("_prev") == 1))
        .with_columns(_first_row=pl.when(~same.fill_null(False)).then(row).forward_fill())
        .with_columns(burst_index=row - pl.col("_first_row") + 1)
        .select(KEY, "burst_index", pl.col("t").alias("burst_time"), "response_time", "response_agent_id")
    )
    return bursts.join(facts.select(KEY, cid, *BURST_DIMENSIONS), on=KEY, how="inner").select(
        cid, "burst_index", "burst_time", "response_time", "response_agent_id", *BURST_DIMENSIONS,
        *([KEY] if keep_key else []))
