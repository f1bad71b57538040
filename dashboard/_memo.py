"""A memo bounded by entries and by size: the least recently used entry goes first.

Every cache of the process is bounded (issue 13): the core's figures per data version (tables, facts, bursts,
rollups, names), whatever the number of bot rules, policies and tier files a long-running server meets. Sizes
are Polars' own estimates of the frames an entry holds; an entry larger than the whole budget is still kept
alone (the one figure being used), never refused.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import polars as pl

__all__ = ["MEMO_MAX_BYTES", "MEMO_MAX_ENTRIES", "BoundedMemo", "size_of"]

MEMO_MAX_ENTRIES = 32


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


MEMO_MAX_BYTES = min(4 * 2**30, _total_memory() // 4)
"""A quarter of the machine's memory, at most 4 GiB."""


def size_of(value: Any) -> int:
    """Estimated bytes of the frames in ``value`` (a frame, or a tuple/list/dict of them); 0 for the rest."""
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size())
    if isinstance(value, tuple | list):
        return sum(size_of(v) for v in value)
    if isinstance(value, dict):
        return sum(size_of(v) for v in value.values())
    return 0


class BoundedMemo:
    """An LRU memo of at most ``max_entries`` entries and about ``max_bytes`` bytes. Not thread-safe: the owner
    holds its own lock."""

    def __init__(self, max_entries: int = MEMO_MAX_ENTRIES, max_bytes: int = MEMO_MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> tuple[bool, Any]:
        item = self._items.get(key)
        if item is None:
            return False, None
        self._items.move_to_end(key)
        return True, item[0]

    def put(self, key: Hashable, value: Any, *, counted: bool = True) -> None:
        """Keep ``value``; ``counted=False`` for a value whose memory another entry holds (a projection of it)."""
        if key in self._items:
            self._bytes -= self._items.pop(key)[1]
        size = size_of(value) if counted else 0
        self._items[key] = (value, size)
        self._bytes += size
        while len(self._items) > 1 and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes
