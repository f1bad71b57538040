"""Care v2 routes (``/api/v2/...``, HTTP Basic)."""

from __future__ import annotations

from starlette.routing import Route


def routes() -> list[Route]:
    return []
