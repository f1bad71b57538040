"""The world's ground truth: one row per conversation, written from the generating arrays (not recomputed from
the tables), so a metric engine that reads the exports can be checked against it."""

from __future__ import annotations

import numpy as np
import polars as pl

from dashboard.simulator.world.reference import BOTS, NETWORKS, TIERS
from dashboard.simulator.world.service import Draft
from dashboard.simulator.world.vectors import Ids, as_times, pick_names, take

__all__ = ["truth_frame"]


def _when(times: np.ndarray, happened: np.ndarray) -> pl.Series:
    """``times`` as instants, null where ``happened`` is false."""
    return as_times(times).to_frame("h").select(pl.when(pl.lit(happened)).then(pl.col("h"))).to_series()


def truth_frame(d: Draft, ids: Ids, resp_f: dict[str, np.ndarray], conversation: pl.DataFrame,
                now_ms: int) -> pl.DataFrame:
    """``resp_f``: the responses that happened (cut at now and at each conversation's close by the company)."""
    n = d.n
    pub = resp_f["public"].astype(bool)
    first_any = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_any, resp_f["conv"][pub], resp_f["t"][pub])
    first_human = np.full(n, np.iinfo(np.int64).max)
    agent_pub = pub & (resp_f["rtype"] == 0)
    np.minimum.at(first_human, resp_f["conv"][agent_pub], resp_f["t"][agent_pub])
    happened = first_human < now_ms
    return pl.DataFrame(
        {
            "conversation_id": ids.conv,
            "author_id": take(ids.author, d.conv_author),
            "network": pick_names(NETWORKS, d.network),
            "tier_at_start": pick_names(TIERS, d.tier),
            "priority_at_first_inbound": d.priority0,
            "priority_at_start": d.priority,
            "first_inbound_time": as_times(d.created),
            "bot_first": d.bot_first,
            "bot_app_id": take([b["app_id"] for b in BOTS], d.app),
            "automatic_handoff": d.auto & (d.handoff < now_ms),
            "handoff_time": _when(d.handoff, d.handoff < now_ms),
            "bot_contained": d.contained & (d.bot_close < now_ms),
            "first_human_response_time": _when(np.where(happened, first_human, 0), happened),
            "first_any_response_time": _when(np.minimum(first_any, d.never), first_any < now_ms),
            "closed_time": conversation["closed_time"],
            "status": conversation["status"],
        }
    )
