"""``python -m dashboard report reasons | occupancy | staffing | tar``: the planning reports, from the same views as
the pages (one code path), printed as a table, CSV or JSON.

    python -m dashboard report reasons --start 2026-10-01 --end 2026-11-01 [--by tag|disposition] [--rising]
        [--min-volume 10] [--exclude "Bot Handoff,Bot Contained"]
    python -m dashboard report occupancy --start ... --end ... [--by agent|team|hour|weekday_hour|day]
    python -m dashboard report staffing --start ... --end ... [--attainment 0.8] [--horizon-days 14]
        [--occupancy-cap 0.85]
    python -m dashboard report tar --start ... --end ...

Every report takes ``--tz``, ``--as-of``, ``--bot-rule``, ``--policy`` and ``--format table|csv|json`` like
``report sla``. ``staffing`` reads ``--start``/``--end`` as the history the plan is made from (whole weeks, cut at
today); the plan covers ``--horizon-days`` days from its end, and the output states the forecast's WAPE on the
held-back weeks. ``tar`` asks Khoros (or, in the demo, the simulator) for ``currentTAR`` — the one report that
makes a call; the others read only the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from dashboard.errors import DashboardError
from dashboard.filters import Filters
from dashboard.metrics.conversations import BOT_RULES

__all__ = ["PLANNING_REPORTS", "add_planning_parsers", "planning_report", "run_planning"]

PLANNING_REPORTS = ("reasons", "occupancy", "staffing", "tar")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number like 0.8") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1 (exclusive), e.g. 0.8")
    return value


def add_planning_parsers(sub) -> None:
    """The planning reports' subcommands (``sub``: ``report``'s subparsers)."""
    from dashboard.cli_args import day_argument
    from dashboard.report import FORMATS, _parse_instant
    from dashboard.tenants import add_tenant_argument
    from dashboard.views.occupancy import OCCUPANCY_GROUPS

    def common(parser: argparse.ArgumentParser, start_help: str, end_help: str) -> None:
        parser.add_argument("--start", type=day_argument, required=True, help=start_help)
        parser.add_argument("--end", type=day_argument, required=True, help=end_help)
        parser.add_argument("--tz", default=None, help="IANA time zone of the days (default: CARE_DASHBOARD_TIMEZONE)")
        parser.add_argument("--as-of", type=_parse_instant, default=None, dest="as_of",
                            help="as of this instant (ISO-8601 with zone; default: now — the demo world's end)")
        parser.add_argument("--bot-rule", choices=BOT_RULES, default=None, dest="bot_rule")
        parser.add_argument("--policy", type=Path, default=None,
                            help="SLA policy TOML (default: CARE_DASHBOARD_POLICY)")
        parser.add_argument("--format", choices=FORMATS, default="table", dest="fmt")
        add_tenant_argument(parser)

    first, after = "first day (YYYY-MM-DD, in --tz)", "day after the last (exclusive)"
    reasons = sub.add_parser("reasons", help="contact reasons by tag or disposition",
                             description="Volume, share and service levels per tag (a conversation counts once under "
                                         "each of its tags) or disposition, from the local store.")
    common(reasons, first, after)
    reasons.add_argument("--by", choices=("tag", "disposition"), default="tag")
    reasons.add_argument("--rising", action="store_true",
                         help="the reasons that grew against the previous period of the same length instead")
    reasons.add_argument("--min-volume", type=int, default=10, dest="min_volume",
                         help="--rising: only reasons with at least this many conversations (default 10)")
    reasons.add_argument("--exclude", default="", help="comma-separated tags to leave out (e.g. system tags)")
    occupancy = sub.add_parser("occupancy", help="occupancy and concurrency of agents",
                               description="Available time, handling time, occupancy and concurrency, from the agent "
                                           "states and the conversations in hand.")
    common(occupancy, first, after)
    occupancy.add_argument("--by", choices=list(OCCUPANCY_GROUPS), default="agent")
    staffing = sub.add_parser("staffing", help="forecast, its WAPE, agents needed per hour and the gap",
                              description="The staffing plan for the days after --end, made from the history "
                                          "[--start, --end) (whole weeks); states the forecast's WAPE.")
    common(staffing, "first day of the history", "the plan's first day (the history ends the day before)")
    staffing.add_argument("--attainment", type=_fraction, default=0.8,
                          help="share of first responses within target to plan for (default 0.8)")
    staffing.add_argument("--horizon-days", type=int, default=14, dest="horizon_days", choices=range(1, 367),
                          metavar="DAYS", help="days to plan (default 14)")
    staffing.add_argument("--occupancy-cap", type=float, default=0.85, dest="occupancy_cap",
                          help="the most an agent can be kept busy, asynchronous channels (default 0.85)")
    tar = sub.add_parser("tar", help="Khoros' time to agent response beside ours",
                         description="Khoros' currentTAR (FIRST and SUBSEQUENT) for the range from --start to now, "
                                     "ours computed to its definition, and our first / next response over the window, "
                                     "with the reasons they differ. Calls Khoros (the simulator in the demo).")
    common(tar, first, after)


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Float64).round(4))


def planning_report(core, args: argparse.Namespace, filters: Filters) -> str:
    """The report's text in ``args.fmt`` (one of the views, as the pages build it)."""
    from dashboard.metrics.occupancy import occupancy_by
    from dashboard.report import format_report
    from dashboard.views import build_khoros_tar, build_occupancy, build_reasons, build_staffing
    from dashboard.views.occupancy import OCCUPANCY_GROUPS

    fmt = args.fmt
    if args.report == "reasons":
        exclude = tuple(t.strip() for t in args.exclude.split(",") if t.strip())
        view = build_reasons(core, filters, by=args.by, min_volume=args.min_volume, exclude=exclude)
        frame = view.rising_raw if args.rising else view.reasons
        return format_report(_rounded(frame) if fmt == "table" else frame, fmt)
    if args.report == "occupancy":
        view = build_occupancy(core, filters)
        frame = view.by_agent if args.by == "agent" else occupancy_by(view.hours.lazy(),
                                                                      OCCUPANCY_GROUPS[args.by]).collect()
        return format_report(_rounded(frame) if fmt == "table" else frame, fmt)
    if args.report == "staffing":
        view = build_staffing(core, filters, attainment=args.attainment, horizon_days=args.horizon_days,
                              occupancy_cap=args.occupancy_cap)
        plan = view.plan
        hours = view.gap.with_columns(forecast_wape=pl.lit(plan.wape), naive_wape=pl.lit(plan.naive_wape))
        if fmt == "json":
            return json.dumps({
                "wape": plan.wape, "naive_wape": plan.naive_wape, "wape_text": view.wape_text,
                "weeks": view.weeks, "holdout_weeks": view.holdout_weeks, "plan_start": view.start,
                "wape_by_channel_group": plan.wape_by_group.to_dicts(),
                "assumptions": plan.assumptions_table().to_dicts(), "notes": list(plan.notes),
                "hours": view.gap.to_dicts(),
            }, indent=2, default=str) + "\n"
        if fmt == "csv":
            return format_report(hours, "csv")
        return "\n".join([view.wape_text, view.caption, *plan.notes, ""]) + format_report(
            _rounded(view.gap.drop("hour_start")), "table")
    view = build_khoros_tar(core, filters)
    rows = []
    for kind, comparison in view.comparisons.items():
        rows.append({"response_type": kind, "khoros_mean_ms": comparison.khoros.mean_ms,
                     "khoros_median_ms": comparison.khoros.median_ms,
                     "ours_khoros_definition_mean_ms": comparison.ours_to_khoros.mean_ms,
                     "ours_khoros_definition_median_ms": comparison.ours_to_khoros.median_ms,
                     "ours_khoros_definition_intervals": comparison.ours_to_khoros.count,
                     "ours_mean_ms": comparison.ours.mean_ms, "ours_median_ms": comparison.ours.median_ms,
                     "ours_answered": comparison.ours.count, "reasons": " | ".join(comparison.reasons)})
    if view.unavailable:
        from dashboard.report import ReportError

        raise ReportError(f"Khoros' time to agent response is not available: {view.unavailable}")
    frame = pl.DataFrame(rows)
    if fmt != "table":
        return format_report(frame, fmt)
    lines = [f"{kind}: {reason}" for kind, comparison in view.comparisons.items() for reason in comparison.reasons]
    return format_report(frame.drop("reasons"), "table") + "\n".join([*lines, *view.notes]) + "\n"


def run_planning(args: argparse.Namespace) -> int:
    from dashboard.core import Dashboard
    from dashboard.report import ReportError
    from dashboard.tenants import tenant_settings

    try:
        settings = tenant_settings(args.tenant)
        if args.policy is not None:
            settings = settings.with_overrides(policy_path=args.policy)
        tz = args.tz or settings.timezone
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ReportError(f"unknown time zone {tz!r} (use an IANA name like America/New_York)") from None
        if args.end <= args.start:
            raise ReportError(f"--end {args.end} must be after --start {args.start}")
        core = Dashboard.open(settings, demo="read")
        if core.scan("conversation").select(pl.len()).collect().item() == 0:
            raise ReportError(f"the store at {core.store.root} holds no conversations; run `python -m dashboard "
                              "sync` or `python -m dashboard import FILES` first")
        filters = Filters(start=args.start, end=args.end, tz=tz, bot_rule=core.bot_rule(args.bot_rule),
                          as_of=args.as_of or core.now())
        sys.stdout.write(planning_report(core, args, filters))
    except DashboardError as e:
        print(f"report {args.report}: {e}", file=sys.stderr)
        return 2
    return 0
