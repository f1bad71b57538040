"""Nearest-rank percentiles and Wilson intervals: the one implementation every metric uses."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.metrics.stats import (
    difference_interval,
    nearest_rank,
    nearest_rank_index,
    nearest_ranks_by,
    wilson_bounds,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5, 5),  # ceil(5) = 5th
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9),  # ceil(9) = 9th
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.7, 7),  # 0.7 * 10 is 7.000000000000001 in floats; 7th, not 8th
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1.0, 10),
        ([30, 10, 20], 0.5, 20),  # ceil(1.5) = 2nd smallest
        ([30, 10, 20], 0.9, 30),  # ceil(2.7) = 3rd
        ([42], 0.9, 42),
        ([5, None, 1], 0.5, 1),  # nulls are not values: ceil(0.5 * 2) = 1st of [1, 5]
        ([], 0.5, None),
    ],
)
def test_nearest_rank_by_hand(values, q, expected) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Float64})
    assert frame.select(nearest_rank(pl.col("v"), q)).item() == expected


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(-1000, 1000), min_size=1, max_size=60), q=st.sampled_from([0.5, 0.9, 0.95, 0.7]))
def test_nearest_rank_matches_definition(values, q) -> None:
    expected = sorted(values)[math.ceil(round(q * 100) * len(values) / 100) - 1]
    frame = pl.DataFrame({"g": [1] * len(values), "v": values})
    assert frame.select(nearest_rank(pl.col("v"), q)).item() == expected
    assert frame.group_by("g").agg(nearest_rank(pl.col("v"), q)).item(0, 1) == expected
    assert nearest_rank_index(q, len(values)) == math.ceil(round(q * 100) * len(values) / 100) - 1


def test_nearest_ranks_by_hand() -> None:
    # Group "a": 7 values, two of them in the bucket [0, 10); the median (ceil(3.5) = 4th) is 25, which lies in
    # the bucket [20, 30) after 3 values; p90 (ceil(6.3) = 7th) is 99. Group None: only nulls -> absent.
    frame = pl.LazyFrame({"g": ["a"] * 7 + ["b", "b", None], "v": [99.0, 1.0, 25.0, 21.5, 5.0, 40.0, 29.0,
                                                                     3.0, None, None]})
    got = nearest_ranks_by(frame, ["g"], "v", {"median": 0.5, "p90": 0.9}, bucket_width=10.0).sort("g").collect()
    assert got.to_dicts() == [{"g": "a", "median": 25.0, "p90": 99.0}, {"g": "b", "median": 3.0, "p90": 3.0}]


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["x", "y", None]), st.sampled_from([1, 2]),
                               st.one_of(st.none(), st.integers(-5000, 5000))), max_size=80),
       width=st.sampled_from([0.5, 7.0, 60.0, 1e9]))
def test_nearest_ranks_by_matches_nearest_rank(rows, width) -> None:
    # Any bucket width gives the same answer as sorting each group (nulls in the keys are a group of their own).
    frame = pl.DataFrame(rows, schema={"g": pl.String, "h": pl.Int64, "v": pl.Int64}, orient="row").with_columns(
        pl.col("v") / 1000.0)
    quantiles = {"p50": 0.5, "p90": 0.9, "p70": 0.7, "max": 1.0}
    expected = (frame.filter(pl.col("v").is_not_null()).group_by("g", "h")
                .agg(nearest_rank(pl.col("v"), q).alias(n) for n, q in quantiles.items()).sort("g", "h"))
    got = nearest_ranks_by(frame.lazy(), ["g", "h"], "v", quantiles, bucket_width=width).sort("g", "h").collect()
    assert got.equals(expected)
    everything = nearest_ranks_by(frame.lazy(), [], "v", {"p90": 0.9}, bucket_width=width).collect()
    assert everything.rows() == ([(frame.select(nearest_rank(pl.col("v"), 0.9)).item(),)]
                                 if frame["v"].count() else [])


def test_nearest_rank_rejects_bad_quantiles() -> None:
    with pytest.raises(ValueError):
        nearest_rank(pl.col("v"), 0)
    with pytest.raises(ValueError):
        nearest_rank(pl.col("v"), 1.5)


def test_wilson_interval_known_values() -> None:
    # 8 of 10 with z = 1.96: the textbook interval is (0.490, 0.943)
    low, high = wilson_bounds(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    frame = pl.DataFrame({"k": [8, 0, 10, 0], "n": [10, 10, 10, 0]})
    lo, hi = wilson_interval(pl.col("k"), pl.col("n"))
    out = frame.select(lo=lo, hi=hi)
    assert out["lo"][0] == pytest.approx(low)
    assert out["hi"][0] == pytest.approx(high)
    assert out["lo"][1] == 0 and 0 < out["hi"][1] < 0.35  # 0 of 10 is not certainly 0
    assert 0.65 < out["lo"][2] < 1 and out["hi"][2] == pytest.approx(1)
    assert out["lo"][3] is None and out["hi"][3] is None
    assert wilson_bounds(0, 0) is None


def test_difference_interval_matches_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 - 48/80 -> (0.0524, 0.3339);
    # 9/10 - 3/10 -> (0.1705, 0.8090)
    frame = pl.DataFrame({"k1": [56, 9, 5], "n1": [70, 10, 0], "k2": [48, 3, 1], "n2": [80, 10, 2]})
    low, high = difference_interval(pl.col("k1"), pl.col("n1"), pl.col("k2"), pl.col("n2"))
    out = frame.select(low=low, high=high)
    assert out["low"][0] == pytest.approx(0.0524, abs=1e-4)
    assert out["high"][0] == pytest.approx(0.3339, abs=1e-4)
    assert out["low"][1] == pytest.approx(0.1705, abs=1e-4)
    assert out["high"][1] == pytest.approx(0.8090, abs=1e-4)
    assert out["low"][2] is None
