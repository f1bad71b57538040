"""Automation: are our bots and Automation Framework integrations healthy? Which errors, since when, how many
conversations affected? Refreshes itself every 30 seconds.

Layout only: health, incidents, error groups, latency, pending, impact and alerts come from
``dashboard.metrics.automation`` and ``dashboard.alerts``; charts from ``dashboard.charts_automation``. Khoros'
own health state and the token's expiry are read live from the Bot API (cached for 30 s / 5 min).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from dashboard import alerts, ui
from dashboard import charts_automation as charts
from dashboard.charts import display_height
from dashboard.kpi import format_duration
from dashboard.metrics import automation
from dashboard.schema import TIME


def _show(chart, *, key: str) -> None:
    # Streamlit fits title, axes and legend into the element's height; give the plot its own height on top.
    st.altair_chart(chart, key=key, height=display_height(chart))


log = logging.getLogger("dashboard.pages.automation")

WINDOWS = {"Last 6 hours": (timedelta(hours=6), "5m"), "Last 24 hours": (timedelta(hours=24), "15m"),
           "Last 7 days": (timedelta(days=7), "1h"), "Last 28 days": (timedelta(days=28), "6h")}  # fmt: skip
ALERT_STATE_KEY = "automation_alert_state"
MIN_INCIDENT_FAILURES = 3
SEVERITY_BOX = {"critical": st.error, "warning": st.warning, "info": st.info}


@st.cache_data(ttl=30, max_entries=64, show_spinner=False)
def _khoros_health(_client, tenant: str, app_id: str) -> dict:
    """Khoros' own health state of an app (GET /bots/v3/health/appId/{appId}); never raises."""
    try:
        health = _client.bot_health(app_id)
    except Exception as exc:  # shown as "unavailable" with the reason
        return {"khoros_state": "unavailable", "khoros_detail": str(exc)[:200]}
    return {"khoros_state": health.status,
            "khoros_detail": f"{health.failure_count} failures, {health.success_count} successes"}


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def _token_expiry(_client, tenant: str, app_id: str) -> tuple[datetime | None, str]:
    """The app's Bot API token expiry (never the token itself), or the reason it is unknown."""
    try:
        return _client.bot_token(app_id).expires_at, ""
    except Exception as exc:
        return None, str(exc)[:200]


def _as_text(seconds_column: str) -> pl.Expr:
    """Seconds shown as a duration ("1h 05m"); "—" when there is none."""
    return pl.col(seconds_column).map_elements(format_duration, return_dtype=pl.String).fill_null("—")


def _in_tz(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Every instant column shown in the report time zone (they are UTC inside)."""
    return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone(tz))


def _local(t: datetime | None, tz: str) -> str:
    return "—" if t is None else f"{t.astimezone(ZoneInfo(tz)):%a %d %b %H:%M}"


ctx = ui.page_context()
st.title("Automation")
ui.render_demo_notice(ctx.source)
window_label = st.segmented_control("Show", list(WINDOWS), default="Last 24 hours", required=True,
                                    key="automation_window", bind="query-params")
show_blips = st.toggle("Include isolated errors as incidents", value=False, key="automation_blips",
                       help=f"Off: only incidents with at least {MIN_INCIDENT_FAILURES} failed attempts are listed; "
                            "a lone background error is still an incident by definition (a non-healthy interval).")


@st.fragment(run_every="30s")
def automation_monitor() -> None:
    ctx = ui.page_context()
    source = ctx.source
    as_of = source.now()
    span, every = WINDOWS[window_label or "Last 24 hours"]
    try:
        records = ui.load_table(source, "bot_request")
    except Exception as exc:
        log.exception("loading request records failed")
        st.error(f"Could not load the Bot API request records: {exc}")
        return
    if records.is_empty():
        ui.render_empty("No Bot API request records are stored yet. Set KHOROS_BOT_APP_ID and the bot "
                        "credentials, then sync them (`python -m dashboard sync`, or the Data page).")
        return
    lazy = records.lazy()
    try:
        rules = alerts.load_alert_rules(source.settings.policy_path)
    except alerts.AlertRuleError as exc:
        st.error(f"Alert rules not loaded — {exc}")
        rules = []
    state = st.session_state.setdefault(ALERT_STATE_KEY, {})
    try:
        firing = alerts.evaluate_alerts(lazy, rules, as_of, state)
        now = automation.health_now(lazy, as_of).collect()
        since = as_of - span
        # Incidents and the timeline look back one quiet gap further, so an incident open at the window's start
        # is whole.
        recent = lazy.filter(pl.col("created_time") >= pl.lit(since - automation.QUIET_GAP).cast(TIME))
        incidents = automation.incidents(recent, as_of, min_failures=1 if show_blips else MIN_INCIDENT_FAILURES).filter(
            pl.coalesce("end", pl.lit(as_of).cast(TIME)) >= pl.lit(since).cast(TIME)
        ).collect()
        timeline = automation.health_timeline(recent, as_of).filter(
            pl.col("end") >= pl.lit(since).cast(TIME)
        ).collect()
        in_window = lazy.filter(pl.col("created_time") >= pl.lit(since).cast(TIME))
        series = automation.request_timeseries(in_window, every=every, as_of=as_of).collect()
        pending = automation.pending_by_age(lazy, as_of).collect()
        groups = automation.error_groups(lazy, as_of).collect()
        window_groups = automation.error_groups(in_window, as_of).collect()
        trend = automation.error_group_trend(in_window, every=every).collect()
    except Exception as exc:  # a clear message, never a stack trace
        log.exception("automation metrics failed")
        st.error(f"Could not compute automation health: {exc}")
        return

    st.caption(f"As of {_local(as_of, ctx.tz)} ({ctx.tz}) · refreshed {datetime.now(UTC):%H:%M:%S} UTC · "
               f"health on a rolling 2-minute window per app id and origin; slower than "
               f"{automation.DEFAULT_SLOW_AFTER_S:g} s counts as failed")

    # ---- firing alerts first ---------------------------------------------------------------------------
    if firing:
        for alert in firing:
            box = SEVERITY_BOX.get(alert.rule.severity, st.warning)
            box(f"**{alert.rule.name}** — {alert.message} (rule: {alert.rule.describe()})",
                icon=":material/notifications_active:")
            if alert.notify:
                st.toast(f"{alert.rule.name}: {alert.message}", icon=":material/notifications_active:")
    else:
        st.success(f"No alert firing ({len(rules)} rule{'s' if len(rules) != 1 else ''} checked).",
                   icon=":material/check_circle:")

    # ---- health now ------------------------------------------------------------------------------------
    st.subheader("Health now")
    client = source.client
    khoros = []
    for app_id in now["app_id"].unique().sort().to_list():
        reported = _khoros_health(client, source.settings.tenant, app_id) if client else {
            "khoros_state": "unavailable", "khoros_detail": "no Khoros client"}
        khoros.append({"app_id": app_id, **reported})
    health_table = now.join(pl.DataFrame(khoros), on="app_id", how="left").rename({"state": "our_state"})
    cols = st.columns(max(1, min(3, health_table.height)))
    for i, row in enumerate(health_table.iter_rows(named=True)):
        cols[i % len(cols)].metric(
            f"{row['app_id']} · {row['origin']}",
            row["our_state"],
            help=f"Ours: {row['failures']} of {row['attempts']} attempts failed in the last 2 minutes. "
                 f"Khoros reports {row['khoros_state']} ({row['khoros_detail']}) for the app id.",
            border=True,
        )
    st.dataframe(
        _in_tz(health_table.select("app_id", "origin", "our_state", "khoros_state", "attempts", "failures",
                                   "state_since", "last_request_time", "last_error_time", "khoros_detail"), ctx.tz),
        hide_index=True, key="automation_health_table",
    )  # fmt: skip

    # ---- token status ----------------------------------------------------------------------------------
    with st.expander("Bot API token", expanded=False):
        for app_id in health_table["app_id"].unique().sort().to_list():
            expires, why = _token_expiry(client, source.settings.tenant, app_id) if client else (None, "no client")
            status = automation.token_status(expires, as_of)
            text = f"**{app_id}** — {status.message}" + (f" ({why})" if why else "")
            (st.warning if status.needs_attention else st.write)(text)

    # ---- incidents and timeline ------------------------------------------------------------------------
    st.subheader("Incidents")
    if incidents.height:
        impact = automation.incident_impact(
            incidents.lazy(), automation.impact_conversations(ui.load_facts(source, ctx.bot_rule)), lazy, as_of=as_of
        ).collect()
        shown = (
            incidents.join(impact, on="incident_id", how="left")
            .sort("start", descending=True)
            .with_columns(
                duration=_as_text("duration_s"),
                recovery=_as_text("time_to_recovery_s"),
                baseline=_as_text("baseline_p50_first_response_s"),
                handed_off_p50=_as_text("p50_first_response_s"),
            )
            .select("app_id", "origin", "start", "end", "ongoing", "duration", "recovery", "worst_state",
                    "failures", "attempts", "peak_error_rate", "top_http_code", "top_message", "affected",
                    "handed_off_p50", "baseline")
        )  # fmt: skip
        st.dataframe(
            _in_tz(shown, ctx.tz), hide_index=True, key="automation_incidents",
            column_config={
                "peak_error_rate": st.column_config.ProgressColumn("Peak error rate", min_value=0, max_value=1,
                                                                   format="percent"),
                "affected": st.column_config.NumberColumn("Auto hand-offs", help="Conversations tagged "
                                                          "'Automatic Bot Handoff' during the incident"),
                "handed_off_p50": st.column_config.TextColumn("Their first response (p50)"),
                "baseline": st.column_config.TextColumn("Baseline first response (p50)"),
            },
        )  # fmt: skip
        ui.render_download(incidents, "automation_incidents", key="automation_incidents_download")
    else:
        st.caption("No incident in this window.")
    if timeline.height:
        _show(charts.create_health_timeline_chart(timeline), key="automation_timeline")

    # ---- error rate, latency, pending ------------------------------------------------------------------
    left, right = st.columns(2)
    with left:
        if series.height:
            _show(charts.create_error_rate_chart(series), key="automation_error_rate")
    with right:
        if series.height:
            _show(charts.create_latency_chart(series), key="automation_latency")
    st.subheader("Pending requests")
    if pending.height:
        _show(charts.create_pending_age_chart(pending), key="automation_pending")
    else:
        st.caption("Nothing pending right now.")

    # ---- error groups ----------------------------------------------------------------------------------
    st.subheader("Error groups")
    st.caption("Fingerprint = origin + HTTP code + message with ids, numbers, times, e-mails and URLs stripped "
               "+ event type. Trend = errors per day over the last 14 days.")
    if groups.height:
        st.dataframe(
            _in_tz(groups.select("group_id", "origin", "http_code", "event_type", "message", "count", "first_seen",
                                 "last_seen", "app_ids", "trend"), ctx.tz),
            hide_index=True, key="automation_error_groups",
            column_config={"trend": st.column_config.LineChartColumn("Last 14 days"),
                           "message": st.column_config.TextColumn("Normalised message", width="large")},
        )  # fmt: skip
        if trend.height:
            _show(charts.create_error_group_trend_chart(trend), key="automation_error_trend")
        labels = {g: f"{g} — {m[:90]}" for g, m in zip(groups["group_id"], groups["message"], strict=True)}
        picked = st.selectbox("Sample record of group", list(labels), format_func=labels.__getitem__,
                              key="automation_group_pick")
        sample = groups.filter(pl.col("group_id") == picked).row(0, named=True)
        st.markdown(f"Request `{sample['sample_request_id']}` of **{sample['sample_app_id']}** at "
                    f"{_local(sample['sample_created_time'], ctx.tz)}")
        st.code(sample["sample_message"] or "", language=None)
        st.caption("Payload — secrets and personal fields masked")
        st.code(sample["sample_payload"] or "(no payload)", language="json")
        st.caption(f"{window_groups.height} of these groups occurred in the selected window.")
    else:
        st.caption("No errors recorded.")


automation_monitor()
