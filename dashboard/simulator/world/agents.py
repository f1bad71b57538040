"""Agents: who they are, their shifts, breaks and lunches, the agent-state export and per-day team
performance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dashboard.schema import EXPORTS, TIME
from dashboard.simulator.calendar import BusinessCalendar
from dashboard.simulator.world.draws import Keyed, combine
from dashboard.simulator.world.reference import DAY, FIRST_NAMES, LAST_NAMES, LATE_SHIFT_OFFSET, MINUTE, SHIFT_LENGTH
from dashboard.simulator.world.vectors import CONV_SHIFT, pick_names, stable_uuid


def agent_id_of(seed: int, i: int) -> str:
    return stable_uuid(seed, "agent", i)


def agents_frame(seed: int, agent_team: np.ndarray, agent_shift: np.ndarray,
                 capacity: np.ndarray | None = None) -> pl.DataFrame:
    """One row per agent (names drawn per agent index); ``capacity``: the conversations the agent may have in hand
    at once (routing waits for a free slot)."""
    n = len(agent_team)
    draw = Keyed(seed, np.arange(n))
    first = np.asarray(FIRST_NAMES)[draw.integers("agent.first_name", 0, len(FIRST_NAMES))]
    last = np.asarray(LAST_NAMES)[draw.integers("agent.last_name", 0, len(LAST_NAMES))]
    return pl.DataFrame(
        {
            "agent_id": [agent_id_of(seed, i) for i in range(n)],
            "agent_name": [f"{a} {b}" for a, b in zip(first, last, strict=True)],
            "agent_email": [f"{a.lower()}.{b.lower()}{i}@care.example.com" for i, (a, b) in
                            enumerate(zip(first, last, strict=True))],
            "team_id": (agent_team + 1).astype(np.int64),
            "shift": np.where(agent_shift == 0, "early", "late"),
            "capacity": (np.zeros(n, np.int64) if capacity is None else capacity).astype(np.int64),
        }
    )



@dataclass
class Schedules:
    """Every agent's working days: shift start and end, a break and a lunch (epoch ms, agent-major order)."""

    agent: np.ndarray
    start: np.ndarray
    brk: np.ndarray
    brk_end: np.ndarray
    lunch: np.ndarray
    lunch_end: np.ndarray
    end: np.ndarray
    base_ms: int

    def _keys(self, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (agent.astype(np.int64) << CONV_SHIFT) + (t - self.base_ms)

    def available_from(self, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The first instant at or after ``t`` when ``agent`` is on shift and not on a break or at lunch."""
        # Available intervals per agent-day: [start, brk), [brk_end, lunch), [lunch_end, end).
        starts = np.stack([self.start, self.brk_end, self.lunch_end], axis=1).ravel()
        ends = np.stack([self.brk, self.lunch, self.end], axis=1).ravel()
        owner = np.repeat(self.agent, 3)
        order = np.argsort(self._keys(owner, starts), kind="stable")
        starts, ends, owner = starts[order], ends[order], owner[order]
        start_keys = self._keys(owner, starts)
        if not len(starts):
            return t
        ok = agent >= 0
        safe_agent = np.where(ok, agent, 0)
        safe_t = np.clip(t, self.base_ms, self.base_ms + (1 << CONV_SHIFT) - 1)
        key = self._keys(safe_agent, safe_t)
        pos = np.searchsorted(start_keys, key, side="right") - 1
        prev = np.clip(pos, 0, len(starts) - 1)
        inside = (pos >= 0) & (owner[prev] == safe_agent) & (safe_t < ends[prev])
        nxt = np.clip(pos + 1, 0, len(starts) - 1)
        has_next = (pos + 1 < len(starts)) & (owner[nxt] == safe_agent) & (starts[nxt] > safe_t)
        moved = np.where(inside, t, np.where(has_next, starts[nxt], t))
        return np.where(ok, moved, t)


def agent_schedules(seed: int, agent_shift: np.ndarray, cal: BusinessCalendar) -> Schedules:
    """Early shift from opening (about 09:00-16:00), late shift to closing (about 10:00-17:00), every open day;
    each (agent, day) draws its own wobble, break and lunch, the same in every world that holds the day."""
    n_ag, n_d = len(agent_shift), len(cal.opens)
    opens = np.tile(cal.opens, n_ag)
    ag = np.repeat(np.arange(n_ag), n_d)
    draw = Keyed(seed, combine(ag, opens // DAY))
    s = opens + np.where(agent_shift[ag] == 0, 0, LATE_SHIFT_OFFSET) + draw.integers("shift.start", -12 * MINUTE,
                                                                                     6 * MINUTE)
    e = s + SHIFT_LENGTH + draw.integers("shift.end", -5 * MINUTE, 15 * MINUTE)
    # Log-ins wobble, but nobody answers customers outside opening hours.
    s = np.maximum(s, opens)
    e = np.minimum(e, np.tile(cal.closes, n_ag))
    b = s + draw.integers("shift.break", 75 * MINUTE, 120 * MINUTE)
    b_end = b + draw.integers("shift.break_length", 10 * MINUTE, 20 * MINUTE)
    lunch = s + draw.integers("shift.lunch", 190 * MINUTE, 250 * MINUTE)
    lunch_end = lunch + draw.integers("shift.lunch_length", 30 * MINUTE, 50 * MINUTE)
    base = int(cal.opens[0]) - DAY if n_d else 0
    return Schedules(ag, s, b, b_end, lunch, lunch_end, e, base)


def agent_states_table(agents: pl.DataFrame, sched: Schedules, start_ms: int, now_ms: int) -> pl.DataFrame:
    if not len(sched.agent):
        return pl.DataFrame(schema=EXPORTS["raw_agent_states"].polars_schema)
    ag, s, e = sched.agent, sched.start, sched.end
    m = len(ag)
    next_s = np.concatenate([s[1:], [0]])
    last_of_agent = np.concatenate([ag[1:] != ag[:-1], [True]])
    offline_end = np.where(last_of_agent, -1, next_s)
    names = ("Available", "Break", "Available", "Lunch", "Available", "Offline")
    starts = np.stack([s, sched.brk, sched.brk_end, sched.lunch, sched.lunch_end, e], axis=1)
    ends = np.stack([sched.brk, sched.brk_end, sched.lunch, sched.lunch_end, e, offline_end], axis=1)
    frame = pl.DataFrame(
        {
            "agent_idx": np.repeat(ag, 6),
            "state": pick_names(names, np.tile(np.arange(6), m)),
            "start_ms": starts.ravel(),
            "end_ms": ends.ravel(),
        }
    ).filter((pl.col("start_ms") >= start_ms) & (pl.col("start_ms") < now_ms))
    end = pl.col("end_ms")
    info = agents.with_row_index("agent_idx").with_columns(pl.col("agent_idx").cast(pl.Int64))
    return (
        frame.join(info, on="agent_idx", how="left")
        .with_columns(
            start_time=pl.col("start_ms").cast(TIME),
            end_time=pl.when((end >= 0) & (end < now_ms)).then(end).otherwise(None).cast(TIME),
        )
        .sort("start_time", "agent_idx")
        .select("agent_id", "agent_name", "team_id", "state", "start_time", "end_time")
    )


def team_performance_table(agents, states: pl.DataFrame, responses: pl.DataFrame, actions: pl.DataFrame,
                      tz: str, now_ms: int) -> pl.DataFrame:
    def local_day(col: str) -> pl.Expr:
        return pl.col(col).dt.convert_time_zone(tz).dt.truncate("1d").dt.convert_time_zone("UTC").alias(
            "window_start")

    now_fill = pl.lit(now_ms).cast(TIME)  # a state still lasting counts until now
    logged = (
        states.filter(pl.col("state") != "Offline")
        .with_columns(local_day("start_time"))
        .group_by("agent_id", "window_start")
        .agg(((pl.col("end_time").fill_null(now_fill) - pl.col("start_time")).dt.total_seconds())
             .sum().cast(pl.Int64).alias("logged_in_seconds"))
    )
    resp = (
        responses.filter((pl.col("responder_type") == "AGENT") & pl.col("is_public"))
        .with_columns(local_day("published_time"))
        .group_by("agent_id", "window_start").agg(pl.len().cast(pl.Int64).alias("responses"))
    )
    closed = (
        actions.filter((pl.col("action") == "CLOSED") & pl.col("agent_id").is_not_null())
        .with_columns(local_day("action_time"))
        .group_by("agent_id", "window_start").agg(pl.len().cast(pl.Int64).alias("conversations_closed"))
    )
    return (
        logged.join(resp, on=["agent_id", "window_start"], how="full", coalesce=True)
        .join(closed, on=["agent_id", "window_start"], how="full", coalesce=True)
        .join(agents.select("agent_id", "agent_name", "team_id"), on="agent_id", how="left")
        .with_columns(pl.col("responses", "conversations_closed", "logged_in_seconds").fill_null(0))
        .sort("window_start", "agent_id")
        .select("agent_id", "agent_name", "team_id", "window_start", "responses", "conversations_closed",
                "logged_in_seconds")
    )

