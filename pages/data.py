"""Data: what is in the local store and how fresh it is; sync now; quarantined rows; import files; the policy.

Layout only: the store (``dashboard.store``) answers freshness, manifest and quarantine; ``store.sync.sync``
fetches from Khoros (or the simulator) with progress; the importer parses uploaded export files with the same
schema as a sync. Failures are shown as messages on the page, never as stack traces.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from dashboard import ui
from dashboard.metrics import PolicyError, load_policy
from dashboard.metrics.policy import DEFAULT_POLICY_PATH
from dashboard.schema import EXPORTS

log = logging.getLogger("dashboard.pages.data")

ctx = ui.page_context()
source = ctx.source
store = source.store
st.title("Data")
ui.render_demo_notice(source)
st.caption(f"Source: {source.label} · store: `{store.root}`")

# --- freshness ------------------------------------------------------------------------------------------------
st.subheader("Freshness")
try:
    freshness = store.freshness()
    failures = store.failures_frame()
except Exception as exc:  # a damaged manifest, an unreadable folder
    log.exception("store freshness failed")
    st.error(f"Could not read the store's manifest: {exc}")
    freshness, failures = pl.DataFrame(), pl.DataFrame()
if freshness.height:
    now = datetime.now(UTC)  # sync times are wall-clock times, also in the demo
    shown = pl.DataFrame({"export": list(EXPORTS)}).join(freshness, on="export", how="left").with_columns(
        ((pl.lit(now) - pl.col("last_success")).dt.total_minutes()).alias("minutes_ago"),
    )
    st.dataframe(shown, hide_index=True, key="data_freshness",
                 column_config={"last_success": st.column_config.DatetimeColumn("last sync (UTC)"),
                                "minutes_ago": st.column_config.NumberColumn("minutes ago")})
else:
    ui.render_empty("The store is empty: nothing has been synced or imported yet. Use Sync now or Import below.")
if failures.height:
    st.warning(f"{failures.height} window(s) could not be fetched by the last syncs; they are retried on the next "
               "sync.", icon="⚠️")
    st.dataframe(failures, hide_index=True, key="data_failures")

with st.expander("Manifest: rows per export and day"):
    try:
        st.dataframe(store.manifest(), hide_index=True, key="data_manifest", height=300)
    except Exception as exc:
        st.error(f"Could not read the manifest: {exc}")

# --- sync now -------------------------------------------------------------------------------------------------
st.subheader("Sync now")
missing = [] if source.is_demo else source.settings.missing_for_tenant()
if missing:
    st.error(f"Syncing a Khoros tenant needs these settings, which are not set: {', '.join(missing)}. "
             "Set them as environment variables or in .streamlit/secrets.toml (see the README).")
elif source.client is None:
    st.error("No Khoros client is configured for this data source, so it cannot sync. See the README.")
else:
    now = source.now()
    today = now.astimezone(ZoneInfo(ctx.tz)).date()
    c1, c2 = st.columns([1, 3])
    sync_days = int(c1.number_input("Days back", min_value=1, max_value=31, value=2, key="data_sync_days"))
    chosen = c2.multiselect("Exports", list(EXPORTS), default=list(EXPORTS), key="data_sync_exports")
    if st.button("Sync now", type="primary", key="data_sync", disabled=not chosen):
        from dashboard.store.sync import sync, sync_bot_requests

        analytics = tuple(e for e in chosen if e != "bot_request")
        with st.status(f"Syncing {len(chosen)} export(s) for {sync_days} day(s)…", expanded=True) as status:
            bar = st.progress(0.0, text="Starting")

            def report(message: str, fraction: float) -> None:
                bar.progress(min(max(fraction, 0.0), 1.0), text=message)

            try:
                summaries = []
                if analytics:
                    summaries.append(sync(source.client, store, today - timedelta(days=sync_days), today,
                                          exports=analytics, now=now, progress=report))
                if "bot_request" in chosen:
                    # The demo's bots are the simulated world's; a tenant's is the configured bot app id.
                    apps = source.world.bots["app_id"].to_list() if source.world is not None else None
                    summaries.append(sync_bot_requests(source.client, store, app_ids=apps, days=sync_days, now=now,
                                                       progress=report))
            except Exception as exc:  # a failed sync is a message, never a stack trace
                log.exception("sync failed")
                status.update(label="Sync failed", state="error", expanded=True)
                st.error(f"Sync failed: {exc}")
            else:
                failed = [f for s in summaries for f in s.failures]
                if failed:
                    status.update(label=f"Sync finished with {len(failed)} failure(s)", state="error",
                                  expanded=True)
                    st.error("Some windows could not be fetched (they are retried on the next sync): "
                             + "; ".join(failed))
                else:
                    status.update(label="Sync complete", state="complete", expanded=True)
                    st.success("Sync complete: " + " · ".join(str(s) for s in summaries))

# --- quarantine -----------------------------------------------------------------------------------------------
st.subheader("Quarantined rows")
try:
    quarantine = store.quarantine()
except Exception as exc:
    st.error(f"Could not read the quarantine: {exc}")
    quarantine = pl.DataFrame()
if quarantine.height:
    by_reason = quarantine.group_by("export", "reason").agg(pl.len().alias("rows")).sort("rows", descending=True)
    st.caption(f"{quarantine.height:,} rows did not parse and were set aside (the good rows of the same files were "
               "kept).")
    st.dataframe(by_reason, hide_index=True, key="data_quarantine_reasons")
    st.dataframe(quarantine.head(1000), hide_index=True, key="data_quarantine", height=260)
    ui.render_download(quarantine, "quarantine", key="data_quarantine_download")
else:
    st.caption("No quarantined rows: every stored row parsed.")

# --- import ---------------------------------------------------------------------------------------------------
st.subheader("Import export files")
st.caption("Files downloaded from the Khoros Analytics UI (CSV or JSON). Headers may be Khoros' display names. "
           "Rows that do not parse go to the quarantine with their line and reason.")
export_id = st.selectbox("Export", list(EXPORTS), key="data_import_export")
uploads = st.file_uploader("Files", type=["csv", "json"], accept_multiple_files=True, key="data_import_files")
if uploads and st.button("Import", key="data_import"):
    import tempfile
    from pathlib import Path

    from dashboard.store.importer import import_files

    # The importer reads files (and names quarantine entries after them): keep the uploaded names.
    with tempfile.TemporaryDirectory(prefix="care-import-") as folder:
        paths = []
        for upload in uploads:
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            paths.append(path)
        try:
            result = import_files(store, export_id, paths)
        except Exception as exc:  # a bad file is a message naming it; nothing was written
            log.warning("import failed: %s", exc)
            st.error(f"Import failed, nothing was written: {exc}")
        else:
            st.success(f"Imported {result}")
            for file_report in result.files:
                for notice in file_report.notices:
                    st.caption(f"{Path(file_report.path).name}: {notice}")

# --- policy ---------------------------------------------------------------------------------------------------
st.subheader("SLA policy")
path = source.settings.policy_path or DEFAULT_POLICY_PATH
st.caption(f"`{path}`" + (" (the default; set CARE_DASHBOARD_POLICY to use your own)"
                           if source.settings.policy_path is None else ""))
try:
    policy = load_policy(source.settings.policy_path)
except PolicyError as exc:
    st.error(f"The policy file is not valid: {exc}")
except OSError as exc:
    st.error(f"Could not read the policy file: {exc}")
else:
    targets = pl.DataFrame([
        {"metric": t.metric, "name": t.label, "tier": ", ".join(t.tier or ()) or "any",
         "priority": ", ".join(map(str, t.priority or ())) or "any",
         "channel": ", ".join(t.channel or ()) or "any", "target": t.target_seconds, "clock": t.clock,
         "schedule": t.schedule}
        for t in policy.targets
    ])
    st.caption(f"{len(policy.targets)} targets, schedules: {', '.join(policy.schedules)}. The first matching "
               "target wins.")
    st.dataframe(targets, hide_index=True, key="data_policy_targets",
                 column_config={"target": st.column_config.NumberColumn("target (s)")})
try:
    with open(path, encoding="utf-8") as fh:
        st.code(fh.read(), language="toml")
except OSError:
    pass
