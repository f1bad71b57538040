"""The metric definitions written plainly in pandas, the way an analyst with a notebook would.

Group-bys, merges, ``merge_asof`` for "tier as of the clock start", numpy ``searchsorted`` on a business
interval table for business seconds. No cleverness beyond vectorising: this is the baseline the engine is
compared with, so it must be a fair one, and it must give the same numbers.

Each function takes ``tables`` (export id -> pandas DataFrame, columns as in ``dashboard/schema.py``) and
returns a pandas DataFrame; times are epoch milliseconds (int64, nullable where a time may be missing).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from bench.definitions import AGE_BUCKET_UPPER, IntervalTable, first_response_rules, interval_table
from dashboard.metrics.policy import Policy

__all__ = ["at_risk", "backlog", "first_response", "load_tables", "sla_by_tier_priority"]

CID = "conversation_id"
NULL_MS = np.iinfo(np.int64).min  # stands for "no time" in int64 arrays
COLUMNS = {
    "conversation": ["conversation_id", "author_id", "network", "priority", "work_queue_id", "created_time",
                     "closed_time"],
    "incoming_post": ["conversation_id", "received_time", "priority"],
    "response": ["conversation_id", "responder_type", "published_time", "is_public"],
    "conversation_history_action": ["conversation_id", "action", "action_time", "from_value", "to_value"],
    "author": ["author_id", "tier", "updated_time"],
}


def load_tables(folder) -> dict[str, pd.DataFrame]:
    """Read the columns the metrics need from one Parquet file per export."""
    return {name: pd.read_parquet(f"{folder}/{name}.parquet", columns=cols) for name, cols in COLUMNS.items()}


def _ms(series: pd.Series) -> np.ndarray:
    """Datetime column -> int64 epoch ms, NULL_MS where missing."""
    values = series.astype("datetime64[ms, UTC]")
    out = values.to_numpy(dtype="datetime64[ms]", na_value=np.datetime64("NaT")).astype(np.int64)
    return out


def _tables_cache(policy: Policy) -> dict[str, IntervalTable]:
    # Wide enough for any world in the bench (2026) and for targets that end days later.
    return {name: interval_table(s, date(2024, 1, 1), date(2029, 1, 1)) for name, s in policy.schedules.items()}


def conversation_facts(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per conversation: clock start (bot rule 'human'), first public agent response after it, tier
    and priority as of the clock start, bot containment."""
    conv = t["conversation"].set_index(CID)
    posts = t["incoming_post"].sort_values("received_time", kind="stable")
    first_post = posts.groupby(CID, sort=False).agg(
        first_inbound_time=("received_time", "first"), first_inbound_priority=("priority", "first"))

    resp = t["response"]
    public = resp[resp["is_public"].fillna(True).astype(bool)]
    kind = public["responder_type"].str.upper()
    first_agent_any = public[kind == "AGENT"].groupby(CID)["published_time"].min()
    first_bot = public[kind == "BOT"].groupby(CID)["published_time"].min()
    acts = t["conversation_history_action"]
    act_kind = acts["action"].str.upper()
    handoff = acts[act_kind == "HANDOFF_TO_AGENT"].groupby(CID)["action_time"].min()

    df = conv.join(first_post).assign(
        first_agent_any=first_agent_any, first_bot=first_bot, handoff=handoff)
    fa, fb, ho = _ms(df["first_agent_any"]), _ms(df["first_bot"]), _ms(df["handoff"])
    has_fa, has_fb, has_ho = fa != NULL_MS, fb != NULL_MS, ho != NULL_MS
    bot_first = (has_fb & (~has_fa | (fb < fa))) | (has_ho & (~has_fa | (ho <= fa)))
    no_human = ~has_fa & ~has_ho
    first_in = _ms(df["first_inbound_time"])
    clock_start = np.where(bot_first & has_ho, ho, np.where(bot_first & no_human, NULL_MS, first_in))
    df["clock_start"] = clock_start
    df["bot_contained"] = bot_first & no_human & df["closed_time"].notna().to_numpy()

    # first public agent response at or after the clock start
    agents = public[kind == "AGENT"][[CID, "published_time"]]
    agents = agents.assign(published_ms=_ms(agents["published_time"]))
    starts = pd.Series(clock_start, index=df.index, name="clock_start")
    agents = agents.join(starts, on=CID)
    answered = agents[(agents["clock_start"] != NULL_MS) & (agents["published_ms"] >= agents["clock_start"])]
    df["first_response_ms"] = answered.groupby(CID)["published_ms"].min()
    df["first_response_ms"] = df["first_response_ms"].fillna(NULL_MS).astype(np.int64)

    # tier as of the clock start (else the first inbound, else creation)
    created = _ms(df["created_time"])
    tier_time = np.where(clock_start != NULL_MS, clock_start, np.where(first_in != NULL_MS, first_in, created))
    df["tier_time"] = tier_time
    left = df[["author_id", "tier_time"]].reset_index().sort_values("tier_time")
    versions = t["author"].dropna(subset=["author_id", "updated_time"])
    versions = versions.assign(tier_time=_ms(versions["updated_time"]))[["author_id", "tier_time", "tier"]]
    versions = versions.sort_values("tier_time")
    tiers = pd.merge_asof(left, versions, on="tier_time", by="author_id", direction="backward")
    tier = tiers.set_index(CID)["tier"].reindex(df.index).astype("string").str.strip()
    df["tier"] = tier.where(tier.notna() & (tier != ""), "unknown")

    # priority as of the clock start: last change at or before it, else the first change's "from", else the
    # conversation's priority, else the first post's
    changes = acts[act_kind == "PRIORITY_CHANGED"][[CID, "action_time", "from_value", "to_value"]]
    changes = changes.assign(
        at=_ms(changes["action_time"]),
        frm=pd.to_numeric(changes["from_value"].str.strip(), errors="coerce"),
        to=pd.to_numeric(changes["to_value"].str.strip(), errors="coerce"),
    ).sort_values("at", kind="stable")
    changes = changes.join(df["tier_time"], on=CID)
    before = changes[changes["at"] <= changes["tier_time"]].groupby(CID)["to"].last()
    first_from = changes.groupby(CID)["frm"].first()
    priority = (before.reindex(df.index).fillna(first_from.reindex(df.index))
                .fillna(df["priority"].astype("Float64")).fillna(df["first_inbound_priority"].astype("Float64")))
    df["priority"] = priority.astype("Int64")
    return df[["network", "clock_start", "first_response_ms", "bot_contained", "tier", "priority", "closed_time"]]


def _evaluate(facts: pd.DataFrame, policy: Policy, as_of_ms: int) -> pd.DataFrame:
    rules = first_response_rules(policy)
    tables = _tables_cache(policy)
    default = "default" if "default" in tables else next(iter(tables))
    tier = facts["tier"].to_numpy(dtype=object)
    priority = facts["priority"]
    network = facts["network"].str.lower().to_numpy(dtype=object)
    conditions = []
    for r in rules:
        cond = np.ones(len(facts), dtype=bool)
        if r.tiers is not None:
            cond &= np.isin(tier, r.tiers)
        if r.priorities is not None:
            cond &= priority.isin(r.priorities).fillna(False).to_numpy(dtype=bool)
        if r.channels is not None:
            cond &= np.isin(network, r.channels)
        conditions.append(cond)
    rule = np.select(conditions, list(range(len(rules))), default=-1)
    has_rule = rule >= 0
    safe_rule = np.clip(rule, 0, None)
    target_ms = np.array([r.target_ms for r in rules], dtype=np.int64)[safe_rule]
    business = np.array([r.business for r in rules])[safe_rule] & has_rule
    schedule_of = np.array([r.schedule for r in rules], dtype=object)[safe_rule]
    schedule_of = np.where(has_rule, schedule_of, default)

    start = facts["clock_start"].to_numpy()
    frt = facts["first_response_ms"].to_numpy()
    started = (start != NULL_MS) & (start <= as_of_ms)
    stopped = started & (frt != NULL_MS) & (frt <= as_of_ms)
    end = np.where(stopped, frt, as_of_ms)
    breach_at = start + target_ms
    elapsed_business = np.zeros(len(facts), dtype=np.int64)
    has_start = start != NULL_MS
    for name, table in tables.items():
        rows = started & (schedule_of == name)
        if rows.any():
            elapsed_business[rows] = table.clock(end[rows]) - table.clock(start[rows])
        b = has_start & business & (schedule_of == name)
        if b.any():
            breach_at[b] = table.add(start[b], target_ms[b])
    elapsed_calendar = end - start
    elapsed = np.where(business, elapsed_business, elapsed_calendar) / 1000.0
    status = np.select(
        [facts["bot_contained"].to_numpy(), ~started, ~has_rule, stopped & (frt <= breach_at), stopped,
         as_of_ms > breach_at],
        ["bot_contained", "not_started", "no_target", "achieved", "breached", "breached"],
        default="pending",
    )
    decided = np.isin(status, ["achieved", "breached"]) & stopped
    return pd.DataFrame(
        {
            "status": status,
            "breach_at": pd.arrays.IntegerArray(breach_at, mask=~(has_rule & has_start)),
            "elapsed_business_seconds": np.where(started, elapsed_business / 1000.0, np.nan),
            "response_seconds": np.where(decided, elapsed, np.nan),
            "tier": facts["tier"].to_numpy(),
            "priority": facts["priority"].to_numpy(),
        },
        index=facts.index,
    )


def first_response(t: dict[str, pd.DataFrame], policy: Policy, as_of_ms: int) -> pd.DataFrame:
    """Business-hours first response and SLA status for every conversation."""
    return _evaluate(conversation_facts(t), policy, as_of_ms)


def _nearest_rank(frame: pd.DataFrame, keys: list[str], value: str, q_num: int, q_den: int) -> pd.Series:
    """pN by nearest rank: the ceil(N/100 x n)-th smallest value per group (integer arithmetic)."""
    values = frame.dropna(subset=[value]).sort_values([*keys, value])
    position = values.groupby(keys, dropna=False).cumcount() + 1
    n = values.groupby(keys, dropna=False)[value].transform("size")
    rank = (n * q_num + q_den - 1) // q_den
    return values[position == rank.clip(lower=1)].set_index(keys)[value]


def sla_by_tier_priority(t: dict[str, pd.DataFrame], policy: Policy, as_of_ms: int) -> pd.DataFrame:
    """Attainment of first response per tier x priority."""
    ev = first_response(t, policy, as_of_ms)
    keys = ["tier", "priority"]
    counts = pd.crosstab([ev["tier"], ev["priority"].fillna(-1)], ev["status"])
    for s in ("achieved", "breached", "pending", "bot_contained", "no_target"):
        if s not in counts:
            counts[s] = 0
    counts.index = counts.index.set_names(keys)
    out = counts[["achieved", "breached", "pending", "bot_contained", "no_target"]].copy()
    out["total"] = out["achieved"] + out["breached"] + out["pending"]
    decided = out["achieved"] + out["breached"]
    out["attainment"] = (out["achieved"] / decided).where(decided > 0)
    grouped = ev.assign(priority=ev["priority"].fillna(-1))
    out["median_seconds"] = _nearest_rank(grouped, keys, "response_seconds", 1, 2)
    out["p90_seconds"] = _nearest_rank(grouped, keys, "response_seconds", 9, 10)
    out = out.reset_index()
    out["priority"] = out["priority"].astype("Int64").replace(-1, pd.NA)
    return out


def _open_at(t: dict[str, pd.DataFrame], at_ms: int) -> np.ndarray:
    """Open at an instant: created by then, not finally closed by then, and not closed at its first close
    without a (last) reopen by then."""
    conv = t["conversation"]
    acts = t["conversation_history_action"]
    kind = acts["action"].str.upper()
    is_close = (kind == "CLOSED") | ((kind == "STATUS_CHANGED") & (acts["to_value"].str.upper() == "CLOSED"))
    first_close = acts[is_close].groupby(CID)["action_time"].min()
    last_reopen = acts[kind == "REOPENED"].groupby(CID)["action_time"].max()
    first_close_ms = _ms(conv[CID].map(first_close))
    last_reopen_ms = _ms(conv[CID].map(last_reopen))
    closed = _ms(conv["closed_time"])
    between = (first_close_ms != NULL_MS) & (first_close_ms <= at_ms) & (
        (last_reopen_ms == NULL_MS) | (last_reopen_ms > at_ms))
    return (_ms(conv["created_time"]) <= at_ms) & ((closed == NULL_MS) | (closed > at_ms)) & ~between


def at_risk(t: dict[str, pd.DataFrame], policy: Policy, as_of_ms: int) -> pd.DataFrame:
    """Open conversations still within their first-response target, soonest breach first."""
    ev = first_response(t, policy, as_of_ms)
    conv = t["conversation"]
    open_ids = conv.loc[_open_at(t, as_of_ms), CID]
    pending = ev[(ev["status"] == "pending") & ev.index.isin(open_ids)].reset_index()
    return pending.sort_values(["breach_at", CID])[[CID, "breach_at", "tier", "priority"]].reset_index(drop=True)


def backlog(t: dict[str, pd.DataFrame], at_ms: int) -> pd.DataFrame:
    """Conversations open at ``at_ms`` per age bucket (index into AGE_BUCKET_UPPER) and work queue."""
    conv = t["conversation"]
    open_now = conv[_open_at(t, at_ms)]
    age = (at_ms - _ms(open_now["created_time"])) / 1000.0
    bucket = np.searchsorted(np.asarray(AGE_BUCKET_UPPER), age, side="right")
    counts = (
        pd.DataFrame({"age_order": bucket, "work_queue_id": open_now["work_queue_id"].to_numpy()})
        .groupby(["age_order", "work_queue_id"], dropna=False).size().rename("open").reset_index()
    )
    return counts.sort_values(["age_order", "work_queue_id"]).reset_index(drop=True)
