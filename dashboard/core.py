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

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from dashboard.errors import DashboardError, SettingsError
from dashboard.filters import Filters
from dashboard.metrics import agents
from dashboard.metrics.author_panel import AuthorProfile, find_author
from dashboard.metrics.conversations import BOT_RULES, FACT_EXPORTS, conversation_facts, customer_bursts
from dashboard.metrics.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from dashboard.schema import TIME
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

    def __init__(self, source: DataSource, *, policy: Policy | None = None) -> None:
        if source.settings.bot_rule not in BOT_RULES:
            raise SettingsError(f"CARE_DASHBOARD_BOT_RULE must be one of {', '.join(BOT_RULES)}, "
                                f"got {source.settings.bot_rule!r}")
        self.source = source
        self._policy_override = policy
        self._lock = threading.RLock()
        self._memo: dict[tuple, Any] = {}
        self._memo_version: str | None = None
        self._files: dict[str, tuple[tuple, Any]] = {}
        self._expiring: dict[tuple, tuple[float, Any]] = {}

    @classmethod
    def open(cls, settings: Settings | None = None, *, progress: ProgressCallback | None = None,
             demo: str = "fill", refresh_demo: bool = False) -> Dashboard:
        """The configured data source's core. ``demo``: what opening the demo may do — ``fill`` (make, record
        and sync its world the first time), ``record`` (make and record it; the sync CLI syncs), ``read``
        (change nothing; the report) — see :func:`dashboard.source.open_source`."""
        return cls(open_source(settings or load_settings(), progress=progress, demo=demo,
                               refresh_demo=refresh_demo))

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

    def _cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()`` once per data version (one figure at a time: two sessions asking at once wait)."""
        with self._lock:
            version = self.data_version()
            if version != self._memo_version:
                self._memo, self._memo_version = {}, version
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

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
        with self._lock:
            known = self._expiring.get(key)
            if known is None or known[0] < time.monotonic():
                known = (time.monotonic() + ttl_s, compute())
                self._expiring[key] = known
                if len(self._expiring) > MAX_LIVE_ENTRIES:  # bounded: expired answers first, then the oldest
                    now = time.monotonic()
                    for old in [k for k, (until, _) in self._expiring.items() if until < now]:
                        del self._expiring[old]
                    while len(self._expiring) > MAX_LIVE_ENTRIES:
                        del self._expiring[min(self._expiring, key=lambda k: self._expiring[k][0])]
            return known[1]

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

    def facts(self, bot_rule: str | None = None) -> pl.DataFrame:
        """One row per conversation (``dashboard.metrics.conversation_facts``), for the whole store; cached."""
        rule = self.bot_rule(bot_rule)
        return self._cached(("facts", rule, self._tier_key()), lambda: self._facts_plan(
            {e: self.table(e).lazy() for e in FACT_EXPORTS}, rule).collect())

    def facts_lazy(self, bot_rule: str | None = None) -> pl.LazyFrame:
        """The same facts as a plan over the stored files, not collected and not cached: the report CLI's path,
        which reads only the columns it needs (the least memory on a large store)."""
        return self._facts_plan({e: self.scan(e) for e in FACT_EXPORTS}, self.bot_rule(bot_rule))

    def bursts(self, bot_rule: str | None = None) -> pl.DataFrame:
        """One row per customer burst after a reply (next response's grain), with the facts' dimensions."""
        rule = self.bot_rule(bot_rule)
        return self._cached(("bursts", rule, self._tier_key()), lambda: customer_bursts(
            self.table("incoming_post").lazy(), self.table("response").lazy(), self.facts(rule).lazy(),
            bot_rule=rule).collect())

    def bursts_lazy(self, bot_rule: str | None = None) -> pl.LazyFrame:
        rule = self.bot_rule(bot_rule)
        return customer_bursts(self.scan("incoming_post"), self.scan("response"), self.facts_lazy(rule),
                               bot_rule=rule)

    def handling_segments(self) -> pl.DataFrame:
        """When each conversation was in an agent's hands (``dashboard.metrics.occupancy.handling_segments``),
        for the whole store; cached per data version (occupancy and staffing read it)."""
        from dashboard.metrics.occupancy import handling_segments

        return self._cached(("handling_segments",), lambda: handling_segments(
            self.facts("human").lazy(), self.table("incoming_post").lazy(), self.table("response").lazy(),
            self.table("conversation_history_action").lazy()).collect())

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

            client = self.client
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
        return summaries

    def import_files(self, export_id: str, paths: Sequence[Path | str], *, wait_s: float | None = WRITER_WAIT_S
                     ) -> Any:
        """Import export files downloaded from the Khoros UI (``dashboard.store.importer.import_files``), with the
        settings' time format and zone; another writer is waited for ``wait_s`` seconds at most."""
        from dashboard.schema import TimeReading
        from dashboard.store.importer import import_files

        times = TimeReading(self.settings.export_time_format, self.settings.export_timezone)
        return import_files(self.store, export_id, list(paths), times=times, wait_s=wait_s)

    def refresh_demo(self, progress: ProgressCallback | None = None) -> None:
        """Replace the demo world by one ending now, and sync it (only the demo has one)."""
        refresh = getattr(self.source, "refresh", None)
        if refresh is None:
            raise SettingsError("only the demo has a world to refresh; a tenant syncs new days instead")
        with self._lock:
            refresh(progress)
            self._memo, self._memo_version, self._expiring = {}, None, {}
