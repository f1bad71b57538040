"""The shared sidebar and the context every page reads: the core and the reader's :class:`Filters`.

Every control has a key bound to the URL (``bind="query-params"``), so any view can be shared as a link.
Keys are global (they are shared by all pages): ``range``, ``dates``, ``tz``, the dimension keys of
``dashboard.filters.DIMENSIONS`` (``tier``, ``priority``, ``queue``, ``channel``, ``team``, ``agent``) and
``bot_rule``. The URL holds ids (stable); the sidebar shows agents, work queues and teams by name. A link value
that names nothing (a tier no conversation has, a time zone that is not a region's) is not dropped silently: the
page says which and what it shows instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import polars as pl
import streamlit as st

from dashboard.access import Viewer
from dashboard.core import Dashboard
from dashboard.errors import DashboardError
from dashboard.filters import DIMENSIONS, FILTER_COLUMNS, Filters, filter_options
from dashboard.formats import report_zone_problem
from dashboard.metrics import BOT_RULES
from dashboard.ui.loaders import get_core, load_facts
from dashboard.views.names import NAME_COLUMNS, dimension_labels

__all__ = ["RANGE_PRESETS", "PageContext", "link_problem", "open_page_context", "page_context", "render_link_problem",
           "render_sidebar", "start_page"]

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
_CONTEXT_KEY = "_page_context"


@dataclass(frozen=True)
class PageContext:
    core: Dashboard
    filters: Filters
    link_problems: tuple[str, ...] = ()
    """Values of the opened link that name nothing (shown under the page's title)."""
    viewer: Viewer | None = None
    """Who is reading (``dashboard.ui.account.admit``); None only outside the entrypoint's gate."""
    tenant: str = ""


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


def start_page(title: str) -> PageContext:
    """A page's first lines: its context, its title and, for the demo, the notice that the data is simulated; when
    nobody signs in, that too. A page the reader may not open stops here (the navigation never offers it; this
    holds even for a run that did not come through it)."""
    from dashboard.ui.account import render_access_notice
    from dashboard.ui.navigation import page_spec, render_not_allowed
    from dashboard.ui.widgets import as_text, render_demo_notice

    ctx = page_context()
    spec = page_spec(title)
    if spec is not None and (ctx.viewer is None or not ctx.viewer.may(spec.permission, ctx.tenant)):
        render_not_allowed(spec, ctx.viewer)
        st.stop()
    st.title(title)
    render_demo_notice(ctx.core)
    render_access_notice(ctx.viewer)
    for problem in ctx.link_problems:
        st.warning(as_text(problem), icon=":material/link_off:")
    return ctx


def render_link_problem(key: str, label: str, options: list) -> None:
    """A page's own link value (a metric, a grouping, a pick) that names nothing: said, not dropped in silence.
    ``options`` as the widget shows them (a bound widget's URL holds what it shows)."""
    from dashboard.ui.widgets import as_text

    if key in st.session_state:  # the link was read when the widget first ran; later the widget owns the URL
        return
    problem = link_problem(key, label, options)
    if problem:
        st.warning(as_text(problem), icon=":material/link_off:")


def link_problem(key: str, label: str, options: list, *, also: str = "") -> str | None:
    """A message when the URL's ``key`` holds values that are not among ``options`` (compared as text, as a URL
    holds them), else None."""
    if key not in st.query_params:
        return None
    known = {str(o) for o in options}
    unknown = [v for v in st.query_params.get_all(key) if v not in known]
    if not unknown:
        return None
    return (f"The link's {label} {', '.join(repr(v) for v in unknown)} matches nothing here and is left out"
            f"{also}.")


def _freshness_caption(core: Dashboard) -> str:
    try:
        fresh = core.store.freshness()
    except DashboardError:
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


def _shown_as(labels: dict):
    return lambda value: labels.get(value, str(value))


def _seed_from_ids(key: str, labels: dict) -> None:
    """A link may name agents, work queues or teams by id (``?queue=12``) as well as the sidebar shows them (the
    URL holds what the widget shows): on the first run, ids choose the options they name."""
    if key not in st.query_params or key in st.session_state:
        return
    by_text = {str(value): value for value in labels} | {label: value for value, label in labels.items()}
    raw = st.query_params.get_all(key)
    if any(r in by_text and by_text[r] in labels and r not in labels.values() for r in raw):
        st.session_state[key] = [by_text[r] for r in raw if r in by_text]


def render_sidebar(core: Dashboard, facts: pl.DataFrame) -> PageContext:
    """Draw the shared sidebar and return (and remember) the page context it selects."""
    sb = st.sidebar
    settings = core.settings
    sb.markdown(f"**Data source:** {'Simulator (demo)' if core.is_demo else 'Khoros Care tenant'}")
    sb.caption(_freshness_caption(core))
    today = core.now().astimezone(ZoneInfo(settings.timezone)).date()
    problems = [link_problem("range", "date range", list(RANGE_PRESETS), also=" (showing the last 28 days)"),
                link_problem("bot_rule", "bot rule", list(BOT_RULES), also=f" (using {settings.bot_rule})")]
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
    zones = COMMON_ZONES if settings.timezone in COMMON_ZONES else [settings.timezone, *COMMON_ZONES]
    asked = st.query_params.get("tz")
    if asked and asked not in zones:
        why = report_zone_problem(asked)
        if why is None:  # a region's zone a link names: offered, not dropped
            zones = [*zones, asked]
        else:
            problems.append(f"The link's time zone: {why}. Showing {settings.timezone}.")
            del st.query_params["tz"]
    tz = sb.selectbox("Report time zone", zones, index=zones.index(settings.timezone), key="tz",
                      bind="query-params")
    if tz not in available_timezones() or report_zone_problem(tz):
        tz = settings.timezone

    sb.markdown("**Filters**")
    options = filter_options(facts)
    names = dimension_labels(options, core.reference_names(), FILTER_COLUMNS)
    for d in DIMENSIONS:
        labels = names.get(d.key, {})
        _seed_from_ids(d.key, labels)
        problems.append(link_problem(d.key, d.label.lower(), [*labels.values(), *labels]))
        # Agents, work queues and teams by name, sorted as a reader looks for them.
        options[d.key] = sorted(options.get(d.key, []), key=lambda v, k=labels: k.get(v, str(v)).lower()) \
            if d.column in NAME_COLUMNS else options.get(d.key, [])
    dimensions = {d.key: tuple(sb.multiselect(d.label, options.get(d.key, []), key=d.key, bind="query-params",
                                              format_func=_shown_as(names.get(d.key, {}))))
                  for d in DIMENSIONS}
    bot_rule = sb.radio(
        "Bot rule for first response", list(BOT_RULES), index=BOT_RULES.index(settings.bot_rule), horizontal=True,
        key="bot_rule", bind="query-params",
        help="human: a bot reply does not stop the clock; for bot-first conversations the clock starts at the "
             "handoff to an agent. any: any public reply (bot or human) stops it.",
    )
    filters = Filters(start=start, end=end, tz=tz, dimensions=dimensions, bot_rule=bot_rule, as_of=core.now())
    from dashboard.ui.account import current_tenant, current_viewer, tenant_link_problem

    problems.append(tenant_link_problem())
    ctx = PageContext(core=core, filters=filters, link_problems=tuple(p for p in problems if p),
                      viewer=current_viewer(), tenant=current_tenant())
    st.session_state[_CONTEXT_KEY] = ctx
    return ctx


def open_page_context() -> PageContext:
    """What the entrypoint does before routing: the core, the sidebar, and the facts of the chosen bot rule
    computed (with a spinner) before the page asks for them."""
    from dashboard.ui.account import note_policy

    core = get_core()
    note_policy(core)
    ctx = render_sidebar(core, load_facts(core))
    load_facts(core, ctx.filters.bot_rule)
    return ctx
