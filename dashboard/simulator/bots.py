"""Bot API v3 routes (``/bots/v3/...``, Bearer JWT)."""

from __future__ import annotations

from starlette.routing import Route


def routes() -> list[Route]:
    return []
