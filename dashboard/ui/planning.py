"""Render helpers for the sections the Service levels page adds with one line each: what-if targets, and Khoros'
own "time to agent response" beside ours; and the "Explain" popover of a view's definitions.

Each section has its own guard, so a failure in it is a message in the section and the rest of the page stands.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import polars as pl
import streamlit as st

from dashboard.filters import Filters
from dashboard.metrics.policy import CLOCKS, METRICS
from dashboard.ui.guard import page_guard
from dashboard.ui.widgets import escape_markdown, render_chart, render_counted, render_download, render_table
from dashboard.views.khoros_tar import RESPONSE_LABELS, build_khoros_tar
from dashboard.views.service_levels import METRIC_LABELS
from dashboard.views.whatif import WHATIF_METRICS, build_whatif, whatif_targets

__all__ = ["edited_frame", "render_definitions", "render_khoros_tar", "render_whatif"]

PERCENT = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)


def render_definitions(definitions: Mapping[str, str], *, key: str, label: str = "Explain") -> None:
    """A popover listing what each figure means (the metric module's own definitions)."""
    with st.popover(label, key=key):
        for name, text in definitions.items():
            st.markdown(f"**{escape_markdown(name.replace('_', ' ').capitalize())}** — {escape_markdown(text)}")


def edited_frame(edited: object) -> pl.DataFrame:
    """What ``st.data_editor`` hands back (pandas for a polars input), as polars with nulls for empty cells."""
    if isinstance(edited, pl.DataFrame):
        return edited
    if isinstance(edited, pd.DataFrame):
        return pl.from_pandas(edited, nan_to_null=True)
    return pl.DataFrame(edited)


def render_whatif(core, filters: Filters) -> None:
    """Edit the policy's targets in the page and see the same window re-scored beside the real policy; the new
    policy can be downloaded as TOML (nothing is written)."""
    st.subheader("What if the targets were different?")
    with page_guard("Could not re-score the window"):
        targets = whatif_targets(core)
        st.caption("Edit a target, its tier / priority / channel (comma-separated, empty = any), its clock, or the "
                   "position that decides which target wins; add or delete rows. The window is re-scored under the "
                   "edited targets as you go.")
        edited = st.data_editor(
            targets, key="sla_whatif_targets", hide_index=True, num_rows="dynamic", width="stretch",
            disabled=["target_seconds"],
            column_config={
                "position": st.column_config.NumberColumn("position", min_value=1, step=1),
                "metric": st.column_config.SelectboxColumn("metric", options=list(METRICS), required=True),
                "clock": st.column_config.SelectboxColumn("clock", options=list(CLOCKS), required=True),
                "schedule": st.column_config.SelectboxColumn("schedule", options=list(core.policy().schedules)),
                "target": st.column_config.TextColumn("target", help="e.g. 15m, 1h30m, 40h, 2d", required=True),
                "target_seconds": st.column_config.NumberColumn("seconds (real)", format="%d"),
            },
        )
        view = build_whatif(core, filters, edited_frame(edited))
        if view.error:
            st.error(escape_markdown(view.error), icon=":material/edit_off:")
            return
        if not view.changed_targets:
            st.caption("These are the real targets: the figures below are exactly the Service levels figures.")
        render_table(view.summary, key="sla_whatif_summary",
                     column_config={"Real policy %": PERCENT, "Edited targets %": PERCENT})
        st.caption(view.note)
        metric = st.segmented_control("Details for", list(WHATIF_METRICS), format_func=METRIC_LABELS.get,
                                      default="first_response", required=True, key="sla_whatif_metric")
        detail = view.metrics[metric]
        left, right = st.columns(2)
        with left:
            render_chart(detail.chart, key="sla_whatif_chart")
        with right:
            render_table(detail.by_tier, key="sla_whatif_by_tier")
        render_counted(f"{detail.changed.height:,} {detail.unit}", "change status under the edited targets")
        if detail.changed.height:
            render_table(detail.changed, key="sla_whatif_changed", height=280)
            render_download(detail.changed, f"whatif_{metric}_changed", key="sla_whatif_changed_download")
        st.download_button("Download the edited policy (TOML)", view.toml, file_name="sla_policy_edited.toml",
                           mime="application/toml", key="sla_whatif_toml", on_click="ignore")
        st.caption(f"{view.toml_note} Nothing is written to the policy in force; point CARE_DASHBOARD_POLICY at the "
                   "downloaded file to adopt it.")


def render_khoros_tar(core, filters: Filters) -> None:
    """Khoros' "time to agent response" (currentTAR), ours to its definition, and ours, with why they differ."""
    st.subheader("Khoros' time to agent response beside ours")
    with page_guard("Could not compare with Khoros' figure"):
        view = build_khoros_tar(core, filters)
        if view.unavailable:
            st.info(f"Khoros' own figure is not available: {escape_markdown(view.unavailable)}",
                    icon=":material/cloud_off:")
        render_table(view.table, key="sla_khoros_tar")
        for kind, reasons in view.reasons.items():
            if reasons:
                st.markdown(f"**{RESPONSE_LABELS[kind]}: why the figures differ**\n"
                            + "\n".join(f"- {escape_markdown(r)}" for r in reasons))
            else:
                st.caption(f"{RESPONSE_LABELS[kind]}: the three figures agree.")
        for note in view.notes:
            st.caption(escape_markdown(note))
