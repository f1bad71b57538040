"""``python -m dashboard report``: service-level reports from the local store, printed as a table, CSV or JSON
(the planning reports — reasons, occupancy, staffing, tar — are in :mod:`dashboard.report_planning`; the KPI trend
per day, week or month from the daily rollups, ``report trend``, in :mod:`dashboard.report_trend`).

    python -m dashboard report sla --metric first_response --by tier,priority \\
        --start 2026-11-01 --end 2026-11-15 [--tz America/New_York] [--as-of 2026-11-20T12:00Z] \\
        [--bot-rule human|any] [--policy FILE] [--format table|csv|json] [--exclude-pending] [--compare] \\
        [--clock target|business|calendar] [--filter tier=Platinum,Gold ...]
    python -m dashboard report queue [--tz America/New_York] [--as-of ...] [--format table|csv|json]

``report queue`` is the Live queue page's list: every running clock of an open conversation, the overdue ones first
(most overdue on top), then the rest by time to breach, with names beside the ids and times in ``--tz``. Grouped
by agent, work queue or team, ``report sla`` names each beside its id.

It reads whatever filled the store (a sync, or ``python -m dashboard import`` of files downloaded from the
Khoros UI), so it needs no network. The numbers come from the same functions as the pages and notebooks
(:mod:`dashboard.metrics`): one row per group with ``total`` (achieved + breached + pending), ``achieved``,
``breached``, ``pending``, ``bot_contained``, ``attainment`` (null when nothing was achieved or breached),
its 95 % Wilson interval, and ``median_seconds`` / ``p90_seconds`` (nearest-rank) / ``mean_seconds`` in the
matched target's clock (null when nothing responded).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from dashboard.cli_args import FIRST_DAY, LAST_DAY, day_argument
from dashboard.csv_safety import csv_text
from dashboard.errors import DashboardError
from dashboard.filters import DIMENSION_BY_KEY, DIMENSIONS, apply_filters
from dashboard.formats import TIME_FORMAT, format_duration, report_zone_problem
from dashboard.metrics.conversations import BOT_RULES, pending_intervals
from dashboard.metrics.policy import METRICS
from dashboard.metrics.sla import attainment_by, compare_attainment, evaluate, in_window

__all__ = [
    "FORMATS",
    "GROUP_ALIASES",
    "ReportError",
    "add_arguments",
    "add_window_arguments",
    "compare_report",
    "format_report",
    "parse_filter",
    "queue_report",
    "resolve_groups",
    "run",
    "sla_report",
]

FORMATS = ("table", "csv", "json")
GROUP_ALIASES: dict[str, str] = {
    **{d.key: d.column for d in DIMENSIONS},
    **{d.column: d.column for d in DIMENSIONS},
    "status": "status",
}
"""``--by`` names: each dimension's key and its column, and the conversation's status."""


class ReportError(DashboardError, ValueError):
    """Bad report arguments or an empty store: printed as one line, exit code 2."""


def resolve_groups(by: Sequence[str] | str) -> list[str]:
    """``"tier,channel"`` -> ``["tier", "network"]``; unknown names are an error naming the known ones."""
    names = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
    unknown = [n for n in names if n.lower() not in GROUP_ALIASES]
    if unknown:
        raise ReportError(f"unknown --by column(s) {', '.join(unknown)}; use {', '.join(sorted(GROUP_ALIASES))}")
    out: list[str] = []
    for n in names:
        column = GROUP_ALIASES[n.lower()]
        if column not in out:
            out.append(column)
    return out


def sla_report(
    core,
    *,
    metric: str = "first_response",
    by: Sequence[str] = ("tier",),
    start: date | datetime,
    end: date | datetime,
    tz: str | None = None,
    as_of: datetime | None = None,
    bot_rule: str | None = None,
    exclude_pending: bool = False,
    clock: str = "target",
    filters: Mapping[str, Sequence] | None = None,
) -> pl.DataFrame:
    """Attainment per group for conversations whose first inbound post is in [start, end) in ``tz``.

    Everything not given is the core's: its policy and tier source, ``tz`` = the configured time zone,
    ``as_of`` = ``core.now()``, the configured bot rule. The facts are planned over the stored files and never
    held whole (the least memory on a large store). ``exclude_pending`` (resolution only): time waiting on the
    customer does not count. ``filters``: ``{dimension key: values}`` as in the sidebar (and digests)."""
    groups = resolve_groups(list(by))
    if exclude_pending and metric != "resolution":
        raise ReportError("--exclude-pending applies to --metric resolution only")
    tz = tz or core.settings.timezone
    frame = core.bursts_lazy(bot_rule) if metric == "next_response" else core.facts_lazy(bot_rule)
    if filters:
        frame = apply_filters(frame, filters)
    waits = pending_intervals(core.scan("conversation_history_action")) if exclude_pending else None
    evaluated = evaluate(in_window(frame, start, end, tz), core.policy(), metric, as_of=as_of or core.now(),
                         pending=waits)
    return attainment_by(evaluated, groups, clock=clock).collect()


def with_group_names(frame: pl.DataFrame, core) -> pl.DataFrame:
    """An SLA report grouped by agent, work queue or team with each one's name beside its id."""
    from dashboard.views.names import with_names

    return with_names(frame, core.reference_names())


QUEUE_COLUMNS = ("state", "overdue_by", "due_in", "conversation_display_id", "conversation_id", "metric",
                 "target_seconds", "clock", "breach_at", "tier", "priority", "network", "work_queue_id",
                 "work_queue_name", "team_id", "team_name", "agent_id", "agent_name")


def queue_report(core, *, tz: str | None = None, as_of: datetime | None = None) -> pl.DataFrame:
    """The Live queue's rows (``dashboard.views.live_queue.queue_rows``): overdue clocks first, most overdue on
    top, then running ones by time to breach; ``overdue_by`` / ``due_in`` as durations, ``breach_at`` in ``tz``."""
    from dashboard.views.live_queue import queue_rows

    filters = core.default_filters(tz=tz or core.settings.timezone)
    rows = queue_rows(core, filters, as_of or core.now())
    return rows.with_columns(
        overdue_by=pl.col("overdue_seconds").map_elements(format_duration, return_dtype=pl.String),
        due_in=pl.when(pl.col("overdue_seconds").is_null()).then(
            pl.col("seconds_to_breach").map_elements(format_duration, return_dtype=pl.String)),
    ).select(QUEUE_COLUMNS)


def compare_report(table: pl.DataFrame, column: str, order: Sequence[str] | None = None) -> pl.DataFrame:
    """Pairwise attainment differences between the groups of an SLA report grouped by one column."""
    return compare_attainment(table.lazy(), column, order).collect()


def _clean(value: object) -> object:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def format_report(frame: pl.DataFrame, fmt: str = "table", empty: str = "(no conversations in this window)") -> str:
    """Render a report frame: an aligned text table, CSV, or a JSON array of objects."""
    if fmt == "json":
        rows = [{k: _clean(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
        return json.dumps(rows, indent=2, default=str) + "\n"
    if fmt == "csv":
        return csv_text(frame)  # tier and group names are customer text: never a spreadsheet formula
    if fmt != "table":
        raise ReportError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    if frame.height == 0:
        return empty + "\n"
    # Times as the pages write them (the frame's zone is the report's).
    frame = frame.with_columns(pl.col(pl.Datetime).dt.strftime(TIME_FORMAT))
    shown = frame.with_columns(
        [pl.col(c).round(3) for c in ("attainment", "attainment_low", "attainment_high", "other_attainment",
                                      "difference", "difference_low", "difference_high", "previous_attainment")
         if c in frame.columns]
        + [pl.col(c).round(1) for c in ("median_seconds", "p90_seconds", "mean_seconds", "change_points",
                                        "change_points_low", "change_points_high") if c in frame.columns]
    )
    header = shown.columns
    cells = [["" if v is None else str(v) for v in row] for row in shown.iter_rows()]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [shown.schema[c].is_numeric() for c in header]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    out = [line(header), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(s.rstrip() for s in out) + "\n"


"""Days a report can cover: the store holds nothing outside them (``schema.TIME_RANGE``), and time-zone
arithmetic on them stays inside the calendar."""


def parse_filter(text: str) -> tuple[str, list[str]]:
    """``tier=Platinum,Gold`` -> ``("tier", ["Platinum", "Gold"])``; the key is a dimension's (as in a URL)."""
    key, sep, values = text.partition("=")
    key = key.strip().lower()
    if not sep or key not in DIMENSION_BY_KEY or not values.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a filter like tier=Platinum,Gold (keys: "
                                         f"{', '.join(DIMENSION_BY_KEY)})")
    return key, [v.strip() for v in values.split(",") if v.strip()]


def _parse_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 instant like 2026-11-20T12:00:00Z") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add Z or an offset like +00:00")
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{text!r} is not between {FIRST_DAY} and {LAST_DAY}")
    return value.astimezone(UTC)


EXAMPLES = """examples:
  python -m dashboard report sla --by tier --start 2026-11-01 --end 2026-11-15
  python -m dashboard report sla --metric resolution --by tier,priority --start 2026-11-01 --end 2026-11-15 \\
      --tz Europe/Berlin --format csv
  python -m dashboard report sla --by agent --start 2026-11-01 --end 2026-11-15      # names beside the ids
  python -m dashboard report sla --by tier --compare --start 2026-11-01 --end 2026-11-15
  python -m dashboard report queue                                                   # overdue first, then at risk
  python -m dashboard report trend --by tier --start 2026-08-03 --end 2026-11-02     # weekly, from the rollups
  python -m dashboard report trend --every month --metric resolution --start 2026-05-01 --end 2026-11-01
  python -m dashboard report trend --by queue --compare --start 2026-10-05 --end 2026-11-02   # against 4 weeks before

Every report reads the local store only (sync or import first); `report REPORT --help` lists its options."""


def add_window_arguments(parser: argparse.ArgumentParser, *, tz_help: str) -> None:
    """The arguments of every report over a window of days (``sla``, ``trend``): ``--start``, ``--end``, ``--tz``,
    ``--as-of``, ``--bot-rule``, ``--policy``, ``--filter``, ``--format`` and ``--tenant``."""
    from dashboard.tenants import add_tenant_argument

    parser.add_argument("--start", type=day_argument, required=True, help="first day (YYYY-MM-DD, in --tz)")
    parser.add_argument("--end", type=day_argument, required=True, help="day after the last (exclusive)")
    parser.add_argument("--tz", default=None, help=tz_help)
    parser.add_argument("--as-of", type=_parse_instant, default=None, dest="as_of",
                        help="evaluate as of this instant (ISO-8601 with zone; default: now — the demo world's end "
                             "in the demo)")
    parser.add_argument("--bot-rule", choices=BOT_RULES, default=None, dest="bot_rule",
                        help="human or any (default: CARE_DASHBOARD_BOT_RULE, else human)")
    parser.add_argument("--policy", type=Path, default=None, help="SLA policy TOML (default: CARE_DASHBOARD_POLICY)")
    parser.add_argument("--filter", type=parse_filter, action="append", default=[], dest="filters",
                        metavar="KEY=V,V",
                        help="only conversations whose dimension KEY (tier, priority, queue, channel, team, agent) "
                             "is one of the values; repeat for several dimensions")
    parser.add_argument("--format", choices=FORMATS, default="table", dest="fmt",
                        help="table (aligned text), csv or json (default: table)")
    add_tenant_argument(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dashboard.tenants import add_tenant_argument

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = ("Reports from the local store, computed by the same functions as the pages: `sla` "
                          "(attainment per group), `queue` (overdue and at-risk clocks now) and `trend` (a KPI per "
                          "day, week or month, or against the previous window, from the daily rollups).")
    parser.epilog = EXAMPLES
    sub = parser.add_subparsers(dest="report", metavar="REPORT", required=True)
    sla = sub.add_parser("sla", help="service-level attainment per group (tier, priority, channel, ...)",
                         description="Service-level attainment per group, from the local store: one row per group "
                                     "with total, achieved, breached, pending, attainment and its 95%% Wilson "
                                     "interval, median / p90 / mean seconds.",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sla.add_argument("--metric", choices=METRICS, default="first_response",
                     help="which clock: %(choices)s (default: %(default)s)")
    sla.add_argument("--by", default="tier",
                     help="comma-separated group columns: tier, priority, channel, queue, team, agent, status "
                          "(agents, work queues and teams get their name beside the id; default: tier)")
    sla.add_argument("--clock", choices=("target", "business", "calendar"), default="target",
                     help="clock of the seconds columns: each target's own (default), business or calendar")
    sla.add_argument("--exclude-pending", action="store_true", dest="exclude_pending",
                     help="resolution only: time waiting on the customer (PENDING) does not count")
    sla.add_argument("--compare", action="store_true",
                     help="instead of the groups, print every pair of groups with the difference in attainment "
                          "and its 95%% interval (needs one --by column)")
    add_window_arguments(sla, tz_help="IANA time zone of the days, e.g. America/New_York (default: "
                                      "CARE_DASHBOARD_TIMEZONE); not a fixed offset or an abbreviation like EST")

    queue = sub.add_parser("queue", help="what is overdue now, then what breaches next (the Live queue page)",
                           description="Every running service-level clock of an open conversation: the overdue ones "
                                       "first (most overdue on top), then the rest by time to breach, with agent, "
                                       "work queue and team names beside their ids.",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    queue.add_argument("--tz", default=None,
                       help="IANA time zone of the times shown (default: CARE_DASHBOARD_TIMEZONE)")
    queue.add_argument("--as-of", type=_parse_instant, default=None, dest="as_of",
                       help="as of this instant (ISO-8601 with zone; default: now — the demo world's end in the demo)")
    queue.add_argument("--policy", type=Path, default=None, help="SLA policy TOML (default: CARE_DASHBOARD_POLICY)")
    queue.add_argument("--format", choices=FORMATS, default="table", dest="fmt",
                       help="table (aligned text), csv or json (default: table)")
    add_tenant_argument(queue)
    from dashboard.report_planning import add_planning_parsers
    from dashboard.report_trend import add_trend_parser

    add_trend_parser(sub)
    add_planning_parsers(sub)  # reasons, occupancy, staffing, tar


def _merged(filters: Sequence[tuple[str, list[str]]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for key, values in filters:
        merged.setdefault(key, []).extend(v for v in values if v not in merged.get(key, []))
    return merged


def run(args: argparse.Namespace) -> int:
    from dashboard.core import Dashboard
    from dashboard.report_planning import PLANNING_REPORTS, run_planning
    from dashboard.report_trend import run_trend
    from dashboard.tenants import tenant_settings

    if args.report in PLANNING_REPORTS:
        return run_planning(args)
    if args.report == "trend":
        return run_trend(args)

    try:
        settings = tenant_settings(args.tenant)
        if args.policy is not None:
            settings = settings.with_overrides(policy_path=args.policy)
        tz = args.tz or settings.timezone
        # An IANA region's zone only: "EST" or "Etc/GMT+5" would ignore daylight saving (or read the sign backwards).
        problem = report_zone_problem(tz)
        if problem:
            raise ReportError(f"--tz: {problem}" if args.tz else f"CARE_DASHBOARD_TIMEZONE: {problem}")
        if args.report == "sla" and args.end <= args.start:
            raise ReportError(f"--end {args.end} must be after --start {args.start}")
        # The report reads what is stored (no sync, no network); the demo's recorded world gives its "now".
        core = Dashboard.open(settings, demo="read")
        if core.scan("conversation").select(pl.len()).collect().item() == 0:
            raise ReportError(f"the store at {core.store.root} holds no conversations; run `python -m dashboard "
                              "sync` or `python -m dashboard import FILES` first")
        if args.report == "queue":
            sys.stdout.write(format_report(core.despite_damage(lambda: queue_report(core, tz=tz, as_of=args.as_of)),
                                           args.fmt,
                                           empty="(no running service-level clock: nothing overdue or at risk)"))
            return 0
        frame = core.despite_damage(lambda: sla_report(
            core, metric=args.metric, by=resolve_groups(args.by), start=args.start, end=args.end, tz=tz,
            as_of=args.as_of, bot_rule=args.bot_rule, exclude_pending=args.exclude_pending, clock=args.clock,
            filters=_merged(getattr(args, "filters", [])),
        ))
        if args.compare:
            groups = resolve_groups(args.by)
            if len(groups) != 1:
                raise ReportError("--compare needs exactly one --by column (e.g. --by tier)")
            frame = compare_report(frame, groups[0], core.tier_order if groups[0] == "tier" else None)
        else:
            frame = with_group_names(frame, core)
        sys.stdout.write(format_report(frame, args.fmt))
        for row in core.damaged().iter_rows(named=True):
            print(f"report: note: {row['export']} {row['day']} is left out: its stored file could not be read "
                  f"({row['reason']}); `python -m dashboard repair` fetches it again", file=sys.stderr)
    except DashboardError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    return 0
