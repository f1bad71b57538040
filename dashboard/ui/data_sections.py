"""Three sections of the Data page, each drawn by one call: digests and alerts (the notifier's rules, their last
runs and failures, a test send), the connection check (``doctor`` on demand) and the audit's latest records.

They lay out :mod:`dashboard.views.notify` and :mod:`dashboard.views.doctor`; each has its own guard, so a
failure in one is a message in its place and the rest of the page stands.
"""

from __future__ import annotations

import streamlit as st

from dashboard.audit import audit_log
from dashboard.ui.account import record
from dashboard.ui.guard import attempt, page_guard
from dashboard.ui.widgets import as_text, escape_markdown, render_table
from dashboard.views.data import audit_table
from dashboard.views.doctor import check_connection
from dashboard.views.notify import build_notify, send_test

__all__ = ["AUDIT_SHOWN", "progress_status", "render_audit", "render_connection_check", "render_notifications",
           "run_with_progress"]

AUDIT_SHOWN = 50

DOCTOR_RESULT = "data_doctor_result"


def render_notifications(core) -> None:
    """The rules with when each last ran and sent, recent failures and runs, and a button to send a test."""
    st.subheader("Digests and alerts")
    with page_guard("Could not show the digests and alerts"):
        view = build_notify(core)
        if view.message:
            st.info(escape_markdown(view.message), icon=":material/mail:")
            return
        st.caption(escape_markdown(f"Rules: {view.source}. {view.clock}"))
        for missing in view.missing:
            st.warning(escape_markdown(f"Not deliverable yet: {missing}"), icon="⚠️")
        render_table(view.rules, key="data_notify_rules")
        if view.failures is not None:
            st.caption("Latest failures, newest first. A digest's failed channel is tried again by the next runs "
                       "while its slot is due; one failure never holds up the other rules.")
            render_table(view.failures, key="data_notify_failures")
        if view.runs is not None:
            with st.expander("Latest runs"):
                render_table(view.runs, key="data_notify_runs")
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.selectbox("Send a test of", view.names, key="data_notify_test_rule")
        if right.button("Send a test", key="data_notify_send_test", disabled=not name,
                        help="Sends the rule now to its recipients, outside its schedule; alerts are marked as a "
                             "test and their episodes are left alone."):
            outcome = attempt(lambda: send_test(core, name), "The test could not be sent")
            record("notify_test", rule=name, ok=bool(outcome and outcome.ok))
            if outcome:
                (st.success if outcome.ok else st.error)(escape_markdown(outcome.message))
                for note in outcome.notes:
                    st.text(note)


def render_connection_check(core) -> None:
    """``doctor`` on demand: one row per check with OK / WARN / FAIL and what to change; the last result stays."""
    st.subheader("Check the connection")
    st.caption("Credentials and permissions of each Khoros API, a one-hour export of each type (columns, time "
               "format), rate limits, the bot token and the clock — as `python -m dashboard doctor` does. It takes "
               "a few seconds.")
    if st.button("Check the connection", key="data_doctor_run"):
        with st.spinner("Checking the connection…"):
            result = attempt(lambda: check_connection(core), "The connection check could not run")
        if result is not None:
            st.session_state[DOCTOR_RESULT] = result
    result = st.session_state.get(DOCTOR_RESULT)
    if result is not None:
        (st.success if result.ok else st.error)(escape_markdown(result.summary))
        render_table(result.checks, key="data_doctor_checks")


def render_audit(core, tz: str) -> None:
    """The newest audit records of this tenant: sign-ins, downloads of rows, syncs, imports, test sends and changes
    of the SLA policy — who, when and what, never the data."""
    st.subheader("Audit")
    with page_guard("Could not read the audit"):
        log = audit_log(core.settings)
        events = log.latest(AUDIT_SHOWN)
        st.caption(escape_markdown(
            f"The newest {AUDIT_SHOWN} records, newest first. Every process appends its own file per day under "
            f"{log.folder} (JSON lines); nothing there is rewritten."))
        if events:
            render_table(audit_table(events, tz), key="data_audit", height=300 if len(events) > 8 else "auto")
        else:
            st.caption("Nothing recorded yet.")


def progress_status(label: str):
    """A status box with a progress bar; returns the box and the callback that moves the bar."""
    status = st.status(label, expanded=True)
    bar = status.progress(0.0, text="Starting")
    return status, lambda message, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=message)


def run_with_progress(action: str, busy: str, failed: str, run) -> None:
    """A button's work, ``run(report)``, under a progress bar; its outcome said and recorded in the audit as
    ``action``."""
    status, report = progress_status(busy)
    outcome = attempt(lambda: run(report), failed)
    status.update(label=outcome.label if outcome else "Failed", state="complete" if outcome else "error")
    if outcome:
        st.success(as_text(outcome.message))
    record(action, ok=outcome is not None)
