"""Small vectorised helpers the world is built with: ids, names, gathers, event columns, as-of lookups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from dashboard.schema import TIME
from dashboard.simulator.world.reference import DAY

if TYPE_CHECKING:
    from dashboard.simulator.world.draws import Keyed
    from dashboard.simulator.world.model import WorldConfig


def ascii_rows(matrix: np.ndarray) -> pl.Series:
    """One string per row of an ASCII byte matrix (through an Arrow fixed-size binary buffer: no Python loop)."""
    n, width = matrix.shape
    if n == 0:
        return pl.Series([], dtype=pl.String)
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(matrix.tobytes())])
    return pl.Series(pl.from_arrow(fixed.cast(pa.binary()))).cast(pl.String)


VARIANT = np.frombuffer(b"89ab", dtype=np.uint8)
"""The RFC 4122 variant nibbles (a UUID's 17th hex digit)."""


def pick_names(values: tuple[str, ...] | list[str] | np.ndarray, idx: np.ndarray) -> pl.Series:
    """``values[idx]`` as a polars string Series (numpy unicode arrays are slow to convert)."""
    return pl.Series([str(v) for v in values], dtype=pl.String).gather(np.asarray(idx, dtype=np.int64))


def take(values: pl.Series | tuple | list, idx: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """``values[idx]`` as a string Series, null where ``idx < 0`` or ``valid`` is false."""
    s = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    idx = np.asarray(idx, dtype=np.int64)
    ok = idx >= 0 if valid is None else (np.asarray(valid, dtype=bool) & (idx >= 0))
    gathered = s.gather(np.where(ok, idx, 0)) if len(s) else pl.Series([None] * len(idx), dtype=pl.String)
    return pl.DataFrame({"v": gathered, "ok": ok}).select(pl.when("ok").then("v")).to_series()


def as_times(ms: np.ndarray) -> pl.Series:
    return pl.Series(ms.astype(np.int64)).cast(TIME)


@dataclass
class Events:
    """Columns of one kind of event, appended stage by stage, concatenated once."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, mask: np.ndarray | None = None, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.parts.setdefault(k, []).append(v if mask is None else v[mask])

    def frame(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.parts.items()}



def stable_uuid(seed: int, kind: str, i: int) -> str:

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/{seed}/{kind}/{i}"))


def cut_events(cols: dict[str, np.ndarray], now_ms: int, limit: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Keep what has happened by ``now``, in time order (ties: by conversation, then generation order).

    ``limit``: per conversation, when the company closed it at the latest; nothing of it happens later (but for
    the close itself and, a second after it, control returning to the bot)."""
    keep = cols["t"] < now_ms
    if limit is not None and len(keep):
        keep &= cols["t"] <= limit[cols["conv"]] + 1_000
    cut = {k: v[keep] for k, v in cols.items()}
    order = np.lexsort((cut["conv"], cut["t"]))
    return {k: v[order] for k, v in cut.items()}


class Ids:
    """Identifiers: UUIDs for conversations and authors (keyed draws: each its own), display numbers in the order
    conversations started; posts, responses and actions are numbered in time order where they are built."""

    def __init__(self, conversations: Keyed, authors: Keyed, cfg: WorldConfig) -> None:
        self.conv = conversations.uuids("conversation.id")
        self.author = authors.uuids("author.id")
        self.display = np.arange(len(conversations), dtype=np.int64) + 100_001
        self.conv_keys = conversations.keys
        self.seed = cfg.seed


CONV_SHIFT = 41  # 2**41 ms is about 70 years: room for any world's span below the conversation number


def asof(keys_sorted: np.ndarray, values: np.ndarray, query: np.ndarray, default: np.ndarray) -> np.ndarray:
    """For each query key, the value of the last sorted key <= it (``default`` where there is none)."""
    pos = np.searchsorted(keys_sorted, query, side="right") - 1
    safe = np.clip(pos, 0, max(len(values) - 1, 0))
    if not len(values):
        return default
    # Only a key of the same conversation (the high bits) counts.
    same = (keys_sorted[safe] >> CONV_SHIFT) == (query >> CONV_SHIFT)
    return np.where((pos >= 0) & same, values[safe], default)


def event_key(conv: np.ndarray, t: np.ndarray, start_ms: int) -> np.ndarray:
    """One sortable int64 for (conversation, instant): conversation in the high bits."""
    return (conv.astype(np.int64) << CONV_SHIFT) + (t - (start_ms - DAY))



def last_per(conv: np.ndarray, values: np.ndarray, n: int, default: Any) -> np.ndarray:
    """Per conversation, the last value in time order (``conv`` sorted by time within each conversation)."""
    out = np.full(n, default, dtype=values.dtype if len(values) else np.asarray(default).dtype)
    if len(conv):
        uniq, first = np.unique(conv[::-1], return_index=True)
        out[uniq] = values[::-1][first]
    return out


