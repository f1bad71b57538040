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

from dashboard.errors import DashboardError, SettingsError
from dashboard.formats import format_duration, local_text
from dashboard.metrics.policy import DEFAULT_POLICY_PATH
from dashboard.schema import EXPORTS
from dashboard.views.kpi import duration_text, in_zone

UPLOAD_FOLDER = "care-import-"
"""Uploads are written to a temporary folder of this prefix for the importer: a row's source is the file's name."""
HEADERS = {
    "export": "Export", "last_success": "Last sync", "minutes_ago": "Minutes ago", "rows": "Rows", "days": "Days",
    "failed_windows": "Failed windows", "first_day": "First day", "last_day": "Last day", "reason": "Reason",
    "at": "At", "day": "Day", "fetched_at": "Fetched", "source": "Source", "workflow_id": "Workflow id",
    "run_id": "Run id", "failures": "Job re-runs", "as_of": "Data as of", "line": "Line", "raw": "Raw row",
    "metric": "Metric", "name": "Name", "tier": "Tier", "priority": "Priority", "channel": "Channel",
    "target": "Target", "clock": "Clock", "schedule": "Schedule", "user": "User", "action": "Action", "what": "What",
}  # fmt: skip
"""The store's columns as an admin reads them."""


def headed(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """``frame`` with the headers of :data:`HEADERS` and its instants in the report zone."""
    return in_zone(frame, tz).rename({c: HEADERS[c] for c in frame.columns if c in HEADERS})


def upload_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Quarantined rows of an upload name the uploaded file, not the server's temporary copy of it."""
    if "source" not in frame.columns:
        return frame
    return frame.with_columns(pl.col("source").str.replace(rf"^.*[/\\]{UPLOAD_FOLDER}[^/\\]*[/\\]", ""))

__all__ = ["DataView", "Outcome", "advance_demo", "audit_table", "build_data", "import_uploads", "refresh_demo",
           "sync_now"]


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
    unanchored: str | None
    """Set when stored conversations have no inbound post (they count in no figure) — what to import."""
    exports: list[str]
    is_demo: bool
    policy_caption: str
    policy_error: str | None
    targets: pl.DataFrame | None
    policy_note: str = ""
    policy_text: str | None = field(default=None, repr=False)
    damaged: pl.DataFrame | None = None
    """Stored days whose file could not be read, left out of every figure until fetched again (issue 18)."""
    demo_clock: str | None = None
    """The demo only: where its clock stands and when it advances."""


def _unanchored(core) -> str | None:
    """Conversations without any stored inbound post: every clock starts at the first inbound post, so they
    count in no figure (typically a conversation export imported without its incoming_post export)."""
    try:
        missing = (core.scan("conversation").select("conversation_id").unique()
                   .join(core.scan("incoming_post").select("conversation_id").unique(), on="conversation_id",
                         how="anti").select(pl.len()).collect().item())
    except (DashboardError, pl.exceptions.PolarsError):
        return None
    if not missing:
        return None
    return (f"{missing:,} stored conversation(s) have no inbound post, so they count in no figure (every service "
            "level clock starts at the first inbound post). Import the incoming_post export for the same days.")


def build_data(core, tz: str | None = None) -> DataView:
    tz = tz or core.settings.timezone
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
    quarantine = upload_names(store.quarantine())
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
        ]).with_columns(duration_text("target").alias("target"))
        note = (f"{len(policy.targets)} targets, schedules: {', '.join(policy.schedules)}. The first matching target "
                "wins.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = None
    return DataView(
        source=f"Source: {core.label} · store: {store.root}",
        freshness=headed(shown, tz) if shown is not None else None, freshness_error=error,
        failures=headed(failures, tz) if failures is not None else pl.DataFrame(),
        manifest=headed(manifest, tz) if manifest is not None else None,
        quarantine=headed(quarantine, tz),
        quarantine_reasons=headed(quarantine.group_by("export", "reason").agg(pl.len().alias("rows"))
                                  .sort("rows", descending=True), tz),
        sync_blocker=(f"Syncing a Khoros tenant needs these settings, which are not set: {', '.join(missing)}. Set "
                      "them as environment variables or in .streamlit/secrets.toml (see the README).")
        if missing else None,
        exports=list(EXPORTS), is_demo=core.is_demo,
        policy_caption=f"{path}" + (" (the default; set CARE_DASHBOARD_POLICY to use your own)"
                                    if path == DEFAULT_POLICY_PATH else ""),
        policy_error=policy_error, targets=headed(targets, tz) if targets is not None else None, policy_note=note,
        policy_text=text, unanchored=_unanchored(core), damaged=core.damaged(),
        demo_clock=_demo_clock(core, tz),
    )


def _demo_clock(core, tz: str) -> str | None:
    if not core.is_demo:
        return None
    behind = datetime.now(UTC) - core.now()
    lag = f", {format_duration(behind.total_seconds())} behind the wall clock" if behind > timedelta(minutes=1) else ""
    return (f"The demo world's clock: {local_text(core.now(), tz)} ({tz}){lag}. It moves on when the "
            "app starts more than 15 minutes behind, or with Bring the demo up to now: the new days of the same "
            "world are synced, its history stays. Every process (pages, report, notebooks) reads this clock.")



@dataclass(frozen=True)
class Outcome:
    ok: bool
    label: str
    message: str
    notes: list[str] = field(default_factory=list)
    warning: bool = False
    """Done, but not all of it: e.g. an import whose rows were partly quarantined (never a green box)."""


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
    if export_id == "conversation":
        notes.append("Conversations count in the figures only with their inbound posts (every clock starts at the "
                     "first one): import the incoming_post export for the same days too.")
    read = result.rows + result.quarantined
    if result.quarantined:
        per_file = "; ".join(f"{Path(f.path).name}: {f.quarantined:,} of {f.rows + f.quarantined:,}"
                             for f in result.files if f.quarantined)
        return Outcome(True, "Imported with quarantined rows",
                       f"Imported {result.rows:,} of {read:,} rows; {result.quarantined:,} did not parse and were "
                       f"quarantined ({per_file}) — see Quarantined rows for their lines and reasons. {result}",
                       notes, warning=True)
    return Outcome(True, "Imported", f"Imported {result}", notes)


def advance_demo(core, tz: str, progress: Progress | None = None) -> Outcome:
    """Bring the demo's clock up to now: the same world's new days synced into the store, its history kept."""
    advance = getattr(core.source, "advance", None)
    if advance is None:
        raise SettingsError("only the demo has a clock to bring forward; a tenant syncs new days instead")
    before = core.now()
    if not advance(progress):
        return Outcome(True, "The demo is up to now", f"The demo world already ends {local_text(before, tz)} ({tz}).")
    return Outcome(True, "Demo brought up to now",
                   f"The demo world now ends {local_text(core.now(), tz)} ({tz}); it ended {local_text(before, tz)}. "
                   "Its new days were synced into the store; what was there stays.")


def refresh_demo(core, progress: Progress | None = None) -> Outcome:
    """A new demo world ending now, synced into the demo store."""
    core.refresh_demo(progress)
    return Outcome(True, "New demo world", f"A new demo world ending {core.now():%Y-%m-%d %H:%M} UTC is in the store.")


def audit_table(events: Sequence, tz: str) -> pl.DataFrame:
    """Audit records (``dashboard.audit.AuditEvent``, newest first) as an admin reads them: when (report zone), who,
    the action in words, and what (names and counts, never data)."""
    from dashboard.audit import ACTIONS

    frame = pl.DataFrame({"at": [e.at for e in events], "user": [e.user for e in events],
                          "action": [ACTIONS.get(e.action, e.action) for e in events],
                          "what": [e.describe() for e in events]},
                         schema={"at": pl.Datetime("ms", "UTC"), "user": pl.String, "action": pl.String,
                                 "what": pl.String})
    return headed(frame, tz)
