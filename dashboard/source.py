"""Where the data comes from: a Khoros Care tenant, the bundled simulator's demo world, or tables in memory.

This is the only module that imports :mod:`dashboard.simulator`. The core (:mod:`dashboard.core`) opens one
source per process and asks it for the store, the client and "now"; nothing else starts a simulator.

The demo is one world per data folder (and seed and size). The first process to open it generates the world,
records its start and end instants in the store (``_demo_world.json``), serves it to the client in-process (an
ASGI transport: no port, no server thread) and syncs it into the store through the real client — the code path a
tenant takes. Every later process, and every restart, finds the record and the filled store and reuses them:
the same world, the same "now", the same figures, without generating anything. The world itself is generated
again (deterministically, from the record) only when something needs the simulator: a sync, or Khoros' own
bot health on the Automation page.

**The demo's clock advances by syncing new days, not by regenerating history.** The simulator's world is
prefix-stable (``dashboard.simulator.world``): the same seed, size, zone and start with a later end is the same
world up to the earlier end. :meth:`DemoSource.advance` records a later end and syncs the longer world's new and
unsettled days into the store, exactly as a tenant's next sync would; the history stays. When it happens:

- **the app (and a notebook) on start**: opening the demo to show it (``demo="fill"``) brings it up to now when
  its clock is more than :data:`ADVANCE_AFTER` behind — unless ``CARE_DASHBOARD_SIMULATOR_END`` pins it;
- **the Data page's "Bring the demo up to now"** button, at any time;
- **never** in the report, ``notify``, ``import`` or the sync CLI: they read (``read``) or sync (``record``) the
  recorded world as it is.

Every process reads "now" from the record (re-read when the file changes), so a page open while another process
advanced the demo moves on with it at its next run: the app, the CLI and a notebook always agree. The record is
the commit point: written with the later end only once the new days are in the store (``advancing_to`` says an
advance is under way; the next fill completes one that was interrupted). ``refresh`` (the Data page's "New demo
world", ``sync --new-demo-world``) replaces the world by a new one ending now; so does opening a store whose world
came from another generator version, or a pinned end that differs.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.errors import SettingsError, StoreError
from dashboard.schema import export_schema
from dashboard.settings import Settings, load_settings
from dashboard.store import Store, open_store

__all__ = [
    "ADVANCE_AFTER",
    "DEMO_MODES",
    "DEMO_NOTICE",
    "DEMO_RECORD",
    "LIVE_RETRY",
    "LIVE_TIMEOUT_S",
    "SIMULATOR_DEMO_LIMIT_PER_MIN",
    "DataSource",
    "DemoSource",
    "DemoWorld",
    "StoreSource",
    "TablesSource",
    "TenantSource",
    "open_source",
]

DEMO_NOTICE = "Demo data — simulated Khoros Care"
DEMO_RECORD = "_demo_world.json"
"""The demo world's record, in the demo store's folder."""
ADVANCE_AFTER = timedelta(minutes=15)
"""Opening the demo to show it brings its clock up to now when it is more than this behind (a restart minutes
later reuses the world as it is)."""

# The embedded simulator is ours, not a customer's quota: the demo raises its limits (and the client's) so the
# first start syncs in seconds. Tests and benchmarks of rate-limit behaviour use the documented limits.
SIMULATOR_DEMO_LIMIT_PER_MIN = 100_000
SIMULATOR_BASE_URL = "http://simulator.invalid"
"""The in-process simulator's address: never resolved (the transport calls the ASGI app directly)."""

ProgressCallback = Callable[[str, float], None]

LIVE_TIMEOUT_S = 5.0
"""The longest a call a page waits on may take (connecting included)."""
LIVE_RETRY = {"attempts": 2, "throttled_attempts": 1, "base_s": 0.25, "cap_s": 1.0, "max_retry_after_s": 0.0}
"""``dashboard.khoros.RetryPolicy`` of those calls: one more try after a network error or a 5xx, none after a
429 (the page says Khoros is busy; the answer is asked again when its cache expires)."""


class DataSource:
    """What the core needs from a data source. ``settings`` are the ones the store and client use (for the
    demo: its credentials, limits and world end)."""

    settings: Settings
    is_demo: bool = False

    @property
    def label(self) -> str:
        return f"Khoros Care tenant {self.settings.tenant} ({self.settings.host})"

    @property
    def store(self) -> Store | None:
        return None

    @property
    def client(self) -> Any | None:
        """The Khoros client (``dashboard.khoros.KhorosClient``), made on first use; None when there is none."""
        return None

    @property
    def live_client(self) -> Any | None:
        """The client for calls a page waits on (Khoros' own health, token expiry, current TAR): the same as
        :attr:`client` unless a source needs one that gives up sooner."""
        return self.client

    def now(self) -> datetime:
        """The instant "now" for live figures."""
        return datetime.now(UTC)

    def scan(self, export_id: str) -> pl.LazyFrame:
        store = self.store
        if store is None:
            raise StoreError(f"this data source has no store to read {export_id!r} from")
        return store.scan(export_id)

    def data_version(self) -> str:
        """Changes whenever the stored data changes (a sync, an import): the key of every cached figure."""
        store = self.store
        if store is None:
            return "no-store"
        # Every write of the store is a commit of an export's manifest: a rerun stats a handful of files.
        return store.data_version()

    def bot_app_ids(self) -> list[str] | None:
        """The bots whose request records a sync fetches (None: the configured ``KHOROS_BOT_APP_ID``)."""
        return None

    def close(self) -> None:
        """Release what the source started (client, simulator transport)."""


class TenantSource(DataSource):
    """A Khoros Care tenant: its store, and a client made when a sync or a live call needs one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = open_store(settings)
        self._client: Any | None = None
        self._live_client: Any | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        return self._store

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from dashboard.khoros import KhorosClient

                self._client = KhorosClient.from_settings(self.settings)
            return self._client

    @property
    def live_client(self) -> Any:
        """A client that gives up soon (:data:`LIVE_RETRY`, :data:`LIVE_TIMEOUT_S`, no response cache): a page
        waiting on Khoros' answer, with Khoros down or throttling, shows "unavailable" within seconds instead of
        after the sync client's patient retries (about 11 s of backoff on a refused connection)."""
        with self._lock:
            if self._live_client is None:
                from dashboard.khoros import KhorosClient, RetryPolicy

                self._live_client = KhorosClient.from_settings(self.settings, retry=RetryPolicy(**LIVE_RETRY),
                                                               use_cache=False, timeout_s=LIVE_TIMEOUT_S)
            return self._live_client

    def close(self) -> None:
        with self._lock:
            for client in (self._client, self._live_client):
                if client is not None:
                    client.close()
            self._client = self._live_client = None


class StoreSource(DataSource):
    """A store folder that is there already (benchmarks, tests, a copy of a tenant's store): no client."""

    def __init__(self, root: Path | str, settings: Settings) -> None:
        self.settings = settings
        self._store = Store(root)

    @property
    def label(self) -> str:
        return f"Store {self._store.name}"

    @property
    def store(self) -> Store:
        return self._store


class TablesSource(DataSource):
    """Export tables held in memory (a golden world, a benchmark's files): no store, no client, a fixed now."""

    def __init__(self, tables: Mapping[str, pl.LazyFrame | pl.DataFrame], settings: Settings,
                 now: datetime | None = None) -> None:
        self.settings = settings
        self._tables = {k: v.lazy() for k, v in tables.items()}
        self._now = now
        self._version = f"tables:{id(self)}"

    @property
    def label(self) -> str:
        return "Tables in memory"

    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(UTC)

    def scan(self, export_id: str) -> pl.LazyFrame:
        if export_id in self._tables:
            return self._tables[export_id]
        return pl.LazyFrame(schema=export_schema(export_id).polars_schema)

    def data_version(self) -> str:
        return self._version


# ------------------------------------------------------------------------------------------------------------
# The demo world


@dataclass(frozen=True)
class DemoWorld:
    """The record of the demo world a store holds: what generates it again, and whether the store is full."""

    seed: int
    days: int
    conversations_per_day: int
    timezone: str
    end: datetime
    """The world's "now" (UTC, to the minute): the same for every process; later once the demo advances."""
    synced: bool = False
    """True once the whole world (to ``end``) is in the store."""
    start: datetime | None = None
    """The world's first instant, fixed when the world was made (records written before: ``end - days``)."""
    generator: int = 1
    """The simulator generator version the store's rows came from (records written before said none: 1)."""
    advancing_to: datetime | None = None
    """An advance under way to this end (its new days not all in the store yet)."""

    @property
    def first(self) -> datetime:
        return self.start or self.end - timedelta(days=self.days)

    @classmethod
    def read(cls, store: Store) -> DemoWorld | None:
        raw = store.read_object(DEMO_RECORD)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            times = {k: datetime.fromisoformat(data[k]).astimezone(UTC) for k in ("end", "start", "advancing_to")
                     if data.get(k)}
            return cls(**{**data, "start": None, "advancing_to": None, **times})
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"{store.location(DEMO_RECORD)} is damaged ({exc}); delete it to make a new demo "
                             "world") from None

    def write(self, store: Store) -> None:
        body = {**asdict(self), **{k: v.isoformat() for k, v in asdict(self).items() if isinstance(v, datetime)}}
        store.write_object(DEMO_RECORD, json.dumps(body, indent=1).encode())


def _floor_minute(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(second=0, microsecond=0)


def _clear_store(store: Store) -> None:
    """Everything a demo world put in its store (the folder and its lock files stay), as its one writer."""
    store.remove(["export=", "_quarantine", "_damaged", "_failures.json", "facts", DEMO_RECORD])


_OLD_DEMO_FOLDER = re.compile(r"^simulator-seed\d+-d\d+-c\d+-\d{8}T\d{4}$")


def _prune_old_demo_stores(store_root: Path, *, idle: timedelta = timedelta(hours=6)) -> None:
    """Before one world per data folder, each demo start made a store folder named after its end minute; drop
    those once nothing has written to them for a while (an older process may still be using a recent one)."""
    if not store_root.is_dir():
        return
    cutoff = (datetime.now(UTC) - idle).timestamp()
    for child in store_root.iterdir():
        if child.is_dir() and _OLD_DEMO_FOLDER.match(child.name):
            newest = max((p.stat().st_mtime for p in child.rglob("*")), default=child.stat().st_mtime)
            if newest < cutoff:
                shutil.rmtree(child, ignore_errors=True)


class DemoSource(DataSource):
    """The bundled simulator's world, recorded in (and synced into) the demo store."""

    is_demo = True

    def __init__(self, settings: Settings, store: Store, record: DemoWorld) -> None:
        self._base_settings = settings
        self._store = store
        self._lock = threading.RLock()
        self._world: Any | None = None
        self._client: Any | None = None
        self._moving = False
        self._mark: tuple[int, int] | None = self._record_mark()
        self._use(record)

    def _use(self, record: DemoWorld) -> None:
        self.record = record
        # The simulator's default credentials are not secrets; they let the client authenticate as with Khoros.
        # The world's end is part of the tenant name the client's response cache uses: each world its own.
        from dashboard.simulator.world import WorldConfig

        self.settings = self._base_settings.with_overrides(
            simulator_end=record.end, username="demo", password="demo", company_key="demo",  # noqa: S106
            rate_analytics_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN, rate_care_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN,
            # The simulated company's time format setting, read the way a tenant's is (the world keeps the default).
            export_time_format=WorldConfig.company_time_format,
        )

    def _record_mark(self) -> tuple[int, int] | None:
        if not self._store.is_local:  # a bucket: the record's bytes (a few hundred) stand for its version
            raw = self._store.read_object(DEMO_RECORD)
            return None if raw is None else (hash(raw), len(raw))
        try:
            stat = (self._store.root / DEMO_RECORD).stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _current(self) -> DemoWorld:
        """The record as stored now: another process may have advanced (or replaced) the world since this one
        read it; then this source follows it (its simulator is made again for the new end when next needed)."""
        mark = self._record_mark()
        if mark is None or mark == self._mark or self._moving:
            return self.record
        with self._lock:
            if self._moving:
                return self.record
            stored = DemoWorld.read(self._store)
            self._mark = mark
            if stored is not None and (stored.end, stored.first, stored.generator) != (
                    self.record.end, self.record.first, self.record.generator):
                self._drop_simulator()
                self._use(stored)
            elif stored is not None:
                self.record = stored
            return self.record

    @property
    def label(self) -> str:
        # A simulated tenant of the tenants file is named: two demo worlds side by side are told apart.
        return f"{DEMO_NOTICE} (tenant {self.settings.tenant_name})" if self.settings.listed else DEMO_NOTICE

    @property
    def store(self) -> Store:
        return self._store

    def now(self) -> datetime:
        return self._current().end

    def data_version(self) -> str:
        # The recorded end is part of it: an advance changes every live figure even where no stored row changed.
        return f"{self._store.data_version()}:{self._current().end:%Y%m%dT%H%M}"

    @property
    def world(self) -> Any:
        """The simulator's world (``dashboard.simulator.world.World``), generated from the record on first use."""
        with self._lock:
            if self._world is None:
                from dashboard.simulator.world import WorldConfig, generate_world

                r = self.record
                self._world = generate_world(WorldConfig(
                    seed=r.seed, days=r.days, conversations_per_day=r.conversations_per_day, timezone=r.timezone,
                    start=r.first, end=r.end))
            return self._world

    @property
    def client(self) -> Any:
        """A client of the simulator serving :attr:`world` in this process (no port)."""
        with self._lock:
            self._current()
            if self._client is None:
                self._client = self.new_client()
            return self._client

    def new_client(self, **client_options: Any) -> Any:
        """A client of its own (``KhorosClient.from_settings`` options, e.g. ``use_cache=False``) talking to a
        simulator app of its own on :attr:`world`, in process; closing the client closes its transport."""
        from dashboard.khoros import KhorosClient
        from dashboard.khoros._http import InProcessASGITransport
        from dashboard.simulator.app import SimulatorOptions, create_app

        options = SimulatorOptions(analytics_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN,
                                   care_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN, job_seconds=0.0)
        transport = InProcessASGITransport(create_app(self.world, options))
        return KhorosClient.from_settings(self.settings, base_url=SIMULATOR_BASE_URL, transport=transport,
                                          **client_options)

    def bot_app_ids(self) -> list[str]:
        return self.world.bots["app_id"].to_list()

    def _sync_world(self, progress: ProgressCallback | None, start_fraction: float) -> None:
        """Sync the world of the record in hand into the store: every day of it that is missing or unsettled (the
        rest is not fetched again), its bot request records, and the names of its work queues and teams."""
        from dashboard.store.sync import sync, sync_bot_requests

        def report(message: str, fraction: float) -> None:
            if progress:
                progress(message, start_fraction + (1 - start_fraction) * fraction)

        r = self.record
        report("Generating the simulated world", 0.0)
        apps = self.bot_app_ids()
        sync(self.client, self._store, r.first.date(), r.end.date(), now=r.end,
             progress=lambda m, f: report(m, 0.05 + 0.85 * f))
        # Bot API v3 lists request records of the last 31 days at most: that is what the demo can have too.
        sync_bot_requests(self.client, self._store, app_ids=apps, now=r.end,
                          progress=lambda m, f: report(m, 0.9 + 0.1 * f))

    def fill(self, progress: ProgressCallback | None = None) -> None:
        """Sync the whole world into the store (what is there already is not fetched again), then record it."""
        with self._lock:
            self._sync_world(progress, 0.05)
            self.record = replace(self.record, synced=True)
            self.record.write(self._store)
            self._mark = self._record_mark()

    def advance(self, progress: ProgressCallback | None = None, *, end: datetime | None = None) -> bool:
        """Bring the world's clock to ``end`` (default: now, to the minute): sync the new and unsettled days of the
        longer world into the store — as a tenant's next sync would — then record the later end. The history
        stays (the world is prefix-stable). Returns False when the clock is there already. A world that would
        pass the simulator's longest span (two years) is made anew instead (:meth:`refresh`)."""
        with self._lock, self._store.lock("demo-world"):
            return self._advance_locked(progress, end)

    def _advance_locked(self, progress: ProgressCallback | None, end: datetime | None) -> bool:
        """:meth:`advance` for a caller holding the store's ``demo-world`` lock."""
        from dashboard.simulator.world import GENERATOR, MAX_SPAN

        target = _floor_minute(end or datetime.now(UTC))
        with self._lock:
            stored = DemoWorld.read(self._store) or self.record
            if stored.generator != GENERATOR:
                raise SettingsError("the demo store holds a world of an older simulator; make a new demo world")
            target = max(target, stored.advancing_to or target)
            if target <= stored.end:
                self._adopt(stored)
                return False
            if target - stored.first > MAX_SPAN:
                self._refresh_locked(progress, target)
                return True
            with self._store.writer("bring the demo world up to now"):
                self._moving = True
                try:
                    replace(stored, advancing_to=target).write(self._store)  # an advance under way
                    self._drop_simulator()
                    self._use(replace(stored, end=target, synced=False, advancing_to=None))
                    self._sync_world(progress, 0.0)
                    # The commit point: every process now reads the later end.
                    self.record = replace(self.record, synced=True)
                    self.record.write(self._store)
                finally:
                    self._moving = False
                    self._mark = None  # read the record again: it is the one written (or, after a failure, not)
            return True

    def _adopt(self, stored: DemoWorld) -> None:
        if (stored.end, stored.first) != (self.record.end, self.record.first):
            self._drop_simulator()
            self._use(stored)
        self._mark = self._record_mark()

    def behind(self, now: datetime | None = None) -> timedelta:
        """How far the demo's clock is behind ``now`` (default: the wall clock)."""
        return (now or datetime.now(UTC)) - self._current().end

    def refresh(self, progress: ProgressCallback | None = None, *, end: datetime | None = None) -> None:
        """Replace the demo world by a new one ending ``end`` (default now), and sync it."""
        with self._lock, self._store.lock("demo-world"):
            self._refresh_locked(progress, end)

    def _refresh_locked(self, progress: ProgressCallback | None, end: datetime | None) -> None:
        self._drop_simulator()
        _clear_store(self._store)
        self._use(_new_record(self._base_settings, end))
        self.record.write(self._store)
        self._mark = self._record_mark()
        self.fill(progress)

    def _drop_simulator(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._world = None

    def close(self) -> None:
        with self._lock:
            self._drop_simulator()


def _new_record(settings: Settings, end: datetime | None) -> DemoWorld:
    from dashboard.simulator.world import GENERATOR

    last = _floor_minute(end or settings.simulator_end or datetime.now(UTC))
    return DemoWorld(seed=settings.simulator_seed, days=settings.simulator_days,
                     conversations_per_day=settings.simulator_conversations_per_day, timezone=settings.timezone,
                     end=last, start=last - timedelta(days=settings.simulator_days), generator=GENERATOR)


DEMO_MODES = ("fill", "record", "read")


def _open_demo(settings: Settings, *, progress: ProgressCallback | None, mode: str, refresh: bool) -> DemoSource:
    if mode not in DEMO_MODES:
        raise ValueError(f"demo mode must be one of {', '.join(DEMO_MODES)}, got {mode!r}")
    store = open_store(settings)
    if mode == "read" and not refresh:
        # A reader changes nothing: the stored world as recorded (an empty store: a world ending now, unrecorded).
        return DemoSource(settings, store, DemoWorld.read(store) or _new_record(settings, None))
    if store.is_local:
        _prune_old_demo_stores(store.root.parent)
    from dashboard.simulator.world import GENERATOR

    # One process makes (or completes) the world; the others wait here and then reuse it.
    with store.lock("demo-world"):
        record = DemoWorld.read(store)
        pinned = settings.simulator_end is not None and (record is None
                                                         or record.end != _floor_minute(settings.simulator_end))
        if refresh or record is None or pinned or record.generator != GENERATOR:
            _clear_store(store)
            record = _new_record(settings, None)
            record.write(store)
        source = DemoSource(settings, store, record)
        try:
            if mode == "fill" and not record.synced:
                source.fill(progress)
            # The app and notebooks show the demo up to now: an interrupted advance is completed, a clock more
            # than ADVANCE_AFTER behind is brought forward (not a pinned one: tests and screenshots pin it).
            if mode == "fill" and settings.simulator_end is None and (
                    record.advancing_to is not None or source.behind() > ADVANCE_AFTER):
                source._advance_locked(progress, None)
        except BaseException:
            source.close()
            raise
    return source


def open_source(
    settings: Settings | None = None,
    *,
    progress: ProgressCallback | None = None,
    demo: str = "fill",
    refresh_demo: bool = False,
) -> DataSource:
    """The configured data source; a tenant is never synced as a side effect of opening it.

    ``demo`` says what opening the demo may do: ``fill`` (the app, notebooks) makes and records the world and
    syncs all of it into the store the first time; ``record`` (the sync CLI) makes and records it but leaves the
    syncing to the caller; ``read`` (the report) changes nothing and reads what is stored. ``refresh_demo``
    replaces the recorded world by one ending now."""
    settings = settings or load_settings()
    if not settings.use_simulator:
        return TenantSource(settings)
    source = _open_demo(settings, progress=progress, mode=demo, refresh=refresh_demo)
    atexit.register(source.close)
    return source
