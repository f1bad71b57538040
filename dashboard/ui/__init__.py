"""The only Streamlit code under ``dashboard/``: the shared sidebar, cached loaders and widgets."""

from dashboard.ui.context import PageContext, page_context, render_sidebar
from dashboard.ui.loaders import get_settings, get_source, load_facts, load_table, load_tables
from dashboard.ui.widgets import render_demo_notice, render_download, render_empty, render_explain, render_kpi_row

__all__ = [
    "PageContext",
    "get_settings",
    "get_source",
    "load_facts",
    "load_table",
    "load_tables",
    "page_context",
    "render_demo_notice",
    "render_download",
    "render_empty",
    "render_explain",
    "render_kpi_row",
    "render_sidebar",
]
