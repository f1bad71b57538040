"""The only Streamlit code under ``dashboard/``: the shared sidebar, the core's loaders, the page guard and the
``render_*`` helpers that draw what a view built."""

from pathlib import Path

from dashboard.ui.account import (
    admit,
    current_tenant,
    current_viewer,
    record,
    render_access_notice,
    render_account,
    render_tenant_picker,
)
from dashboard.ui.context import (
    PageContext,
    open_page_context,
    page_context,
    render_link_problem,
    render_sidebar,
    start_page,
)
from dashboard.ui.data_sections import (
    progress_status,
    render_audit,
    render_connection_check,
    render_notifications,
    run_with_progress,
)
from dashboard.ui.guard import attempt, page_guard
from dashboard.ui.loaders import get_core, get_settings, get_tenants, load_facts, tenant_cores
from dashboard.ui.navigation import is_stand_in, navigation_pages
from dashboard.ui.planning import render_definitions, render_khoros_tar, render_whatif
from dashboard.ui.tenants import render_by_tenant
from dashboard.ui.widgets import (
    as_text,
    render_caption,
    render_cards,
    render_chart,
    render_counted,
    render_demo_notice,
    render_download,
    render_empty,
    render_explain,
    render_kpi_row,
    render_table,
)

PAGE_ICON = Path(__file__).with_name("icon.svg")
"""The favicon, served inline by Streamlit (a data URL): a ``:material/...:`` icon would be fetched from Google's
font host."""

__all__ = [
    "PAGE_ICON",
    "PageContext",
    "admit",
    "as_text",
    "attempt",
    "current_tenant",
    "current_viewer",
    "get_core",
    "get_settings",
    "get_tenants",
    "is_stand_in",
    "load_facts",
    "navigation_pages",
    "open_page_context",
    "page_context",
    "page_guard",
    "progress_status",
    "record",
    "render_access_notice",
    "render_account",
    "render_audit",
    "render_by_tenant",
    "render_caption",
    "render_cards",
    "render_chart",
    "render_connection_check",
    "render_counted",
    "render_definitions",
    "render_demo_notice",
    "render_download",
    "render_empty",
    "render_explain",
    "render_khoros_tar",
    "render_kpi_row",
    "render_link_problem",
    "render_notifications",
    "render_sidebar",
    "render_table",
    "render_tenant_picker",
    "render_whatif",
    "run_with_progress",
    "start_page",
    "tenant_cores",
]
