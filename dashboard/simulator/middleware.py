"""Cross-cutting behaviour of the simulator: request statistics, rate limits, seeded faults, permissions, the
server clock, no stack traces.

Rate limits are per API family, sliding windows as Khoros documents them (Analytics 20 per minute, counting
run, status and download calls; Author API and Conversation API 60 per 60 s each). Over the limit: HTTP 429
with ``Retry-After`` (whole seconds) and a fail envelope.

Faults (share ``fault_rate`` of API requests, drawn from the simulator's seeded generator): 500, 503 with
``Retry-After``, a slow answer, a dropped connection (headers promise more body than is sent, so the server
closes the connection mid-body), a truncated body (valid HTTP, invalid JSON), an expired pre-signed download
link and an export job that ends CLOSED/FAILED.

Every answer carries a ``Date`` header from the simulator's clock (the real one plus ``clock_skew_s``), as
Khoros' gateways do; a family in ``forbidden_families`` answers 403, as for an API user Khoros Support has not
enabled for it. Pre-signed download links (``/signed/...``) stand for object storage: no rate limit.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from email.utils import formatdate
from typing import Any

from starlette.routing import Match

__all__ = ["FAULT_KINDS", "RateLimiter", "SimulatorMiddleware", "error_envelope", "family_of"]

FAULT_KINDS = ("error_500", "error_503", "slow", "drop", "truncate", "expired_link", "failed_job")


class DroppedConnection(ConnectionError):
    """Raised on purpose after a partial body: the ASGI server then drops the connection (and the in-process
    transport reports it as the network error a dropped socket would be)."""


def family_of(path: str) -> str | None:
    if path.startswith("/api/public/"):
        return "analytics"
    if path.startswith("/api/v2/authors"):
        return "author"
    if path.startswith("/api/v2/conversations"):
        return "conversation"
    if path.startswith("/api/v2/"):
        return "care"
    if path.startswith("/bots/v3/"):
        return "bot"
    if path.startswith("/signed/"):
        return "download"
    return None


def permission_of(path: str) -> str | None:
    """The API permission a path needs (creating a bot token needs the Bot API role)."""
    if path.startswith("/api/v2/tokens/"):
        return "bot"
    return family_of(path)


class RateLimiter:
    """Sliding-window counters per family; ``check`` returns None (allowed) or seconds to wait."""

    def __init__(self, limits: dict[str, int], window_s: float) -> None:
        self.limits = limits
        self.window_s = window_s
        self.calls: dict[str, deque[float]] = {k: deque() for k in limits}

    def check(self, family: str | None, now: float | None = None) -> int | None:
        if family not in self.limits:
            return None
        now = time.monotonic() if now is None else now
        calls = self.calls[family]
        while calls and now - calls[0] >= self.window_s:
            calls.popleft()
        if len(calls) >= self.limits[family]:
            return max(1, math.ceil(self.window_s - (now - calls[0])))
        calls.append(now)
        return None


def error_envelope(family: str | None, message: str) -> dict[str, Any]:
    if family == "analytics":
        return {"status": "FAIL", "request": None, "message": message, "result": None}
    if family == "bot":
        return {"error": {"messages": [message]}}
    return {"status": "fail", "message": message}


class SimulatorMiddleware:
    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state
        opts = state.options
        self.limiter = RateLimiter(
            {"analytics": opts.analytics_per_min, "author": opts.care_per_min, "conversation": opts.care_per_min},
            opts.rate_window_s,
        )

    def _route_name(self, scope: dict[str, Any]) -> str:
        app = scope.get("app")
        for route in getattr(app, "routes", []):
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return f"{scope['method']} {route.path}"
        return f"{scope.get('method', '?')} <unknown route>"

    async def _send_json(self, send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        raw = json.dumps(body).encode()
        hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": raw})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        family = family_of(path)
        route = self._route_name(scope)
        seen: dict[str, Any] = {"status": None}

        skew = self.state.options.clock_skew_s

        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(time.time() + skew, usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            wait = None
            with self.state.lock:
                wait = self.limiter.check(family)
            if wait is not None:
                # The body every family gets over its limit (khoros-care-api.md, gap 9).
                await self._send_json(send_and_note, 429, {"status": "fail", "message": "Rate limit exceeded"},
                                      {"Retry-After": str(wait)})
                return
            if permission_of(path) in self.state.options.forbidden_families and self._authenticated(scope):
                await self._send_json(send_and_note, 403, error_envelope(
                    family, f"Forbidden: this API user has no permission for the {permission_of(path)} API"))
                return
            fault = self._draw_fault(family, path)
            if fault == "error_500":
                await self._send_json(send_and_note, 500, error_envelope(family, "Internal Server Error"))
            elif fault == "error_503":
                await self._send_json(send_and_note, 503, error_envelope(family, "Service Unavailable"),
                                      {"Retry-After": "1"})
            elif fault == "drop":
                await send_and_note({"type": "http.response.start", "status": 200,
                                     "headers": [(b"content-type", b"application/json"),
                                                 (b"content-length", b"4096")]})
                await send({"type": "http.response.body", "body": b'{"status":"PASS","res', "more_body": True})
                # Failing after the response started makes the server close the connection mid-body.
                raise DroppedConnection("fault injection: connection dropped")
            elif fault == "truncate":
                await self._truncated(scope, receive, send_and_note)
            else:
                if fault == "slow":
                    await asyncio.sleep(self.state.options.slow_seconds)
                if fault == "expired_link":
                    scope = {**scope, "sim_expired_link": True}
                await self.app(scope, receive, send_and_note)
        except DroppedConnection:
            raise
        except Exception as exc:  # never a stack trace to the client
            if seen["status"] is None:
                await self._send_json(send_and_note, 500,
                                      error_envelope(family, f"Internal error in the simulator: {type(exc).__name__}"))
        finally:
            if not path.startswith("/__simulator__/"):  # count what clients sent, not the test's own probes
                with self.state.lock:
                    self.state.stats[(route, seen["status"] or 0)] += 1

    def _authenticated(self, scope: dict[str, Any]) -> bool:
        """Permissions are checked after the credentials: a wrong password is a 401 whatever the user may do."""
        from starlette.requests import Request

        from dashboard.simulator.auth import basic_auth_ok

        request = Request(scope)
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return True  # a bearer token exists only for a user who had the Bot API role
        return basic_auth_ok(request, self.state.options)

    def _draw_fault(self, family: str | None, path: str) -> str | None:
        rate = self.state.options.fault_rate
        if rate <= 0 or family is None:
            return None
        if self.state.draw() >= rate:
            return None
        kinds = self.state.options.fault_kinds
        kind = kinds[int(self.state.draw() * len(kinds))]
        if kind == "failed_job":
            return None  # decided when the export job is created (app.run_export)
        if kind == "expired_link" and not path.startswith("/signed/"):
            # Only a pre-signed link can expire; other calls get the commonest transient failure instead.
            kind = "error_503" if len(kinds) > 1 else None
        return kind

    async def _truncated(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def collect(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, collect)
        body = b"".join(chunks)
        cut = body[: max(1, len(body) // 2)]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": cut})
