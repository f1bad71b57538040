"""Automation: are our bots and Automation Framework integrations healthy? Which errors, since when, how many
conversations affected?

Health, incidents, error groups, latency, pending, impact from ``dashboard.metrics.automation``; alerts from
``dashboard.alerts``; charts from ``dashboard.charts_automation``. Khoros' own health state and the token's
expiry are live Bot API calls, briefly cached by the core.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import altair as alt
import polars as pl

from dashboard import alerts
from dashboard import charts_automation as charts
from dashboard.filters import Filters
from dashboard.metrics import automation
from dashboard.schema import TIME
from dashboard.views.kpi import Card, duration_text, in_zone, local_text
from dashboard.views.names import readable

__all__ = ["DEFAULT_WINDOW", "MIN_INCIDENT_FAILURES", "WINDOWS", "AutomationView", "build_automation"]

WINDOWS = {"Last 6 hours": (timedelta(hours=6), "5m"), "Last 24 hours": (timedelta(hours=24), "15m"),
           "Last 7 days": (timedelta(days=7), "1h"), "Last 28 days": (timedelta(days=28), "6h")}  # fmt: skip
"""Look-back and time-series bucket of each window the page offers."""
DEFAULT_WINDOW = "Last 24 hours"
MIN_INCIDENT_FAILURES = 3
NO_RECORDS = ("No Bot API request records are stored yet. Set KHOROS_BOT_APP_ID and the bot credentials, then sync "
              "them (python -m dashboard sync, or the Data page).")
HEALTH_HEADERS = {
    "app_id": "App id", "origin": "Origin", "our_state": "Our state (2 min)", "khoros_state": "Khoros' state",
    "attempts": "Attempts (2 min)", "failures": "Failures (2 min)", "state_since": "State since",
    "last_request_time": "Last request", "last_error_time": "Last error", "khoros_detail": "Khoros' detail",
}  # fmt: skip
INCIDENT_HEADERS = {
    "app_id": "App id", "origin": "Origin", "start": "Start", "duration": "Duration", "ongoing": "Ongoing",
    "worst_state": "Worst state", "affected": "Auto hand-offs", "handed_off_p50": "Their first response (p50)",
    "baseline": "Baseline first response (p50)", "peak_error_rate": "Peak error rate", "failures": "Failures",
    "attempts": "Attempts", "top_http_code": "Top HTTP code", "top_message": "Top message", "end": "End",
    "recovery": "Time to recovery",
}  # fmt: skip
"""Customer impact next to the incident it belongs to, before the technical detail."""
GROUP_HEADERS = {
    "group_id": "Group", "origin": "Origin", "http_code": "HTTP code", "event_type": "Event type",
    "message": "Normalised message", "count": "Errors in window", "first_seen": "First seen", "last_seen": "Last seen",
    "app_ids": "App ids", "trend": "Last 14 days",
}  # fmt: skip


def _local(t: datetime | None, tz: str) -> str:
    return local_text(t, tz)


@dataclass(frozen=True)
class AutomationView:
    empty_message: str | None
    """Set when no request record is stored: the page shows only that."""
    caption: str = ""
    rules_error: str | None = None
    firing: list[alerts.FiringAlert] = field(default_factory=list)
    rules_checked: int = 0
    cards: list[Card] = field(default_factory=list)
    health: pl.DataFrame | None = None
    tokens: list[tuple[str, bool]] = field(default_factory=list)
    """(text, needs attention) per app id."""
    incidents: pl.DataFrame | None = None
    """As shown (durations as text, instants in the report zone); None when there is none in the window."""
    incident_rows: pl.DataFrame | None = None
    timeline_chart: alt.Chart | None = None
    error_rate_chart: alt.Chart | None = None
    latency_chart: alt.Chart | None = None
    pending_chart: alt.Chart | None = None
    groups: pl.DataFrame | None = None
    """Error groups as shown; None when no error is recorded."""
    trend_chart: alt.Chart | None = None
    group_labels: dict[str, str] = field(default_factory=dict)
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per group: its sample record (masked message and payload, ``when`` in the report zone)."""
    groups_note: str = ""


def build_automation(core, filters: Filters, *, window: str = DEFAULT_WINDOW, include_blips: bool = False,
                     alert_state: MutableMapping[str, Any] | None = None) -> AutomationView:
    """``window`` is a key of :data:`WINDOWS`; ``alert_state`` (the session's) keeps the alerts' back-off."""
    as_of, tz = core.now(), filters.tz
    records = core.table("bot_request")
    if records.is_empty():
        return AutomationView(empty_message=NO_RECORDS)
    span, every = WINDOWS[window]
    lazy = records.lazy()
    rules_error = None
    try:
        rules = core.alert_rules()
    except alerts.AlertRuleError as exc:
        rules, rules_error = [], f"Alert rules not loaded — {exc}"
    firing = alerts.evaluate_alerts(lazy, rules, as_of, {} if alert_state is None else alert_state)
    now = automation.health_now(lazy, as_of).collect()
    since = as_of - span
    # Incidents and the timeline look back one quiet gap further, so an incident open at the window's start is whole.
    recent = lazy.filter(pl.col("created_time") >= pl.lit(since - automation.QUIET_GAP).cast(TIME))
    incidents = automation.incidents(recent, as_of, min_failures=1 if include_blips else MIN_INCIDENT_FAILURES).filter(
        pl.coalesce("end", pl.lit(as_of).cast(TIME)) >= pl.lit(since).cast(TIME)).collect()
    timeline = automation.health_timeline(recent, as_of).filter(pl.col("end") >= pl.lit(since).cast(TIME)).collect()
    in_window = lazy.filter(pl.col("created_time") >= pl.lit(since).cast(TIME))
    series = automation.request_timeseries(in_window, every=every, as_of=as_of).collect()
    pending = automation.pending_by_age(lazy, as_of).collect()
    every_group = automation.error_groups(lazy, as_of).collect()
    # Counted in the chosen window; the 14-day trend stays the whole fortnight's.
    groups = automation.error_groups(in_window, as_of).collect().drop("trend").join(
        every_group.select("group_id", "trend"), on="group_id", how="left", maintain_order="left")
    all_time = every_group.height
    trend = automation.error_group_trend(in_window, every=every).collect()

    khoros = pl.DataFrame([{"app_id": a, **dict(zip(("khoros_state", "khoros_detail"), core.bot_health(a),
                                                       strict=True))}
                           for a in now["app_id"].unique().sort().to_list()],
                          schema={"app_id": pl.String, "khoros_state": pl.String, "khoros_detail": pl.String})
    health = now.join(khoros, on="app_id", how="left").rename({"state": "our_state"})
    cards = [Card(f"{r['app_id']} · {r['origin']}", r["our_state"],
                  f"Ours: {r['failures']} of {r['attempts']} attempts failed in the last 2 minutes. Khoros reports "
                  f"{r['khoros_state']} ({r['khoros_detail']}) for the app id.") for r in health.iter_rows(named=True)]
    tokens = []
    for app_id in health["app_id"].unique().sort().to_list():
        expires, why = core.bot_token_expiry(app_id)
        status = automation.token_status(expires, as_of)
        tokens.append((f"{app_id} — {status.message}" + (f" ({why})" if why else ""), status.needs_attention))
    incident_rows = _incident_rows(core, filters, incidents, lazy, as_of) if incidents.height else None
    return AutomationView(
        empty_message=None,
        caption=f"As of {_local(as_of, tz)} ({tz}) · refreshed {local_text(datetime.now(UTC), tz, '%H:%M:%S')} · "
                "health on a rolling "
                f"2-minute window per app id and origin; slower than {automation.DEFAULT_SLOW_AFTER_S:g} s counts as "
                "failed",
        rules_error=rules_error, firing=firing, rules_checked=len(rules), cards=cards,
        health=readable(in_zone(health, tz).with_columns(pl.col("khoros_detail").fill_null("")), HEALTH_HEADERS),
        tokens=tokens,
        incidents=readable(incident_rows, INCIDENT_HEADERS) if incident_rows is not None else None,
        incident_rows=incident_rows,
        timeline_chart=charts.create_health_timeline_chart(timeline, tz=tz) if timeline.height else None,
        error_rate_chart=charts.create_error_rate_chart(series, tz=tz) if series.height else None,
        latency_chart=charts.create_latency_chart(series, tz=tz) if series.height else None,
        pending_chart=charts.create_pending_age_chart(pending) if pending.height else None,
        groups=readable(in_zone(groups.with_columns(pl.col("app_ids").list.join(", ")), tz), GROUP_HEADERS)
        if groups.height else None,
        trend_chart=charts.create_error_group_trend_chart(trend, tz=tz) if trend.height else None,
        group_labels={g: f"{g} — {m[:90]}" for g, m in zip(groups["group_id"], groups["message"], strict=True)},
        samples={r["group_id"]: {"request_id": r["sample_request_id"], "app_id": r["sample_app_id"],
                                 "when": _local(r["sample_created_time"], tz), "message": r["sample_message"] or "",
                                 "payload": r["sample_payload"] or "(no payload)"}
                 for r in groups.iter_rows(named=True)},
        groups_note=f"{groups.height} error group(s) in the selected window ({window.lower()}), {all_time} since "
                    "the records begin.",
    )


def _incident_rows(core, filters: Filters, incidents: pl.DataFrame, records: pl.LazyFrame, as_of) -> pl.DataFrame:
    """Incidents, latest first, with their impact on customers (the table and its download)."""
    impact = automation.incident_impact(
        incidents.lazy(), automation.impact_conversations(core.facts(filters.bot_rule)), records, as_of=as_of
    ).collect()
    rows = (
        incidents.join(impact, on="incident_id", how="left")
        .sort("start", descending=True)
        .with_columns(
            duration=duration_text("duration_s"),
            recovery=duration_text("time_to_recovery_s"),
            baseline=duration_text("baseline_p50_first_response_s"),
            handed_off_p50=duration_text("p50_first_response_s"),
        )
    )
    return in_zone(rows.select(*INCIDENT_HEADERS, pl.exclude(*INCIDENT_HEADERS)), filters.tz)
