"""What a digest says: its figures as a dataclass, from the core and the same functions as the report CLI and pages.

:func:`build_digest` takes the core (:class:`dashboard.core.Dashboard`: its facts, policy, tier order and request
records), a window of local days, the rule's filters and the instant the figures are "as of", and calls

- KPIs: :func:`dashboard.metrics.volume.kpi_summary` on ``core.facts(bot_rule)`` — the Overview's headline
  figures (value, previous period of the same length, change);
- tiers: :func:`dashboard.report.sla_report` by tier (first response) — the function behind ``python -m
  dashboard report sla --by tier --start START --end END --tz TZ --as-of SLOT [--filter ...]``, so the two
  cannot disagree;
- worst queues: the same, by work queue, the lowest attainments first;
- incidents: :func:`dashboard.metrics.automation.incidents` overlapping the window (per bot app id and origin:
  customer filters do not apply to them).

Charts (:func:`create_digest_charts`) are pure Altair builders from :mod:`dashboard.charts`, rendered to PNG
by the email renderer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import altair as alt
import polars as pl

from dashboard.charts import create_attainment_chart
from dashboard.filters import apply_filters
from dashboard.metrics import automation
from dashboard.metrics.policy import Policy
from dashboard.metrics.sla import previous_window, resolve_as_of, window_bounds
from dashboard.metrics.volume import KPI_UNITS, kpi_summary
from dashboard.notify.rules import SECTIONS
from dashboard.report import sla_report
from dashboard.schema import TIME
from dashboard.views.kpi import Kpi

__all__ = ["KPI_LABELS", "WORST_QUEUES", "DigestContent", "build_digest", "create_digest_charts"]

KPI_LABELS: dict[str, str] = {
    "conversations": "Conversations",
    "first_response_attainment": "First response SLA",
    "frt_median_seconds": "Median first response",
    "frt_p90_seconds": "p90 first response",
    "bot_containment_rate": "Bot containment",
    "resolution_attainment": "Resolution SLA",
    "resolution_median_seconds": "Median resolution",
    "pending_first_responses": "Awaiting first response",
}
LOWER_IS_BETTER = {"frt_median_seconds", "frt_p90_seconds", "resolution_median_seconds", "pending_first_responses"}
KPI_DEFINITIONS: dict[str, str] = {
    "conversations": "Conversations whose first inbound post is in the window.",
    "first_response_attainment": "Achieved ÷ (achieved + breached) first-response targets; pending apart.",
    "frt_median_seconds": "Median first response, in each matched target's clock (nearest-rank).",
    "frt_p90_seconds": "90th percentile first response, in each matched target's clock (nearest-rank).",
    "bot_containment_rate": "Bot-contained ÷ bot-first conversations.",
    "resolution_attainment": "Achieved ÷ (achieved + breached) resolution targets.",
    "resolution_median_seconds": "Median time from creation to close, in each matched target's clock.",
    "pending_first_responses": "Conversations of the window still waiting for a first response at the time.",
}
WORST_QUEUES = 5
MIN_INCIDENT_FAILURES = 3
"""Incidents with fewer failed attempts are isolated errors (the Automation page's default cut, too)."""
SLA_COLUMNS = ("total", "achieved", "breached", "pending", "attainment", "attainment_low", "attainment_high",
               "median_seconds", "p90_seconds")
INCIDENT_COLUMNS = ("app_id", "origin", "start", "end", "ongoing", "duration_s", "failures", "top_http_code",
                    "top_message")


@dataclass(frozen=True)
class DigestContent:
    rule: str
    start: date
    """First local day of the window."""
    end: date
    """The day after the last (exclusive)."""
    tz: str
    as_of: datetime
    filters: Mapping[str, tuple] = field(default_factory=dict, hash=False)
    bot_rule: str = "human"
    sections: tuple[str, ...] = SECTIONS
    kpis: tuple[Kpi, ...] = ()
    tiers: pl.DataFrame | None = None
    """``tier`` + :data:`SLA_COLUMNS` (first response), in tier order."""
    queues: pl.DataFrame | None = None
    """``work_queue_id`` + :data:`SLA_COLUMNS`, the :data:`WORST_QUEUES` lowest attainments."""
    incidents: pl.DataFrame | None = None
    """:data:`INCIDENT_COLUMNS`; None when no Bot API request records are stored."""
    tier_order: tuple[str, ...] = ()
    """The policy's tiers, best served first (the order of the tier rows and chart)."""

    @property
    def window_label(self) -> str:
        last = self.end - timedelta(days=1)
        if last == self.start:
            return f"{self.start:%a %d %b %Y}"
        return f"{self.start:%d %b %Y} – {last:%d %b %Y}"

    @property
    def title(self) -> str:
        return f"Care digest {self.rule}: {self.window_label}"

    @property
    def filters_label(self) -> str:
        if not any(self.filters.values()):
            return "all conversations"
        return "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in self.filters.items() if v)

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def _sla_by(core, column: str, *, start: date, end: date, tz: str, as_of: datetime,
            filters: Mapping[str, tuple], bot_rule: str) -> pl.DataFrame:
    return sla_report(core, by=[column], start=start, end=end, tz=tz, as_of=as_of, bot_rule=bot_rule,
                      filters=filters).select(column, *SLA_COLUMNS)


def _tier_sorted(frame: pl.DataFrame, order: Sequence[str]) -> pl.DataFrame:
    rank = {t: i for i, t in enumerate(order)}
    return (frame.with_columns(_rank=pl.col("tier").replace_strict(rank, default=len(rank), return_dtype=pl.Int64))
            .sort("_rank", "tier", nulls_last=True).drop("_rank"))


def build_digest(
    core,
    *,
    start: date,
    end: date,
    tz: str,
    as_of: datetime,
    filters: Mapping[str, Sequence] | None = None,
    sections: Sequence[str] = SECTIONS,
    bot_rule: str = "human",
    rule: str = "digest",
) -> DigestContent:
    """The digest of conversations whose first inbound post is in local days ``[start, end)`` of ``tz``, from
    the core's data (no request records stored: the incidents section says so)."""
    moment = resolve_as_of(as_of)
    filters = {k: tuple(v) for k, v in (filters or {}).items() if v}
    policy = core.policy()
    window = {"start": start, "end": end, "tz": tz, "as_of": moment, "filters": filters, "bot_rule": bot_rule}
    kpis: tuple[Kpi, ...] = ()
    tiers = queues = incidents = None
    if "kpis" in sections:
        kpis = _kpis(apply_filters(core.facts(bot_rule).lazy(), filters), policy, start, end, tz, moment)
    if "tiers" in sections:
        tiers = _tier_sorted(_sla_by(core, "tier", **window), core.tier_order)
    if "queues" in sections:
        queues = (
            _sla_by(core, "work_queue_id", **window)
            .filter(pl.col("attainment").is_not_null())
            .sort(["attainment", "breached", "work_queue_id"], descending=[False, True, False])
            .head(WORST_QUEUES)
        )
    if "incidents" in sections:
        incidents = _incidents(core.table("bot_request").lazy(), start, end, tz, moment)
    return DigestContent(rule=rule, start=start, end=end, tz=tz, as_of=moment, filters=filters, bot_rule=bot_rule,
                         sections=tuple(s for s in SECTIONS if s in sections), kpis=kpis, tiers=tiers, queues=queues,
                         incidents=incidents, tier_order=tuple(core.tier_order))


def _kpis(scoped: pl.LazyFrame, policy: Policy, start: date, end: date, tz: str, as_of: datetime) -> tuple[Kpi, ...]:
    summary = kpi_summary(scoped, policy, start=start, end=end, tz=tz, as_of=as_of).collect()
    # As on the Overview: compare only with a previous window the data covers (before the first arrival a
    # previous "0" would be a false change).
    prev_start, prev_end = previous_window(start, end)
    first_arrival = scoped.select(pl.col("first_inbound_time").min()).collect().item()
    covered = first_arrival is not None and first_arrival <= window_bounds(prev_start, prev_end, tz)[0]
    out = []
    for row in summary.iter_rows(named=True):
        key = row["kpi"]
        out.append(Kpi(key=key, label=KPI_LABELS[key], value=row["value"], unit=KPI_UNITS[key],  # type: ignore[arg-type]
                       definition=KPI_DEFINITIONS[key], previous=row["previous"] if covered else None,
                       lower_is_better=key in LOWER_IS_BETTER))
    return tuple(out)


def _incidents(records: pl.LazyFrame, start: date, end: date, tz: str, as_of: datetime) -> pl.DataFrame | None:
    if records.select(pl.len()).collect().item() == 0:
        return None
    lo, hi = window_bounds(start, end, tz)
    # Look back one quiet gap before the window, so an incident already open at its start is whole.
    recent = records.filter(pl.col("created_time") >= pl.lit(lo - automation.QUIET_GAP).cast(TIME))
    found = automation.incidents(recent, as_of, min_failures=MIN_INCIDENT_FAILURES)
    return (
        found.filter(
            (pl.col("start") < pl.lit(hi).cast(TIME))
            & (pl.coalesce("end", pl.lit(as_of).cast(TIME)) >= pl.lit(lo).cast(TIME))
        )
        .select(INCIDENT_COLUMNS)
        .sort("start")
        .collect()
    )


def create_digest_charts(content: DigestContent) -> dict[str, alt.TopLevelMixin]:
    """Charts of the digest's sections, by name (``tiers``, ``queues``); sections with no decided rows have none."""
    charts: dict[str, alt.TopLevelMixin] = {}
    if content.tiers is not None and content.tiers["attainment"].is_not_null().any():
        charts["tiers"] = create_attainment_chart(content.tiers, "tier", order=list(content.tier_order)
                                                  ).properties(width=420)
    if content.queues is not None and content.queues.height:
        # worst first, as in the table below the chart
        charts["queues"] = create_attainment_chart(content.queues, "work_queue_id",
                                                   order=content.queues["work_queue_id"].to_list()
                                                   ).properties(width=420)
    return charts
