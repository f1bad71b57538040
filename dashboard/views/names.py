"""Names, not ids, wherever a person reads: agents, work queues and teams by the names the reference data gives,
and human column headers for tables as shown.

Names come from ``core.reference_names()`` (``{id column: (id, name) frame}``): agent names from
``raw_agent_states`` today; work queue and team names once the store keeps that reference data. Until a name is
known, the id is shown with a label that says what it is ("Work queue 12", "Team 3"), never a bare number. The
rows behind a figure (downloads) keep the ids beside the names.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from dashboard.filters import FILTER_COLUMNS

__all__ = [
    "ID_COLUMNS",
    "NAME_COLUMNS",
    "NO_VALUE",
    "describe_filters",
    "dimension_labels",
    "name_column",
    "readable",
    "with_names",
]

NAME_COLUMNS: dict[str, str] = {"agent_id": "agent_name", "work_queue_id": "work_queue_name", "team_id": "team_name"}
"""Each id column a reader may see, and the column that names it."""
ID_COLUMNS: dict[str, str] = {v: k for k, v in NAME_COLUMNS.items()}
UNKNOWN_LABEL: dict[str, str] = {"agent_id": "Agent", "work_queue_id": "Work queue", "team_id": "Team"}
"""How an id without a known name is shown: "Work queue 12"."""
NO_VALUE = "—"
"""What a table shows where there is no value (never "None")."""


def name_column(column: str) -> str:
    """The column that names ``column`` (``work_queue_id`` -> ``work_queue_name``), or ``column`` itself."""
    return NAME_COLUMNS.get(column, column)


def _reference(names: Mapping[str, pl.DataFrame], id_column: str) -> pl.DataFrame | None:
    frame = names.get(id_column)
    if frame is None or frame.width < 2:
        return None
    # The contract is (id, name) by position; the names of the two columns are the provider's.
    return frame.select(pl.col(frame.columns[0]).alias("_id"), pl.col(frame.columns[1]).cast(pl.String)
                        .alias("_name")).unique("_id", keep="last")


def with_names(frame: pl.DataFrame, names: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """``frame`` with a name column after each id column it has (``agent_name`` after ``agent_id``, ...): the
    reference name, else the id with its label ("Work queue 12"); null where the id is null. A name column the
    frame already has is kept."""
    out = frame
    for id_column, label_column in NAME_COLUMNS.items():
        if id_column not in out.columns or label_column in out.columns:
            continue
        fallback = pl.format(f"{UNKNOWN_LABEL[id_column]} {{}}", pl.col(id_column).cast(pl.String))
        ref = _reference(names, id_column)
        if ref is None:
            named = out.with_columns(fallback.alias(label_column))
        else:
            ref = ref.with_columns(pl.col("_id").cast(out.schema[id_column], strict=False))
            named = (out.join(ref, left_on=id_column, right_on="_id", how="left", maintain_order="left")
                     .with_columns(pl.coalesce("_name", fallback).alias(label_column)).drop("_name"))
        at = out.columns.index(id_column) + 1
        columns = [*out.columns[:at], label_column, *out.columns[at:]]
        out = named.with_columns(pl.when(pl.col(id_column).is_not_null()).then(pl.col(label_column))
                                 .alias(label_column)).select(columns)
    return out


def dimension_labels(values: Mapping[str, list], names: Mapping[str, pl.DataFrame],
                     columns: Mapping[str, str]) -> dict[str, dict[object, str]]:
    """For each filter key, ``{value: what the reader sees}``: names for agent, work queue and team ids, the value
    as text otherwise. ``columns`` maps a filter key to its facts column."""
    labels: dict[str, dict[object, str]] = {}
    for key, options in values.items():
        column = columns.get(key, key)
        if column in NAME_COLUMNS and options:
            frame = with_names(pl.DataFrame({column: options}), names)
            named = frame[NAME_COLUMNS[column]].to_list()
            twice = {n for n in named if named.count(n) > 1}  # two agents of one name stay two choices
            labels[key] = {v: f"{n} ({v})" if n in twice else n
                           for v, n in zip(frame[column].to_list(), named, strict=True)}
        else:
            labels[key] = {v: str(v) for v in options}
    return labels


def readable(frame: pl.DataFrame, headers: Mapping[str, str]) -> pl.DataFrame:
    """The columns of ``headers`` in its order, renamed to what a reader sees; text columns show
    :data:`NO_VALUE` instead of a missing value."""
    shown = frame.select([pl.col(c).alias(h) for c, h in headers.items() if c in frame.columns])
    return shown.with_columns(pl.col(pl.String).fill_null(NO_VALUE))


def describe_filters(core, filters) -> str:
    """``filters.describe()`` with agents, work queues and teams by name (a caption: customer text, shown as
    text by the UI)."""
    chosen = {k: list(v) for k, v in filters.dimensions.items() if v}
    if not chosen:
        return filters.describe()
    return filters.describe(dimension_labels(chosen, core.reference_names(), FILTER_COLUMNS))
