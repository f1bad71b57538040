"""``python -m dashboard sync``: fetch exports into the local store, with a progress bar, an ETA and a summary.

With a tenant configured (``KHOROS_*`` settings) it syncs that tenant. With none it syncs the demo world of the
data folder (``CARE_DASHBOARD_SIMULATOR_*``; the one the app and the notebooks use, made and recorded on first
use) from the bundled simulator through the same client code; ``--new-demo-world`` replaces that world by one
ending now. Everything comes from the core (``dashboard.core.Dashboard``). Exit status: 0 when every window
synced, 1 when some failed (each named with its reason), 2 on bad arguments or settings.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from typing import TextIO

from dashboard.cli_args import day_argument

__all__ = ["add_arguments", "print_failures", "run"]

MAX_LOOKBACK_DAYS = 3650


def _lookback(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 0 <= days <= MAX_LOOKBACK_DAYS:
        raise argparse.ArgumentTypeError(f"{days:,} is not between 0 and {MAX_LOOKBACK_DAYS:,} days (ten years)")
    return days


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=day_argument, help="first day (UTC, inclusive); default: 30 days before --end")
    parser.add_argument("--end", type=day_argument, help="last day (UTC, inclusive); default: today")
    parser.add_argument("--exports", help="comma-separated export ids (default: all Analytics exports)")
    parser.add_argument("--bot-requests", action="store_true",
                        help="also sync Bot API v3 request records (needs KHOROS_BOT_APP_ID, or the simulator)")
    parser.add_argument("--author-lookback-days", type=_lookback, default=60, metavar="N",
                        help="fetch author versions from N days before --start, so returning customers have "
                             "their tier (default 60; fetched once, then settled)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    parser.add_argument("--new-demo-world", action="store_true", dest="new_demo_world",
                        help="demo only: replace the demo world by one ending now, synced whole, before the sync")
    from dashboard.tenants import add_tenant_argument

    which = parser.add_mutually_exclusive_group()
    add_tenant_argument(which)
    which.add_argument("--all-tenants", action="store_true", dest="all_tenants",
                       help="sync every tenant of CARE_DASHBOARD_TENANTS in turn (what a scheduler runs): one "
                            "tenant's failure does not stop the others; a summary line per tenant; exit 1 if any "
                            "failed")


class ProgressBar:
    """A one-line bar on a terminal (a line per step otherwise), with an ETA that respects the rate limit."""

    def __init__(self, out: TextIO, *, floor_seconds: float, quiet: bool = False) -> None:
        self.out = out
        self.began = time.monotonic()
        self.floor_seconds = floor_seconds
        self.quiet = quiet
        self.tty = out.isatty()

    def __call__(self, message: str, fraction: float) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.began
        # Observed pace, but never faster than the rate limit allows for the whole plan.
        eta = max(elapsed / fraction - elapsed if fraction > 0 else 0.0, self.floor_seconds - elapsed, 0.0)
        width = 30
        filled = int(width * min(1.0, fraction))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}  ETA {eta:5.0f} s  {message[:70]}"
        if self.tty:
            self.out.write("\r" + line.ljust(120))
            if fraction >= 1:
                self.out.write("\n")
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _tell_damaged(core, err: TextIO) -> None:
    """Days still missing because their file was damaged (a sync fetches them when they are in its range)."""
    damaged = core.damaged()
    for row in damaged.iter_rows(named=True):
        print(f"note: {row['export']} {row['day']} is missing from the store ({row['reason']}); `python -m "
              "dashboard repair` fetches it again", file=err)


def _minimum_seconds(windows: int, analytics_per_min: int, window_s: float = 60.0) -> float:
    """Each job is at least 3 Analytics requests (run, status, download); the limit spaces them."""
    calls = 3 * windows
    if calls <= analytics_per_min:
        return 0.0
    return (calls - 1) // analytics_per_min * window_s


def _keep_facts(core, out: TextIO, err: TextIO) -> list[str]:
    """Keep the facts current after a write (a failure is reported, the data written stays)."""
    from dashboard.errors import DashboardError

    try:
        for report in core.keep_facts():
            print(f"Facts: {report}", file=out)
    except DashboardError as exc:
        print(f"error: the data is stored, but keeping the facts failed: {exc}; the next sync, `python -m "
              "dashboard facts` or page view keeps them", file=err)
        return [f"facts: {exc}"]
    return []


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from dashboard.store.sync import DEFAULT_EXPORTS
    from dashboard.tenants import load_tenants

    out = out or sys.stdout
    err = err or sys.stderr
    exports = [e.strip() for e in (args.exports or "").split(",") if e.strip()] or list(DEFAULT_EXPORTS)
    unknown = [e for e in exports if e not in DEFAULT_EXPORTS]
    if unknown:
        print(f"error: unknown export(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_EXPORTS)}", file=err)
        return 2
    try:
        tenants = load_tenants()
        if not getattr(args, "all_tenants", False):
            return _sync_tenant(tenants.settings_for(tenants.chosen(getattr(args, "tenant", None))), args, exports,
                                out, err)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return 2
    return _sync_all(tenants, args, exports, out, err)


def _sync_all(tenants, args: argparse.Namespace, exports: list[str], out: TextIO, err: TextIO) -> int:
    """Each tenant in turn, with its own settings and credentials only; a failure (a missing or refused secret, a
    full disk) is that tenant's and the next one syncs; a summary line per tenant at the end."""
    if args.new_demo_world:
        print("error: --new-demo-world replaces one demo world; name it with --tenant", file=err)
        return 2
    results: list[tuple[str, int, str]] = []
    for tenant in tenants.tenants:
        print(f"== tenant {tenant.name}", file=out, flush=True)
        tenant_err = _Tail(err)
        try:
            code = _sync_tenant(tenants.settings_for(tenant.name), args, exports, out, tenant_err)
        except ValueError as exc:  # its settings (a secret named but not set)
            print(f"error: {exc}", file=tenant_err)
            code = 2
        except Exception as exc:  # one tenant's bug must not stop the others' syncs; it is named in the summary
            print(f"error: internal error: {type(exc).__name__}: {exc}", file=tenant_err)
            code = 1
        results.append((tenant.name, code, tenant_err.last or "failed"))
    print("Tenants:", file=out)
    for name, code, why in results:
        print(f"  {name}: {'ok' if code == 0 else f'FAILED (exit {code}): {why}'}", file=out)
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        print(f"error: {len(failed)} of {len(results)} tenant(s) failed: {', '.join(failed)}", file=err)
        return 1
    return 0


class _Tail:
    """A stream that passes everything on and remembers the first error (with its first reason): a tenant's summary."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.last = stream, None
        self._reasons_follow = False

    def write(self, text: str) -> int:
        line = text.strip()
        if self.last is None and text.startswith("error: "):
            self.last = line[len("error: "):][:300]
            self._reasons_follow = self.last.endswith(":")  # "N window(s) failed:" and the first reason below
        elif self._reasons_follow and line:
            self.last = f"{self.last} {line}"[:300]
            self._reasons_follow = False
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def _sync_tenant(settings, args: argparse.Namespace, exports: list[str], out: TextIO, err: TextIO) -> int:
    from dashboard.core import Dashboard
    from dashboard.errors import DashboardError
    from dashboard.khoros import KhorosError
    from dashboard.store.sync import plan_sync, sync, sync_bot_requests

    if args.new_demo_world and not settings.use_simulator:
        print("error: --new-demo-world is for the demo; a tenant syncs new days instead", file=err)
        return 2
    if not settings.use_simulator and settings.missing_for_tenant():
        print(f"error: tenant settings missing: {', '.join(settings.missing_for_tenant())}", file=err)
        return 2

    core = None
    try:
        core = Dashboard.open(settings, demo="record", refresh_demo=args.new_demo_world,
                              progress=ProgressBar(out, floor_seconds=0, quiet=args.quiet))
        now = core.now()
        if core.is_demo and settings.listed:
            print(f"Tenant {settings.tenant_name}: syncing the bundled simulator's world (seed "
                  f"{settings.simulator_seed}, {settings.simulator_days} days to {now:%Y-%m-%d %H:%M} UTC)", file=out)
        elif core.is_demo:
            print(f"No Khoros tenant configured: syncing the bundled simulator's demo world (seed "
                  f"{settings.simulator_seed}, {settings.simulator_days} days to {now:%Y-%m-%d %H:%M} UTC)", file=out)
        end = args.end or now.date()
        start = args.start or end - timedelta(days=30)
        if start > end:
            print(f"error: --start {start} is after --end {end}", file=err)
            return 2
        store, client = core.store, core.client
        lookback = args.author_lookback_days
        store.check(exports)  # a damaged day is set aside (when no one else is writing): the plan fetches it
        windows = plan_sync(store, start, end, exports=exports, now=now, author_lookback_days=lookback)
        floor = _minimum_seconds(len(windows), core.settings.rate_analytics_per_min)
        at_least = f", at least {floor:.0f} s at the rate limit" if floor else ""
        print(f"Syncing {start}..{end} ({', '.join(exports)}) into {store.root}: {len(windows)} export jobs, "
              f"at least {3 * len(windows)} requests{at_least}", file=out)
        bar = ProgressBar(out, floor_seconds=floor, quiet=args.quiet)
        summary = sync(client, store, start, end, exports=exports, now=now, progress=bar,
                       author_lookback_days=lookback, on_wait=lambda who: print(
                           f"Waiting for {who} to finish (one writer at a time) ...", file=out, flush=True))
        print(f"Summary: {summary}", file=out)
        fetched = summary.windows - summary.from_cache - len(summary.failures)
        if fetched > 0:
            print(f"Requests: {summary.requests} sent; the job flow needs at least {3 * fetched} for {fetched} "
                  "windows (run, status, download)", file=out)
        failed = list(summary.failures)
        if args.bot_requests:
            bots = sync_bot_requests(client, store, app_ids=core.source.bot_app_ids(), now=now, progress=bar)
            print(f"Bot request records: {bots}", file=out)
            failed += bots.failures
        _tell_damaged(core, err)
        failed += _keep_facts(core, out, err)
    except (KhorosError, DashboardError) as exc:
        print(f"error: sync failed: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: what was stored is kept; run the sync again to continue", file=err)
        return 130
    except (OSError, ValueError) as exc:  # a full disk, an unreadable store, a damaged manifest
        print(f"error: sync failed: {type(exc).__name__}: {exc}", file=err)
        return 1
    finally:
        if core is not None:
            core.close()
    return 1 if print_failures(failed, "window(s) failed", err) else 0


def print_failures(failed: list[str], what: str, err: TextIO) -> bool:
    """Say on ``err`` what is left failed, one reason a line; whether there was anything."""
    if failed:
        print(f"error: {len(failed)} {what}:", file=err)
        for reason in failed:
            print(f"  {reason}", file=err)
    return bool(failed)
