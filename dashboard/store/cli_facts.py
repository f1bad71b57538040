"""``python -m dashboard facts``: keep the conversation facts current in the store, or check them.

Every sync, import and repair keeps the facts current on its own (only what changed is computed again); this
command is for the rest: after changing the SLA policy (``CARE_DASHBOARD_POLICY``) or the tier file, to have
them evaluated before the first page asks, after a recompute that was interrupted, or to rebuild everything
(``--full``). ``--check`` computes the facts from the stored exports and compares them with the kept ones,
changing nothing.

Exit status: 0 when the facts are current (and, with ``--check``, equal to the facts of the stored exports),
1 when they differ or could not be kept, 2 on bad settings.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboard.tenants import add_tenant_argument

    add_tenant_argument(parser)
    parser.add_argument("--full", action="store_true", help="compute every stored day again")
    parser.add_argument("--bot-rule", dest="bot_rule", choices=("human", "any"), default=None,
                        help="the bot rule whose facts to keep (default: the configured one and any kept before)")
    parser.add_argument("--check", action="store_true",
                        help="compare the kept facts with the facts of the stored exports; change nothing")


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from dashboard.core import Dashboard
    from dashboard.errors import DashboardError
    from dashboard.tenants import cli_tenant_settings

    out = out or sys.stdout
    err = err or sys.stderr
    settings = cli_tenant_settings(args, err)
    if settings is None:
        return 2
    core = None
    try:
        core = Dashboard.open(settings, demo="read" if args.check else "record")
        if args.check:
            problems = core.check_kept_facts(args.bot_rule)
            for problem in problems:
                print(f"differs: {problem}", file=out)
            print("The kept facts are current and equal to the facts of the stored exports." if not problems
                  else f"{len(problems)} difference(s)", file=out)
            return 1 if problems else 0
        for report in core.keep_facts([args.bot_rule] if args.bot_rule else None, full=args.full,
                                      wait_s=None):
            print(f"{report.set_id}: {report}", file=out)
    except DashboardError as exc:
        print(f"error: keeping the facts failed: {exc}; the facts kept before stay in force", file=err)
        return 1
    finally:
        if core is not None:
            core.close()
    return 0
