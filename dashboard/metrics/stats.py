"""The aggregate statistics every metric uses, defined once.

Percentiles are **nearest-rank**: pN is the ``ceil(N/100 × n)``-th smallest of the n non-null values
(median = p50 by the same rule). Unlike interpolating methods, the answer is always a value that occurred,
and unlike Polars' ``quantile(..., "nearest")`` (which rounds ``q × (n − 1)``) it is the textbook definition,
so it can be checked by hand. The rank is computed in integer arithmetic, so ``0.7 × 10`` is 7, not 8.

Attainment's uncertainty is the **Wilson score interval** (95 % by default): honest for small groups and
for proportions near 0 or 1, where the normal approximation is not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

import polars as pl

__all__ = [
    "PERCENTILE_METHOD",
    "difference_interval",
    "nearest_rank",
    "nearest_rank_index",
    "nearest_ranks_by",
    "wilson_bounds",
    "wilson_interval",
]

PERCENTILE_METHOD = "nearest-rank: pN = the ceil(N/100 × n)-th smallest value"


def _fraction(q: float) -> Fraction:
    if not 0 < q <= 1:
        raise ValueError(f"quantile {q!r} must be in (0, 1]")
    return Fraction(q).limit_denominator(1_000_000)


def nearest_rank_index(q: float, n: int) -> int:
    """0-based index of the nearest-rank q-quantile among n sorted values (n >= 1)."""
    f = _fraction(q)
    rank = -((-f.numerator * n) // f.denominator)  # ceil without floats
    return max(rank, 1) - 1


def nearest_rank(expr: pl.Expr, q: float) -> pl.Expr:
    """Nearest-rank q-quantile of ``expr`` (an aggregation: use in ``select`` / ``group_by().agg``).

    Null when there are no non-null values.
    """
    f = _fraction(q)
    values = expr.drop_nulls().sort()
    n = values.len().cast(pl.Int64)
    rank = (n * f.numerator + (f.denominator - 1)) // f.denominator  # ceil(q * n) in integers
    index = (rank.clip(1) - 1).clip(0)
    # slice (not gather): an empty group slices to nothing and .first() is null, where gather would fail
    return values.slice(index, 1).first()


def nearest_ranks_by(frame: pl.LazyFrame, by: Sequence[str], value: str, quantiles: Mapping[str, float], *,
                     bucket_width: float = 60.0) -> pl.LazyFrame:
    """:func:`nearest_rank` of column ``value`` per group of ``by`` for each of ``quantiles`` (output name ->
    q): one row per group with a non-null value, columns ``by`` then the names (join it to the groups' other
    aggregates; a group without values is absent).

    The same answer as ``group_by(by).agg(nearest_rank(value, q))``, without sorting every group's values
    (that sort is most of the cost of a percentile on millions of rows): the values are counted per bucket of
    ``bucket_width`` (floor(value ÷ width), in the same order as the values), the cumulative counts say which
    bucket holds each wanted rank, and only that bucket's values are sorted. Any width gives the exact answer;
    it only decides how many values are sorted. ``frame`` is read more than once: pass a cached plan
    (``LazyFrame.cache()``) when it is expensive."""
    if not by:
        keyed = frame.select(pl.lit(0, pl.Int8).alias("_all"), pl.col(value).alias("_v"))
        return nearest_ranks_by(keyed, ["_all"], "_v", quantiles, bucket_width=bucket_width).drop("_all")
    by = list(by)
    values = frame.select(*by, pl.col(value).alias("_v")).filter(pl.col("_v").is_not_null()).with_columns(
        _bucket=(pl.col("_v") / bucket_width).floor())
    counts = (values.group_by(*by, "_bucket").agg(_count=pl.len().cast(pl.Int64))
              .sort(*by, "_bucket", nulls_last=True)
              .with_columns(_before=pl.col("_count").cum_sum().over(by) - pl.col("_count"),
                            _n=pl.col("_count").sum().over(by)))
    wanted = []
    for i, q in enumerate(quantiles.values()):
        f = _fraction(q)
        index = ((pl.col("_n") * f.numerator + (f.denominator - 1)) // f.denominator).clip(1) - 1
        wanted.append(counts.filter((pl.col("_before") <= index) & (index < pl.col("_before") + pl.col("_count")))
                      .select(*by, "_bucket", _within=index - pl.col("_before"), _q=pl.lit(i, pl.Int32)))
    picked = (values.join(pl.concat(wanted), on=[*by, "_bucket"], nulls_equal=True)
              .group_by(*by, "_q").agg(_pick=pl.col("_v").sort().get(pl.col("_within").first())))
    return picked.group_by(by).agg(
        pl.col("_pick").filter(pl.col("_q") == i).first().alias(name) for i, name in enumerate(quantiles))


def wilson_interval(k: pl.Expr, n: pl.Expr, z: float = 1.959963984540054) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval for a proportion k/n: ``(low, high)`` expressions; null when n is 0."""
    n_f = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / n_f
    z2 = z * z
    denominator = 1 + z2 / n_f
    centre = (p + z2 / (2 * n_f)) / denominator
    half = z * ((p * (1 - p) / n_f + z2 / (4 * n_f * n_f)).sqrt()) / denominator
    low = pl.when(n > 0).then((centre - half).clip(0.0, 1.0))
    high = pl.when(n > 0).then((centre + half).clip(0.0, 1.0))
    return low, high


def difference_interval(k1: pl.Expr, n1: pl.Expr, k2: pl.Expr, n2: pl.Expr,
                        z: float = 1.959963984540054) -> tuple[pl.Expr, pl.Expr]:
    """Interval for the difference of two proportions k1/n1 − k2/n2 (Newcombe's hybrid score method, built
    from the two Wilson intervals): ``(low, high)``; null when either n is 0. When it excludes 0 the two
    groups differ at that confidence; when it contains 0 the data cannot tell them apart."""
    p1 = k1.cast(pl.Float64) / n1.cast(pl.Float64)
    p2 = k2.cast(pl.Float64) / n2.cast(pl.Float64)
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    low = d - ((p1 - l1) ** 2 + (u2 - p2) ** 2).sqrt()
    high = d + ((u1 - p1) ** 2 + (p2 - l2) ** 2).sqrt()
    valid = (n1 > 0) & (n2 > 0)
    return pl.when(valid).then(low), pl.when(valid).then(high)


def wilson_bounds(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """Plain-Python Wilson interval (for tests and single values)."""
    if n == 0:
        return None
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
