"""Reference data in the store: the names of work queues and teams, as of the last sync.

Khoros lists them apart from the exports (``khoros-care-api.md`` §2.1, §5): work queues with
``GET /api/v2/workqueues/active`` (Care v2), teams with ``GET /api/public/teams`` (Analytics). Agents are named
by the exports themselves (``raw_agent_states.agent_name``), so they need no table here.

- **When.** :func:`refresh_reference` runs once per sync of the conversation export (``dashboard.store.sync``),
  and so with the demo's fill and advance; not again within :data:`REFRESH_AFTER` of the last refresh (the
  data's clock: the world's in the demo), so a sync run twice in a row asks nothing the second time. It asks
  Khoros, not the client's response cache: a name changed in Khoros shows after the next sync.
- **How it is kept.** As the reference tables of :data:`dashboard.schema.REFERENCE_TABLES`, with the store's
  commit rules (one commit per table, files written once under new names, under the writer lease): the listing
  fetched on a UTC day is that day's file (merged with what the same day listed before), each row with
  ``fetched_time``. Read back through the store (latest day wins per id): names as of the last sync, and an id
  no longer listed keeps its last known name.
- **Failures** (no Care API access, a network error) leave the names as they were and are said in the sync's
  summary; they fail no export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from dashboard.schema import TIME, export_schema

__all__ = ["REFERENCE_NAMES", "REFRESH_AFTER", "ReferenceRefresh", "reference_names", "refresh_reference"]

REFRESH_AFTER = timedelta(minutes=15)
"""A listing fetched less than this before ``now`` is fresh enough (the sync's own rule for unsettled days)."""
REFERENCE_NAMES: dict[str, str] = {"work_queue_id": "reference_work_queue", "team_id": "reference_team"}
"""Each facts id column named by reference data, and the table that names it."""


@dataclass
class ReferenceRefresh:
    """What one refresh did: tables written, rows listed, requests sent, what failed (and why)."""

    tables: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    skipped: bool = False
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.skipped:
            return "names fresh (listed less than 15 minutes ago)"
        listed = ", ".join(f"{rows} {name.removeprefix('reference_').replace('_', ' ')}s"
                           for name, rows in self.tables.items())
        text = f"names of {listed}" if listed else "no names"
        if self.failures:
            text += "; not refreshed: " + "; ".join(self.failures)
        return text


def _work_queues(client: Any, at: datetime) -> pl.DataFrame:
    rows = [{"work_queue_id": q.id, "name": q.name, "archived": q.archived, "description": q.description,
             "uuid": q.uuid} for q in client.work_queues(fresh=True)]
    return _typed("reference_work_queue", rows, at)


def _teams(client: Any, at: datetime) -> pl.DataFrame:
    rows = [{"team_id": t.team_id, "name": t.name, "description": t.description, "members": t.members,
             "uuid": t.uuid} for t in client.teams(fresh=True)]
    return _typed("reference_team", rows, at)


FETCHERS: dict[str, Callable[[Any, datetime], pl.DataFrame]] = {
    "reference_work_queue": _work_queues, "reference_team": _teams}


def _typed(table: str, rows: list[dict[str, Any]], at: datetime) -> pl.DataFrame:
    schema = export_schema(table).polars_schema
    body = {name: dtype for name, dtype in schema.items() if name != "fetched_time"}
    frame = pl.DataFrame(rows, schema=body) if rows else pl.DataFrame(schema=body)
    return frame.with_columns(fetched_time=pl.lit(at).cast(TIME)).select(list(schema))


def _last_listed(store: Any, table: str) -> datetime | None:
    entries = store.day_entries(table)
    stamps = [datetime.fromisoformat(e["as_of"]) for e in entries.values() if isinstance(e.get("as_of"), str)]
    return max(stamps, default=None)


def refresh_reference(client: Any, store: Any, *, now: datetime) -> ReferenceRefresh:
    """List work queues and teams and store them (see the module docstring); the caller holds the writer lease
    or lets each commit take it."""
    from dashboard.khoros import KhorosError

    done = ReferenceRefresh()
    due = [t for t in FETCHERS if (last := _last_listed(store, t)) is None or last < now - REFRESH_AFTER]
    if not due:
        done.skipped = True
        return done
    day = now.astimezone(UTC).date()
    for table in due:
        with client.counting() as used:
            try:
                listed = FETCHERS[table](client, now)
            except KhorosError as exc:
                done.failures.append(f"{table.removeprefix('reference_').replace('_', ' ')}s: {exc}")
                listed = None
        done.requests += used.requests
        if listed is None:
            continue
        key = list(export_schema(table).key)
        earlier = store.read_day(table, day)
        kept = earlier.join(listed.select(key), on=key, how="anti") if earlier.height else earlier
        merged = pl.concat([kept.select(listed.columns), listed]) if kept.height else listed
        meta = {"rows": merged.height, "fetched_at": datetime.now(UTC), "as_of": now.isoformat(),
                "source": "sync reference"}
        store.commit(table, days={day: merged}, meta={day: meta}, purpose=f"sync {table}")
        done.tables[table] = listed.height
    return done


def reference_names(scan: Callable[[str], pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """``{id column: (id, name) frame}`` from the stored reference tables (``scan`` reads a table): one row per
    id with its latest name; an empty frame where nothing is stored."""
    out: dict[str, pl.DataFrame] = {}
    for column, table in REFERENCE_NAMES.items():
        id_column = export_schema(table).key[0]
        frame = (scan(table).select(id_column, "name", "fetched_time").sort("fetched_time")
                 .unique(id_column, keep="last").filter(pl.col("name").str.strip_chars() != "")
                 .select(pl.col(id_column).alias(column), "name").sort(column).collect())
        out[column] = frame
    return out
