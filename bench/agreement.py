"""Do two engines give the same numbers? One comparison per benchmarked metric.

Each ``compare_*`` takes our engine's answer and a baseline's (Polars frames; pandas answers are converted
first by :func:`to_polars`) and returns a list of human-readable disagreements; an empty list means they
agree. Seconds may differ by float rounding only (``TOLERANCE``); counts, statuses, tiers, priorities and
instants (epoch ms) must be equal.
"""

from __future__ import annotations

import pandas as pd
import polars as pl

__all__ = ["COMPARE", "TOLERANCE", "compare_at_risk", "compare_backlog", "compare_first_response", "compare_sla",
           "to_polars"]

TOLERANCE = 1e-6
CID = "conversation_id"


def to_polars(frame) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pd.DataFrame):
        has_index = frame.index.name is not None
        return pl.from_pandas(frame.reset_index() if has_index else frame)
    raise TypeError(f"cannot compare a {type(frame).__name__}")


def _show(frame: pl.DataFrame, n: int = 3) -> str:
    return "; ".join(str(r) for r in frame.head(n).to_dicts())


def _diff_columns(joined: pl.DataFrame, exact: list[str], approx: list[str], key: list[str]) -> list[str]:
    problems = []
    for col in exact:
        a, b = pl.col(col).cast(pl.String), pl.col(f"{col}_other").cast(pl.String)
        bad = joined.filter(~a.eq_missing(b))
        if bad.height:
            problems.append(f"{col}: {bad.height} rows differ, e.g. {_show(bad.select(*key, col, f'{col}_other'))}")
    for col in approx:
        a, b = pl.col(col).cast(pl.Float64), pl.col(f"{col}_other").cast(pl.Float64)
        differ = (a.is_null() != b.is_null()) | ((a - b).abs() > TOLERANCE * pl.max_horizontal(a.abs(), 1.0))
        bad = joined.filter(differ.fill_null(False))
        if bad.height:
            problems.append(f"{col}: {bad.height} rows differ, e.g. {_show(bad.select(*key, col, f'{col}_other'))}")
    return problems


def _join(ours: pl.DataFrame, other: pl.DataFrame, key: list[str], what: str) -> tuple[pl.DataFrame, list[str]]:
    problems = []
    if ours.height != other.height:
        problems.append(f"{what}: {ours.height} rows vs {other.height}")
    joined = ours.join(other, on=key, how="full", suffix="_other", coalesce=True, nulls_equal=True)
    missing = joined.height - min(ours.height, other.height)
    if missing and not problems:
        problems.append(f"{what}: {missing} keys present on one side only")
    return joined, problems


def compare_first_response(ours, other) -> list[str]:
    ours, other = to_polars(ours), to_polars(other)
    cols = ["status", "breach_at", "elapsed_business_seconds", "response_seconds", "tier", "priority"]
    joined, problems = _join(ours.select(CID, *cols), other.select(CID, *cols), [CID], "first response")
    joined = joined.filter(pl.col("status").is_not_null() & pl.col("status_other").is_not_null())
    return problems + _diff_columns(joined, ["status", "tier", "priority", "breach_at"],
                                    ["elapsed_business_seconds", "response_seconds"], [CID])


SLA_COUNTS = ["total", "achieved", "breached", "pending", "bot_contained", "no_target"]
SLA_VALUES = ["attainment", "median_seconds", "p90_seconds"]


def compare_sla(ours, other) -> list[str]:
    ours, other = to_polars(ours), to_polars(other)
    key = ["tier", "priority"]
    cols = key + SLA_COUNTS + SLA_VALUES

    def norm(f: pl.DataFrame) -> pl.DataFrame:
        return f.select(cols).with_columns(pl.col("priority").cast(pl.Int64), pl.col(SLA_COUNTS).cast(pl.Int64))

    joined, problems = _join(norm(ours), norm(other), key, "SLA by tier x priority")
    return problems + _diff_columns(joined, SLA_COUNTS, SLA_VALUES, key)


def compare_at_risk(ours, other) -> list[str]:
    """Same conversations with the same breach instants, in breach order (ties may come in any order)."""
    ours, other = to_polars(ours), to_polars(other)
    problems = []
    a, b = ours.get_column("breach_at").cast(pl.Int64), other.get_column("breach_at").cast(pl.Int64)
    if a.len() != b.len():
        problems.append(f"at-risk list: {a.len()} rows vs {b.len()}")
    elif not a.equals(b):
        problems.append("at-risk list: breach instants are not in the same order")
    cols = [CID, "breach_at", "tier", "priority"]
    joined, more = _join(ours.select(cols), other.select(cols), [CID], "at-risk list")
    return problems + more + _diff_columns(joined, ["breach_at", "tier", "priority"], [], [CID])


def compare_backlog(ours, other) -> list[str]:
    """Open conversations per (age bucket, work queue); buckets with none may be listed (as 0) or left out."""
    ours, other = to_polars(ours), to_polars(other)

    def norm(f: pl.DataFrame) -> pl.DataFrame:
        return f.filter(pl.col("open") > 0).select(
            pl.col("age_order").cast(pl.Int64),
            pl.col("work_queue_id").cast(pl.String).fill_null("none"),
            pl.col("open").cast(pl.Int64),
        )

    joined, problems = _join(norm(ours), norm(other), ["age_order", "work_queue_id"], "backlog")
    return problems + _diff_columns(joined, ["open"], [], ["age_order", "work_queue_id"])


COMPARE = {
    "first_response": compare_first_response,
    "sla": compare_sla,
    "at_risk": compare_at_risk,
    "backlog": compare_backlog,
}
