"""Dimension filters shared by the pages, the notebooks and the report CLI.

A filter is ``{dimension: [values]}``; an empty list means "all". Dimensions name columns of the
conversation facts frame (``dashboard.metrics.conversation_facts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

__all__ = ["FILTER_COLUMNS", "apply_filters", "filter_options"]

FILTER_COLUMNS: dict[str, str] = {
    "tier": "tier",
    "priority": "priority",
    "queue": "work_queue_id",
    "channel": "network",
    "team": "team_id",
    "agent": "agent_id",
}


def apply_filters(frame: pl.DataFrame | pl.LazyFrame, filters: Mapping[str, Sequence]) -> pl.DataFrame | pl.LazyFrame:
    """Keep rows whose dimension value is among the chosen ones, for every dimension with a choice."""
    columns = frame.collect_schema().names()
    conditions = []
    for dimension, values in filters.items():
        if not values:
            continue
        column = FILTER_COLUMNS.get(dimension)
        if column is None:
            raise KeyError(f"unknown filter {dimension!r}; known: {', '.join(FILTER_COLUMNS)}")
        if column not in columns:
            raise KeyError(f"filter {dimension!r} needs column {column!r}, which this frame does not have")
        dtype = frame.collect_schema()[column]
        conditions.append(pl.col(column).is_in(pl.Series(list(values)).cast(dtype, strict=False)))
    return frame.filter(*conditions) if conditions else frame


def filter_options(facts: pl.DataFrame) -> dict[str, list]:
    """The values each filter can take, sorted, from the facts frame."""
    options: dict[str, list] = {}
    for dimension, column in FILTER_COLUMNS.items():
        if column in facts.columns:
            options[dimension] = facts.get_column(column).drop_nulls().unique().sort().to_list()
    return options
