"""``python -m dashboard import --export conversation FILE...``: load export files from the Khoros UI.

Khoros writes times in the company's format and zone (e.g. ``MM/dd/yyyy HH:mm:ss`` in America/New_York):
``--time-format`` (strftime such as ``"%m/%d/%Y %H:%M:%S"``, or Khoros' ``MM/dd/yyyy HH:mm:ss``) and
``--time-zone`` say so; they default to the settings ``KHOROS_EXPORT_TIME_FORMAT`` and
``KHOROS_EXPORT_TIMEZONE``. ISO-8601 with an offset and epoch ms need neither.

Exit status: 0 when imported (quarantined rows are reported, with ``--strict`` they fail the import), 1 when
nothing was imported (a file is unreadable, lacks a required column, or has times that cannot be read without
those options; the store is unchanged), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboard.schema import EXPORTS

    choices = [e for e in EXPORTS if e != "bot_request"]
    from dashboard.tenants import add_tenant_argument

    add_tenant_argument(parser)
    parser.add_argument("--export", required=True, choices=choices, help="which export the files are")
    parser.add_argument("files", nargs="+", metavar="FILE", help="CSV or JSON-array export files")
    parser.add_argument("--strict", action="store_true",
                        help="import nothing if any row would be quarantined")
    parser.add_argument("--time-format", metavar="FORMAT",
                        help='how the files write times: strftime ("%%m/%%d/%%Y %%H:%%M:%%S") or Khoros\' style '
                             '("MM/dd/yyyy HH:mm:ss"); default: KHOROS_EXPORT_TIME_FORMAT')
    parser.add_argument("--time-zone", metavar="ZONE",
                        help="the IANA zone the files write times in (the company's zone in Khoros, e.g. "
                             "America/New_York); default: KHOROS_EXPORT_TIMEZONE")


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    import polars as pl

    from dashboard.errors import StoreError
    from dashboard.schema import SchemaError, TimeReading, export_schema, parse_export_bytes
    from dashboard.store.importer import ImportFailed, detect_format, import_files
    from dashboard.tenants import cli_tenant_settings

    out = out or sys.stdout
    err = err or sys.stderr
    settings = cli_tenant_settings(args, err)
    if settings is None:
        return 2
    export_schema(args.export)
    try:
        times = TimeReading(args.time_format or settings.export_time_format,
                            args.time_zone or settings.export_timezone)
    except ValueError as exc:
        option = "--time-zone" if "zone" in str(exc) else "--time-format"
        print(f"error: {option}: {exc}", file=err)
        return 2
    if args.strict:
        # Dry run: parse everything first and refuse if any row would be quarantined.
        from pathlib import Path

        bad = 0
        for name in args.files:
            path = Path(name)
            try:
                body = path.read_bytes()
                result = parse_export_bytes(args.export, body, detect_format(path, body), source=name,
                                            times=times)
            except (OSError, SchemaError, ImportFailed) as exc:
                print(f"error: {exc}", file=err)
                return 1
            for row in result.quarantine.head(20).iter_rows(named=True):
                print(f"  {row['source']}:{row['line']}: {row['reason']}", file=err)
            bad += result.quarantine.height
        if bad:
            print(f"error: --strict: {bad} row(s) would be quarantined; nothing imported", file=err)
            return 1
    from dashboard.core import Dashboard

    core = Dashboard.open(settings, demo="record")
    store = core.store  # the store the app and the report read
    def waiting(who: str) -> None:
        print(f"Waiting for {who} to finish (one writer at a time) ...", file=out, flush=True)

    try:
        report = import_files(store, args.export, args.files, times=times, on_wait=waiting)
    except (ImportFailed, StoreError) as exc:
        print(f"error: import failed, nothing was written: {exc}", file=err)
        return 1
    for f in report.files:
        print(f"{f.path} ({f.fmt}): {f.rows:,} rows, {f.quarantined:,} quarantined", file=out)
        for notice in f.notices:
            print(f"  note: {notice}", file=out)
    print(f"Imported {report}", file=out)
    if report.quarantined:
        mine = (pl.col("export") == args.export) & pl.col("source").is_in(list(args.files))
        q = store.quarantine().filter(mine).head(10)
        print(f"Quarantined rows (first {q.height}; all in the store's quarantine):", file=out)
        for row in q.iter_rows(named=True):
            print(f"  {row['source']}:{row['line']}: {row['reason']}", file=out)
    for row in store.damaged().iter_rows(named=True):
        print(f"note: {row['export']} {row['day']} is missing from the store ({row['reason']}); `python -m "
              "dashboard repair` fetches it again", file=err)
    from dashboard.store.cli_sync import _keep_facts

    return 1 if _keep_facts(core, out, err) else 0
