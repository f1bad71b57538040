"""The process's core, made once, and the cached loaders pages and the entrypoint read through.

The core (:class:`dashboard.core.Dashboard`) caches tables, facts and bursts per data version itself; these
loaders add what only Streamlit can: progress on the first start, and a spinner while facts are computed.
"""

from __future__ import annotations

import threading

import polars as pl
import streamlit as st

from dashboard.core import Dashboard
from dashboard.errors import DashboardError
from dashboard.settings import Settings, load_settings
from dashboard.tenants import Tenants, load_tenants

__all__ = ["get_core", "get_settings", "get_tenants", "load_facts", "tenant_cores"]


def _secrets() -> dict[str, object]:
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str | int | float)}
    except FileNotFoundError:  # no secrets.toml: environment variables only
        return {}


def get_settings() -> Settings:
    return load_settings(_secrets())


def get_tenants() -> Tenants:
    """The deployment's tenants (``CARE_DASHBOARD_TENANTS``; one, from the settings, without it)."""
    return load_tenants(get_settings(), secrets=_secrets())


_CORES: dict[Settings, Dashboard] = {}
_CORES_LOCK = threading.Lock()


def get_core(tenant: str | None = None) -> Dashboard:
    """The process-wide core of ``tenant`` (default: the one this run's reader sees, as the gate chose), one per
    tenant; a demo world is made on its first open.

    A module-level singleton rather than ``st.cache_resource``: the first start shows progress, and Streamlit
    would replay those elements on every later run of a cached function.
    """
    from dashboard.ui.account import current_tenant

    tenants = get_tenants()
    settings = tenants.settings_for(tenant or current_tenant() or tenants.names[0])
    with _CORES_LOCK:
        core = _CORES.get(settings)
        if core is None:
            core = _open_with_progress(settings)
            # Settings changed: release what the cores of settings no tenant has any more started.
            configured = {t.settings for t in tenants.tenants}
            for gone in [known for known in _CORES if known not in configured]:
                _CORES.pop(gone).close()
            _CORES[settings] = core
        return core


def tenant_cores(names: list[str]) -> tuple[dict[str, Dashboard], dict[str, str]]:
    """The cores of ``names`` (tenants the reader may see: the caller asked ``access.allowed_tenants``), and why
    each one that cannot be opened cannot (its message, which names the tenant's setting, never a secret)."""
    cores: dict[str, Dashboard] = {}
    problems: dict[str, str] = {}
    for name in names:
        try:
            cores[name] = get_core(name)
        except DashboardError as exc:
            problems[name] = str(exc)
    return cores, problems


def _open_with_progress(settings: Settings) -> Dashboard:
    if not settings.use_simulator:
        return Dashboard.open(settings)
    holder = st.empty()
    with holder.status("Opening the demo: the Khoros Care simulator's world and its store…", expanded=True):
        bar = st.progress(0.0)

        def report(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        core = Dashboard.open(settings, progress=report)
    holder.empty()
    return core


@st.cache_resource(show_spinner="Computing conversation facts…", max_entries=4, ttl="1h")
def _facts(_core: Dashboard, core_id: int, version: str, bot_rule: str) -> pl.DataFrame:
    return _core.facts(bot_rule)


def load_facts(core: Dashboard, bot_rule: str | None = None) -> pl.DataFrame:
    """``core.facts(bot_rule)``, with a spinner the first time a data version needs them."""
    rule = core.bot_rule(bot_rule)
    return _facts(core, id(core), core.data_version(), rule)
