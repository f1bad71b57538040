"""Data (admins): the store's freshness; sync now; quarantine; import; policy; digests and alerts; connection; audit.

Lays out ``views.build_data``; its buttons run ``sync_now``, ``import_uploads``, ``advance_demo``, ``refresh_demo``
through the core (each recorded in the audit). Failures are messages on the page."""

import streamlit as st

from dashboard import ui
from dashboard.views import advance_demo, build_data, import_uploads, refresh_demo, sync_now

ctx = ui.start_page("Data")
core = ctx.core


with ui.page_guard("Could not show the store"):
    view = build_data(core, ctx.filters.tz)
    ui.render_caption(view.source)

    st.subheader("Freshness")
    if view.freshness_error:
        st.error(ui.as_text(view.freshness_error))
    if view.freshness is not None:
        ui.render_table(view.freshness, key="data_freshness")
    else:
        ui.render_empty("The store is empty: nothing has been synced or imported yet. Use Sync now or Import below.")
    if view.failures.height:
        st.warning(f"{view.failures.height} window(s) could not be fetched by the last syncs; they are retried on "
                   "the next sync.", icon="⚠️")
        ui.render_table(view.failures, key="data_failures")
    if view.damaged is not None and view.damaged.height:
        st.warning(f"{view.damaged.height} stored day(s) could not be read and are left out of every figure; the "
                   "next sync of those days (or `python -m dashboard repair`) fetches them again.", icon="⚠️")
        ui.render_table(view.damaged, key="data_damaged")
    if view.unanchored:
        st.warning(ui.as_text(view.unanchored), icon=":material/link_off:")
    if view.manifest is not None:
        with st.expander("Manifest: rows per export and day"):
            ui.render_table(view.manifest, key="data_manifest", height=300)

    st.subheader("Sync now")
    if view.sync_blocker:
        st.error(ui.as_text(view.sync_blocker))
    else:
        c1, c2 = st.columns([1, 3])
        days = int(c1.number_input("Days back", min_value=1, max_value=31, value=2, key="data_sync_days"))
        chosen = c2.multiselect("Exports", view.exports, default=view.exports, key="data_sync_exports")
        if st.button("Sync now", type="primary", key="data_sync", disabled=not chosen):
            status, report = ui.progress_status(f"Syncing {len(chosen)} export(s) for {days} day(s)…")
            outcome = ui.attempt(lambda: sync_now(core, days, chosen, tz=ctx.filters.tz, progress=report),
                                 "Sync failed")
            status.update(label=outcome.label if outcome else "Sync failed",
                          state="complete" if outcome and outcome.ok else "error", expanded=True)
            if outcome:
                (st.success if outcome.ok else st.error)(ui.as_text(outcome.message))
            ui.record("sync", days=days, exports=chosen, ok=bool(outcome and outcome.ok))
    if view.demo_clock:
        ui.render_caption(view.demo_clock)
        d1, d2 = st.columns(2)
        if d1.button("Bring the demo up to now", key="data_advance_demo",
                     help="Sync the simulated world's new days into the store; its history stays"):
            ui.run_with_progress("advance_demo", "Bringing the demo up to now…", "Bringing the demo forward failed",
                            lambda report: advance_demo(core, ctx.filters.tz, report))
        if d2.button("New demo world", key="data_new_demo_world",
                     help="Replace the simulated world by one ending now (every process then uses it)"):
            ui.run_with_progress("new_demo_world", "Making a new demo world…", "The new demo world failed",
                            lambda report: refresh_demo(core, report))

    st.subheader("Quarantined rows")
    if view.quarantine.height:
        st.caption(f"{view.quarantine.height:,} rows did not parse and were set aside (the good rows of the same "
                   "files were kept).")
        ui.render_table(view.quarantine_reasons, key="data_quarantine_reasons")
        ui.render_table(view.quarantine.head(1000), key="data_quarantine", height=260)
        ui.render_download(view.quarantine, "quarantine", key="data_quarantine_download")
    else:
        st.caption("No quarantined rows: every stored row parsed.")

    st.subheader("Import export files")
    st.caption("Files downloaded from the Khoros Analytics UI (CSV or JSON). Headers may be Khoros' display names. "
               "Rows that do not parse go to the quarantine with their line and reason.")
    export_id = st.selectbox("Export", view.exports, key="data_import_export")
    uploads = st.file_uploader("Files", type=["csv", "json"], accept_multiple_files=True, key="data_import_files")
    if uploads and st.button("Import", key="data_import"):
        files = [(upload.name, upload.getvalue()) for upload in uploads]
        outcome = ui.attempt(lambda: import_uploads(core, export_id, files), "Import failed, nothing was written")
        ui.record("import", export=export_id, files=[n for n, _ in files], bytes=sum(len(b) for _, b in files),
                  ok=outcome is not None)
        if outcome:
            (st.warning if outcome.warning else st.success)(ui.as_text(outcome.message))
            for note in outcome.notes:
                ui.render_caption(note)

    st.subheader("SLA policy")
    ui.render_caption(view.policy_caption)
    if view.policy_error:
        st.error(ui.as_text(view.policy_error))
    else:
        ui.render_caption(view.policy_note)
        ui.render_table(view.targets, key="data_policy_targets")
    if view.policy_text is not None:
        st.code(view.policy_text, language="toml")

ui.render_notifications(core)
ui.render_connection_check(core)
ui.render_audit(core, ctx.filters.tz)
