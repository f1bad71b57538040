"""Data: what is in the local store and how fresh it is; sync now; quarantined rows; import files; the policy.

The store answers freshness, manifest and quarantine; the core syncs (from Khoros or the demo's simulator) and
imports files with the same schema as a sync. Actions return an outcome the page shows as it is.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.errors import DashboardError
from dashboard.metrics.policy import DEFAULT_POLICY_PATH
from dashboard.schema import EXPORTS

__all__ = ["DataView", "Outcome", "build_data", "import_uploads", "refresh_demo", "sync_now"]


@dataclass(frozen=True)
class DataView:
    source: str
    freshness: pl.DataFrame | None
    """Per export: last sync, rows, days, minutes ago; None when the store is empty."""
    freshness_error: str | None
    failures: pl.DataFrame
    manifest: pl.DataFrame | None
    quarantine: pl.DataFrame
    quarantine_reasons: pl.DataFrame
    sync_blocker: str | None
    """Why this source cannot sync (missing settings), or None."""
    exports: list[str]
    is_demo: bool
    policy_caption: str
    policy_error: str | None
    targets: pl.DataFrame | None
    policy_note: str = ""
    policy_text: str | None = field(default=None, repr=False)


def build_data(core) -> DataView:
    store = core.store
    freshness = failures = manifest = None
    error = None
    try:
        freshness, failures, manifest = store.freshness(), store.failures_frame(), store.manifest()
    except DashboardError as exc:  # a damaged manifest names its file
        error = f"Could not read the store's manifest: {exc}"
    shown = None
    if freshness is not None and freshness.height:
        now = datetime.now(UTC)  # sync times are wall-clock times, also in the demo
        shown = pl.DataFrame({"export": list(EXPORTS)}).join(freshness, on="export", how="left").with_columns(
            ((pl.lit(now) - pl.col("last_success")).dt.total_minutes()).alias("minutes_ago"))
    quarantine = store.quarantine()
    missing = [] if core.is_demo else core.settings.missing_for_tenant()
    path = core.policy_path
    policy_error = targets = None
    note = ""
    try:
        policy = core.policy()
    except DashboardError as exc:
        policy_error = f"The policy file is not valid: {exc}"
    else:
        targets = pl.DataFrame([
            {"metric": t.metric, "name": t.label, "tier": ", ".join(t.tier or ()) or "any",
             "priority": ", ".join(map(str, t.priority or ())) or "any",
             "channel": ", ".join(t.channel or ()) or "any", "target": t.target_seconds, "clock": t.clock,
             "schedule": t.schedule}
            for t in policy.targets
        ])
        note = (f"{len(policy.targets)} targets, schedules: {', '.join(policy.schedules)}. The first matching target "
                "wins.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = None
    return DataView(
        source=f"Source: {core.label} · store: {store.root}",
        freshness=shown, freshness_error=error,
        failures=failures if failures is not None else pl.DataFrame(), manifest=manifest,
        quarantine=quarantine,
        quarantine_reasons=quarantine.group_by("export", "reason").agg(pl.len().alias("rows"))
        .sort("rows", descending=True),
        sync_blocker=(f"Syncing a Khoros tenant needs these settings, which are not set: {', '.join(missing)}. Set "
                      "them as environment variables or in .streamlit/secrets.toml (see the README).")
        if missing else None,
        exports=list(EXPORTS), is_demo=core.is_demo,
        policy_caption=f"{path}" + (" (the default; set CARE_DASHBOARD_POLICY to use your own)"
                                    if path == DEFAULT_POLICY_PATH else ""),
        policy_error=policy_error, targets=targets, policy_note=note, policy_text=text,
    )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    label: str
    message: str
    notes: list[str] = field(default_factory=list)


Progress = Callable[[str, float], None]


def sync_now(core, days: int, exports: Sequence[str], *, tz: str, progress: Progress | None = None) -> Outcome:
    """Sync the last ``days`` days (up to today in ``tz``) of the chosen exports."""
    today = core.now().astimezone(ZoneInfo(tz)).date()
    summaries = core.sync(today - timedelta(days=days), today, exports, bot_days=days, progress=progress)
    failed = [f for s in summaries for f in s.failures]
    if failed:
        return Outcome(False, f"Sync finished with {len(failed)} failure(s)",
                       "Some windows could not be fetched (they are retried on the next sync): " + "; ".join(failed))
    return Outcome(True, "Sync complete", "Sync complete: " + " · ".join(str(s) for s in summaries))


def import_uploads(core, export_id: str, uploads: Sequence[tuple[str, bytes]]) -> Outcome:
    """Import uploaded files (name, bytes); the importer names quarantined rows after the uploaded names."""
    with tempfile.TemporaryDirectory(prefix="care-import-") as folder:
        paths = []
        for name, body in uploads:
            path = Path(folder) / Path(name).name
            path.write_bytes(body)
            paths.append(path)
        result = core.import_files(export_id, paths)
    notes = [f"{Path(f.path).name}: {notice}" for f in result.files for notice in f.notices]
    return Outcome(True, "Imported", f"Imported {result}", notes)


def refresh_demo(core, progress: Progress | None = None) -> Outcome:
    """A new demo world ending now, synced into the demo store."""
    core.refresh_demo(progress)
    return Outcome(True, "New demo world", f"A new demo world ending {core.now():%Y-%m-%d %H:%M} UTC is in the store.")
