"""Conversation facts kept with the data: computed after each write of the store for what changed, read by
everyone else.

**What is kept** (under ``facts/``, named by the derived-data manifest, :mod:`dashboard.store._derived`):

- per *fact set* — one per (bot rule, tier source, definition of the facts), its id a digest of the three:
  ``conversations``: :func:`dashboard.metrics.conversation_facts` exactly, one file per day the conversation
  is stored under (its conversation row's day), plus ``conversation_key`` and ``first_event_day`` (the earliest
  day any row of the conversation is stored under: where an update has to start reading); ``bursts``:
  :func:`dashboard.metrics.customer_bursts` (next response's grain), filed under the same days; ``orphans``:
  event rows whose conversation has no conversation row (yet), with their days;
- per fact set and *policy* (its fingerprint and the evaluation code's): the as-of-independent part of the SLA
  evaluation of every conversation and burst (:func:`dashboard.metrics.sla.evaluation_keys`: the matched
  target, the business clock at start and stop, ``breach_at``), one file per day, row for row beside the
  facts file it was computed from; and the daily rollups (:mod:`dashboard.metrics.rollups`);
- the id map: every conversation id ever kept -> ``conversation_key`` (UInt32), appended to, never renumbered,
  so partitions and their evaluations join and merge on integers.

"As of" is never kept: statuses, elapsed times of running clocks and backlogs are computed when read.

**When.** :meth:`FactsKeeper.keep` runs after every sync, import and repair (the core calls it), and when a
reader finds the kept facts out of date (a changed policy, tier file or bot rule; a recompute that was killed)
and may write. A fact set records the day files of the five exports it was computed from; comparing them with
the exports' manifests tells what changed. Only conversations with a row in a changed day file (before or after
the change), and those of authors whose tier versions changed (from the earliest changed version on), are
computed again; the days they are filed under are rewritten. An unchanged policy never recomputes anything; a
changed one recomputes the evaluation and rollups only.

**Atomic.** Every file is new and uniquely named; the manifest is replaced in one step at the end, under the
store's writer lease. A failure or a ``kill -9`` at any point leaves the previous manifest, and with it the
previous facts, in force.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from dashboard.errors import StoreError
from dashboard.metrics import conversations as conv_metrics
from dashboard.metrics import rollups as rollup_metrics
from dashboard.metrics import sla
from dashboard.metrics._fingerprint import code_fingerprint
from dashboard.metrics.conversations import (
    ACTION_COLUMNS,
    BOT_RULES,
    BURST_DIMENSIONS,
    FACT_EXPORTS,
    ID_CHECK,
    ID_HASH,
    KEY,
    POST_COLUMNS,
    RESPONSE_COLUMNS,
    bursts_from_keyed,
    facts_from_keyed,
    id_hashes,
)
from dashboard.metrics.policy import Policy
from dashboard.schema import export_schema
from dashboard.store._store import Store

__all__ = ["FACT_SET_FORMAT", "SLA_METRICS", "FactsKeeper", "KeepReport", "KeptFacts", "TierSource"]

log = logging.getLogger("dashboard.store.facts")

FACT_SET_FORMAT = 1
"""Bumped when what a fact set's files hold changes shape."""
CONVERSATION_KEY = "conversation_key"
FIRST_EVENT_DAY = "first_event_day"
SLA_METRICS = ("first_response", "time_to_assign", "resolution")
"""The metrics evaluated on the conversation facts (next response is evaluated on the bursts)."""
EVENT_EXPORTS = ("incoming_post", "response", "conversation_history_action")
_EVENT_COLUMNS = {"incoming_post": POST_COLUMNS, "response": RESPONSE_COLUMNS,
                  "conversation_history_action": ACTION_COLUMNS}
_DAY = "__day"
MAX_SETS = 4
"""Fact sets kept at once (bot rules, tier sources, definitions); the least recently computed go first."""
MAX_POLICIES = 2
"""Evaluations kept per fact set (the policy in force and the one before)."""
MAX_ID_FILES = 16
"""Id map files before they are merged into one."""

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class TierSource:
    """Where tiers come from, as the facts need it: ``key`` names the source and its version (the attribute's
    name, or a digest of the CRM file's content); ``versions(author)`` turns the author export into
    :func:`dashboard.metrics.conversations.tier_versions`."""

    key: str
    versions: Callable[[pl.LazyFrame], pl.LazyFrame]


@dataclass
class KeepReport:
    """What :meth:`FactsKeeper.keep` did."""

    set_id: str
    kind: str
    """``current`` (nothing to do), ``full``, ``incremental``, ``evaluation`` (a new policy's evaluation only)."""
    seconds: float = 0.0
    conversations: int = 0
    """Conversations computed."""
    days: int = 0
    """Days rewritten."""

    def __str__(self) -> str:
        if self.kind == "current":
            return "facts are current"
        return (f"facts kept ({self.kind}): {self.conversations:,} conversations computed, {self.days} day(s) "
                f"written in {self.seconds:.1f} s")


def facts_code() -> str:
    """The fingerprint of the code that defines the facts (a changed definition keeps a new fact set)."""
    return code_fingerprint(conv_metrics)


def set_id(bot_rule: str, tiers: TierSource) -> str:
    text = f"{FACT_SET_FORMAT}|{bot_rule}|{tiers.key}|{facts_code()}"
    return f"{bot_rule}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def policy_id(policy: Policy, timezone: str) -> str:
    """The id of a kept evaluation: the policy, the evaluation's code, the rollups' time zone and code."""
    text = f"{policy.fingerprint}|{sla.evaluation_code()}|{timezone}|{code_fingerprint(rollup_metrics)}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # LZ4: derived files are rewritten and read far more often than they are stored long; speed over size.
    frame.write_parquet(buffer, compression="lz4", statistics=True)
    return buffer.getvalue()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class KeptFacts:
    """A current fact set as committed, for reading (every path absolute)."""

    store: Store
    set_id: str
    entry: dict[str, Any]
    policy: str | None = None
    """The kept evaluation's id, when it is current for the policy asked about."""

    def _files(self, dataset: str, days: Mapping[str, Any]) -> list[str]:
        return [str(self.store.derived_path(e[dataset]["file"])) for _, e in sorted(days.items())
                if e.get(dataset)]

    def conversations(self, *, with_day: bool = False) -> pl.LazyFrame:
        """Every kept conversation row (the facts' columns, then ``conversation_key`` and ``first_event_day``),
        day by day, each day by key; ``with_day`` adds the day it is filed under (``__day``)."""
        files = self._files("conversations", self.entry["days"])
        if not with_day or not files:
            frame = _scan(self.store, files, kept_facts_schema())
            return frame.with_columns(pl.lit(None, pl.Date).alias(_DAY)) if with_day else frame
        return (self.store.scan_parquet(files, schema=dict(kept_facts_schema()), include_file_paths="_file")
                .with_columns(_day_of_kept()).drop("_file"))

    def bursts(self) -> pl.LazyFrame:
        return _scan(self.store, self._files("bursts", self.entry["days"]), kept_bursts_schema())

    def evaluation(self, dataset: str) -> pl.LazyFrame | None:
        """The kept evaluation columns of ``conversations`` or ``bursts``, row for row (None: none kept)."""
        if self.policy is None:
            return None
        days = self.entry["sla"][self.policy]["days"]
        files = self._files(dataset, days)
        return self.store.scan_parquet(files) if files else None

    def rollups(self) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        """The daily rollups (one row per cell) and the running clocks (:mod:`dashboard.metrics.rollups`), None
        when none are kept."""
        if self.policy is None:
            return None
        days = self.entry["sla"][self.policy]["days"]
        files = self._files("rollups", days)
        if not files:
            return None
        cells = rollup_metrics.merge_rollups([self.store.scan_parquet(f) for f in files]).collect()
        running_files = self._files("running", days)
        running = (self.store.read_parquet(running_files) if running_files else
                   pl.DataFrame(schema={**{c: cells.schema[c] for c in rollup_metrics.CELL}, "metric": pl.String,
                                        "breach_at": pl.Datetime("ms", "UTC")}))
        return cells, running

    def valid_from(self) -> datetime | None:
        """The latest start or stop instant of any clock in the kept facts: the rollups answer from it on."""
        if self.policy is None:
            return None
        marks = [v["valid_from"] for v in self.entry["sla"][self.policy]["days"].values() if v.get("valid_from")]
        return max(datetime.fromisoformat(m) for m in marks) if marks else None

    @property
    def rollup_timezone(self) -> str | None:
        return self.entry["sla"][self.policy].get("timezone") if self.policy else None


def kept_facts_schema() -> pl.Schema:
    return _schemas()[0]


def kept_bursts_schema() -> pl.Schema:
    return _schemas()[1]


_SCHEMAS: list[pl.Schema] = []


def _schemas() -> list[pl.Schema]:
    """The kept files' schemas (from the definitions, on empty inputs)."""
    if not _SCHEMAS:
        from dashboard.schema import export_schema as schema_of

        empty = {e: pl.LazyFrame(schema=schema_of(e).polars_schema) for e in FACT_EXPORTS}
        facts = conv_metrics.conversation_facts(*(empty[e] for e in FACT_EXPORTS)).collect_schema()
        bursts = conv_metrics.customer_bursts(empty["incoming_post"], empty["response"],
                                              pl.LazyFrame(schema=facts)).collect_schema()
        _SCHEMAS[:] = [pl.Schema({**facts, CONVERSATION_KEY: pl.UInt32(), FIRST_EVENT_DAY: pl.Date()}),
                       pl.Schema({**bursts, CONVERSATION_KEY: pl.UInt32()})]
    return _SCHEMAS


def _scan(store: Store, files: list[str], schema: pl.Schema) -> pl.LazyFrame:
    if not files:
        return pl.LazyFrame(schema=schema)
    return store.scan_parquet(files, schema=dict(schema))


# ---- the keeper --------------------------------------------------------------------------------------------


@dataclass
class _Inputs:
    """The readable day files of each export a computation reads (day ISO -> path relative to the root)."""

    files: dict[str, dict[str, str]]

    @classmethod
    def of(cls, store: Store) -> _Inputs:
        out: dict[str, dict[str, str]] = {}
        for export_id in FACT_EXPORTS:
            out[export_id] = {day.isoformat(): rel for day, rel in store.readable_rels(export_id).items()}
        return cls(out)

    def changed(self, before: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, tuple[str | None, str | None]]]:
        out: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        for export_id, now in self.files.items():
            old = before.get(export_id, {})
            diff = {d: (old.get(d), now.get(d)) for d in set(old) | set(now) if old.get(d) != now.get(d)}
            if diff:
                out[export_id] = diff
        return out


@dataclass
class _Computed:
    facts: pl.DataFrame
    """Kept facts rows (with key and first event day) and ``__day``."""
    bursts: pl.DataFrame
    orphans: pl.DataFrame
    """``conversation_id``, ``__day`` of event rows with no conversation row."""
    new_ids: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"conversation_id": pl.String,
                                                                             CONVERSATION_KEY: pl.UInt32}))


class FactsKeeper:
    """Keeps a store's fact sets current (see the module docstring). One per store; the caller holds the
    writer lease around :meth:`keep`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- reading ---------------------------------------------------------------------------------------

    def lookup(self, bot_rule: str, tiers: TierSource, policy: Policy | None = None, timezone: str = "UTC",
               *, current_only: bool = True) -> KeptFacts | None:
        """The kept fact set for ``bot_rule`` and ``tiers`` if it was computed from the day files the exports
        hold now (``current_only=False``: whatever was kept last); ``policy``'s evaluation is attached when it
        is kept for that very set."""
        sid = set_id(bot_rule, tiers)
        entry = self.store.derived().body.get("sets", {}).get(sid)
        if entry is None:
            return None
        if current_only and _Inputs.of(self.store).changed(entry["inputs"]):
            return None
        kept = KeptFacts(self.store, sid, entry)
        if policy is not None:
            pid = policy_id(policy, timezone)
            if pid in entry.get("sla", {}) and _evaluation_covers(entry, pid):
                kept.policy = pid
        return kept

    def kept_rules(self, tiers: TierSource) -> list[str]:
        """The bot rules whose facts are kept for ``tiers`` (whatever their state)."""
        sets = self.store.derived().body.get("sets", {})
        return [r for r in BOT_RULES if set_id(r, tiers) in sets]

    # ---- writing ---------------------------------------------------------------------------------------

    def keep(self, bot_rule: str, tiers: TierSource, policy: Policy, timezone: str, *,
             progress: ProgressCallback | None = None, full: bool = False) -> KeepReport:
        """Bring the fact set of ``bot_rule`` and ``tiers`` and its evaluation under ``policy`` (rollups in
        ``timezone``'s days) current, in one commit; the caller holds the writer lease. ``full``: compute every
        day again."""
        if bot_rule not in BOT_RULES:
            raise ValueError(f"unknown bot rule {bot_rule!r}")
        began = time.perf_counter()

        def report(message: str, fraction: float) -> None:
            if progress:
                progress(message, fraction)

        manifest = self.store.derived()
        expected = manifest.generation
        sets = manifest.body.setdefault("sets", {})
        sid = set_id(bot_rule, tiers)
        pid = policy_id(policy, timezone)
        entry = sets.get(sid)
        inputs = _Inputs.of(self.store)
        changed = inputs.changed(entry["inputs"]) if entry is not None else {}
        staged: list[str] = []
        retire: list[str] = []
        try:
            if entry is not None and not full and not changed:
                if _evaluation_covers(entry, pid):
                    return KeepReport(sid, "current")
                report("Evaluating the kept facts under the policy in force", 0.2)
                stale = [d for d in entry["days"] if not _evaluation_covers(entry, pid, only=d)]
                self._evaluate(entry, sid, pid, policy, timezone, stale, staged, retire)
                kind, computed_n, days_n = "evaluation", 0, len(stale)
            else:
                ids = _IdMap(self.store, manifest.body.setdefault("ids", {}))
                plan = None if (entry is None or full) else self._plan(entry, changed, inputs)
                if plan is None:
                    report("Computing the conversation facts of every stored day", 0.1)
                    computed = self._compute(inputs, None, ids, bot_rule, tiers)
                    days = [d.isoformat() for d in computed.facts.get_column(_DAY).unique().drop_nulls().sort()]
                    frames = _by_day(computed, days, old=None)
                    retire += _entry_files(entry or {})
                    entry = {"bot_rule": bot_rule, "tiers": tiers.key, "code": facts_code(),
                             "format": FACT_SET_FORMAT, "days": {}, "sla": {}}
                    kind = "full"
                else:
                    report(f"Computing the facts of {plan.conversations.height:,} changed conversation(s)", 0.1)
                    computed = self._compute(inputs, plan, ids, bot_rule, tiers)
                    days = sorted(set(plan.days) | {d.isoformat() for d in
                                                    computed.facts.get_column(_DAY).unique().drop_nulls()})
                    frames = _by_day(computed, days, old=KeptFacts(self.store, sid, entry), replace=plan.keys)
                    kind = "incremental"
                report("Writing the kept facts", 0.6)
                self._put_days(entry, sid, frames, staged, retire)
                entry["orphans"] = self._put_orphans(entry, sid, computed.orphans, plan, staged, retire)
                ids.append(computed.new_ids, staged, retire)
                for other in [k for k in entry.get("sla", {}) if k != pid]:
                    retire += _entry_files(entry["sla"].pop(other))  # stale for the days just written
                report("Evaluating them under the policy in force", 0.75)
                stale = [d for d in entry["days"] if d in frames or not _evaluation_covers(entry, pid, only=d)]
                self._evaluate(entry, sid, pid, policy, timezone, stale, staged, retire, written=frames)
                computed_n, days_n = computed.facts.height, len(frames)
            entry["inputs"] = inputs.files
            entry["computed_at"] = _now_iso()
            entry["last"] = {"kind": kind, "seconds": round(time.perf_counter() - began, 3),
                             "conversations": computed_n, "days": days_n}
            if kind == "full":
                entry["full_seconds"] = entry["last"]["seconds"]
            sets[sid] = entry
            for old in _least_recent(sets, keep=MAX_SETS, current=sid):
                retire += _entry_files(sets.pop(old))
            report("Committing the kept facts", 0.95)
            self.store.commit_derived(manifest, expected, staged, retire)
        except BaseException:
            self.store.discard_derived(staged)
            raise
        return KeepReport(sid, kind, time.perf_counter() - began, computed_n, days_n)

    # ---- planning an update ------------------------------------------------------------------------------

    def _plan(self, entry: dict[str, Any], changed: dict[str, dict[str, tuple[str | None, str | None]]],
              inputs: _Inputs) -> _Plan | None:
        """Which conversations to compute again and where to read them (None: compute everything)."""
        store = self.store
        cid = "conversation_id"
        affected: list[pl.DataFrame] = []
        authors: list[pl.DataFrame] = []
        for export_id in ("conversation", *EVENT_EXPORTS, "author"):
            for old, new in changed.get(export_id, {}).values():
                if any(rel is not None and not store.exists(rel) for rel in (old, new)):
                    log.info("facts: a replaced %s file is gone (swept); computing every day again", export_id)
                    return None
                columns = ["author_id", "updated_time"] if export_id == "author" else [cid]
                rows = _changed_rows(store, old, new, columns)
                (authors if export_id == "author" else affected).append(rows)
        kept = KeptFacts(store, "", entry).conversations(with_day=True)
        ids = (pl.concat(affected).unique() if affected else pl.DataFrame(schema={cid: pl.String}))
        tier_time = pl.coalesce("clock_start", "first_inbound_time", "created_time")
        # One pass over the kept rows: those of the changed ids, and those whose tier may have changed (their
        # author has a changed tier version at or before their clock start).
        chosen = pl.col(cid).is_in(ids.get_column(cid).implode())
        if authors:
            since = pl.concat(authors).group_by("author_id").agg(pl.col("updated_time").min().alias("_since"))
            kept = kept.join(since.lazy(), on="author_id", how="left")
            chosen = chosen | (tier_time >= pl.col("_since")).fill_null(False)
        existing = kept.filter(chosen).select(cid, CONVERSATION_KEY, FIRST_EVENT_DAY, _DAY).collect()
        wanted = pl.concat([ids, existing.select(cid)]).unique()
        orphans = self._read_orphans(entry).join(wanted, on=cid, how="semi")
        changed_days = {d for diffs in changed.values() for d in diffs}
        starts = [*existing.get_column(FIRST_EVENT_DAY).drop_nulls().to_list(),
                  *[date.fromisoformat(d) for e, diffs in changed.items() if e in EVENT_EXPORTS for d in diffs],
                  *orphans.get_column(_DAY).to_list()]
        conversation_days = ({d.isoformat() for d in existing.get_column(_DAY).to_list()}
                             | set(changed.get("conversation", {})))
        return _Plan(conversations=wanted, keys=existing.get_column(CONVERSATION_KEY),
                     days=sorted({d.isoformat() for d in existing.get_column(_DAY).to_list()}),
                     conversation_days=sorted(conversation_days),
                     events_from=min(starts).isoformat() if starts else max(changed_days))

    def _read_orphans(self, entry: dict[str, Any]) -> pl.DataFrame:
        empty = pl.DataFrame(schema={"conversation_id": pl.String, _DAY: pl.Date})
        orphans = entry.get("orphans")
        if not orphans:
            return empty
        return self.store.read_parquet(self.store.derived_path(orphans["file"]))

    # ---- computing -----------------------------------------------------------------------------------------

    def _read(self, export_id: str, files: Mapping[str, str], columns: Iterable[str],
              days: Callable[[str], bool] = lambda _: True, keys: pl.Expr | None = None) -> pl.LazyFrame:
        """The rows of ``files`` (day -> path) that ``days`` admits, with ``__day``; de-duplicated on the key as
        :meth:`Store.scan` does (the latest day wins). ``keys``: a filter on the key's columns only, applied to
        each file before the de-duplication (the same rows as after it, since it keeps or drops every version
        of a key alike; each file is filtered as it is read)."""
        schema = export_schema(export_id)
        wanted = list(dict.fromkeys([*schema.key, *columns]))
        if keys is not None and not set(keys.meta.root_names()) <= set(schema.key):
            raise ValueError(f"a filter before the de-duplication of {export_id} must read its key only")
        parts = [self.store.scan_parquet(self.store.derived_path(rel)).select(wanted)
                 .with_columns(pl.lit(date.fromisoformat(day)).alias(_DAY))
                 for day, rel in sorted(files.items()) if days(day)]
        if keys is not None:
            parts = [part.filter(keys) for part in parts]
        if not parts:
            return pl.LazyFrame(schema={**{c: schema.polars_schema[c] for c in wanted}, _DAY: pl.Date()})
        frame = pl.concat(parts, how="vertical_relaxed")
        if len(parts) > 1:
            frame = frame.unique(subset=list(schema.key), keep="last", maintain_order=True)
        return frame

    def _compute(self, inputs: _Inputs, plan: _Plan | None, ids: _IdMap, bot_rule: str,
                 tiers: TierSource) -> _Computed:
        cid = "conversation_id"
        files = inputs.files
        conversation_columns = export_schema("conversation").names
        if plan is None:
            conversations = self._read("conversation", files["conversation"], conversation_columns)
            wanted = None
        else:
            chosen = set(plan.conversation_days)
            wanted = plan.conversations.lazy()
            conversations = self._read("conversation", files["conversation"], conversation_columns,
                                       lambda d: d in chosen,
                                       keys=pl.col(cid).is_in(plan.conversations.get_column(cid).implode()))
        conversations = conversations.collect()
        keyed_conversations, new_ids = ids.key(conversations)
        keys = keyed_conversations.lazy().with_columns(id_hashes())
        events: dict[str, pl.LazyFrame] = {}
        orphans: list[pl.LazyFrame] = []
        for export_id in EVENT_EXPORTS:
            if plan is None:
                rows = self._read(export_id, files[export_id], [cid, *_EVENT_COLUMNS[export_id]])
            else:
                rows = self._read(export_id, files[export_id], [cid, *_EVENT_COLUMNS[export_id]],
                                  lambda d: d >= plan.events_from).join(wanted, on=cid, how="semi")
            joined = (rows.select(cid, _DAY, *_EVENT_COLUMNS[export_id]).with_columns(id_hashes())
                      .join(keys.select(ID_HASH, KEY, pl.col(ID_CHECK).alias("_key_check")), on=ID_HASH,
                            how="left")
                      .with_columns(_matched=(pl.col(ID_CHECK) == pl.col("_key_check")).fill_null(False))
                      .cache())
            events[export_id] = joined.filter("_matched").drop(cid, ID_HASH, ID_CHECK, "_key_check", "_matched")
            orphans.append(joined.filter(~pl.col("_matched")).select(cid, _DAY))
        versions = tiers.versions(self.store.scan("author"))
        conversation = keyed_conversations.lazy()
        facts = facts_from_keyed(conversation, events["incoming_post"], events["response"],
                                 events["conversation_history_action"], versions, bot_rule=bot_rule, keep_key=True)
        first_day = pl.concat([conversation.select(KEY, _DAY), *(e.select(KEY, _DAY) for e in events.values())]
                              ).group_by(KEY).agg(pl.col(_DAY).min().alias(FIRST_EVENT_DAY))
        facts = (facts.join(conversation.select(KEY, _DAY), on=KEY, how="left")
                 .join(first_day, on=KEY, how="left")
                 .rename({KEY: CONVERSATION_KEY}))
        dims = facts.select(pl.col(CONVERSATION_KEY).alias(KEY), cid, *BURST_DIMENSIONS)
        bursts = (bursts_from_keyed(events["incoming_post"], events["response"], dims, bot_rule=bot_rule,
                                    keep_key=True)
                  .join(conversation.select(KEY, _DAY), on=KEY, how="left")
                  .rename({KEY: CONVERSATION_KEY}))
        facts_frame, bursts_frame, orphan_frame = pl.collect_all(
            [facts.sort(_DAY, CONVERSATION_KEY), bursts.sort(_DAY, CONVERSATION_KEY, "burst_index"),
             pl.concat(orphans).unique()], engine="in-memory")
        facts_frame = facts_frame.select(*kept_facts_schema().names(), _DAY)
        return _Computed(facts_frame, bursts_frame, orphan_frame, new_ids)

    # ---- writing the days, the orphans, the evaluation -------------------------------------------------------

    def _put_days(self, entry: dict[str, Any], sid: str, frames: dict[str, tuple[pl.DataFrame, pl.DataFrame]],
                  staged: list[str], retire: list[str]) -> None:
        files: dict[tuple[str, str], pl.DataFrame] = {}
        for day, (facts, bursts) in frames.items():
            old = entry["days"].get(day, {})
            retire += _entry_files(old)
            if facts.height == 0:
                entry["days"].pop(day, None)
                continue
            files[(day, "conversations")] = facts
            if bursts.height:
                files[(day, "bursts")] = bursts
        written = self._write_many({(day, dataset): (f"{sid}/{dataset}/day={day}/part", frame)
                                    for (day, dataset), frame in files.items()}, staged)
        for (day, dataset), item in written.items():
            if dataset == "conversations":
                entry["days"][day] = {}
            entry["days"][day][dataset] = item

    def _write(self, name: str, frame: pl.DataFrame, staged: list[str]) -> dict[str, Any]:
        return self._write_many({name: (name, frame)}, staged)[name]

    def _write_many(self, files: Mapping[Any, tuple[str, pl.DataFrame]], staged: list[str]) -> dict[Any, Any]:
        """Write new derived files (label -> (name, frame)); returns label -> their manifest item, in the order
        given. The Parquet encoding runs on two threads (Polars and SHA-256 release the GIL: a one-day update
        writes some 90 small files); the files are written by this thread, which holds the writer lease."""
        def encode(frame: pl.DataFrame) -> tuple[bytes, str]:
            data = _parquet(frame)
            return data, hashlib.sha256(data).hexdigest()

        labels = list(files)
        frames = [files[label][1] for label in labels]
        out: dict[Any, Any] = {}
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="facts-encode") as pool:
            # Written as they come (in order), so the encoded bytes do not pile up in memory.
            for label, frame, (data, digest) in zip(labels, frames, pool.map(encode, frames), strict=True):
                rel = self.store.write_derived_file(files[label][0], data)
                staged.append(rel)
                out[label] = {"file": rel, "rows": frame.height, "bytes": len(data), "sha256": digest}
        return out

    def _put_orphans(self, entry: dict[str, Any], sid: str, found: pl.DataFrame, plan: _Plan | None,
                     staged: list[str], retire: list[str]) -> dict[str, Any] | None:
        cid = "conversation_id"
        old = entry.get("orphans")
        orphans = found if plan is None else pl.concat(
            [self._read_orphans(entry).join(plan.conversations, on=cid, how="anti"), found])
        if old and old.get("file"):
            retire.append(old["file"])
        orphans = orphans.unique().sort(cid, _DAY)
        return self._write(f"{sid}/orphans", orphans, staged) if orphans.height else None

    def _evaluate(self, entry: dict[str, Any], sid: str, pid: str, policy: Policy, timezone: str,
                  days: Iterable[str], staged: list[str], retire: list[str],
                  written: Mapping[str, tuple[pl.DataFrame, pl.DataFrame]] | None = None) -> None:
        """Evaluate ``days`` of the set's kept facts under ``policy`` and roll them up; file them under ``pid``
        (days the set no longer holds leave it). ``written``: the facts and bursts of days just filed, exactly
        as written (read from memory, not decoded again from their files)."""
        written = written or {}

        def stored(dataset: str, day: str) -> pl.LazyFrame:
            if day in written:
                return written[day][0 if dataset == "conversations" else 1].lazy()
            return kept.store.scan_parquet(kept.store.derived_path(entry["days"][day][dataset]["file"]))

        slot = entry.setdefault("sla", {}).get(pid) or {"policy": policy.fingerprint, "timezone": timezone,
                                                        "days": {}}
        kept = KeptFacts(self.store, sid, entry)
        wanted = [d for d in sorted(set(days)) if d in entry["days"]]
        for day in [d for d in slot["days"] if d not in entry["days"] or d in wanted]:
            retire += _entry_files(slot["days"].pop(day))
        if wanted:
            facts = pl.concat([stored("conversations", d).with_columns(pl.lit(d).alias("_stored")) for d in wanted])
            keys = pl.concat([sla.evaluation_keys(facts, policy, m) for m in SLA_METRICS], how="horizontal")
            evaluated = pl.concat([facts, keys], how="horizontal")
            times = [pl.col(c).max() for c in rollup_metrics.EVENT_TIMES]
            keys_frame, rollups, running, marks = pl.collect_all([
                pl.concat([facts.select("_stored"), keys], how="horizontal"),
                rollup_metrics.daily_rollups(evaluated, policy, timezone, also_by=["_stored"]),
                rollup_metrics.running_clocks(evaluated, policy, timezone, also_by=["_stored"]),
                facts.group_by("_stored").agg(pl.max_horizontal(*times).alias("valid_from")),
            ], engine="in-memory")
            burst_days = [d for d in wanted if entry["days"][d].get("bursts")]
            burst_keys = None
            if burst_days:
                bursts = pl.concat([stored("bursts", d).with_columns(pl.lit(d).alias("_stored")) for d in burst_days])
                burst_keys = pl.concat([bursts.select("_stored"), sla.evaluation_keys(bursts, policy,
                                                                                      "next_response")],
                                       how="horizontal").collect(engine="in-memory")
            valid = dict(marks.iter_rows())
            keys_by = keys_frame.partition_by("_stored", as_dict=True, include_key=False)
            rollups_by = rollups.partition_by("_stored", as_dict=True, include_key=False)
            running_by = running.partition_by("_stored", as_dict=True, include_key=False)
            bursts_by = (burst_keys.partition_by("_stored", as_dict=True, include_key=False)
                         if burst_keys is not None else {})
            files: dict[tuple[str, str], tuple[str, pl.DataFrame]] = {}
            for day in wanted:
                files[(day, "conversations")] = (f"{sid}/sla-{pid}/conversations/day={day}/part", keys_by[(day,)])
                for dataset, by in (("rollups", rollups_by), ("running", running_by), ("bursts", bursts_by)):
                    if (day,) in by and (dataset != "bursts" or entry["days"][day].get("bursts")):
                        files[(day, dataset)] = (f"{sid}/sla-{pid}/{dataset}/day={day}/part", by[(day,)])
            written = self._write_many(files, staged)
            for day in wanted:
                item: dict[str, Any] = {
                    "conversations": {**written[(day, "conversations")],
                                      "of": entry["days"][day]["conversations"]["file"]},
                    "valid_from": valid[day].isoformat() if valid.get(day) is not None else None,
                }
                for dataset in ("rollups", "running"):
                    if (day, dataset) in written:
                        item[dataset] = written[(day, dataset)]
                if (day, "bursts") in written:
                    item["bursts"] = {**written[(day, "bursts")], "of": entry["days"][day]["bursts"]["file"]}
                slot["days"][day] = item
        entry["sla"][pid] = slot
        while len(entry["sla"]) > MAX_POLICIES:
            oldest = next(k for k in entry["sla"] if k != pid)
            retire += _entry_files(entry["sla"].pop(oldest))


@dataclass
class _Plan:
    conversations: pl.DataFrame
    """``conversation_id`` of every conversation to compute again."""
    keys: pl.Series
    """The keys of those already kept (their rows leave their days)."""
    days: list[str]
    """Days those kept rows are filed under."""
    conversation_days: list[str]
    """Days of the conversation export to read."""
    events_from: str
    """The first day of the event exports to read."""


def _changed_rows(store: Store, old: str | None, new: str | None, columns: list[str]) -> pl.DataFrame:
    """``columns`` of the rows in one of two versions of a day file (names relative to the store) and not in the
    other (a row whose value changed is in both lists): what a change of that day touches. Rows are compared by
    two independent 64-bit hashes of all their values."""
    def rows(rel: str) -> pl.LazyFrame:
        everything = pl.struct(pl.all())
        return store.scan_parquet(store.location(rel)).select(*columns, everything.hash().alias("_h1"),
                                                              everything.hash(seed=0x5EED).alias("_h2"))

    if old is None or new is None:
        return store.read_parquet(store.location(new or old), columns=columns)  # type: ignore[arg-type]
    a, b = rows(old), rows(new)
    on = ["_h1", "_h2"]
    return pl.concat([a.join(b, on=on, how="anti"), b.join(a, on=on, how="anti")]).select(columns).collect()


def _day_of_kept() -> pl.Expr:
    return pl.col("_file").str.extract(r"day=(\d{4}-\d{2}-\d{2})").str.to_date().alias(_DAY)


def _by_day(computed: _Computed, days: list[str], old: KeptFacts | None,
            replace: pl.Series | None = None) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """The facts and bursts of each of ``days`` as they are to be filed: the computed rows, and for an update
    the kept rows of the day but those computed again."""
    out: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    facts_by = computed.facts.partition_by(_DAY, as_dict=True, include_key=False)
    bursts_by = computed.bursts.partition_by(_DAY, as_dict=True, include_key=False)
    facts_schema, bursts_schema = kept_facts_schema(), kept_bursts_schema()
    for day in days:
        d = date.fromisoformat(day)
        facts = facts_by.get((d,), pl.DataFrame(schema=facts_schema))
        bursts = bursts_by.get((d,), pl.DataFrame(schema=bursts_schema))
        if old is not None and day in old.entry["days"]:
            entry = old.entry["days"][day]
            gone = pl.col(CONVERSATION_KEY).is_in(replace.implode()) if replace is not None else pl.lit(False)
            kept = old.store.read_parquet(old.store.derived_path(entry["conversations"]["file"])).filter(~gone)
            facts = pl.concat([kept, facts.select(kept.columns)]).sort(CONVERSATION_KEY)
            if entry.get("bursts"):
                kept_bursts = (old.store.read_parquet(old.store.derived_path(entry["bursts"]["file"]))
                               .filter(~gone))
                bursts = pl.concat([kept_bursts, bursts.select(kept_bursts.columns)]).sort(CONVERSATION_KEY,
                                                                                         "burst_index")
        out[day] = (facts.select(facts_schema.names()), bursts.select(bursts_schema.names()))
    return out


def _entry_files(entry: Any) -> list[str]:
    return list(dict.fromkeys(_named(entry)))


def _named(value: Any):
    from dashboard.store._derived import named_files

    return named_files(value)


def _evaluation_covers(entry: dict[str, Any], pid: str, only: str | None = None) -> bool:
    """Whether the kept evaluation ``pid`` was computed from the very facts and bursts files the set holds (of
    every day, or of day ``only``)."""
    days = entry.get("sla", {}).get(pid, {}).get("days", {})
    for day, facts in entry["days"].items():
        if only is not None and day != only:
            continue
        item = days.get(day)
        if item is None or item.get("conversations", {}).get("of") != facts["conversations"]["file"]:
            return False
        if facts.get("bursts") and item.get("bursts", {}).get("of") != facts["bursts"]["file"]:
            return False
    return only is not None or set(days) == set(entry["days"])


def _least_recent(sets: dict[str, Any], *, keep: int, current: str) -> list[str]:
    others = sorted((k for k in sets if k != current), key=lambda k: sets[k].get("computed_at", ""))
    return others[: max(0, len(sets) - keep)]


class _IdMap:
    """conversation_id -> conversation_key (UInt32), kept in the store: appended to, never renumbered."""

    def __init__(self, store: Store, body: dict[str, Any]) -> None:
        self.store = store
        self.body = body
        self.body.setdefault("files", [])
        self.body.setdefault("next_key", 0)
        self._frame: pl.DataFrame | None = None

    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            files = [str(self.store.derived_path(f["file"])) for f in self.body["files"]]
            self._frame = (self.store.read_parquet(files) if files
                           else pl.DataFrame(schema={"conversation_id": pl.String, CONVERSATION_KEY: pl.UInt32}))
        return self._frame

    def key(self, conversations: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """``conversations`` with :data:`KEY` from the map (new ids get the next keys), and the new ids."""
        cid = "conversation_id"
        known = (conversations.lazy().with_columns(id_hashes())
                 .join(self.frame().lazy().with_columns(id_hashes()).select(ID_HASH, pl.col(ID_CHECK).alias("_chk"),
                                                                            CONVERSATION_KEY),
                       on=ID_HASH, how="left")
                 .with_columns(pl.when(pl.col(ID_CHECK) == pl.col("_chk")).then(pl.col(CONVERSATION_KEY))
                               .alias(CONVERSATION_KEY))
                 .sort(CONVERSATION_KEY, nulls_last=True)
                 .unique(subset=[cid, _DAY], keep="first", maintain_order=True)
                 .drop(ID_HASH, ID_CHECK, "_chk").collect())
        fresh = known.filter(pl.col(CONVERSATION_KEY).is_null()).select(cid).unique(maintain_order=True)
        start = int(self.body["next_key"])
        if start + fresh.height >= 2**32:
            raise StoreError("more than 4 billion conversation ids: the facts' keys are 32-bit")
        new_ids = fresh.with_columns((pl.int_range(pl.len(), dtype=pl.UInt32) + start).alias(CONVERSATION_KEY))
        keyed = (known.join(new_ids.rename({CONVERSATION_KEY: "_new"}), on=cid, how="left")
                 .with_columns(pl.coalesce(CONVERSATION_KEY, "_new").alias(KEY)).drop(CONVERSATION_KEY, "_new"))
        return keyed, new_ids

    def append(self, new_ids: pl.DataFrame, staged: list[str], retire: list[str]) -> None:
        if new_ids.height == 0:
            return
        files = self.body["files"]
        if len(files) + 1 > MAX_ID_FILES:  # merged into one file (the old ones retired)
            merged = pl.concat([self.frame(), new_ids])
            retire += [f["file"] for f in files]
            files.clear()
            frames = [merged]
        else:
            frames = [new_ids]
        for frame in frames:
            data = _parquet(frame)
            rel = self.store.write_derived_file("ids/conversation", data)
            staged.append(rel)
            files.append({"file": rel, "rows": frame.height, "bytes": len(data)})
        self.body["next_key"] = int(self.body["next_key"]) + new_ids.height
        self._frame = None
