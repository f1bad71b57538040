"""Small Streamlit helpers shared by the pages (``render_*``): they draw what a view built."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import altair as alt
import polars as pl
import streamlit as st

from dashboard.charts import display_height
from dashboard.source import DEMO_NOTICE
from dashboard.views.kpi import Card, Kpi

__all__ = [
    "escape_markdown",
    "render_cards",
    "render_chart",
    "render_counted",
    "render_demo_notice",
    "render_download",
    "render_empty",
    "render_explain",
    "render_kpi_row",
]


def render_demo_notice(core) -> None:
    if core.is_demo:
        st.info(f"**{DEMO_NOTICE}.** No Khoros account is configured; every figure comes from the bundled "
                "simulator's seeded world. See the README to connect a Khoros Care tenant.", icon=":material/science:")


def render_chart(chart: alt.TopLevelMixin | None, *, key: str, **kwargs):
    """``st.altair_chart`` with the element height the chart needs (Streamlit fits title, axes and legend into the
    element; ``charts.display_height`` gives the plot its own height on top). Nothing for no chart."""
    if chart is None:
        return None
    return st.altair_chart(chart, height=display_height(chart), key=key, **kwargs)


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


def render_cards(cards: Sequence[Card], *, per_row: int | None = None) -> None:
    """Bordered metric cards, ``per_row`` to a row (default: all in one)."""
    columns = st.columns(max(1, min(per_row or len(cards), len(cards) or 1)))
    for i, card in enumerate(cards):
        columns[i % len(columns)].metric(card.label, card.value, help=card.help, border=True)


def render_empty(message: str | None) -> None:
    if message:
        st.warning(message, icon=":material/search_off:")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as it is (customer data is text, never markup)."""
    return _MARKDOWN.sub(r"\\\1", text)


def render_counted(count: str, detail: str) -> None:
    """``count`` in bold, then ``detail`` as plain text (it may hold customer data)."""
    st.markdown(f"**{escape_markdown(count)}** {escape_markdown(detail)}")
