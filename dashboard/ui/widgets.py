"""Small Streamlit helpers shared by the pages (``render_*``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl
import streamlit as st

from dashboard.kpi import Kpi
from dashboard.source import DEMO_NOTICE, DataSource

__all__ = ["render_demo_notice", "render_download", "render_empty", "render_explain", "render_kpi_row"]


def render_demo_notice(source: DataSource) -> None:
    if source.is_demo:
        st.info(f"**{DEMO_NOTICE}.** No Khoros account is configured; every figure comes from the bundled "
                "simulator's seeded world. See the README to connect a Khoros Care tenant.", icon=":material/science:")


def render_download(frame: pl.DataFrame, name: str, *, key: str) -> None:
    """CSV and Parquet downloads of a frame (the rows behind a figure)."""
    # The files are made when a button is clicked (a callable), not on every run: encoding the rows behind
    # six KPIs on each rerun costs seconds on a large tenant.
    def as_parquet() -> bytes:
        buf = io.BytesIO()
        frame.write_parquet(buf)
        return buf.getvalue()

    left, right = st.columns(2)
    left.download_button("Download CSV", lambda: frame.write_csv().encode(), file_name=f"{name}.csv",
                         mime="text/csv", key=f"{key}_csv", on_click="ignore")
    right.download_button("Download Parquet", as_parquet, file_name=f"{name}.parquet",
                          mime="application/vnd.apache.parquet", key=f"{key}_parquet", on_click="ignore")


def render_explain(kpi: Kpi, *, key: str) -> None:
    """Definition, parameters and the rows behind a KPI."""
    st.markdown(f"**{kpi.label}** — {kpi.definition}")
    if kpi.parameters:
        st.markdown("\n".join(f"- {name}: `{value}`" for name, value in kpi.parameters.items()))
    if kpi.rows is not None:
        st.caption(f"{kpi.rows.height:,} rows behind this figure")
        st.dataframe(kpi.rows.head(500), hide_index=True, height=240)
        render_download(kpi.rows, kpi.key, key=key)


def render_kpi_row(kpis: Sequence[Kpi], *, key: str) -> None:
    """One bordered metric per KPI, with its change, sparkline and an "explain" popover under it."""
    for kpi, col in zip(kpis, st.columns(len(kpis)), strict=True):
        with col:
            st.metric(
                kpi.label,
                kpi.text,
                delta=kpi.delta,
                delta_color="inverse" if kpi.lower_is_better else "normal",
                help=kpi.definition,
                border=True,
                chart_data=kpi.sparkline or None,
                chart_type="area",
                delta_description="vs previous period" if kpi.delta else None,
                height="stretch",
            )
    # A row of its own, so the buttons line up whether or not a card has a sparkline.
    for kpi, col in zip(kpis, st.columns(len(kpis)), strict=True):
        with col, st.popover("Explain", key=f"{key}_{kpi.key}_explain", width="stretch"):
            render_explain(kpi, key=f"{key}_{kpi.key}")


def render_empty(message: str) -> None:
    st.warning(message, icon=":material/search_off:")
