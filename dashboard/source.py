"""The data source behind the app, the notebooks and the CLI: settings in, a synced store out.

With no Khoros settings this generates the simulator's world, serves it on a loopback port this process owns
(stopped at exit), and syncs it into the local store through the real client — the same code path as a real
tenant, so the demo exercises everything. With a tenant configured it opens the store and the client; syncing
a tenant is an explicit action (``python -m dashboard sync`` or the Data page), never a side effect of opening
a page.
"""

from __future__ import annotations

import atexit
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.settings import Settings, load_settings

__all__ = ["DEMO_NOTICE", "SIMULATOR_DEMO_LIMIT_PER_MIN", "DataSource", "open_source"]

DEMO_NOTICE = "Demo data — simulated Khoros Care"

# The embedded simulator is ours, not a customer's quota: the demo raises its limits (and the client's) so the
# first start syncs in seconds. Tests and benchmarks of rate-limit behaviour use the documented limits.
SIMULATOR_DEMO_LIMIT_PER_MIN = 100_000

ProgressCallback = Callable[[str, float], None]


@dataclass
class DataSource:
    settings: Settings
    store: Any
    """``dashboard.store.Store`` holding the synced exports."""
    client: Any | None = None
    simulator: Any | None = None
    world: Any | None = None
    sync_summary: Any | None = None
    bot_sync_summary: Any | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def is_demo(self) -> bool:
        return self.simulator is not None

    @property
    def label(self) -> str:
        return DEMO_NOTICE if self.is_demo else f"Khoros Care tenant {self.settings.tenant}"

    def now(self) -> datetime:
        """The instant "now" for live figures: the simulated world's clock in the demo, else the wall clock."""
        if self.world is not None:
            return self.world.now
        return datetime.now(UTC)

    def data_version(self) -> str:
        """Changes whenever the store changes (a sync, an import): the key of every cached load."""
        # Every data write ends with its export's manifest write, so the manifests (and the quarantine files an
        # import adds) say when the store last changed; a page rerun stats a handful of files, not the store.
        root = Path(self.store.root)
        marks = [*root.glob("export=*/_manifest.json"), *root.glob("_quarantine/export=*/*.parquet")]
        newest = max((p.stat().st_mtime_ns for p in marks), default=0)
        return f"{self.settings.tenant}:{newest}:{len(marks)}"

    def scan(self, export_id: str) -> pl.LazyFrame:
        return self.store.scan(export_id)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def _floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _prune_old_demo_stores(store_root: Path, keep: str, *, idle: timedelta = timedelta(hours=6)) -> None:
    """Each demo world has its own store folder; drop the others once nothing has written to them for a while
    (another process — a CLI sync, a second app — may be using a recent one)."""
    if not store_root.is_dir():
        return
    cutoff = (datetime.now(UTC) - idle).timestamp()
    for child in store_root.iterdir():
        if child.is_dir() and child.name.startswith("simulator-") and child.name != keep:
            newest = max((p.stat().st_mtime for p in child.rglob("*")), default=child.stat().st_mtime)
            if newest < cutoff:
                shutil.rmtree(child, ignore_errors=True)


def open_source(
    settings: Settings | None = None,
    *,
    progress: ProgressCallback | None = None,
    world_end: datetime | None = None,
) -> DataSource:
    """Open the configured data source; in demo mode start and sync the simulator first."""
    from dashboard.khoros import KhorosClient
    from dashboard.store import open_store

    settings = settings or load_settings()
    if not settings.use_simulator:
        store = open_store(settings)
        client = KhorosClient.from_settings(settings)
        return DataSource(settings, store, client)

    from dashboard.simulator.app import SimulatorOptions
    from dashboard.simulator.server import start_simulator
    from dashboard.simulator.world import WorldConfig, generate_world
    from dashboard.store.sync import sync, sync_bot_requests

    end = _floor_minute(world_end or settings.simulator_end or datetime.now(UTC))
    settings = settings.with_overrides(
        simulator_end=end,
        rate_analytics_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN,
        rate_care_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN,
    )
    if progress:
        progress("Generating the simulated world", 0.05)
    world = generate_world(
        WorldConfig(
            seed=settings.simulator_seed,
            days=settings.simulator_days,
            conversations_per_day=settings.simulator_conversations_per_day,
            end=end,
            timezone=settings.timezone,
        )
    )
    options = SimulatorOptions(
        analytics_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN,
        care_per_min=SIMULATOR_DEMO_LIMIT_PER_MIN,
        job_seconds=0.0,
    )
    simulator = start_simulator(world, options)
    source = DataSource(settings, None, world=world, simulator=simulator)
    source._closers.append(simulator.stop)
    atexit.register(source.close)

    # The simulator's default credentials are not secrets; they let the client authenticate as with Khoros.
    settings = settings.with_overrides(
        username=options.username, password=options.password, company_key=options.company_key,
        export_time_format=world.config.company_time_format,  # the simulated company's setting, as a tenant's
    )
    source.settings = settings
    store = open_store(settings)
    _prune_old_demo_stores(store.root.parent, keep=store.root.name)
    client = KhorosClient.from_settings(settings, base_url=simulator.base_url)
    source.store, source.client = store, client
    first_day = (end - timedelta(days=settings.simulator_days)).date()
    last_day = end.date()

    def report(message: str, fraction: float) -> None:
        if progress:
            progress(message, 0.1 + 0.9 * fraction)

    source.sync_summary = sync(client, store, first_day, last_day, now=end, progress=lambda m, f: report(m, 0.9 * f))
    # Bot API v3 lists request records of the last 31 days at most: that is what the demo can have too.
    source.bot_sync_summary = sync_bot_requests(
        client, store, app_ids=world.bots["app_id"].to_list(), now=end, progress=lambda m, f: report(m, 0.9 + 0.1 * f)
    )
    return source

