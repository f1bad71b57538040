"""The shared sidebar and the context every page reads: data source, window, time zone, filters.

Every control has a key bound to the URL (``bind="query-params"``), so any view can be shared as a link.
Keys are global (they are shared by all pages): ``range``, ``start``, ``end``, ``tz``, ``tier``,
``priority``, ``queue``, ``channel``, ``team``, ``agent``, ``bot_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import polars as pl
import streamlit as st

from dashboard.filters import FILTER_COLUMNS, apply_filters, filter_options
from dashboard.source import DataSource

__all__ = ["RANGE_PRESETS", "PageContext", "page_context", "render_sidebar"]

RANGE_PRESETS = {
    "Last 7 days": 7,
    "Last 28 days": 28,
    "Last 90 days": 90,
    "Custom": None,
}
COMMON_ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
    "Europe/London", "Europe/Berlin", "Europe/Paris", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo",
    "Australia/Sydney", "UTC",
]
FILTER_LABELS = {
    "tier": "Customer tier",
    "priority": "Priority",
    "queue": "Work queue",
    "channel": "Channel",
    "team": "Team",
    "agent": "Agent",
}
_CONTEXT_KEY = "_page_context"


@dataclass(frozen=True)
class PageContext:
    source: DataSource
    start: date
    """First day of the report window (inclusive), in ``tz``."""
    end: date
    """Day after the last day (exclusive), in ``tz``."""
    tz: str
    filters: dict[str, list] = field(default_factory=dict)
    bot_rule: str = "human"
    as_of: datetime | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous_window(self) -> tuple[date, date]:
        return self.start - timedelta(days=self.days), self.start

    def filter(self, facts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        return apply_filters(facts, self.filters)

    def describe(self) -> str:
        active = {FILTER_LABELS[k]: v for k, v in self.filters.items() if v}
        parts = [f"{self.start:%d %b %Y} – {self.end - timedelta(days=1):%d %b %Y} ({self.tz})"]
        parts += [f"{k}: {', '.join(map(str, v))}" for k, v in active.items()]
        return " · ".join(parts)


def page_context() -> PageContext:
    """The context the entrypoint built for this run (pages call this, they never build their own)."""
    ctx = st.session_state.get(_CONTEXT_KEY)
    if ctx is None:
        # A deep link (e.g. a shared /service_levels?tier=Gold) as the first request a fresh server gets: until
        # st.navigation has run once, Streamlit treats pages/ as a legacy multipage folder and runs the page
        # file directly, without app.py. Leave that mode and rerun: app.py then routes the same URL.
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return ctx


def _freshness_caption(source: DataSource) -> str:
    try:
        fresh = source.store.freshness()
    except Exception:
        return "freshness unknown"
    if fresh.is_empty():
        return "nothing synced yet"
    row = fresh.filter(pl.col("export") == "conversation")
    if row.is_empty() or row["last_success"][0] is None:
        return "conversations not synced yet"
    last = row["last_success"][0]
    minutes = max(0, int((datetime.now(last.tzinfo) - last).total_seconds() // 60))
    ago = f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return f"conversations synced {ago}"


def render_sidebar(source: DataSource, facts: pl.DataFrame) -> PageContext:
    """Draw the shared sidebar and return (and remember) the page context it selects."""
    sb = st.sidebar
    sb.markdown(f"**Data source:** {'Simulator (demo)' if source.is_demo else 'Khoros Care tenant'}")
    sb.caption(_freshness_caption(source))
    today = source.now().astimezone(ZoneInfo(source.settings.timezone)).date()
    preset = sb.selectbox("Date range", list(RANGE_PRESETS), index=1, key="range", bind="query-params")
    if RANGE_PRESETS[preset] is None:
        picked = sb.date_input(
            "From – to (inclusive)", value=(today - timedelta(days=28), today - timedelta(days=1)),
            key="dates", bind="query-params",
        )
        if isinstance(picked, tuple | list) and len(picked) == 2:
            start, end = picked[0], picked[1] + timedelta(days=1)
        else:
            start, end = today - timedelta(days=28), today
    else:
        # The window ends with today (partial) so live figures and the latest arrivals are in it.
        end = today + timedelta(days=1)
        start = end - timedelta(days=RANGE_PRESETS[preset])
    zones = COMMON_ZONES if source.settings.timezone in COMMON_ZONES else [source.settings.timezone, *COMMON_ZONES]
    tz = sb.selectbox("Report time zone", zones, index=zones.index(source.settings.timezone), key="tz",
                      bind="query-params")
    if tz not in available_timezones():
        tz = source.settings.timezone

    sb.markdown("**Filters**")
    options = filter_options(facts)
    filters: dict[str, list] = {}
    for key, label in FILTER_LABELS.items():
        if key not in FILTER_COLUMNS:
            continue
        filters[key] = sb.multiselect(label, options.get(key, []), key=key, bind="query-params")
    bot_rule = sb.radio(
        "Bot rule for first response", ["human", "any"], horizontal=True, key="bot_rule", bind="query-params",
        help="human: a bot reply does not stop the clock; for bot-first conversations the clock starts at the "
             "handoff to an agent. any: any public reply (bot or human) stops it.",
    )
    ctx = PageContext(source=source, start=start, end=end, tz=tz, filters=filters, bot_rule=bot_rule,
                      as_of=source.now())
    st.session_state[_CONTEXT_KEY] = ctx
    return ctx
