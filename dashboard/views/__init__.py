"""Views: everything a page shows, built without Streamlit from the core and the reader's filters.

One module per page; each ``build_<page>(core, filters, ...)`` returns a dataclass holding the page's KPI texts,
tables as shown, Altair charts (from ``dashboard.charts*``) and messages, so a page only lays it out — and a
notebook, a digest or a test can ask for the same figures. Numbers come from ``dashboard.metrics``; views add
window arithmetic, joins, thresholds and wording.

Planning (issue 16): contact reasons, occupancy, staffing, what-if targets; and Khoros' own "time to agent
response" beside ours (``khoros_tar``).
"""

from dashboard.views.agents import AgentsView, AgentTimeline, build_agent_timeline, build_agents, leaderboard_table
from dashboard.views.author_panel import AuthorPanelView, build_author_panel
from dashboard.views.automation import AutomationView, build_automation
from dashboard.views.data import DataView, Outcome, advance_demo, build_data, import_uploads, refresh_demo, sync_now
from dashboard.views.khoros_tar import TarView, build_khoros_tar
from dashboard.views.kpi import Card, Kpi, format_duration, format_value
from dashboard.views.live_queue import LiveQueueView, build_live_queue
from dashboard.views.occupancy import OccupancyDrilldown, OccupancyView, build_occupancy, build_occupancy_drilldown
from dashboard.views.overview import OverviewView, build_overview
from dashboard.views.reasons import ReasonDrilldown, ReasonsView, build_reason_drilldown, build_reasons
from dashboard.views.service_levels import (
    Drilldown,
    ServiceLevelsView,
    SlaBreakdown,
    build_drilldown,
    build_service_levels,
    build_sla_breakdown,
)
from dashboard.views.staffing import StaffingView, build_staffing
from dashboard.views.whatif import WhatIfView, build_whatif

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
    "OccupancyDrilldown",
    "OccupancyView",
    "Outcome",
    "OverviewView",
    "ReasonDrilldown",
    "ReasonsView",
    "ServiceLevelsView",
    "SlaBreakdown",
    "StaffingView",
    "TarView",
    "WhatIfView",
    "advance_demo",
    "build_agent_timeline",
    "build_agents",
    "build_author_panel",
    "build_automation",
    "build_data",
    "build_drilldown",
    "build_khoros_tar",
    "build_live_queue",
    "build_occupancy",
    "build_occupancy_drilldown",
    "build_overview",
    "build_reason_drilldown",
    "build_reasons",
    "build_service_levels",
    "build_sla_breakdown",
    "build_staffing",
    "build_whatif",
    "format_duration",
    "format_value",
    "import_uploads",
    "leaderboard_table",
    "refresh_demo",
    "sync_now",
]
