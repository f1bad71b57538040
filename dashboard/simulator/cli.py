"""``python -m dashboard simulator``: run the Khoros Care simulator as a real HTTP server.

Besides the world and the credentials, options make it a faulty tenant on purpose (for ``doctor``, and for
trying the client): ``--fault-rate``, ``--forbid FAMILY`` (an API the user has no permission for),
``--drop-column EXPORT:COLUMN_ID`` (a column the exports leave out), ``--clock-skew-seconds``,
``--token-ttl-days``, ``--company-time-format`` (the company's time format setting).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import UTC, datetime

from dashboard.simulator.app import SimulatorOptions
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.simulator.world.reference import COMPANY_TIME_FORMATS

__all__ = ["add_arguments", "run"]


def _end(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--end {text!r} is not an ISO-8601 date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not a share between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    parser.add_argument("--conversations-per-day", type=int, default=400, help="mean arrivals a day (default 400)")
    parser.add_argument("--end", type=_end, default=None,
                        help="the world's 'now' as ISO-8601 (UTC if no offset); default: now")
    parser.add_argument("--timezone", default="America/New_York", help="business-hours time zone (IANA)")
    parser.add_argument("--fault-rate", type=_share, default=0.0, help="share of requests that fail (0..1)")
    parser.add_argument("--failed-job-rate", type=_share, default=0.0, help="share of export jobs that FAIL")
    parser.add_argument("--job-seconds", type=float, default=2.0, help="seconds an export job runs (default 2)")
    parser.add_argument("--analytics-per-min", type=int, default=20, help="Analytics API rate limit")
    parser.add_argument("--care-per-min", type=int, default=60, help="Author/Conversation API rate limit")
    parser.add_argument("--username", default="demo", help="HTTP Basic user (default demo)")
    parser.add_argument("--password", default="demo", help="HTTP Basic password (default demo)")
    parser.add_argument("--company-key", default="demo", help="Analytics companyKey (default demo)")
    parser.add_argument("--company-time-format", default="MM/dd/yyyy HH:mm:ss", choices=list(COMPANY_TIME_FORMATS),
                        help="how the company's exports write times (default MM/dd/yyyy HH:mm:ss)")
    parser.add_argument("--forbid", action="append", default=[], metavar="FAMILY",
                        choices=["analytics", "author", "conversation", "care", "bot"],
                        help="answer 403 to this API family, as for a user without the permission (repeatable)")
    parser.add_argument("--drop-column", action="append", default=[], metavar="EXPORT:COLUMN_ID",
                        help="leave this column out of an export, e.g. conversation:STATUS (repeatable)")
    parser.add_argument("--clock-skew-seconds", type=float, default=0.0,
                        help="run the simulator's clock (Date header, token expiry) this far ahead (negative: behind)")
    parser.add_argument("--token-ttl-days", type=float, default=90.0, help="bot token lifetime (default 90)")
    parser.add_argument("--link-ttl-seconds", type=float, default=300.0,
                        help="lifetime of a pre-signed download link (default 300)")


def run(args: argparse.Namespace, *, stop_event: threading.Event | None = None) -> int:
    from dashboard.simulator.server import start_simulator

    try:
        config = WorldConfig(seed=args.seed, days=args.days, conversations_per_day=args.conversations_per_day,
                             end=args.end, timezone=args.timezone, company_time_format=args.company_time_format)
        options = SimulatorOptions(
            username=args.username, password=args.password, company_key=args.company_key,
            job_seconds=args.job_seconds, fault_rate=args.fault_rate, failed_job_rate=args.failed_job_rate,
            seed=args.seed, analytics_per_min=args.analytics_per_min, care_per_min=args.care_per_min,
            forbidden_families=tuple(args.forbid), drop_export_columns=tuple(args.drop_column),
            clock_skew_s=args.clock_skew_seconds, token_ttl_s=args.token_ttl_days * 86400,
            download_link_ttl_s=args.link_ttl_seconds,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    world = generate_world(config)
    took = time.perf_counter() - started
    try:
        sim = start_simulator(world, options, host=args.host, port=args.port)
    except (OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{k} {v:,}" for k, v in world.summary()["rows"].items())
    print(f"Khoros Care simulator listening on {sim.base_url}", flush=True)
    print(f"  world: seed {config.seed}, {config.days} days to {world.now.isoformat()}, built in {took:.1f} s")
    print(f"  rows: {rows}")
    print(f"  credentials: username={options.username} password={options.password} "
          f"companyKey={options.company_key}")
    print(f"  exports write times as {config.company_time_format} in {config.timezone} "
          f"(KHOROS_EXPORT_TIME_FORMAT, KHOROS_EXPORT_TIMEZONE)")
    print(f"  bot app ids: {', '.join(world.bots['app_id'].to_list())}")
    print("  Analytics: /api/public/...  Care v2: /api/v2/...  Bot v3: /bots/v3/...  "
          "stats: /__simulator__/stats  truth: /__simulator__/truth", flush=True)
    stop_event = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        # `kill` (SIGTERM) stops the server cleanly, like Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    try:
        while not stop_event.wait(0.5):
            if not sim.running:
                print("error: the simulator stopped unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        sim.stop()
    return 0
