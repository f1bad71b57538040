"""Automation: are our bots and Automation Framework integrations healthy? Which errors, since when, how many
conversations affected? Refreshes itself every 30 seconds.

Lays out ``dashboard.views.build_automation`` (``dashboard.metrics.automation``, ``dashboard.alerts``, charts
from ``dashboard.charts_automation``; Khoros' own health and the token's expiry read live through the core).
"""

import streamlit as st

from dashboard import ui
from dashboard.views import build_automation
from dashboard.views.automation import DEFAULT_WINDOW, MIN_INCIDENT_FAILURES, WINDOWS

SEVERITY_BOX = {"critical": st.error, "warning": st.warning, "info": st.info}
INCIDENT_COLUMNS = {
    "Peak error rate": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent"),
    "Auto hand-offs": st.column_config.NumberColumn(help="Conversations tagged 'Automatic Bot Handoff' during the "
                                                         "incident"),
}

ctx = ui.start_page("Automation")
ui.render_link_problem("automation_window", "window", list(WINDOWS))
window = st.segmented_control("Show", list(WINDOWS), default=DEFAULT_WINDOW, required=True, key="automation_window",
                              bind="query-params")
show_blips = st.toggle("Include isolated errors as incidents", value=False, key="automation_blips",
                       help=f"Off: only incidents with at least {MIN_INCIDENT_FAILURES} failed attempts are listed; "
                            "a lone background error is still an incident by definition (a non-healthy interval).")


@st.fragment(run_every="30s")
def automation_monitor() -> None:
    ctx = ui.page_context()
    with ui.page_guard("Could not compute automation health"):
        view = build_automation(ctx.core, ctx.filters, window=window or DEFAULT_WINDOW, include_blips=show_blips,
                                alert_state=st.session_state.setdefault("automation_alert_state", {}))
        if view.empty_message:
            ui.render_empty(view.empty_message)
            return
        ui.render_caption(view.caption)
        if view.rules_error:
            st.error(ui.as_text(view.rules_error))
        for alert in view.firing:
            SEVERITY_BOX.get(alert.rule.severity, st.warning)(
                f"**{ui.as_text(alert.rule.name)}** — {ui.as_text(alert.message)} (rule: "
                f"{ui.as_text(alert.rule.describe())})", icon=":material/notifications_active:")
            if alert.notify:
                st.toast(ui.as_text(f"{alert.rule.name}: {alert.message}"), icon=":material/notifications_active:")
        if not view.firing:
            st.success(f"No alert firing ({view.rules_checked} rule{'s' if view.rules_checked != 1 else ''} checked).",
                       icon=":material/check_circle:")

        st.subheader("Health now")
        ui.render_cards(view.cards, per_row=3)
        ui.render_table(view.health, key="automation_health_table")
        with st.expander("Bot API token", expanded=False):
            for text, needs_attention in view.tokens:
                (st.warning if needs_attention else st.caption)(ui.as_text(text))

        st.subheader("Incidents")
        if view.incidents is None:
            st.caption("No incident in this window.")
        else:
            ui.render_table(view.incidents, key="automation_incidents", column_config=INCIDENT_COLUMNS)
            ui.render_download(view.incident_rows, "automation_incidents", key="automation_incidents_download")
        ui.render_chart(view.timeline_chart, key="automation_timeline")
        left, right = st.columns(2)
        with left:
            ui.render_chart(view.error_rate_chart, key="automation_error_rate")
        with right:
            ui.render_chart(view.latency_chart, key="automation_latency")
        st.subheader("Pending requests")
        if view.pending_chart is None:
            st.caption("Nothing pending right now.")
        ui.render_chart(view.pending_chart, key="automation_pending")

        st.subheader("Error groups")
        st.caption("Fingerprint = origin + HTTP code + message with ids, numbers, times, e-mails and URLs stripped "
                   "+ event type. Trend = errors per day over the last 14 days.")
        st.caption(view.groups_note)
        if view.groups is None:
            st.caption("No errors in this window.")
            return
        ui.render_table(view.groups, key="automation_error_groups",
                        column_config={"Last 14 days": st.column_config.LineChartColumn(),
                                       "Normalised message": st.column_config.TextColumn(width="large")})
        ui.render_chart(view.trend_chart, key="automation_error_trend")
        picked = st.selectbox("Sample record of group", list(view.group_labels),
                              format_func=view.group_labels.__getitem__, key="automation_group_pick")
        sample = view.samples[picked]
        st.text(f"Request {sample['request_id']} of {sample['app_id']} at {sample['when']}")
        st.code(sample["message"], language=None)
        st.caption("Payload — secrets and personal fields masked")
        st.code(sample["payload"], language="json")


automation_monitor()
