"""The core: one object per process (and per tenant) that every consumer asks for data, as datasette's
``Datasette`` is for its views.

Pages (through ``dashboard.ui``'s loaders), the report, sync and import CLIs, the notebooks, the benchmarks and
the tests' helpers all get their store, policy, tiers, conversation facts and "now" here, so two of them can
never disagree. What it owns:

- the data source (:mod:`dashboard.source`: a tenant, the demo world, or tables in memory) and its store;
- the SLA policy: parsed once, parsed again when its file changes (``CARE_DASHBOARD_POLICY``);
- the customer tier source, one code path: the CRM file (``KHOROS_TIER_FILE``) when set, else the author
  export's attribute (``KHOROS_TIER_ATTRIBUTE``; Author API attributes arrive as author versions there);
- the conversation facts per bot rule, the next-response bursts and reference names, cached per data version
  (a sync or an import changes the version; the cache then starts again);
- ``now()``: the demo world's recorded end, else the wall clock.

Designed for what comes next: facts kept in the store (a :class:`Dashboard` method reads them instead of
computing them), several tenants (one core each, keyed by its settings), digests (the views take a core, not
Streamlit), sign-in (the UI decides who may see which core's pages).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from dashboard._memo import MEMO_MAX_BYTES, MEMO_MAX_ENTRIES, BoundedMemo
from dashboard.errors import DashboardError, SettingsError, StoreBusy
from dashboard.filters import Filters
from dashboard.metrics import agents
from dashboard.metrics.author_panel import AuthorProfile, find_author
from dashboard.metrics.conversations import (
    BOT_RULES,
    FACT_EXPORTS,
    conversation_facts,
    customer_bursts,
    tier_versions,
)
from dashboard.metrics.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from dashboard.metrics.sla import evaluation_keys
from dashboard.schema import TIME, export_schema
from dashboard.settings import Settings, load_settings
from dashboard.source import DataSource, ProgressCallback, TablesSource, open_source

__all__ = ["Dashboard"]

T = TypeVar("T")
log = logging.getLogger("dashboard.core")
BOT_HEALTH_TTL_S = 30.0
WRITER_WAIT_S = 30.0
"""How long a page's sync or import waits for another writer of the store (a CLI sync) before it says who."""
TOKEN_TTL_S = 300.0
TAR_TTL_S = 60.0
MAX_LIVE_ENTRIES = 128
"""Live answers kept at once (bot health, token expiry, currentTAR per range and filters); the oldest go first."""
MAX_TAR_RANGE = timedelta(days=365)


class Dashboard:
    """The core (see the module docstring). Make one with :meth:`open` (settings -> data source) or
    :meth:`from_tables` (export tables in memory); it is safe to share between threads."""

    def __init__(self, source: DataSource, *, policy: Policy | None = None, keep: bool = True) -> None:
        if source.settings.bot_rule not in BOT_RULES:
            raise SettingsError(f"CARE_DASHBOARD_BOT_RULE must be one of {', '.join(BOT_RULES)}, "
                                f"got {source.settings.bot_rule!r}")
        self.source = source
        self._policy_override = policy
        self.may_keep = keep and source.store is not None
        """Whether this core may write kept facts into the store (a reader that must change nothing may not)."""
        self._lock = threading.RLock()
        self._memo = BoundedMemo(MEMO_MAX_ENTRIES, MEMO_MAX_BYTES)
        self._memo_version: str | None = None
        self._files: dict[str, tuple[tuple, Any]] = {}
        self._expiring: dict[tuple, tuple[float, Any]] = {}
        self._expiring_locks: dict[tuple, threading.Lock] = {}

    @classmethod
    def open(cls, settings: Settings | None = None, *, progress: ProgressCallback | None = None,
             demo: str = "fill", refresh_demo: bool = False) -> Dashboard:
        """The configured data source's core. ``demo``: what opening the demo may do — ``fill`` (make, record
        and sync its world the first time), ``record`` (make and record it; the sync CLI syncs), ``read``
        (change nothing; the report) — see :func:`dashboard.source.open_source`."""
        core = cls(open_source(settings or load_settings(), progress=progress, demo=demo,
                               refresh_demo=refresh_demo), keep=demo != "read")
        if core.is_demo and demo == "fill":
            # The demo's first start fills its store: its facts are kept right away, so the first page is fast.
            core.keep_facts(progress=progress)
        return core

    @classmethod
    def for_store(cls, root: Path | str, *, settings: Settings | None = None, keep: bool = True) -> Dashboard:
        """A core over a store that is there already, a folder or a bucket URL (benchmarks, tests, a replica):
        no client, the wall clock."""
        from dashboard.source import StoreSource
        from dashboard.store._objects import is_store_url

        return cls(StoreSource(root if is_store_url(root) else Path(root), settings or Settings()), keep=keep)

    @classmethod
    def from_tables(cls, tables: Mapping[str, pl.LazyFrame | pl.DataFrame], *, settings: Settings | None = None,
                    now: datetime | None = None, policy: Policy | None = None) -> Dashboard:
        """A core over export tables in memory (a hand-made world, a benchmark's files): no store, no client."""
        return cls(TablesSource(tables, settings or Settings(), now), policy=policy)

    # ---- the source -------------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.source.settings

    @property
    def is_demo(self) -> bool:
        return self.source.is_demo

    @property
    def label(self) -> str:
        return self.source.label

    @property
    def store(self) -> Any:
        """``dashboard.store.Store`` (None for tables in memory)."""
        return self.source.store

    @property
    def client(self) -> Any:
        """The Khoros client (the demo's talks to the simulator in this process); None when there is none."""
        return self.source.client

    def now(self) -> datetime:
        """The instant live figures are computed at: the demo world's end, else the wall clock."""
        return self.source.now()

    def data_version(self) -> str:
        return self.source.data_version()

    def default_filters(self, days: int = 28, **kwargs: Any) -> Filters:
        """The last ``days`` local days up to today in the configured time zone, with the configured bot rule."""
        kwargs.setdefault("bot_rule", self.settings.bot_rule)
        return Filters.last_days(self.now(), kwargs.pop("tz", self.settings.timezone), days, **kwargs)

    def close(self) -> None:
        self.source.close()

    # ---- caches -----------------------------------------------------------------------------------------

    def _cached(self, key: tuple, compute: Callable[[], T], *, counted: bool = True) -> T:
        """``compute()`` once per data version (one figure at a time: two sessions asking at once wait); the
        memo is bounded (:class:`BoundedMemo`): the least recently used figure goes first."""
        with self._lock:
            version = self.data_version()
            if version != self._memo_version:
                self._memo.clear()
                self._memo_version = version
            found, value = self._memo.get(key)
            if not found:
                value = compute()
                self._memo.put(key, value, counted=counted)
                after = self.data_version()
                if after != version and _exports_part(after) == _exports_part(version):
                    # Only the kept facts changed while computing: this computation kept them itself (or read
                    # what another process just kept, from the same stored data); the memo stays valid.
                    self._memo_version = after
            return value

    def _from_file(self, name: str, path: Path, read: Callable[[Path], T]) -> T:
        """``read(path)``, again only when the file changes (its modification time or size)."""
        try:
            stat = path.stat()
            mark: tuple = (str(path), stat.st_mtime_ns, stat.st_size)
        except OSError:
            mark = (str(path), None, None)
        with self._lock:
            known = self._files.get(name)
            if known is None or known[0] != mark:
                known = (mark, read(path))
                self._files[name] = known
            return known[1]

    def _expiring_value(self, key: tuple, ttl_s: float, compute: Callable[[], T]) -> T:
        """``compute()`` at most once per ``ttl_s`` per key. It runs outside the core's lock (a live call may wait
        on the network: every other figure of every session goes on meanwhile); sessions asking for the same key
        at once wait for one call."""
        with self._lock:
            known = self._expiring.get(key)
            if known is not None and known[0] >= time.monotonic():
                return known[1]
            key_lock = self._expiring_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                known = self._expiring.get(key)
                if known is not None and known[0] >= time.monotonic():
                    return known[1]  # another session computed it while this one waited
            value = compute()
            with self._lock:
                self._expiring[key] = (time.monotonic() + ttl_s, value)
                if len(self._expiring) > MAX_LIVE_ENTRIES:  # bounded: expired answers first, then the oldest
                    now = time.monotonic()
                    for old in [k for k, (until, _) in self._expiring.items() if until < now]:
                        del self._expiring[old]
                    while len(self._expiring) > MAX_LIVE_ENTRIES:
                        del self._expiring[min(self._expiring, key=lambda k: self._expiring[k][0])]
                if len(self._expiring_locks) > 2 * MAX_LIVE_ENTRIES:  # bounded too: locks of dropped answers
                    for old in [k for k, lock in self._expiring_locks.items()
                                if k not in self._expiring and not lock.locked()]:
                        del self._expiring_locks[old]
            return value

    # ---- tables -----------------------------------------------------------------------------------------

    def scan(self, export_id: str) -> pl.LazyFrame:
        """All stored rows of an export, lazily (each use reads the files)."""
        return self.source.scan(export_id)

    def table(self, export_id: str) -> pl.DataFrame:
        """All stored rows of an export, read once per data version. A day file that turns out damaged only
        while its rows are read is looked at closely, set aside and left out (``store.damaged()`` names it)."""
        return self._cached(("table", export_id),
                            lambda: self.despite_damage(lambda: self.scan(export_id).collect(), [export_id]))

    def despite_damage(self, compute: Callable[[], T], exports: Sequence[str] | None = None) -> T:
        """``compute()`` (which reads stored files); if a file turns out damaged only while its rows are read
        (the cheap checks of a scan passed), the files are read closely, damaged ones set aside, and
        ``compute()`` runs once more without them."""
        try:
            return compute()
        except (pl.exceptions.ComputeError, OSError, pl.exceptions.PanicException):
            store = self.store
            if store is None or not store.check(exports, deep=True):
                raise
            log.warning("damaged day file(s) left out: %s", store.damaged().select("export", "day", "reason").rows())
            return compute()

    def damaged(self) -> pl.DataFrame:
        """Stored days that could not be read (export, day, file, reason, source, set_aside, at): left out of
        every figure until a sync or ``python -m dashboard repair`` fetches them again. Empty without a store."""
        store = self.store
        if store is None:
            from dashboard.store import DAMAGED_SCHEMA

            return pl.DataFrame(schema=DAMAGED_SCHEMA)
        return store.damaged()

    # ---- policy and tiers -------------------------------------------------------------------------------

    @property
    def policy_path(self) -> Path:
        return Path(self.settings.policy_path) if self.settings.policy_path else DEFAULT_POLICY_PATH

    def policy(self) -> Policy:
        """The SLA policy in force (``CARE_DASHBOARD_POLICY``, else the shipped default)."""
        if self._policy_override is not None:
            return self._policy_override
        return self._from_file("policy", self.policy_path, load_policy)

    @property
    def tier_order(self) -> tuple[str, ...]:
        """Tiers best served first, as the policy names them."""
        return self.policy().tier_order

    def alert_rules(self) -> list:
        """The ``[[alerts]]`` of the policy file (``dashboard.alerts.AlertRule``)."""
        from dashboard.alerts import load_alert_rules

        return self._from_file("alerts", self.policy_path, load_alert_rules)

    def _tier_file(self) -> pl.DataFrame | None:
        if self.settings.tier_file is None:
            return None
        from dashboard.tiers import load_tier_file

        return self._from_file("tiers", Path(self.settings.tier_file), load_tier_file)

    def _tier_arguments(self, author: pl.LazyFrame) -> dict[str, Any]:
        """How ``conversation_facts`` and the author panel get tiers: the CRM file, else the attribute."""
        crm = self._tier_file()
        if crm is not None:
            return {"tier_table": crm.lazy()}
        attribute = self.settings.tier_attribute
        columns = author.collect_schema().names()
        if attribute not in columns:
            raise SettingsError(f"KHOROS_TIER_ATTRIBUTE {attribute!r} is not a column of the author export "
                                f"(columns: {', '.join(columns)})")
        return {"tier_attribute": attribute}

    def tier_versions(self) -> pl.LazyFrame:
        """``author_id``, ``updated_time``, ``tier``: each author's tier from when it applied, from the tier
        source in force."""
        author = self.table("author").lazy()
        arguments = self._tier_arguments(author)
        if "tier_table" in arguments:
            crm = arguments["tier_table"]
            # (as conversation_facts reads it: a row without a time applies from the beginning)
            when = pl.col("updated_time") if "updated_time" in crm.collect_schema().names() else pl.lit(0)
            return crm.select(pl.col("author_id").cast(pl.String),
                              when.cast(TIME).fill_null(pl.lit(0).cast(TIME)).alias("updated_time"),
                              pl.col("tier").cast(pl.String))
        return author.select("author_id", "updated_time", pl.col(arguments["tier_attribute"]).cast(pl.String)
                             .alias("tier"))

    # ---- facts ------------------------------------------------------------------------------------------

    def bot_rule(self, bot_rule: str | None = None) -> str:
        rule = bot_rule or self.settings.bot_rule
        if rule not in BOT_RULES:
            raise SettingsError(f"unknown bot rule {rule!r}; use one of {', '.join(BOT_RULES)}")
        return rule

    def _tier_key(self) -> tuple:
        crm = self.settings.tier_file
        if crm is None:
            return ("attribute", self.settings.tier_attribute)
        self._tier_file()  # (re)reads a changed file, so the key below is the version the facts will use
        return ("file", *self._files["tiers"][0])

    def _facts_plan(self, tables: Mapping[str, pl.LazyFrame], bot_rule: str) -> pl.LazyFrame:
        t = tables
        return conversation_facts(t["conversation"], t["incoming_post"], t["response"],
                                  t["conversation_history_action"], t["author"], bot_rule=bot_rule,
                                  **self._tier_arguments(t["author"]))

    def _tier_source(self) -> Any:
        """The tier source as the kept facts name it (``dashboard.store.facts.TierSource``)."""
        from dashboard.store.facts import TierSource

        crm = self.settings.tier_file
        if crm is None:
            key = f"attribute:{self.settings.tier_attribute}"
        else:
            self._tier_file()  # a file that cannot be read says so here, as it would where tiers are joined
            digest = self._from_file("tiers-digest", Path(crm), lambda p: hashlib.sha256(p.read_bytes()).hexdigest())
            key = f"file:{digest[:16]}"
        return TierSource(key, lambda author: tier_versions(author, **self._tier_arguments(author)))

    def _keeper(self) -> Any:
        from dashboard.store.facts import FactsKeeper

        return FactsKeeper(self.store)

    def keep_facts(self, bot_rules: Sequence[str] | None = None, *, progress: ProgressCallback | None = None,
                   wait_s: float | None = None, full: bool = False) -> list[Any]:
        """Bring the facts kept in the store current (``dashboard.store.facts``): for ``bot_rules`` (default: the
        configured one and every one kept before), with the policy in force; computes only what changed.
        Holds the writer lease (waits ``wait_s`` at most, then ``StoreBusy``); returns a ``KeepReport`` each.
        Every sync, import and repair calls it; nothing to do when nothing changed."""
        store = self.store
        if store is None or not self.may_keep:
            return []
        keeper = self._keeper()
        tiers = self._tier_source()
        rules = [self.bot_rule(r) for r in (bot_rules or [self.settings.bot_rule, *keeper.kept_rules(tiers)])]
        reports = []
        with store.writer("keep the conversation facts", wait_s=wait_s):
            for rule in dict.fromkeys(rules):
                reports.append(keeper.keep(rule, tiers, self.policy(), self.settings.timezone, progress=progress,
                                           full=full))
        return reports

    def _kept(self, rule: str) -> Any:
        """The kept facts of ``rule`` to read (``dashboard.store.facts.KeptFacts``), current when this core can
        make them so; else the previous ones while another writer is busy (they stay in force until it has
        kept them); None when there are none to read (or this core must not use out-of-date ones)."""
        store = self.store
        if store is None:
            return None
        keeper, tiers, policy, tz = self._keeper(), self._tier_source(), self.policy(), self.settings.timezone
        kept = keeper.lookup(rule, tiers, policy, tz)
        if kept is not None and kept.policy is not None:
            return kept
        if self.may_keep:
            try:
                with store.writer("keep the conversation facts", wait_s=0):
                    keeper.keep(rule, tiers, policy, tz)
                return keeper.lookup(rule, tiers, policy, tz)
            except StoreBusy:
                log.info("facts of bot rule %s are being kept by another writer; reading the previous ones", rule)
                return kept or keeper.lookup(rule, tiers, policy, tz, current_only=False)
        return kept

    def _facts_frame(self, rule: str) -> pl.DataFrame:
        """The facts of ``rule`` with the policy's kept evaluation columns (``sla.kept_columns``)."""
        def compute() -> pl.DataFrame:
            kept = self._kept(rule)
            if kept is not None:
                facts = kept.conversations().drop("conversation_key", "first_event_day").collect()
                evaluation = kept.evaluation("conversations")
                if evaluation is not None:
                    return facts.hstack(evaluation.collect())
            else:
                facts = self._facts_plan({e: self.table(e).lazy() for e in FACT_EXPORTS}, rule).collect()
            # no kept evaluation for this policy (tables in memory; a reader): computed here, same definitions
            return facts.hstack(_evaluation_keys(facts, self.policy(), SLA_METRICS))
        return self._cached(("facts", rule, self._tier_key(), self.policy().fingerprint),
                            lambda: self.despite_damage(compute))

    def facts(self, bot_rule: str | None = None) -> pl.DataFrame:
        """One row per conversation (``dashboard.metrics.conversation_facts``), for the whole store: the facts
        kept in the store (brought current first when they are not and this core may write), cached."""
        rule = self.bot_rule(bot_rule)
        frame = self._facts_frame(rule)  # first: it may change the data version (kept facts just committed)
        return self._cached(("facts-columns", rule, self._tier_key(), self.policy().fingerprint),
                            lambda: frame.select(FACT_COLUMNS), counted=False)

    def facts_with_sla(self, bot_rule: str | None = None) -> pl.DataFrame:
        """:meth:`facts` with the policy's kept evaluation of each metric (columns starting with
        ``sla.KEPT_PREFIX``), which ``sla.evaluate`` reads instead of evaluating every row again: the views'
        frame. The extra columns never belong in a download (select the columns you show)."""
        return self._facts_frame(self.bot_rule(bot_rule))

    def facts_lazy(self, bot_rule: str | None = None) -> pl.LazyFrame:
        """The same facts as a plan over the stored files, not collected and not cached: the report CLI's path,
        which reads only the columns it needs (the least memory on a large store). The kept facts when they
        are current (with the policy's kept evaluation), else a plan over the exports."""
        rule = self.bot_rule(bot_rule)
        kept = self._current_kept(rule)
        if kept is not None:
            return pl.concat([kept.conversations().select(FACT_COLUMNS), kept.evaluation("conversations")],
                             how="horizontal")
        return self._facts_plan({e: self.scan(e) for e in FACT_EXPORTS}, rule)

    def check_kept_facts(self, bot_rule: str | None = None) -> list[str]:
        """Compare the kept facts, bursts and evaluation of ``bot_rule`` with those computed from the stored
        exports now; returns what differs (empty: they are current and equal). Changes nothing."""
        rule = self.bot_rule(bot_rule)
        kept = self._current_kept(rule)
        if kept is None:
            return [f"the facts of bot rule {rule!r} under the policy in force are not kept for the stored data "
                    "(`python -m dashboard facts` keeps them)"]
        cid = "conversation_id"
        raw = self._facts_plan({e: self.scan(e) for e in FACT_EXPORTS}, rule).collect()
        facts = kept.conversations().select(FACT_COLUMNS).collect()
        problems = _differences("facts", facts, raw, [cid])
        raw_bursts = customer_bursts(self.scan("incoming_post"), self.scan("response"), raw.lazy(),
                                     bot_rule=rule).collect()
        bursts = kept.bursts().select(BURST_COLUMNS).collect()
        problems += _differences("bursts", bursts, raw_bursts, [cid, "burst_index"])
        evaluation = kept.evaluation("conversations")
        if evaluation is not None:
            problems += _differences("evaluation", evaluation.collect(),
                                     _evaluation_keys(facts, self.policy(), SLA_METRICS), [])
        return problems

    def _current_kept(self, rule: str) -> Any:
        """The kept facts of ``rule`` if they are current, with this policy's evaluation (None otherwise)."""
        if self.store is None:
            return None
        kept = self._keeper().lookup(rule, self._tier_source(), self.policy(), self.settings.timezone)
        return kept if kept is not None and kept.policy is not None else None

    def _bursts_frame(self, rule: str) -> pl.DataFrame:
        def compute() -> pl.DataFrame:
            kept = self._kept(rule)
            if kept is not None:
                bursts = kept.bursts().drop("conversation_key").collect()
                evaluation = kept.evaluation("bursts")
                if evaluation is not None:
                    return bursts.hstack(evaluation.collect())
            else:
                bursts = customer_bursts(self.table("incoming_post").lazy(), self.table("response").lazy(),
                                         self.facts(rule).lazy(), bot_rule=rule).collect()
            return bursts.hstack(_evaluation_keys(bursts, self.policy(), ("next_response",)))
        return self._cached(("bursts", rule, self._tier_key(), self.policy().fingerprint),
                            lambda: self.despite_damage(compute))

    def bursts(self, bot_rule: str | None = None) -> pl.DataFrame:
        """One row per customer burst after a reply (next response's grain), with the facts' dimensions."""
        rule = self.bot_rule(bot_rule)
        frame = self._bursts_frame(rule)
        return self._cached(("bursts-columns", rule, self._tier_key(), self.policy().fingerprint),
                            lambda: frame.select(BURST_COLUMNS), counted=False)

    def bursts_with_sla(self, bot_rule: str | None = None) -> pl.DataFrame:
        """:meth:`bursts` with the policy's kept evaluation of next response (see :meth:`facts_with_sla`)."""
        return self._bursts_frame(self.bot_rule(bot_rule))

    def bursts_lazy(self, bot_rule: str | None = None) -> pl.LazyFrame:
        rule = self.bot_rule(bot_rule)
        kept = self._current_kept(rule)
        if kept is not None and kept.evaluation("bursts") is not None:
            return pl.concat([kept.bursts().select(BURST_COLUMNS), kept.evaluation("bursts")], how="horizontal")
        return customer_bursts(self.scan("incoming_post"), self.scan("response"), self.facts_lazy(rule),
                               bot_rule=rule)

    def handling_segments(self) -> pl.DataFrame:
        """When each conversation was in an agent's hands (``dashboard.metrics.occupancy.handling_segments``),
        for the whole store; cached per data version (occupancy and staffing read it)."""
        from dashboard.metrics.occupancy import handling_segments

        return self._cached(("handling_segments",), lambda: handling_segments(
            self.facts("human").lazy(), self.table("incoming_post").lazy(), self.table("response").lazy(),
            self.table("conversation_history_action").lazy()).collect())

    def rollups(self, bot_rule: str | None = None) -> Any:
        """The daily rollups of the kept facts under the policy in force (``dashboard.metrics.rollups``): ``(cells,
        running clocks, the zone of their days, the instant from which they answer)``, or None when none are kept
        for the current data (then every figure comes from the facts)."""
        rule = self.bot_rule(bot_rule)

        def compute() -> Any:
            kept = self._kept(rule)
            if kept is None or kept.policy is None:
                return None
            kept_rollups = kept.rollups()
            if kept_rollups is None:
                return None
            return (*kept_rollups, kept.rollup_timezone, kept.valid_from())
        return self._cached(("rollups", rule, self._tier_key(), self.policy().fingerprint), compute)

    # ---- reference names --------------------------------------------------------------------------------

    def agent_names(self) -> pl.DataFrame:
        """``agent_id`` -> ``agent_name`` (the latest name in ``raw_agent_states``)."""
        return self._cached(("agent_names",), lambda: agents.agent_names(self.table("raw_agent_states")))

    def reference_names(self) -> dict[str, pl.DataFrame]:
        """Readable names per facts id column: ``{"agent_id": (agent_id, agent_name), "work_queue_id": (id,
        name), "team_id": (id, name)}`` — agents from ``raw_agent_states``, work queues and teams from the reference
        data the last sync listed (``dashboard.store.reference``; an id no longer listed keeps its last name)."""
        from dashboard.store.reference import reference_names

        listed = self._cached(("reference_names",), lambda: reference_names(self.scan))
        return {"agent_id": self.agent_names(), **listed}

    # ---- one author (the iFrame panel) ------------------------------------------------------------------

    def author_profile(self, author_id: str, *, network: str | None = None,
                       handle: str | None = None) -> AuthorProfile | None:
        """The author as of now, with the tier from the tier source in force."""
        return find_author(self.table("author").lazy(), self.now(), author_id, network=network, handle=handle,
                           tier_table=self.tier_versions())

    # ---- Khoros' own view of the bots (live, briefly cached) ---------------------------------------------

    def _live(self, key: tuple, ttl_s: float, call: Callable[[Any], T], unknown: T) -> tuple[T, str]:
        """``call(client)`` at most once per ``ttl_s``: (its answer, ""), or (``unknown``, why) when there is no
        client or the call failed. A Khoros error says why; any other failure is logged, not shown."""
        def ask() -> tuple[T, str]:
            from dashboard.khoros import KhorosError

            client = self.source.live_client
            if client is None:
                return unknown, "no Khoros client"
            try:
                return call(client), ""
            except (DashboardError, KhorosError) as exc:  # scrubbed messages: method, URL without query, status
                return unknown, str(exc)[:200]
            except Exception:  # a bug: logged with its traceback, never shown
                log.exception("live Khoros call %s failed", key[0])
                return unknown, "internal error (logged)"

        return self._expiring_value(key, ttl_s, ask)

    def bot_health(self, app_id: str) -> tuple[str, str]:
        """Khoros' health state of an app and a detail (GET /bots/v3/health); ("unavailable", why) on failure."""
        health, why = self._live(("bot_health", app_id), BOT_HEALTH_TTL_S, lambda c: c.bot_health(app_id), None)
        if health is None:
            return "unavailable", why
        return health.status, f"{health.failure_count} failures, {health.success_count} successes"

    def bot_token_expiry(self, app_id: str) -> tuple[datetime | None, str]:
        """The app's Bot API token expiry (never the token), or None and the reason it is unknown."""
        return self._live(("bot_token", app_id), TOKEN_TTL_S, lambda c: c.bot_token(app_id).expires_at, None)

    def current_tar(self, since: datetime, *, priorities: Sequence[int] = (),
                    work_queue_ids: Sequence[int] = ()) -> tuple[tuple[dict[str, Any], datetime] | None, str]:
        """Khoros' own "time to agent response" (``GET /api/v2/bots/currentTAR``, FIRST and SUBSEQUENT) for the
        live range from ``since`` to now, with the priority and work-queue filters: ((``{"FIRST": CurrentTar,
        "SUBSEQUENT": ...}``, the instant the range ended), "") — or (None, why) when there is no client or the
        call failed. On the demo the call goes to the in-process simulator; on a tenant it is live. Cached
        ``TAR_TTL_S`` per range start and filters (with the other live answers, at most ``MAX_LIVE_ENTRIES``)."""
        priorities, queues = tuple(int(p) for p in priorities), tuple(int(q) for q in work_queue_ids)

        def call(client: Any) -> tuple[dict[str, Any], datetime]:
            at = self.now()
            if since >= at:
                raise SettingsError(f"the range starts at {since:%Y-%m-%d %H:%M} UTC, after now")
            span = min(at - since, MAX_TAR_RANGE)
            return client.current_tars(span, priorities=priorities, work_queue_ids=queues), at

        return self._live(("current_tar", since, priorities, queues), TAR_TTL_S, call, None)

    # ---- writing: sync, import, a new demo world ---------------------------------------------------------

    def sync(self, start: date, end: date, exports: Sequence[str], *, bot_days: int = 31,
             progress: ProgressCallback | None = None, wait_s: float | None = WRITER_WAIT_S) -> list[Any]:
        """Fetch the chosen exports for [start, end] (and the last ``bot_days`` days of bot request records) into
        the store; returns the ``SyncSummary`` of each part. Another writer of the store (a CLI sync) is waited
        for ``wait_s`` seconds at most; then a ``StoreBusy`` names it."""
        from dashboard.store import sync as store_sync

        summaries = []
        analytics = tuple(e for e in exports if e != "bot_request")
        if analytics:
            summaries.append(store_sync.sync(self.client, self.store, start, end, exports=analytics, now=self.now(),
                                             progress=progress, wait_s=wait_s))
        if "bot_request" in exports:
            summaries.append(store_sync.sync_bot_requests(self.client, self.store, app_ids=self.source.bot_app_ids(),
                                                          days=bot_days, now=self.now(), progress=progress,
                                                          wait_s=wait_s))
        if analytics:
            self.keep_facts(progress=progress, wait_s=wait_s)
        return summaries

    def import_files(self, export_id: str, paths: Sequence[Path | str], *, wait_s: float | None = WRITER_WAIT_S
                     ) -> Any:
        """Import export files downloaded from the Khoros UI (``dashboard.store.importer.import_files``), with the
        settings' time format and zone; another writer is waited for ``wait_s`` seconds at most."""
        from dashboard.schema import TimeReading
        from dashboard.store.importer import import_files

        times = TimeReading(self.settings.export_time_format, self.settings.export_timezone)
        report = import_files(self.store, export_id, list(paths), times=times, wait_s=wait_s)
        if export_id in FACT_EXPORTS:
            self.keep_facts(wait_s=wait_s)
        return report

    def refresh_demo(self, progress: ProgressCallback | None = None) -> None:
        """Replace the demo world by one ending now, and sync it (only the demo has one)."""
        refresh = getattr(self.source, "refresh", None)
        if refresh is None:
            raise SettingsError("only the demo has a world to refresh; a tenant syncs new days instead")
        with self._lock:
            refresh(progress)
            self._memo.clear()
            self._memo_version, self._expiring = None, {}
        self.keep_facts(progress=progress)


SLA_METRICS = ("first_response", "time_to_assign", "resolution")


def _differences(what: str, kept: pl.DataFrame, fresh: pl.DataFrame, order: list[str]) -> list[str]:
    if kept.columns != fresh.columns:
        return [f"{what}: columns {kept.columns} kept, {fresh.columns} computed"]
    if kept.height != fresh.height:
        return [f"{what}: {kept.height:,} rows kept, {fresh.height:,} computed from the stored exports"]
    a, b = (kept.sort(order), fresh.sort(order)) if order else (kept, fresh)
    return [f"{what}: column {c} differs in {int((~a[c].eq_missing(b[c])).sum()):,} row(s)"
            for c in a.columns if not a[c].equals(b[c])]


def _exports_part(version: str) -> str:
    """The part of a data version that the exports' commits change (the rest: the kept facts')."""
    return version.split("|facts:", 1)[0]


def _evaluation_keys(frame: pl.DataFrame, policy: Policy, metrics: Sequence[str]) -> pl.DataFrame:
    lazy = frame.lazy()
    return pl.concat([evaluation_keys(lazy, policy, m) for m in metrics], how="horizontal").collect()


def _columns_of_facts() -> list[str]:
    empty = {e: pl.LazyFrame(schema=export_schema(e).polars_schema) for e in FACT_EXPORTS}
    return conversation_facts(*(empty[e] for e in FACT_EXPORTS)).collect_schema().names()


FACT_COLUMNS = _columns_of_facts()
"""The columns of :meth:`Dashboard.facts`, in order."""
BURST_COLUMNS = customer_bursts(pl.LazyFrame(schema=export_schema("incoming_post").polars_schema),
                                pl.LazyFrame(schema=export_schema("response").polars_schema),
                                conversation_facts(*(pl.LazyFrame(schema=export_schema(e).polars_schema)
                                                     for e in FACT_EXPORTS))).collect_schema().names()
"""The columns of :meth:`Dashboard.bursts`, in order."""
