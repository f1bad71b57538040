"""Cached loaders: the expensive reads happen once per data version, filters are applied after.

Frames are cached with ``st.cache_resource`` (shared, not copied: Polars frames are immutable, and
``cache_data`` would pickle a large frame on every rerun). Every cache is bounded. The cache key includes the
store's version (the manifest's change time), so a sync or an import invalidates them.
"""

from __future__ import annotations

import threading

import polars as pl
import streamlit as st

from dashboard.settings import Settings, load_settings
from dashboard.source import DataSource, open_source

__all__ = ["get_settings", "get_source", "load_facts", "load_table", "load_tables", "store_version"]

FACT_EXPORTS = ("conversation", "incoming_post", "response", "conversation_history_action", "author")


def _secrets() -> dict[str, object]:
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str | int | float)}
    except Exception:  # no secrets.toml: environment variables only
        return {}


def get_settings() -> Settings:
    return load_settings(_secrets())


_SOURCES: dict[Settings, DataSource] = {}
_SOURCES_LOCK = threading.Lock()


def get_source() -> DataSource:
    """The process-wide data source (demo: the simulator, started and synced on first use).

    A module-level singleton rather than ``st.cache_resource``: the first start shows progress, and Streamlit
    would replay those elements on every later run of a cached function.
    """
    settings = get_settings()
    with _SOURCES_LOCK:
        source = _SOURCES.get(settings)
        if source is None:
            source = _open_with_progress(settings)
            for previous in _SOURCES.values():  # settings changed: stop what the old source started
                previous.close()
            _SOURCES.clear()
            _SOURCES[settings] = source
        return source


def _open_with_progress(settings: Settings) -> DataSource:
    if not settings.use_simulator:
        return open_source(settings)
    holder = st.empty()
    with holder.status("Starting the Khoros Care simulator and syncing its data…", expanded=True):
        bar = st.progress(0.0)

        def report(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        source = open_source(settings, progress=report)
    holder.empty()
    return source


def store_version(source: DataSource) -> str:
    return source.data_version()


@st.cache_resource(show_spinner=False, max_entries=16, ttl="1h")
def _load_table(_source: DataSource, tenant: str, version: str, export_id: str) -> pl.DataFrame:
    return _source.scan(export_id).collect()


def load_table(source: DataSource, export_id: str) -> pl.DataFrame:
    return _load_table(source, source.settings.tenant, store_version(source), export_id)


def load_tables(source: DataSource, export_ids: tuple[str, ...] = FACT_EXPORTS) -> dict[str, pl.DataFrame]:
    return {e: load_table(source, e) for e in export_ids}


@st.cache_resource(show_spinner="Computing conversation facts…", max_entries=8, ttl="1h")
def _load_facts(_source: DataSource, tenant: str, version: str, bot_rule: str, tier_attribute: str) -> pl.DataFrame:
    from dashboard.metrics import conversation_facts

    t = load_tables(_source)
    return conversation_facts(
        t["conversation"].lazy(),
        t["incoming_post"].lazy(),
        t["response"].lazy(),
        t["conversation_history_action"].lazy(),
        t["author"].lazy(),
        bot_rule=bot_rule,
        tier_attribute=tier_attribute,
    ).collect()


def load_facts(source: DataSource, bot_rule: str = "human") -> pl.DataFrame:
    """One row per conversation (see ``dashboard.metrics.conversation_facts``), for the whole store."""
    return _load_facts(source, source.settings.tenant, store_version(source), bot_rule,
                       source.settings.tier_attribute)
