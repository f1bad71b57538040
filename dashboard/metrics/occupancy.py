"""Occupancy and utilisation: how much of the time agents were available they spent with conversations in hand.

Definitions:

- **In hand** (:func:`handling_segments`): a conversation is in an agent's hands
  1. from its assignment to the agent (``ASSIGNED``) until the first public agent reply at or after it, the next
     assignment, or a close, whichever comes first;
  2. from each later customer message that waits for a reply (a burst of
     :func:`dashboard.metrics.conversations.customer_bursts`) until the reply, or until a close; the agent is the
     one who replied, else the conversation's assigned agent;
  3. from the agent's last reply to the close, when the agent closed it (wrap-up; an automatic close by the
     system after days of waiting is not work).
  A segment still open at the end of the data lasts until ``as_of``. Segments of one conversation and agent
  that overlap are merged, so a conversation counts once at a time.
- **Available**: agent state intervals (``raw_agent_states``) whose state is one of
  :data:`dashboard.metrics.agents.AVAILABLE_STATES`; **away**: any other logged-in state (Lunch, Break, ...);
  offline states are neither. A state still lasting ends at ``as_of``.
- ``handling_seconds``: available time with at least one conversation in hand. Concurrent conversations are
  **merged, not summed**: two conversations in hand from 09:00 to 10:00 are one hour of handling.
- ``in_hand_seconds``: available time × the number of conversations in hand (summed).
- **Occupancy** = handling ÷ available. **Concurrency** = in hand ÷ available: the average number of open
  conversations per available agent. ``concurrency_while_handling`` = in hand ÷ handling: how many at once
  while working. ``in_hand_away_seconds``: time away (e.g. at lunch) with conversations in hand; it is not
  handling (the agent was not available) and is reported so that it is not lost.

Everything is computed by one sweep per agent over the start and end instants of states and segments and the
local hour boundaries (so every elementary interval lies inside one local hour): no interval is split in
Python, no pairwise join of segments against states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

import polars as pl

from dashboard.metrics._planning import PlanningError, local_hour_grid
from dashboard.metrics.agents import AVAILABLE_STATES, OFFLINE_STATES
from dashboard.metrics.conversations import customer_bursts
from dashboard.metrics.sla import resolve_as_of, window_bounds
from dashboard.schema import TIME

__all__ = [
    "DEFINITIONS",
    "OCCUPANCY_COLUMNS",
    "SEGMENT_KINDS",
    "handling_by_category",
    "handling_segments",
    "occupancy_by",
    "occupancy_hours",
]

SEGMENT_KINDS = ("assignment", "reply", "wrap_up")
"""Why a conversation was in an agent's hands (see the module docstring, items 1-3)."""

OCCUPANCY_COLUMNS = ("available_seconds", "away_seconds", "handling_seconds", "in_hand_seconds",
                     "in_hand_away_seconds")
"""The additive seconds of :func:`occupancy_hours`; :func:`occupancy_by` sums them over any grouping."""

DEFINITIONS: dict[str, str] = {
    "available": "Time in an available agent state (raw_agent_states), cut to the window and to as-of.",
    "in_hand": "A conversation is in an agent's hands from its assignment to the first reply, from each later "
               "customer message to the reply, and from the last reply to the agent's own close.",
    "handling": "Available time with at least one conversation in hand; conversations in hand at the same time "
                "are merged, not summed.",
    "occupancy": "Handling ÷ available.",
    "concurrency": "Conversations in hand, summed over time, ÷ available time: the average number of open "
                   "conversations per available agent.",
    "concurrency_while_handling": "Conversations in hand, summed over time, ÷ handling time: how many at once "
                                  "while working.",
    "in_hand_away": "Time in a logged-in state other than available (lunch, break) with conversations in hand; "
                    "not counted as handling.",
}
"""What each figure means, for the pages' "Explain" and the report's footnotes."""

_FAR = pl.lit(253402300799000).cast(TIME)  # 9999-12-31: stands for "still in hand" while merging


def _upper(column: str) -> pl.Expr:
    return pl.col(column).str.to_uppercase().str.strip_chars()


def handling_segments(
    facts: pl.LazyFrame,
    incoming_post: pl.LazyFrame,
    response: pl.LazyFrame,
    actions: pl.LazyFrame,
) -> pl.LazyFrame:
    """The intervals each conversation was in an agent's hands (see the module docstring).

    Columns: ``agent_id``, ``conversation_id``, ``network``, ``start_time``, ``end_time`` (null while still in
    hand), ``kinds`` (the :data:`SEGMENT_KINDS` merged into the interval, comma-separated). Overlapping
    segments of the same conversation and agent are merged.
    """
    cid = "conversation_id"
    action = _upper("action")
    is_close = (action == "CLOSED") | ((action == "STATUS_CHANGED") & (_upper("to_value") == "CLOSED"))
    assigns = (
        actions.filter((action == "ASSIGNED") & pl.col("to_value").is_not_null())
        .select(cid, pl.col("action_time").alias("t"), pl.col("to_value").str.strip_chars().alias("agent_id"))
        .sort("t")
    )
    replies = (
        response.filter(pl.col("is_public").fill_null(True) & (_upper("responder_type") == "AGENT")
                        & pl.col("agent_id").is_not_null())
        .select(cid, pl.col("published_time").alias("t"), "agent_id")
        .sort("t")
    )
    closes = actions.filter(is_close).select(cid, pl.col("action_time").alias("t"), "agent_id").sort("t")

    def next_after(left: pl.LazyFrame, right: pl.LazyFrame, on: str, name: str, *, exact: bool = True):
        return left.join_asof(right.select(cid, pl.col("t").alias(name)).sort(name), left_on=on, right_on=name,
                              by=cid, strategy="forward", allow_exact_matches=exact, check_sortedness=False)

    first = next_after(assigns, replies, "t", "_reply")
    first = next_after(first, assigns, "t", "_next_assign", exact=False)
    first = next_after(first, closes, "t", "_close")
    assignment = first.select(
        "agent_id", cid, pl.col("t").alias("start_time"),
        pl.min_horizontal("_reply", "_next_assign", "_close").alias("end_time"), pl.lit("assignment").alias("kind"),
    )

    bursts = customer_bursts(incoming_post, response, facts).sort("burst_time")
    bursts = next_after(bursts, closes, "burst_time", "_close")
    reply = bursts.select(
        pl.coalesce("response_agent_id", "agent_id").alias("agent_id"), cid, pl.col("burst_time").alias("start_time"),
        pl.coalesce("response_time", "_close").alias("end_time"), pl.lit("reply").alias("kind"),
    )

    posts = incoming_post.select(cid, pl.col("received_time").alias("t"), pl.lit("post").alias("_last_kind"))
    events = pl.concat([posts, replies.select(cid, "t", pl.lit("reply").alias("_last_kind"))]).sort("t")
    wrap = (
        closes.filter(pl.col("agent_id").is_not_null())
        .join_asof(events.rename({"t": "_last"}), left_on="t", right_on="_last", by=cid, strategy="backward",
                   check_sortedness=False)
        .filter(pl.col("_last_kind") == "reply")
        .select("agent_id", cid, pl.col("_last").alias("start_time"), pl.col("t").alias("end_time"),
                pl.lit("wrap_up").alias("kind"))
    )

    segments = (
        pl.concat([assignment, reply, wrap], how="vertical_relaxed")
        .filter(pl.col("agent_id").is_not_null() & pl.col("start_time").is_not_null()
                & (pl.col("end_time").is_null() | (pl.col("end_time") >= pl.col("start_time"))))
    )
    merged = _merge_per_conversation(segments)
    return merged.join(facts.select(cid, "network"), on=cid, how="left").select(
        "agent_id", cid, "network", "start_time", "end_time", "kinds")


def _merge_per_conversation(segments: pl.LazyFrame) -> pl.LazyFrame:
    keys = ["agent_id", "conversation_id"]
    end = pl.coalesce("end_time", _FAR)
    return (
        segments.sort(*keys, "start_time")
        .with_columns(_reach=end.cum_max().shift(1).over(keys))
        .with_columns(_block=(pl.col("_reach").is_null() | (pl.col("start_time") > pl.col("_reach")))
                      .cast(pl.Int64).cum_sum().over(keys))
        .group_by(*keys, "_block")
        .agg(
            start_time=pl.col("start_time").min(),
            _end=end.max(),
            kinds=pl.col("kind").unique().sort().str.join(","),
        )
        .with_columns(end_time=pl.when(pl.col("_end") < _FAR).then(pl.col("_end")))
        .drop("_block", "_end")
    )


def _overlapping(frame: pl.LazyFrame, lo: pl.Expr, hi: pl.Expr) -> pl.LazyFrame:
    """Rows of ``frame`` whose [start_time, end_time) overlaps [lo, hi) (a null end lasts)."""
    return frame.filter((pl.col("start_time") < hi) & (pl.col("end_time").is_null() | (pl.col("end_time") > lo)))


def _window(start: date | datetime, end: date | datetime, tz: str, as_of: datetime | None):
    lo, hi = window_bounds(start, end, tz)
    moment = resolve_as_of(as_of)
    hi = min(hi, max(lo, moment))
    if hi <= lo:
        raise PlanningError(f"the window starting {lo.isoformat()} begins after as_of {moment.isoformat()}")
    return lo, hi


def _sweep(
    segments: pl.LazyFrame,
    states: pl.LazyFrame,
    lo: datetime,
    hi: datetime,
    tz: str,
    category: pl.Expr | None = None,
    categories: Sequence[str] = (),
) -> pl.LazyFrame:
    """Elementary intervals per agent (between consecutive instants of states, segments and local hour starts),
    each with ``seconds``, ``hour_start`` and, in force during it: ``available`` / ``away`` (bool), ``in_hand``
    (conversations) and ``in_hand_<i>`` (conversations of category number i)."""
    lo_lit, hi_lit = pl.lit(lo).cast(TIME), pl.lit(hi).cast(TIME)
    state = _upper("state")
    clipped_states = (
        _overlapping(states, lo_lit, hi_lit)
        .with_columns(
            _s=pl.max_horizontal("start_time", lo_lit),
            _e=pl.min_horizontal(pl.col("end_time").fill_null(hi_lit), hi_lit),
            _avail=state.is_in(list(AVAILABLE_STATES)).cast(pl.Int64),
            _away=(~state.is_in(list(AVAILABLE_STATES)) & ~state.is_in(list(OFFLINE_STATES))).cast(pl.Int64),
        )
        .filter(pl.col("_e") > pl.col("_s"))
    )
    clipped = (
        _overlapping(segments, lo_lit, hi_lit)
        .with_columns(_s=pl.max_horizontal("start_time", lo_lit),
                      _e=pl.min_horizontal(pl.col("end_time").fill_null(hi_lit), hi_lit))
        .filter(pl.col("_e") > pl.col("_s"))
    )
    cat_cols = [f"_d{i}" for i in range(len(categories))]
    if categories:
        if category is None:
            raise PlanningError("categories given without the expression that assigns them")
        clipped = clipped.with_columns(
            [(category == name).fill_null(False).cast(pl.Int64).alias(c) for name, c in zip(categories, cat_cols,
                                                                                           strict=True)])
    zero = pl.lit(0, pl.Int64)

    def edges(frame: pl.LazyFrame, deltas: dict[str, pl.Expr]) -> pl.LazyFrame:
        def side(t: str, sign: int) -> pl.LazyFrame:
            return frame.select("agent_id", pl.col(t).alias("t"), pl.lit(1, pl.Int8).alias("_order"),
                                *[(d * sign).alias(name) for name, d in deltas.items()])
        return pl.concat([side("_s", 1), side("_e", -1)])

    all_deltas = ["_d_avail", "_d_away", "_d_hand", *cat_cols]

    def full(frame: pl.LazyFrame) -> pl.LazyFrame:
        present = frame.collect_schema().names()
        return frame.with_columns([zero.alias(d) for d in all_deltas if d not in present]).select(
            "agent_id", "t", "_order", pl.lit(None, TIME).alias("_hour"), *all_deltas)

    state_edges = full(edges(clipped_states, {"_d_avail": pl.col("_avail"), "_d_away": pl.col("_away")}))
    segment_edges = full(edges(clipped, {"_d_hand": pl.lit(1, pl.Int64), **{c: pl.col(c) for c in cat_cols}}))
    agents = pl.concat([clipped_states.select("agent_id"), clipped.select("agent_id")]).unique()
    grid = local_hour_grid(lo, hi, tz).lazy().select(
        "hour_start", pl.max_horizontal("hour_start", lo_lit).alias("t"))
    boundaries = agents.join(grid, how="cross").select(
        "agent_id", "t", pl.lit(0, pl.Int8).alias("_order"), pl.col("hour_start").alias("_hour"),
        *[zero.alias(d) for d in all_deltas])
    by_agent = ["agent_id"]
    return (
        pl.concat([boundaries, state_edges, segment_edges], how="vertical_relaxed")
        .sort("agent_id", "t", "_order")
        .with_columns(
            _hour=pl.col("_hour").forward_fill().over(by_agent),
            _next=pl.col("t").shift(-1).over(by_agent),
            **{f"_c{d}": pl.col(d).cum_sum().over(by_agent) for d in all_deltas},
        )
        .with_columns(seconds=((pl.col("_next") - pl.col("t")).dt.total_milliseconds() / 1000.0).fill_null(0.0))
        .filter(pl.col("seconds") > 0)
        .select(
            "agent_id",
            pl.col("_hour").alias("hour_start"),
            "seconds",
            (pl.col("_c_d_avail") > 0).alias("available"),
            ((pl.col("_c_d_away") > 0) & (pl.col("_c_d_avail") <= 0)).alias("away"),
            pl.col("_c_d_hand").alias("in_hand"),
            *[pl.col(f"_c{c}").alias(f"in_hand_{i}") for i, c in enumerate(cat_cols)],
        )
    )


def occupancy_hours(
    segments: pl.LazyFrame,
    states: pl.LazyFrame,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str = "UTC",
    as_of: datetime | None = None,
) -> pl.LazyFrame:
    """Per agent and local hour of [start, end) (cut at ``as_of``): the seconds of :data:`OCCUPANCY_COLUMNS`.

    ``segments``: :func:`handling_segments`; ``states``: the ``raw_agent_states`` export. Every agent seen in
    either has a row for every hour of the window (zeros included). Columns: ``agent_id``, ``agent_name``,
    ``team_id``, ``hour_start`` (UTC), ``local_start``, ``local_date``, ``weekday``, ``hour`` and the seconds.
    """
    lo, hi = _window(start, end, tz, as_of)
    swept = _sweep(segments, states, lo, hi, tz)
    busy = pl.col("in_hand") > 0
    available, away = pl.col("available"), pl.col("away")
    seconds = pl.col("seconds")
    per_hour = swept.group_by("agent_id", "hour_start").agg(
        available_seconds=seconds.filter(available).sum(),
        away_seconds=seconds.filter(away).sum(),
        handling_seconds=seconds.filter(available & busy).sum(),
        in_hand_seconds=(seconds * pl.col("in_hand")).filter(available).sum(),
        in_hand_away_seconds=seconds.filter(away & busy).sum(),
    )
    grid = local_hour_grid(lo, hi, tz).lazy().drop("hour_end")
    agents = pl.concat([states.select("agent_id"), segments.select("agent_id")]).unique()
    names = (
        states.sort("start_time")
        .group_by("agent_id")
        .agg(agent_name=pl.col("agent_name").drop_nulls().last(), team_id=pl.col("team_id").drop_nulls().last())
    )
    return (
        agents.join(per_hour.select("agent_id").unique(), on="agent_id", how="semi")
        .join(grid, how="cross")
        .join(per_hour, on=["agent_id", "hour_start"], how="left")
        .join(names, on="agent_id", how="left")
        .with_columns(pl.col(list(OCCUPANCY_COLUMNS)).fill_null(0.0),
                      pl.coalesce("agent_name", "agent_id").alias("agent_name"))
        .select("agent_id", "agent_name", "team_id", "hour_start", "local_start", "local_date", "weekday", "hour",
                *OCCUPANCY_COLUMNS)
        .sort("agent_name", "agent_id", "hour_start")
    )


def occupancy_by(hours: pl.LazyFrame, by: Sequence[str] = ("agent_id", "agent_name", "team_id")) -> pl.LazyFrame:
    """The seconds of :func:`occupancy_hours` summed per ``by`` (e.g. agent; ``team_id``; ``hour``; ``weekday``
    and ``hour``; ``hour_start``), with the ratios: ``occupancy`` (handling ÷ available), ``concurrency``
    (in hand ÷ available), ``concurrency_while_handling`` (in hand ÷ handling), each null when its divisor is
    0, and ``available_hours``.
    """
    by = list(by)
    columns = hours.collect_schema().names()
    unknown = [c for c in by if c not in columns]
    if unknown:
        raise PlanningError(f"occupancy_by: unknown column(s) {', '.join(unknown)}; available: {', '.join(columns)}")
    sums = [pl.col(c).sum() for c in OCCUPANCY_COLUMNS]
    grouped = hours.group_by(by).agg(sums) if by else hours.select(sums)

    def ratio(a: str, b: str) -> pl.Expr:
        return pl.when(pl.col(b) > 0).then(pl.col(a) / pl.col(b))

    out = grouped.with_columns(
        available_hours=pl.col("available_seconds") / 3600.0,
        occupancy=ratio("handling_seconds", "available_seconds"),
        concurrency=ratio("in_hand_seconds", "available_seconds"),
        concurrency_while_handling=ratio("in_hand_seconds", "handling_seconds"),
    )
    return out.sort(by, nulls_last=True) if by else out


def handling_by_category(
    segments: pl.LazyFrame,
    states: pl.LazyFrame,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str = "UTC",
    as_of: datetime | None = None,
    category: Callable[[pl.Expr], pl.Expr],
    categories: Sequence[str],
) -> pl.LazyFrame:
    """What handling one conversation of each category costs, measured over the window (for staffing).

    ``category(network)`` maps a segment's network to one of ``categories`` (e.g. real-time / asynchronous).
    Handling time is shared out over the conversations in hand at the same time: an agent with two in hand for
    an hour gives each half an hour of ``busy_seconds``; so the categories' busy seconds add up to the agents'
    handling seconds.

    Columns: ``category``, ``conversations`` (with time in hand in the window), ``in_hand_seconds``,
    ``busy_seconds``, ``handle_seconds`` (in hand per conversation), ``concurrency`` (in hand ÷ busy: how many
    at once), ``busy_seconds_per_conversation`` (= handle ÷ concurrency: agent time one conversation takes).
    """
    if not categories:
        raise PlanningError("handling_by_category needs at least one category")
    lo, hi = _window(start, end, tz, as_of)
    swept = _sweep(segments, states, lo, hi, tz, category(pl.col("network")), categories)
    available, busy = pl.col("available"), pl.col("in_hand") > 0
    sums = swept.filter(available & busy).select(
        [(pl.col("seconds") * pl.col(f"in_hand_{i}")).sum().alias(f"in_hand_{i}") for i in range(len(categories))]
        + [(pl.col("seconds") * pl.col(f"in_hand_{i}") / pl.col("in_hand")).sum().alias(f"busy_{i}")
           for i in range(len(categories))]
    )
    lo_lit, hi_lit = pl.lit(lo).cast(TIME), pl.lit(hi).cast(TIME)
    counted = (
        _overlapping(segments, lo_lit, hi_lit)
        .with_columns(category=category(pl.col("network")))
        .group_by("category").agg(conversations=pl.col("conversation_id").n_unique().cast(pl.Int64))
    )
    rows = pl.concat([
        sums.select(pl.lit(name).alias("category"), pl.col(f"in_hand_{i}").alias("in_hand_seconds"),
                    pl.col(f"busy_{i}").alias("busy_seconds"))
        for i, name in enumerate(categories)
    ])
    return (
        rows.join(counted, on="category", how="left")
        .with_columns(pl.col("conversations").fill_null(0), pl.col("in_hand_seconds", "busy_seconds").fill_null(0.0))
        .with_columns(
            handle_seconds=pl.when(pl.col("conversations") > 0)
            .then(pl.col("in_hand_seconds") / pl.col("conversations")),
            concurrency=pl.when(pl.col("busy_seconds") > 0).then(pl.col("in_hand_seconds") / pl.col("busy_seconds")),
            busy_seconds_per_conversation=pl.when(pl.col("conversations") > 0)
            .then(pl.col("busy_seconds") / pl.col("conversations")),
        )
        .select("category", "conversations", "in_hand_seconds", "busy_seconds", "handle_seconds", "concurrency",
                "busy_seconds_per_conversation")
    )
