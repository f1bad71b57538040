"""``python -m dashboard report trend``: a KPI per day, week or month over a long window, and a window against the
one before it — answered from the daily rollups kept with the facts (a sum over days) when they can answer,
else from the conversation facts with the same definitions.

    python -m dashboard report trend --start 2026-08-03 --end 2026-11-02 [--every day|week|month] \\
        [--metric first_response|time_to_assign|resolution] [--by tier,queue] [--filter tier=Platinum,Gold ...] \\
        [--compare] [--tz America/New_York] [--as-of 2026-11-02T12:00Z] [--bot-rule human|any] [--policy FILE] \\
        [--format table|csv|json] [--tenant NAME]

The figures are :func:`dashboard.metrics.rollups.rollup_counts`' (and so :func:`dashboard.metrics.sla.attainment_by`'s
counts): ``conversations``, ``bot_first``, ``bot_contained`` (conversations the bot handled alone), the metric's
``total`` (achieved + breached + pending), ``achieved``, ``breached``, ``pending``, ``not_started``,
``no_target``, ``attainment`` = achieved ÷ (achieved + breached) with its 95 % Wilson interval, ``responded``
and ``mean_seconds`` in each target's clock. No percentiles: they do not add up across days (``report sla`` has
them). Next response is per customer burst and is not rolled up.

Which source answered is one line, ``source``: "from the daily rollups", or "from the conversation facts: <why>"
(another time zone than the rollups', an "as of" before they are valid, none kept for this policy and bot rule,
tables in memory). The CLI prints it on stderr, so CSV and JSON on stdout stay clean.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

import polars as pl

from dashboard.errors import DashboardError
from dashboard.filters import DIMENSIONS, FILTER_COLUMNS, apply_filters
from dashboard.formats import report_zone_problem
from dashboard.metrics.rollups import ROLLUP_METRICS, rollup_counts
from dashboard.metrics.sla import attainment_by, evaluate, in_window, previous_window, resolve_as_of
from dashboard.metrics.stats import difference_interval, wilson_interval
from dashboard.report import ReportError, format_report, with_group_names

__all__ = [
    "COMPARISON_COLUMNS",
    "ROLLUPS_SOURCE",
    "TREND_COLUMNS",
    "TREND_EVERY",
    "TREND_GROUPS",
    "TrendReport",
    "add_trend_parser",
    "run_trend",
    "trend_comparison",
    "trend_groups",
    "trend_report",
]

TREND_EVERY = ("day", "week", "month")
"""Period lengths: a local day, a week starting Monday, a calendar month."""
TREND_GROUPS: dict[str, str] = {**{d.key: d.column for d in DIMENSIONS}, **{d.column: d.column for d in DIMENSIONS}}
"""``by`` names a trend takes: each dimension's key and its column — every one a column of a rollup cell."""
COUNTS = ("conversations", "bot_first", "bot_contained", "total", "achieved", "breached", "pending", "not_started",
          "no_target", "responded")
TREND_COLUMNS = ("period_start", "days", *COUNTS[:-1], "attainment", "attainment_low", "attainment_high",
                 "responded", "mean_seconds")
"""A trend row's columns, the ``by`` columns after ``days``."""
COMPARISON_COLUMNS = ("conversations", "previous_conversations", "achieved", "breached", "attainment",
                      "previous_achieved", "previous_breached", "previous_attainment", "change_points",
                      "change_points_low", "change_points_high", "verdict")
"""A comparison row's columns, after the ``by`` columns."""
ROLLUPS_SOURCE = "from the daily rollups"


class TrendReport(NamedTuple):
    frame: pl.DataFrame
    source: str
    """Which data answered, in one line: :data:`ROLLUPS_SOURCE` or "from the conversation facts: <why>"."""


def trend_groups(by: Sequence[str] | str) -> list[str]:
    """``"tier,queue"`` -> ``["tier", "work_queue_id"]``; a name that is not a rollup cell's dimension (``status``,
    a typo) is a :class:`ReportError` naming the ones a trend takes."""
    names = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
    unknown = [n for n in names if n.lower() not in TREND_GROUPS]
    if unknown:
        raise ReportError(f"--by {', '.join(unknown)}: a trend groups by the rollups' dimensions only; use "
                          f"{', '.join(d.key for d in DIMENSIONS)}")
    return list(dict.fromkeys(TREND_GROUPS[n.lower()] for n in names))


@dataclass(frozen=True)
class _Plan:
    """What a trend or a comparison asked, checked, and which source answers it."""

    metric: str
    groups: list[str]
    filters: dict[str, list]
    """``{dimension key: values}`` (the facts path) — the rollup path reads them by cell column."""
    tz: str
    as_of: datetime
    bot_rule: str
    rollups: tuple[pl.DataFrame, pl.DataFrame] | None
    """(cells, running clocks) when the rollups answer."""
    source: str


def _when(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _plan(core, *, metric: str, by: Sequence[str] | str, filters: Mapping[str, Sequence] | None, tz: str | None,
          as_of: datetime | None, bot_rule: str | None) -> _Plan:
    _check_metric(metric)
    groups = trend_groups(by)
    chosen = {key: list(values) for key, values in (filters or {}).items() if values}
    unknown = [key for key in chosen if key not in FILTER_COLUMNS]
    if unknown:
        raise ReportError(f"unknown filter {', '.join(unknown)}; use {', '.join(FILTER_COLUMNS)}")
    tz = tz or core.settings.timezone
    problem = report_zone_problem(tz)
    if problem:
        raise ReportError(f"--tz: {problem}")
    moment = resolve_as_of(as_of or core.now())
    rule = core.bot_rule(bot_rule)
    kept = core.rollups(rule)
    why = None
    if kept is None:
        why = ("the data are tables in memory, where no rollups are kept" if core.store is None else
               f"no daily rollups are kept for the stored data under this policy and bot rule {rule} "
               "(`python -m dashboard facts` keeps them)")
    else:
        cells, running, zone, since = kept
        if zone != tz:
            why = f"the rollups are kept in {zone}, not {tz}"
        elif since is not None and moment < since:
            why = f"as of {_when(moment)} is before the rollups are valid (from {_when(since)}, their last event)"
    return _Plan(metric, groups, chosen, tz, moment, rule, None if why else (cells, running),
                 f"from the conversation facts: {why}" if why else ROLLUPS_SOURCE)


def _period(day: pl.Expr, every: str | None, start: date) -> pl.Expr:
    """The first day of ``day``'s period; ``None``: the whole window is one period, starting at ``start``."""
    if every is None:
        return pl.lit(start, pl.Date)
    return day if every == "day" else day.dt.truncate("1w" if every == "week" else "1mo")


def _counts(core, plan: _Plan, start: date, end: date, every: str | None) -> pl.DataFrame:
    """The counts per ``period_start`` x groups that have conversations, from the plan's source."""
    keys = ["period_start", *plan.groups]
    if plan.rollups is not None:
        cells, running = (frame.lazy().with_columns(period_start=_period(pl.col("day"), every, start))
                          for frame in plan.rollups)
        counted = rollup_counts(cells, running, plan.metric, start=start, end=end, tz=plan.tz, as_of=plan.as_of,
                                by=keys, filters={FILTER_COLUMNS[k]: v for k, v in plan.filters.items()})
        return counted.select(*keys, *COUNTS, "mean_seconds").collect()
    facts = core.facts_lazy(plan.bot_rule)
    if plan.filters:
        facts = apply_filters(facts, plan.filters)
    local_day = pl.col("first_inbound_time").dt.convert_time_zone(plan.tz).dt.date()
    windowed = in_window(facts, start, end, plan.tz).with_columns(period_start=_period(local_day, every, start))
    conversations = windowed.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("conversations"),
        pl.col("bot_first").sum().cast(pl.Int64), pl.col("bot_contained").sum().cast(pl.Int64))
    # attainment_by's bot_contained counts this metric's clocks the bot kept (first response's = the
    # conversations'); the conversation-level count stands beside conversations, as in the rollups.
    attained = attainment_by(evaluate(windowed, core.policy(), plan.metric, as_of=plan.as_of), keys).select(
        *keys, *COUNTS[3:], "mean_seconds")
    return conversations.join(attained, on=keys, how="left", nulls_equal=True).select(
        *keys, *COUNTS, "mean_seconds").collect()


def _periods(start: date, end: date, every: str | None) -> pl.DataFrame:
    """Every period the window [start, end) touches, with how many of its days the window holds."""
    days = pl.DataFrame({"day": pl.date_range(start, end, interval="1d", closed="left", eager=True)})
    return (days.group_by(_period(pl.col("day"), every, start).alias("period_start"), maintain_order=True)
            .agg(days=pl.len().cast(pl.Int64)))


def _table(counts: pl.DataFrame, periods: pl.DataFrame, groups: list[str]) -> pl.DataFrame:
    """Every period x every group seen in the window (a period with none of a group's conversations reads 0),
    with attainment and its Wilson interval."""
    grid = periods.join(counts.select(groups).unique(), how="cross") if groups else periods
    keys = ["period_start", *groups]
    decided = pl.col("achieved") + pl.col("breached")
    low, high = wilson_interval(pl.col("achieved"), decided)
    return (grid.join(counts, on=keys, how="left", nulls_equal=True)
            .with_columns(pl.col(*COUNTS).fill_null(0))
            .with_columns(attainment=pl.when(decided > 0).then(pl.col("achieved") / decided),
                          attainment_low=low, attainment_high=high)
            .select("period_start", "days", *groups, *TREND_COLUMNS[2:])
            .sort(keys, nulls_last=True))


def _check_window(start: date, end: date) -> None:
    if end <= start:
        raise ReportError(f"--end {end} must be after --start {start}")


def _check_every(every: str) -> None:
    if every not in TREND_EVERY:
        raise ReportError(f"--every {every}: use {', '.join(TREND_EVERY)}")


def _check_metric(metric: str) -> None:
    if metric not in ROLLUP_METRICS:
        why = " (next response is per customer burst and is not rolled up by day)" if metric == "next_response" else ""
        raise ReportError(f"--metric {metric}{why}: a trend takes {', '.join(ROLLUP_METRICS)}")


def trend_report(core, *, metric: str, start: date, end: date, every: str = "week", by: Sequence[str] | str = (),
                 filters: Mapping[str, Sequence] | None = None, tz: str | None = None, as_of: datetime | None = None,
                 bot_rule: str | None = None) -> TrendReport:
    """``metric``'s counts and attainment per period (``every``: a local ``day``, a ``week`` starting Monday, a
    calendar ``month``) x group of ``by`` (tier, priority, queue, channel, team, agent), for the conversations
    whose first inbound post is in the local days [start, end) of ``tz``.

    One row per period the window touches x group seen in the window (0 where a period had none of a group's
    conversations), columns :data:`TREND_COLUMNS` with the groups after ``days``. ``period_start`` is the period's
    first day (a Monday, the 1st) even when the window starts later: a partial first or last period holds only the
    window's days, ``days`` says how many. ``filters``: ``{dimension key: values}`` as in the sidebar.

    Everything not given is the core's: ``tz`` = the configured zone, ``as_of`` = ``core.now()``, the configured
    bot rule, the policy in force. The daily rollups answer when they are kept for this policy and bot rule, in
    ``tz``, and valid at ``as_of``; else the conversation facts do, with the same definitions (the source says
    why). Returns ``(frame, source)``."""
    _check_every(every)
    _check_window(start, end)
    plan = _plan(core, metric=metric, by=by, filters=filters, tz=tz, as_of=as_of, bot_rule=bot_rule)
    counts = core.despite_damage(lambda: _counts(core, plan, start, end, every))
    return TrendReport(_table(counts, _periods(start, end, every), plan.groups), plan.source)


def trend_comparison(core, *, metric: str, start: date, end: date, by: Sequence[str] | str = (),
                     filters: Mapping[str, Sequence] | None = None, tz: str | None = None,
                     as_of: datetime | None = None, bot_rule: str | None = None) -> TrendReport:
    """The window [start, end) against the previous window of the same number of days
    (:func:`dashboard.metrics.volume.previous_window`), one row per group of ``by`` seen in either: each window's
    conversations, achieved, breached and attainment, and the change in attainment in percentage points (this
    window − the previous) with its 95 % interval (Newcombe, :func:`dashboard.metrics.stats.difference_interval`)
    and a ``verdict`` (``better`` / ``worse`` when the interval excludes 0, ``not distinguishable`` when it holds
    it, null when either window decided nothing). Columns: the groups, then :data:`COMPARISON_COLUMNS`.

    Whole windows are compared: a window that ends today is compared, still running, with a whole previous one
    (the pages' partial-day cut is finer than a day; the rollups hold days). Same sources as :func:`trend_report`."""
    _check_window(start, end)
    plan = _plan(core, metric=metric, by=by, filters=filters, tz=tz, as_of=as_of, bot_rule=bot_rule)
    before, after = previous_window(start, end)
    windows = []
    for lo, hi in ((start, end), (before, after)):
        counts = core.despite_damage(lambda lo=lo, hi=hi: _counts(core, plan, lo, hi, None))
        windows.append(_table(counts, _periods(lo, hi, None), plan.groups).drop("period_start", "days"))
    current, previous = windows
    previous = previous.select(*plan.groups, *(pl.col(c).alias(f"previous_{c}") for c in
                                               ("conversations", "achieved", "breached", "attainment")))
    if plan.groups:
        both = current.join(previous, on=plan.groups, how="full", coalesce=True, nulls_equal=True)
    else:
        both = pl.concat([current, previous], how="horizontal")
    n_now, n_before = pl.col("achieved") + pl.col("breached"), pl.col("previous_achieved") + pl.col("previous_breached")
    low, high = difference_interval(pl.col("achieved"), n_now, pl.col("previous_achieved"), n_before)
    frame = (both.with_columns(pl.col("conversations", "achieved", "breached", "previous_conversations",
                                      "previous_achieved", "previous_breached").fill_null(0))
             .with_columns(change_points=(pl.col("attainment") - pl.col("previous_attainment")) * 100,
                           change_points_low=low * 100, change_points_high=high * 100)
             .with_columns(verdict=pl.when(pl.col("change_points_low") > 0).then(pl.lit("better"))
                           .when(pl.col("change_points_high") < 0).then(pl.lit("worse"))
                           .when(pl.col("change_points_low").is_not_null()).then(pl.lit("not distinguishable")))
             .select(*plan.groups, *COMPARISON_COLUMNS))
    return TrendReport(frame.sort(plan.groups, nulls_last=True) if plan.groups else frame, plan.source)


# ---- the command line ---------------------------------------------------------------------------------------


def add_trend_parser(sub) -> None:
    """``report trend``'s subcommand (``sub``: ``report``'s subparsers). ``--every``, ``--metric`` and ``--by`` are
    checked by :func:`trend_report` (one line naming the allowed values, exit 2), as ``report sla``'s errors are."""
    from dashboard.report import EXAMPLES, add_window_arguments

    trend = sub.add_parser(
        "trend", help="a KPI per day, week or month, or a window against the one before (--compare)",
        description="Counts and attainment of one service-level clock per period (day, week from Monday, month) "
                    "and group, from the daily rollups kept with the facts when they can answer (else from the "
                    "conversation facts, same definitions; stderr says which). No percentiles: `report sla` has "
                    "them.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    trend.add_argument("--every", default="week", metavar="|".join(TREND_EVERY),
                       help="period: a local day, a week starting Monday, a calendar month (default: week)")
    trend.add_argument("--metric", default="first_response", metavar="|".join(ROLLUP_METRICS),
                       help="which clock (default: first_response; next response is not rolled up by day)")
    trend.add_argument("--by", default="",
                       help="comma-separated group columns: tier, priority, channel, queue, team, agent (agents, "
                            "work queues and teams get their name beside the id; default: none)")
    trend.add_argument("--compare", action="store_true",
                       help="instead of periods: the window against the previous one of the same length, one row "
                            "per group, with the change in attainment (points) and its 95%% interval")
    add_window_arguments(trend, tz_help="IANA time zone of the days (default: CARE_DASHBOARD_TIMEZONE, the "
                                        "rollups' own)")


def run_trend(args: argparse.Namespace) -> int:
    from dashboard.core import Dashboard
    from dashboard.report import _merged
    from dashboard.tenants import tenant_settings

    try:
        # What the arguments alone decide is checked before the store is opened.
        _check_every(args.every)
        _check_metric(args.metric)
        trend_groups(args.by)
        _check_window(args.start, args.end)
        settings = tenant_settings(args.tenant)
        if args.policy is not None:
            settings = settings.with_overrides(policy_path=args.policy)
        tz = args.tz or settings.timezone
        problem = report_zone_problem(tz)
        if problem:
            raise ReportError(f"--tz: {problem}" if args.tz else f"CARE_DASHBOARD_TIMEZONE: {problem}")
        core = Dashboard.open(settings, demo="read")  # reads what is stored: no sync, no network
        if core.scan("conversation").select(pl.len()).collect().item() == 0:
            raise ReportError(f"the store at {core.store.root} holds no conversations; run `python -m dashboard "
                              "sync` or `python -m dashboard import FILES` first")
        common = dict(metric=args.metric, start=args.start, end=args.end, by=args.by,
                      filters=_merged(args.filters), tz=tz, as_of=args.as_of, bot_rule=args.bot_rule)
        if args.compare:
            frame, source = trend_comparison(core, **common)
            before, after = previous_window(args.start, args.end)
            source += f"; {args.start} to {args.end} (exclusive) against {before} to {after}, {tz}"
        else:
            frame, source = trend_report(core, every=args.every, **common)
        sys.stdout.write(format_report(with_group_names(frame, core), args.fmt))
        print(f"report trend: {source}", file=sys.stderr)
        for row in core.damaged().iter_rows(named=True):
            print(f"report trend: note: {row['export']} {row['day']} is left out: its stored file could not be read "
                  f"({row['reason']}); `python -m dashboard repair` fetches it again", file=sys.stderr)
    except DashboardError as e:
        print(f"report trend: {e}", file=sys.stderr)
        return 2
    return 0

