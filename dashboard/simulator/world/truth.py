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


def truth_frame(d: Draft, ids: Ids, resp_f: dict[str, np.ndarray], conversation: pl.DataFrame) -> pl.DataFrame:
    now_ms, n = d.now_ms, d.n
    first_human = np.where(d.first_resp < now_ms, d.first_resp, -1)
    pub = resp_f["public"].astype(bool)
    first_any = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_any, resp_f["conv"][pub], resp_f["t"][pub])
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
            "first_human_response_time": _when(first_human, first_human >= 0),
            "first_any_response_time": _when(np.minimum(first_any, d.never), first_any < now_ms),
            "closed_time": conversation["closed_time"],
            "status": conversation["status"],
        }
    )
