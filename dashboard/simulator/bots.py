"""Bot API v3 routes (``/bots/v3/...``, Bearer JWT from ``/api/v2/tokens``): request records, health,
registrations and the token lifecycle (refresh with a 10-minute grace for the old token, invalidate).

A token belongs to one bot app id; it reads that app's records only (another app's: 403). The world's clock
is frozen at ``world.now``, so ``from`` windows and the health window end there. Two simulator extensions,
both optional and ignored by Khoros: ``before=<epoch ms>`` on the request list pages back in time (the
documented list is unpaged and the simulator caps it, newest first, at ``bot_list_cap`` records, saying so in
the ``X-Simulator-Truncated`` header), and ``at=<epoch ms>`` on health evaluates the 2-minute window ending
then. Request records carry the documented fields only: what happened is in ``payload`` (a JSON string:
``operation`` CREATED / CLOSED / AGENT_RESPONSE and ``conversation.conversationUuid`` / ``displayId`` for
conversation events, ``type`` message / update / control / resolve otherwise).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import polars as pl
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.schema import TIME
from dashboard.simulator.auth import claims_app, issue_token, verify_token

__all__ = ["health_of", "record_payload", "routes"]

FROM_PATTERN = re.compile(r"^(\d+)([smhd])$")
UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_FROM_MS = 31 * 86_400_000
HEALTH_WINDOW_MS = 120_000
STATES = ("SUCCESS", "PENDING", "ERROR")
ORIGINS = ("KHOROS", "BOT")


def _sim(request: Request):
    return request.app.state.sim


def _request_id(request: Request) -> str:
    rid = request.scope.get("sim_request_id")
    if rid is None:
        sim = _sim(request)
        with sim.lock:
            raw = sim.rng.bytes(16)
        rid = str(uuid.UUID(bytes=raw, version=4))
        request.scope["sim_request_id"] = rid
    return rid


def _json(request: Request, body: dict[str, Any], status_code: int = 200,
          headers: dict[str, str] | None = None) -> JSONResponse:
    rid = _request_id(request)
    # A 401 carries its requestId inside "error" (Khoros' auth error shape); everything else at the top.
    payload = body if status_code == 401 else {**body, "requestId": rid}
    return JSONResponse(payload, status_code=status_code, headers={"x-amzn-RequestId": rid, **(headers or {})})


def _error(request: Request, message: str, status_code: int) -> JSONResponse:
    if status_code == 401:
        return _json(request, {"error": {"message": message, "requestId": _request_id(request)}}, 401)
    return _json(request, {"error": {"messages": [message]}}, status_code)


def _authorise(request: Request, app_id: str | None) -> dict[str, Any] | JSONResponse:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return _error(request, "Unauthorized", 401)
    claims = verify_token(_sim(request), header[7:].strip())
    if isinstance(claims, str):
        return _error(request, claims, 401)
    if app_id is not None and claims.get("appId") != app_id:
        return _error(request, f"Forbidden: this token belongs to appId {claims.get('appId')}", 403)
    return claims


def _ms(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def record_payload(sim, row: dict[str, Any]) -> dict[str, Any]:
    bots = {b["app_id"]: b for b in _bot_meta()}
    details: dict[str, str] = {}
    if row["http_code"] is not None:
        details = {"code": str(row["http_code"]), "message": row["message"] or ""}
    return {
        "id": row["request_id"],
        "companyKey": sim.options.company_key,
        "externalId": row["external_id"],
        "networkKey": row["network_key"],
        "appId": row["app_id"],
        "callbackUrl": bots.get(row["app_id"], {}).get("callback_url"),
        "origin": row["origin"],
        "state": row["state"],
        "details": details,
        "payload": row["payload"],
        "createdEpochMillis": _ms(row["created_time"]),
        "completedEpochMillis": _ms(row["completed_time"]),
        "lastUpdatedEpochMillis": _ms(row["last_updated_time"]),
    }


def _bot_meta() -> tuple[dict[str, Any], ...]:
    from dashboard.simulator.world import BOTS

    return BOTS


def _known(sim, app_id: str) -> bool:
    return app_id in set(sim.world.bots["app_id"].to_list())


async def request_by_id(request: Request) -> Response:
    claims = _authorise(request, None)
    if isinstance(claims, JSONResponse):
        return claims
    sim = _sim(request)
    rid = request.path_params["request_id"]
    rows = sim.world.tables["bot_request"].filter(
        (pl.col("request_id") == rid) & (pl.col("app_id") == claims.get("appId")))
    if rows.is_empty():
        return _error(request, f"{rid} not found", 404)
    return _json(request, {"data": record_payload(sim, rows.row(0, named=True))})


async def requests_by_app(request: Request) -> Response:
    app_id = request.path_params["app_id"]
    sim = _sim(request)
    if not _known(sim, app_id):
        return _error(request, f"Unknown appId {app_id}", 404)
    claims = _authorise(request, app_id)
    if isinstance(claims, JSONResponse):
        return claims
    raw_from = request.query_params.get("from", "1d")
    match = FROM_PATTERN.match(raw_from)
    if not match:
        return _error(request, 'Incorrect syntax in "from"', 400)
    span = int(match.group(1)) * UNIT_MS[match.group(2)]
    if span > MAX_FROM_MS:
        return _error(request, '"from" may be at most 31 days', 400)
    states = request.query_params.getlist("state")
    bad = [s for s in states if s not in STATES]
    if bad:
        return _error(request, f"Invalid state {bad[0]!r}; one of {', '.join(STATES)}", 400)
    origin = request.query_params.get("origin")
    if origin is not None and origin not in ORIGINS:
        return _error(request, f"Invalid origin {origin!r}; one of {', '.join(ORIGINS)}", 400)
    now = sim.world.now_ms
    upper = now
    raw_before = request.query_params.get("before")
    if raw_before is not None:
        try:
            upper = min(now, int(raw_before))
        except ValueError:
            return _error(request, f"before {raw_before!r} is not epoch milliseconds", 400)
    created = pl.col("created_time")
    expr = ((pl.col("app_id") == app_id) & (created >= pl.lit(now - span).cast(TIME))
            & (created < pl.lit(upper).cast(TIME)))
    if states:
        expr &= pl.col("state").is_in(states)
    if origin:
        expr &= pl.col("origin") == origin
    rows = sim.world.tables["bot_request"].filter(expr).sort("created_time", "request_id", descending=True)
    cap = sim.options.bot_list_cap
    truncated = rows.height > cap
    data = [record_payload(sim, r) for r in rows.head(cap).iter_rows(named=True)]
    return _json(request, {"data": data}, headers={"X-Simulator-Truncated": "true" if truncated else "false"})


def health_of(records: pl.DataFrame, app_id: str, at_ms: int) -> dict[str, Any]:
    """Khoros' rule on the 2 minutes before ``at_ms``: HEALTHY (all succeeded or no attempt), DOWN (all
    failed, at least 10 attempts), else DEGRADED. PENDING requests are not yet attempts."""
    t = pl.col("created_time")
    window = records.filter(
        (pl.col("app_id") == app_id) & (t >= pl.lit(at_ms - HEALTH_WINDOW_MS).cast(TIME))
        & (t < pl.lit(at_ms).cast(TIME)) & (pl.col("state") != "PENDING")
    )
    failures = int((window["state"] == "ERROR").sum())
    successes = window.height - failures
    if failures == 0:
        status = "HEALTHY"
    elif successes == 0 and failures >= 10:
        status = "DOWN"
    else:
        status = "DEGRADED"
    return {"status": status, "failureCount": failures, "successCount": successes}


async def health(request: Request) -> Response:
    app_id = request.path_params["app_id"]
    sim = _sim(request)
    if not _known(sim, app_id):
        return _error(request, f"Unknown appId {app_id}", 404)
    claims = _authorise(request, app_id)
    if isinstance(claims, JSONResponse):
        return claims
    at = sim.world.now_ms
    raw_at = request.query_params.get("at")
    if raw_at is not None:
        try:
            at = int(raw_at)
        except ValueError:
            return _error(request, f"at {raw_at!r} is not epoch milliseconds", 400)
    return _json(request, {"data": [health_of(sim.world.tables["bot_request"], app_id, at)]})


def _registration(sim, bot: dict[str, Any]) -> dict[str, Any]:
    created = sim.world.start_ms - 30 * 86_400_000
    return {
        "platform": "LITHIUM", "companyKey": sim.options.company_key, "networkKey": bot["network_key"],
        "networkInstance": "default", "externalId": bot["external_id"], "appId": bot["app_id"],
        "name": bot["name"], "avatarUrl": None, "callbackUrl": bot["callback_url"], "mode": "LIVE",
        "publicFilter": {"includeTargeted": False, "includeSourceTagIds": []},
        "credentials": {"type": "BASIC_AUTH", "identity": "khoros", "secret": "********"},
        "contact": {"email": f"{bot['app_id']}@bots.example.com"}, "metadata": {"simulated": "true"},
        "createdEpochMillis": created, "lastUpdatedEpochMillis": created,
    }


async def registrations(request: Request) -> Response:
    claims = _authorise(request, None)
    if isinstance(claims, JSONResponse):
        return claims
    sim = _sim(request)
    return _json(request, {"data": [_registration(sim, b) for b in _bot_meta()]})


async def registration_by_app(request: Request) -> Response:
    claims = _authorise(request, None)
    if isinstance(claims, JSONResponse):
        return claims
    sim = _sim(request)
    for bot in _bot_meta():
        if bot["app_id"] == request.path_params["app_id"]:
            return _json(request, {"data": _registration(sim, bot)})
    return _json(request, {"error": {"message": "No bot registration found"}}, 404)


async def token_refresh(request: Request) -> Response:
    app_id = request.path_params["app_id"]
    claims = _authorise(request, app_id)
    if isinstance(claims, JSONResponse):
        return claims
    return _json(request, {"data": issue_token(_sim(request), app_id)})


async def token_invalidate(request: Request) -> Response:
    app_id = request.path_params["app_id"]
    claims = _authorise(request, app_id)
    if isinstance(claims, JSONResponse):
        return claims
    sim = _sim(request)
    with sim.lock:
        current = sim.extra.get("tokens", {}).pop(app_id, None)
        grace = sim.extra.get("token_grace", {})
        for token in [t for t in grace if claims_app(t) == app_id]:
            grace.pop(token)
        if current:
            grace.pop(current["token"], None)
    return JSONResponse({}, headers={"x-amzn-RequestId": _request_id(request)})


def routes() -> list[Route]:
    return [
        Route("/bots/v3/request/appId/{app_id}", requests_by_app, methods=["GET"]),
        Route("/bots/v3/request/{request_id}", request_by_id, methods=["GET"]),
        Route("/bots/v3/health/appId/{app_id}", health, methods=["GET"]),
        Route("/bots/v3/registrations", registrations, methods=["GET"]),
        Route("/bots/v3/registrations/appId/{app_id}", registration_by_app, methods=["GET"]),
        Route("/bots/v3/tokens/appId/{app_id}", token_refresh, methods=["PUT"]),
        Route("/bots/v3/tokens/appId/{app_id}", token_invalidate, methods=["DELETE"]),
    ]
