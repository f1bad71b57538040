"""Small Streamlit helpers shared by the pages (``render_*``): they draw what a view built."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import altair as alt
import polars as pl
import streamlit as st

from dashboard.charts import display_height
from dashboard.csv_safety import csv_bytes
from dashboard.source import DEMO_NOTICE
from dashboard.views.kpi import Card, Kpi

__all__ = [
    "as_text",
    "escape_markdown",
    "render_caption",
    "render_cards",
    "render_chart",
    "render_counted",
    "render_demo_notice",
    "render_download",
    "render_empty",
    "render_explain",
    "render_kpi_row",
    "render_table",
]

TABLE_TIME_FORMAT = "ddd DD MMM HH:mm"
"""``dashboard.formats.TIME_FORMAT`` in the grid's moment.js notation."""


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


PARQUET_HELP = ("Parquet keeps every column's exact type: the export meant for notebooks and a warehouse (the "
                "analyst role).")


def render_download(frame: pl.DataFrame, name: str, *, key: str) -> None:
    """CSV and Parquet downloads of a frame (the rows behind a figure). Each download is recorded in the audit
    before its bytes are made (a reader who may only view gets the CSV; Parquet is the analyst's export)."""
    from dashboard.audit import audited
    from dashboard.ui.account import current_tenant, current_viewer, recorder

    viewer, tenant = current_viewer(), current_tenant()
    if viewer is None or not viewer.may("view", tenant):
        return

    # The files are made when a button is clicked (a callable), not on every run: encoding the rows behind
    # six KPIs on each rerun costs seconds on a large tenant.
    def as_parquet() -> bytes:
        buf = io.BytesIO()
        frame.write_parquet(buf)
        return buf.getvalue()

    def recorded(produce, file_format: str):
        return audited(produce, recorder("download", file=f"{name}.{file_format}", rows=frame.height,
                                         columns=frame.width))

    left, right = st.columns(2)
    # Customer text never reaches a spreadsheet as a formula (dashboard.csv_safety); Parquet stays exact.
    left.download_button("Download CSV", recorded(lambda: csv_bytes(frame), "csv"), file_name=f"{name}.csv",
                         mime="text/csv", key=f"{key}_csv", on_click="ignore")
    exports = viewer.may("export", tenant)
    right.download_button("Download Parquet", recorded(as_parquet, "parquet") if exports else b"",
                          file_name=f"{name}.parquet", mime="application/vnd.apache.parquet", key=f"{key}_parquet",
                          on_click="ignore", disabled=not exports,
                          help=PARQUET_HELP if exports else f"{PARQUET_HELP} Your role: {viewer.role_for(tenant)}.")


def render_explain(kpi: Kpi, *, key: str) -> None:
    """Definition, parameters and the rows behind a KPI."""
    st.markdown(f"**{as_text(kpi.label)}** — {as_text(kpi.definition)}")
    if kpi.parameters:
        st.markdown("\n".join(f"- {as_text(name)}: {as_text(value)}" for name, value in kpi.parameters.items()))
    if kpi.rows is not None:
        st.caption(f"{kpi.rows.height:,} rows behind this figure")
        render_table(kpi.rows.head(500), height=240)
        render_download(kpi.rows, kpi.key, key=key)


def render_kpi_row(kpis: Sequence[Kpi], *, key: str) -> None:
    """One bordered metric per KPI, with its change, sparkline and an "explain" popover under it."""
    for kpi, col in zip(kpis, st.columns(len(kpis)), strict=True):
        with col:
            st.metric(
                as_text(kpi.label),
                as_text(kpi.text),
                delta=kpi.delta,
                delta_color="inverse" if kpi.lower_is_better else "normal",
                help=as_text(kpi.definition),
                border=True,
                chart_data=kpi.sparkline or None,
                chart_type="area",
                delta_description=as_text(kpi.delta_description) if kpi.delta else None,
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
        columns[i % len(columns)].metric(as_text(card.label), as_text(card.value),
                                         help=as_text(card.help) if card.help else None, border=True)


def render_empty(message: str | None) -> None:
    if message:
        st.warning(as_text(message), icon=":material/search_off:")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&@/])")
# GFM links bare URLs, "www." and e-mail addresses in the text Markdown has already unescaped: an invisible word
# joiner (U+2060) after the scheme's colon, in "www.", and after "@" keeps them text, and reads the same.
WORD_JOINER = "\u2060"
_LINKABLE = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*:)(?=//)|(\bwww)(?=\.)|(@)|(\bmailto:)")


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as it is (customer data is text, never markup): every character Markdown or
    Streamlit's extensions (``:red[...]``, ``:material/...:``, ``$...$``) read as syntax is escaped, a URL or an
    address is kept from being linked, and line breaks become spaces (a heading or a list cannot start mid-text)."""
    flat = " ".join(str(text).split())
    unlinked = _LINKABLE.sub(lambda m: m.group(0) + WORD_JOINER, flat)
    return _MARKDOWN.sub(r"\\\1", unlinked)


as_text = escape_markdown
"""What every Markdown-rendering element (captions, messages, labels, help) is given: text that can hold
customer data (names, tiers, handles, file headers) is shown as it is, never as a link or an image."""


def render_caption(text: str | None) -> None:
    """A caption that may hold customer data, shown as text."""
    if text:
        st.caption(as_text(text))


def render_table(frame: pl.DataFrame, *, key: str | None = None, column_config: dict | None = None,
                 **kwargs) -> None:
    """``st.dataframe`` without the index, every time column written one way (the report zone's clock, which the
    view put them in; :data:`TABLE_TIME_FORMAT`)."""
    config = {c: st.column_config.DatetimeColumn(c, format=TABLE_TIME_FORMAT)
              for c, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)}
    config.update(column_config or {})
    st.dataframe(frame, hide_index=True, key=key, column_config=config, **kwargs)


def render_counted(count: str, detail: str) -> None:
    """``count`` in bold, then ``detail`` as plain text (it may hold customer data)."""
    st.markdown(f"**{escape_markdown(count)}** {escape_markdown(detail)}")
