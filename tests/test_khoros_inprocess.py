"""The in-process transport: the client talks to the simulator's ASGI app without a port or a server thread,
and gets exactly what it gets over real HTTP — the same store, the same request counts, dropped connections
retried like on a socket."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard import schema
from dashboard.khoros import KhorosClient, PollPolicy
from dashboard.khoros._http import InProcessASGITransport
from dashboard.settings import Settings
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.server import start_simulator
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.store import Store
from dashboard.store.sync import DEFAULT_EXPORTS, sync

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 10), END.date()
FAST_POLL = PollPolicy(first_delay_s=0.01, factor=2.0, max_delay_s=0.2, timeout_s=30.0)
OPTIONS = dict(analytics_per_min=100_000, care_per_min=100_000, slow_seconds=0.01)
SETTINGS = dict(username="demo", password="demo", company_key="demo", simulator_end=END,
                rate_analytics_per_min=100_000, rate_care_per_min=100_000,
                export_time_format="MM/dd/yyyy HH:mm:ss")  # the simulated company's time format


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=3, days=12, conversations_per_day=30, end=END))


def synced(tmp_path, *, base_url: str, transport=None) -> tuple[dict[str, pl.DataFrame], object]:
    client = KhorosClient.from_settings(Settings(data_dir=tmp_path, **SETTINGS), base_url=base_url,
                                        transport=transport, poll=FAST_POLL, use_cache=False)
    store = Store(tmp_path / "store")
    summary = sync(client, store, FIRST, LAST, now=END)
    client.close()
    frames = {e: store.scan(e).collect().sort(list(schema.EXPORTS[e].key)) for e in DEFAULT_EXPORTS}
    return frames, summary


@pytest.mark.integration
def test_in_process_sync_equals_a_sync_over_http(world, tmp_path):
    with start_simulator(world, SimulatorOptions(**OPTIONS)) as sim:
        over_http, http_summary = synced(tmp_path / "http", base_url=sim.base_url)
    app = create_app(world, SimulatorOptions(**OPTIONS))
    in_process, summary = synced(tmp_path / "asgi", base_url="http://simulator.invalid",
                                 transport=InProcessASGITransport(app))
    assert summary.ok and summary.rows > 0
    assert (summary.jobs, summary.requests, summary.rows) == (http_summary.jobs, http_summary.requests,
                                                              http_summary.rows)
    for export_id in DEFAULT_EXPORTS:
        assert in_process[export_id].equals(over_http[export_id]), export_id


def test_dropped_connections_are_network_errors_that_the_client_retries(world, tmp_path):
    app = create_app(world, SimulatorOptions(**OPTIONS, fault_rate=0.3, fault_kinds=("drop",), seed=4))
    faulty, summary = synced(tmp_path / "faulty", base_url="http://simulator.invalid",
                             transport=InProcessASGITransport(app))
    clean, _ = synced(tmp_path / "clean", base_url="http://simulator.invalid",
                      transport=InProcessASGITransport(create_app(world, SimulatorOptions(**OPTIONS))))
    assert summary.ok and summary.retries > 0
    for export_id in DEFAULT_EXPORTS:
        assert faulty[export_id].equals(clean[export_id]), export_id
