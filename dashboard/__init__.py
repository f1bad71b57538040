"""Khoros Care Dashboard: service levels, automation health and an agent-side panel for Khoros Care.

Data flows one way: ``khoros`` (client) -> ``schema`` -> ``store`` (Parquet) -> ``metrics`` -> the core
(:class:`dashboard.Dashboard`) -> ``views`` -> Streamlit pages, notebooks and the CLI (``python -m dashboard``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Dashboard", "__version__"]


def __getattr__(name: str) -> Any:
    # The core pulls in Polars and the store: import it when asked for, so `python -m dashboard --help` stays fast.
    if name == "Dashboard":
        from dashboard.core import Dashboard

        return Dashboard
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
