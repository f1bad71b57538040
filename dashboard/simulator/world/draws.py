"""Keyed random draws: every random number of the world is a function of (seed, stream, key), never of a position
in one shared sequence.

A world ending later must be the same world up to the earlier end (the demo's clock advances by syncing new days,
not by regenerating history). With one generator drawing ``n`` values per stage, one more conversation at the end
would shift every draw after it; here a conversation's draws depend on its own key (the hour it arrived in and its
place in that hour), an agent's on its index, a shift on (agent, day), a request record on what it records. So a
world with more conversations draws exactly the same values for the ones it shares with a shorter world.

The draws are a counter-based generator: SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014), applied twice to ``key`` mixed with a salt per (seed, stream).
Vectorised over numpy ``uint64`` arrays, it costs a few operations per value and is the same on every machine.
"""

from __future__ import annotations

import hashlib

import numpy as np

from dashboard.simulator.world.vectors import VARIANT, ascii_rows

__all__ = ["Keyed", "combine", "mix64"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TO_UNIT = 2.0 ** -53
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on a ``uint64`` array (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def combine(*parts: np.ndarray | int) -> np.ndarray:
    """One 64-bit key from several integer keys (arrays broadcast): a record's key from what it records."""
    out = np.zeros(1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            out = mix64(out * _GOLDEN + np.asarray(part).astype(np.int64).astype(np.uint64))
    return out


def _salt(seed: int, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"khoros-sim/{seed}/{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class Keyed:
    """Draws for a set of keys: each method returns one value per key, the same for the same (seed, stream, key)
    whatever the other keys are. ``stream`` names the draw (``"bot.turns"``); two draws never share one."""

    def __init__(self, seed: int, keys: np.ndarray) -> None:
        self.seed = seed
        self.keys = np.asarray(keys).astype(np.int64).astype(np.uint64)

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, index: np.ndarray) -> Keyed:
        """The draws of some of the keys (an index or a boolean mask)."""
        return Keyed(self.seed, self.keys[index])

    def bits(self, stream: str) -> np.ndarray:
        with np.errstate(over="ignore"):
            return mix64(mix64(self.keys ^ _salt(self.seed, stream)) + _GOLDEN)

    def random(self, stream: str) -> np.ndarray:
        """Uniform in [0, 1)."""
        return (self.bits(stream) >> np.uint64(11)).astype(np.float64) * _TO_UNIT

    def uniform(self, stream: str, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
        return low + (np.asarray(high) - low) * self.random(stream)

    def integers(self, stream: str, low: int | np.ndarray, high: int | np.ndarray) -> np.ndarray:
        """Integers in [low, high)."""
        low, high = np.asarray(low, dtype=np.int64), np.asarray(high, dtype=np.int64)
        return low + np.floor(self.random(stream) * (high - low)).astype(np.int64)

    def choice(self, stream: str, p: np.ndarray | list[float]) -> np.ndarray:
        """An index into ``p`` drawn with probabilities ``p``."""
        cumulative = np.cumsum(np.asarray(p, dtype=float))
        return np.minimum(np.searchsorted(cumulative / cumulative[-1], self.random(stream), side="right"),
                          len(cumulative) - 1)

    def normal(self, stream: str) -> np.ndarray:
        """Standard normal (Box-Muller on two keyed uniforms)."""
        radius = np.sqrt(-2.0 * np.log1p(-self.random(stream + "#r")))
        return radius * np.cos(2.0 * np.pi * self.random(stream + "#a"))

    def lognormal(self, stream: str, sigma: float, mean: float = 0.0) -> np.ndarray:
        return np.exp(mean + sigma * self.normal(stream))

    def hex_matrix(self, stream: str, nbytes: int) -> np.ndarray:
        """``2 * nbytes`` lowercase hex characters per key, as an ASCII byte matrix."""
        words = -(-nbytes // 8)
        raw = np.stack([self.bits(f"{stream}#{i}") for i in range(words)], axis=1).astype("<u8")
        data = raw.view(np.uint8).reshape(len(self.keys), 8 * words)[:, :nbytes]
        out = np.empty((len(self.keys), 2 * nbytes), dtype=np.uint8)
        out[:, 0::2] = _HEX[data >> 4]
        out[:, 1::2] = _HEX[data & 0x0F]
        return out

    def hex(self, stream: str, nbytes: int):
        """A polars String Series of ``2 * nbytes`` hex characters per key."""
        return ascii_rows(self.hex_matrix(stream, nbytes))

    def uuids(self, stream: str):
        """A version-4 UUID string (RFC 4122 variant) per key, as a polars String Series."""
        h = self.hex_matrix(stream, 16)
        n = len(self.keys)
        out = np.empty((n, 36), dtype=np.uint8)
        out[:, [8, 13, 18, 23]] = ord("-")
        out[:, 0:8] = h[:, 0:8]
        out[:, 9:13] = h[:, 8:12]
        out[:, 14] = ord("4")
        out[:, 15:18] = h[:, 13:16]
        nibble = np.where(h[:, 16] >= ord("a"), h[:, 16] - ord("a") + 10, h[:, 16] - ord("0"))
        out[:, 19] = VARIANT[nibble % 4]
        out[:, 20:23] = h[:, 17:20]
        out[:, 24:36] = h[:, 20:32]
        return ascii_rows(out)
