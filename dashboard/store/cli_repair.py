"""``python -m dashboard repair``: find damaged day files, set them aside, and fetch those days again.

Every day file of the store is read whole and its SHA-256 compared with the one recorded when it was written.
A file that does not read (or whose content changed) is moved to ``_damaged/`` in the store (kept, never
deleted), its day leaves the manifest, and the days are fetched again from Khoros (or the demo's simulator),
together with the windows an earlier sync could not fetch. ``--check-only`` finds and reports, and changes
nothing. Holds the store's writer lease: a sync or an import of the same store waits for it, and it for them.

Exit status: 0 when nothing is damaged (any more), 1 when a day is still missing or a window failed (each named
with its reason), 2 on bad settings.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TextIO

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboard.tenants import add_tenant_argument

    add_tenant_argument(parser)
    parser.add_argument("--check-only", action="store_true", dest="check_only",
                        help="find and list damaged day files; set nothing aside and fetch nothing")


def _ranges(days: list[tuple[str, date]]) -> dict[str, tuple[date, date]]:
    out: dict[str, tuple[date, date]] = {}
    for export_id, day in days:
        first, last = out.get(export_id, (day, day))
        out[export_id] = (min(first, day), max(last, day))
    return out


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from dashboard.core import Dashboard
    from dashboard.errors import DashboardError
    from dashboard.khoros import KhorosError
    from dashboard.store.cli_sync import print_failures
    from dashboard.store.sync import DEFAULT_EXPORTS, sync, sync_bot_requests
    from dashboard.tenants import cli_tenant_settings

    out = out or sys.stdout
    err = err or sys.stderr
    settings = cli_tenant_settings(args, err)
    if settings is None:
        return 2
    if not settings.use_simulator and settings.missing_for_tenant():
        print(f"error: tenant settings missing: {', '.join(settings.missing_for_tenant())}", file=err)
        return 2
    core = None
    try:
        core = Dashboard.open(settings, demo="read" if args.check_only else "record")
        store = core.store
        if args.check_only:
            found = store.check(deep=True, set_aside=False)
            for d in found:
                print(f"damaged: {d.export_id} {d.day}: {d.file}: {d.reason}", file=out)
            earlier = [r for r in store.damaged().iter_rows(named=True) if r["set_aside"] is not None]
            for row in earlier:
                print(f"set aside earlier: {row['export']} {row['day']}: {row['reason']}", file=out)
            count = len(found) + len(earlier)
            print(f"{count} damaged day(s)" + ("; run `python -m dashboard repair` to fetch them again" if count
                                                else ""), file=out)
            return 1 if count else 0
        with store.writer("repair", on_wait=lambda who: print(f"waiting for {who} to finish ...", file=out)):
            store.check(deep=True)
            damaged = store.damaged()
            for row in damaged.iter_rows(named=True):
                where = f"set aside as {row['set_aside']}" if row["set_aside"] else "its file is missing"
                print(f"damaged: {row['export']} {row['day']}: {row['file']}: {row['reason']} ({where})", file=out)
            to_fetch = [(r["export"], r["day"]) for r in damaged.iter_rows(named=True)]
            for f in store.failures():
                to_fetch += [(f["export"], date.fromisoformat(f["first_day"])),
                             (f["export"], date.fromisoformat(f["last_day"]))]
            if not to_fetch:
                print("Nothing to repair: every stored day reads and no window is waiting to be fetched again.",
                      file=out)
                return 0
            failed: list[str] = []
            now = core.now()
            for export_id, (first, last) in sorted(_ranges(to_fetch).items()):
                print(f"Fetching {export_id} {first}..{last} again", file=out)
                if export_id in DEFAULT_EXPORTS:
                    summary = sync(core.client, store, first, last, exports=[export_id], now=now)
                else:
                    summary = sync_bot_requests(core.client, store, app_ids=core.source.bot_app_ids(), now=now)
                print(f"  {summary}", file=out)
                failed += summary.failures
            left = store.damaged()
        from dashboard.store.cli_sync import _keep_facts

        failed += _keep_facts(core, out, err)
        for row in left.iter_rows(named=True):
            failed.append(f"{row['export']} {row['day']} is still missing (the API did not return it: "
                          f"{row['reason']})")
    except (KhorosError, DashboardError) as exc:
        print(f"error: repair failed: {exc}", file=err)
        return 1
    finally:
        if core is not None:
            core.close()
    if print_failures(failed, "problem(s) left", err):
        return 1
    print("Repaired: every damaged day was fetched again.", file=out)
    return 0

