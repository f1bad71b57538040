"""Who may call the simulator: HTTP Basic credentials (Analytics and Care v2) and the Bot API's JWTs.

Every route module asks here, so none imports another for its guard (the app imports the route modules;
they import only this). Tokens follow Khoros' lifecycle (``khoros-care-api.md`` §7.1): HS512, one current
token per app id, valid ``token_ttl_s`` (90 days), a refreshed token's predecessor valid for
``token_grace_s`` (10 minutes); expiry and grace use the real clock (plus ``clock_skew_s``), not the world's frozen one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.requests import Request

__all__ = ["basic_auth_ok", "claims_app", "issue_token", "verify_token"]


def basic_auth_ok(request: Request, options: Any) -> bool:
    """The request carries the simulator's Basic credentials (compared in constant time)."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), options.username.encode()) & hmac.compare_digest(
        password.encode(), options.password.encode()
    )


def _clock(sim: Any) -> float:
    """The simulator's clock: the real one, plus ``clock_skew_s``."""
    return time.time() + sim.options.clock_skew_s


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token_key(sim: Any) -> bytes:
    return hashlib.sha256(f"khoros-sim-jwt/{sim.options.seed}/{sim.options.password}".encode()).digest()


def issue_token(sim: Any, app_id: str) -> dict[str, Any]:
    """A new HS512 JWT for ``app_id`` (valid ``token_ttl_s``), recorded as the app's current token."""
    options = sim.options
    ttl = options.token_ttl_s
    with sim.lock:
        serial = sim.extra.setdefault("token_serial", 0) + 1
        sim.extra["token_serial"] = serial
    exp = int(_clock(sim)) + int(ttl)
    header = _b64(json.dumps({"alg": "HS512"}).encode())
    claims = _b64(json.dumps({"companyKey": options.company_key, "userName": options.username,
                              "awsRegion": "us-east-1", "appId": app_id, "exp": exp, "jti": serial}).encode())
    signature = _b64(hmac.new(_token_key(sim), f"{header}.{claims}".encode(), hashlib.sha512).digest())
    token = f"{header}.{claims}.{signature}"
    record = {"token": token, "expiresAtMillis": exp * 1000}
    with sim.lock:
        tokens = sim.extra.setdefault("tokens", {})
        previous = tokens.get(app_id)
        tokens[app_id] = record
        if previous:  # the old token stays valid for a grace period after a refresh
            grace = sim.extra.setdefault("token_grace", {})
            grace[previous["token"]] = _clock(sim) + options.token_grace_s
    return record


def verify_token(sim: Any, token: str) -> dict[str, Any] | str:
    """Claims of a valid token, else the reason it is not valid."""
    parts = token.split(".")
    if len(parts) != 3:
        return "Unauthorized"
    expected = _b64(hmac.new(_token_key(sim), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha512).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return "Unauthorized"
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return "Unauthorized"
    if claims.get("exp", 0) <= _clock(sim):
        return "Unauthorized: token expired"
    current = sim.extra.get("tokens", {}).get(claims.get("appId"))
    if current and current["token"] == token:
        return claims
    grace_until = sim.extra.get("token_grace", {}).get(token)
    if grace_until and grace_until > _clock(sim):
        return claims
    return "Unauthorized: token was refreshed or invalidated"


def claims_app(token: str) -> str | None:
    """The app id a token names (unverified: for bookkeeping of tokens already known)."""
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))).get("appId")
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
