"""Khoros Care Dashboard: service levels, automation health and an agent-side panel for Khoros Care.

Data flows one way: ``khoros`` (client) -> ``store`` (Parquet) -> ``schema`` -> ``metrics`` -> ``charts``
-> Streamlit pages, notebooks and the CLI (``python -m dashboard``).
"""

__version__ = "0.1.0"
