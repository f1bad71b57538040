"""The view across tenants on the Overview and Service levels: only the tenants the reader may see."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard.access import allowed_tenants
from dashboard.ui.context import PageContext
from dashboard.ui.loaders import get_tenants, tenant_cores
from dashboard.ui.widgets import as_text, render_caption, render_table
from dashboard.views.service_levels import METRIC_LABELS
from dashboard.views.tenants import build_by_tenant

__all__ = ["render_by_tenant"]


def render_by_tenant(ctx: PageContext, *, key: str, metrics: Sequence[str] = ("first_response", "resolution")) -> None:
    """"By tenant": each tenant the reader may see beside the others, and the total (nothing with one tenant)."""
    if ctx.viewer is None:
        return
    allowed = allowed_tenants(ctx.viewer, get_tenants().names)
    if len(allowed) < 2:
        return
    st.subheader("By tenant")
    with st.spinner("Opening each tenant's data…"):
        cores, problems = tenant_cores(allowed)
        view = build_by_tenant(cores, ctx.filters, metrics=metrics, problems=problems)
    render_caption(view.caption)
    percent = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)
    render_table(view.table, key=key,
                 column_config={f"{METRIC_LABELS.get(m, m)} SLA %": percent for m in metrics})
    for note in view.notes:
        st.warning(as_text(note), icon=":material/domain_disabled:")
