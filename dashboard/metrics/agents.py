"""Per-agent figures: the leaderboard and the time agents spent in each state.

Definitions:

- ``responses``: public AGENT responses published in the window (and by ``as_of``), in conversations of the
  given facts (so dimension filters on the facts apply).
- ``first_responses``: conversations of the window (first inbound in [start, end) in ``tz``) whose stopping
  first response was the agent's. First-response SLA figures (``first_response_attainment``,
  ``frt_median_seconds``, ``frt_p90_seconds``: nearest-rank, in the matched target's clock) are credited to
  the agent who answered, or to the assigned agent while unanswered.
- ``conversations``: conversations of the window assigned to the agent.
- State time from ``raw_agent_states`` intervals clipped to the window (an interval still open ends at
  ``as_of``): ``available_seconds`` (state "Available"), ``away_seconds`` (any other logged-in state such as
  Lunch, Break, Training), ``logged_in_seconds`` (both), and ``responses_per_available_hour``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import polars as pl

from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import attainment_by, attainment_columns, evaluate, in_window, resolve_as_of, window_bounds
from dashboard.metrics.stats import nearest_rank
from dashboard.schema import TIME

__all__ = [
    "AVAILABLE_STATES",
    "OFFLINE_STATES",
    "agent_leaderboard",
    "agent_names",
    "agent_state_hours",
    "agent_state_seconds",
    "agent_state_timeline",
    "agents_available",
    "agents_by_state",
    "handle_time_by_agent",
    "is_available",
]

AVAILABLE_STATES = ("AVAILABLE",)
"""State names (upper-cased) that count as ready to handle conversations."""
OFFLINE_STATES = ("OFFLINE", "LOGGED OUT", "LOGGED_OUT", "LOGGEDOUT")
"""State names (upper-cased) that count as not logged in."""


def _state_name() -> pl.Expr:
    return pl.col("state").str.to_uppercase().str.strip_chars()


def is_available(state: pl.Expr | None = None) -> pl.Expr:
    """True for a state that counts as ready to handle conversations (:data:`AVAILABLE_STATES`, any case)."""
    name = _state_name() if state is None else state.str.to_uppercase().str.strip_chars()
    return name.is_in(list(AVAILABLE_STATES))


def _bounds(start: date | datetime, end: date | datetime, tz: str, as_of: datetime | None):
    lo, hi = window_bounds(start, end, tz)
    moment = resolve_as_of(as_of)
    return pl.lit(lo).cast(TIME), pl.lit(min(hi, max(lo, moment))).cast(TIME), moment


def agent_state_timeline(states: pl.LazyFrame, start: datetime, end: datetime) -> pl.LazyFrame:
    """State intervals overlapping [start, end), clipped to it (an open interval ends at ``end``).

    Columns: ``agent_id``, ``agent_name``, ``team_id``, ``state``, ``start_time``, ``end_time``, ``seconds``.
    """
    lo, hi = pl.lit(start).cast(TIME), pl.lit(end).cast(TIME)
    return (
        states.filter((pl.col("start_time") < hi) & (pl.col("end_time").is_null() | (pl.col("end_time") > lo)))
        .with_columns(
            pl.max_horizontal(pl.col("start_time"), lo).alias("start_time"),
            pl.min_horizontal(pl.col("end_time").fill_null(hi), hi).alias("end_time"),
            pl.coalesce(pl.col("agent_name"), pl.col("agent_id")).alias("agent_name"),
        )
        .select(
            "agent_id", "agent_name", "team_id", "state", "start_time", "end_time",
            ((pl.col("end_time") - pl.col("start_time")).dt.total_milliseconds() / 1000.0).alias("seconds"),
        )
        .filter(pl.col("seconds") > 0)
        .sort("agent_name", "start_time")
    )


def agent_state_seconds(states: pl.LazyFrame, start: date | datetime, end: date | datetime, tz: str = "UTC",
                        as_of: datetime | None = None) -> pl.LazyFrame:
    """Seconds per agent in each kind of state over the window (clipped; nothing after ``as_of``).

    Columns: ``agent_id``, ``agent_name``, ``available_seconds``, ``away_seconds``, ``logged_in_seconds``.
    """
    lo, hi, _ = _bounds(start, end, tz, as_of)
    state = _state_name()
    clipped = (
        states.filter((pl.col("start_time") < hi) & (pl.col("end_time").is_null() | (pl.col("end_time") > lo)))
        .with_columns(
            seconds=(pl.min_horizontal(pl.col("end_time").fill_null(hi), hi)
                     - pl.max_horizontal(pl.col("start_time"), lo)).dt.total_milliseconds().clip(0) / 1000.0,
            _available=is_available(),
            _offline=state.is_in(list(OFFLINE_STATES)),
        )
    )
    return clipped.group_by("agent_id").agg(
        agent_name=pl.col("agent_name").drop_nulls().first(),
        available_seconds=pl.col("seconds").filter(pl.col("_available")).sum(),
        away_seconds=pl.col("seconds").filter(~pl.col("_available") & ~pl.col("_offline")).sum(),
        logged_in_seconds=pl.col("seconds").filter(~pl.col("_offline")).sum(),
    )


def agent_leaderboard(
    facts: pl.LazyFrame,
    response: pl.LazyFrame,
    policy: Policy,
    *,
    start: date | datetime,
    end: date | datetime,
    tz: str = "UTC",
    as_of: datetime | None = None,
    agent_states: pl.LazyFrame | None = None,
    sort_by: Sequence[str] = ("responses",),
) -> pl.LazyFrame:
    """One row per agent for the window (see the module docstring for each column)."""
    lo, hi, moment = _bounds(start, end, tz, as_of)
    window = in_window(facts, start, end, tz)
    responses = (
        response.join(facts.select("conversation_id"), on="conversation_id", how="semi")
        .filter(
            (pl.col("responder_type").str.to_uppercase() == "AGENT")
            & pl.col("is_public").fill_null(True)
            & (pl.col("published_time") >= lo)
            & (pl.col("published_time") < hi)
            & pl.col("agent_id").is_not_null()
        )
        .group_by("agent_id")
        .agg(responses=pl.len().cast(pl.Int64))
    )
    evaluated = evaluate(window, policy, "first_response", as_of=moment).with_columns(
        # the agent who answered; the assigned agent while unanswered
        _credited=pl.when(pl.col("stop_time").is_not_null()).then(pl.col("first_response_agent_id"))
        .otherwise(pl.col("agent_id")),
    ).filter(pl.col("_credited").is_not_null())
    first = attainment_by(evaluated.rename({"_credited": "credited_agent_id"}), ["credited_agent_id"]).select(
        pl.col("credited_agent_id").alias("agent_id"),
        pl.col("responded").alias("first_responses"),
        *attainment_columns("first_response"),
        pl.col("median_seconds").alias("frt_median_seconds"),
        pl.col("p90_seconds").alias("frt_p90_seconds"),
    )
    assigned = window.filter(pl.col("agent_id").is_not_null()).group_by("agent_id").agg(
        conversations=pl.len().cast(pl.Int64))
    board = (
        responses.join(first, on="agent_id", how="full", coalesce=True)
        .join(assigned, on="agent_id", how="full", coalesce=True)
    )
    if agent_states is not None:
        board = board.join(agent_state_seconds(agent_states, start, end, tz, moment), on="agent_id", how="left")
    else:
        board = board.with_columns(
            agent_name=pl.lit(None, pl.String),
            available_seconds=pl.lit(None, pl.Float64),
            away_seconds=pl.lit(None, pl.Float64),
            logged_in_seconds=pl.lit(None, pl.Float64),
        )
    counts = ["responses", "first_responses", "first_response_achieved", "first_response_breached",
              "first_response_pending", "conversations"]
    return (
        board.with_columns(
            pl.col(counts).fill_null(0),
            pl.coalesce("agent_name", "agent_id").alias("agent_name"),
        )
        .with_columns(
            responses_per_available_hour=pl.when(pl.col("available_seconds") > 0)
            .then(pl.col("responses") / (pl.col("available_seconds") / 3600.0)),
        )
        .select(
            "agent_id", "agent_name", "responses", "first_responses", "conversations",
            "first_response_achieved", "first_response_breached", "first_response_pending",
            "first_response_attainment", "first_response_attainment_low", "first_response_attainment_high",
            "frt_median_seconds", "frt_p90_seconds", "available_seconds", "away_seconds", "logged_in_seconds",
            "responses_per_available_hour",
        )
        .sort([*sort_by, "agent_name"], descending=[True] * len(sort_by) + [False], nulls_last=True)
    )


def agent_state_hours(timeline: pl.LazyFrame) -> pl.LazyFrame:
    """Hours per agent and state over a clipped timeline (the output of :func:`agent_state_timeline`).

    Columns: ``agent_name``, ``state``, ``hours``; one row per agent and state, sorted.
    """
    return (
        timeline.group_by("agent_name", "state")
        .agg((pl.col("seconds").sum() / 3600).alias("hours"))
        .sort("agent_name", "state")
    )


def agent_names(states: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """``agent_id`` -> ``agent_name``: the latest name ``raw_agent_states`` gives each agent."""
    return (
        states.lazy()
        .drop_nulls(["agent_id", "agent_name"])
        .sort("start_time")
        .group_by("agent_id")
        .agg(pl.col("agent_name").last())
        .sort("agent_id")
        .collect()
    )


def agents_by_state(states: pl.LazyFrame | pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """How many agents are in each state at ``as_of`` (each agent's interval containing it; an interval with no
    end lasts until now). An agent with no interval covering ``as_of`` is logged out and not counted.
    Columns: ``state``, ``agents``; most agents first."""
    at = pl.lit(resolve_as_of(as_of)).cast(TIME)
    current = (
        states.lazy()
        .filter(pl.col("start_time") <= at, pl.col("end_time").is_null() | (pl.col("end_time") > at))
        .sort("start_time")
        .group_by("agent_id")
        .agg(pl.col("state").last())
    )
    return (
        current.group_by("state")
        .agg(pl.len().cast(pl.Int64).alias("agents"))
        .sort(["agents", "state"], descending=[True, False])
        .collect()
    )


def agents_available(by_state: pl.DataFrame) -> int:
    """Agents ready to handle conversations, from :func:`agents_by_state`."""
    return int(by_state.filter(is_available()).get_column("agents").sum())


def handle_time_by_agent(facts: pl.LazyFrame | pl.DataFrame, *, start: date | datetime, end: date | datetime,
                         tz: str = "UTC", as_of: datetime | None = None) -> pl.DataFrame:
    """Median handle time per assigned agent: calendar seconds from the first assignment to the final close,
    over the window's conversations closed by ``as_of`` (nearest rank). Columns: ``agent_id``, ``handled``,
    ``handle_median_seconds``."""
    at = pl.lit(resolve_as_of(as_of)).cast(TIME)
    closed = (
        in_window(facts.lazy(), start, end, tz)
        .filter(pl.col("agent_id").is_not_null(), pl.col("first_assigned_time").is_not_null(),
                pl.col("closed_time") <= at)
        .with_columns(((pl.col("closed_time") - pl.col("first_assigned_time")).dt.total_milliseconds() / 1000)
                      .alias("_handle"))
    )
    return (
        closed.group_by("agent_id")
        .agg(pl.len().cast(pl.Int64).alias("handled"),
             nearest_rank(pl.col("_handle"), 0.5).alias("handle_median_seconds"))
        .sort("agent_id")
        .collect()
    )
