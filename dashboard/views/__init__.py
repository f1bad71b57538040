"""Views: everything a page shows, built without Streamlit from the core and the reader's filters.

One module per page; each ``build_<page>(core, filters, ...)`` returns a dataclass holding the page's KPI texts,
tables as shown, Altair charts (from ``dashboard.charts*``) and messages, so a page only lays it out — and a
notebook, a digest or a test can ask for the same figures. Numbers come from ``dashboard.metrics``; views add
window arithmetic, joins, thresholds and wording.
"""

from dashboard.views.agents import AgentsView, AgentTimeline, build_agent_timeline, build_agents, leaderboard_table
from dashboard.views.author_panel import AuthorPanelView, build_author_panel
from dashboard.views.automation import AutomationView, build_automation
from dashboard.views.data import DataView, Outcome, build_data, import_uploads, refresh_demo, sync_now
from dashboard.views.kpi import Card, Kpi, format_duration, format_value
from dashboard.views.live_queue import LiveQueueView, build_live_queue
from dashboard.views.overview import OverviewView, build_overview
from dashboard.views.service_levels import (
    Drilldown,
    ServiceLevelsView,
    SlaBreakdown,
    build_drilldown,
    build_service_levels,
    build_sla_breakdown,
)

__all__ = [
    "AgentTimeline",
    "AgentsView",
    "AuthorPanelView",
    "AutomationView",
    "Card",
    "DataView",
    "Drilldown",
    "Kpi",
    "LiveQueueView",
    "Outcome",
    "OverviewView",
    "ServiceLevelsView",
    "SlaBreakdown",
    "build_agent_timeline",
    "build_agents",
    "build_author_panel",
    "build_automation",
    "build_data",
    "build_drilldown",
    "build_live_queue",
    "build_overview",
    "build_service_levels",
    "build_sla_breakdown",
    "format_duration",
    "format_value",
    "import_uploads",
    "leaderboard_table",
    "refresh_demo",
    "sync_now",
]
