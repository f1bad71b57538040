"""Bot API v3 (Bearer JWT on the regional gateway): the token lifecycle, health and request records.

Tokens are created with HTTP Basic on the Care host (``/api/v2/tokens``, a user with the "Bot API" role),
refreshed before they come within ``token_refresh_before`` of expiry (Khoros recommends weekly; a refreshed
token's predecessor stays valid ten minutes), and fetched again once when a call answers 401 (refreshed or
invalidated elsewhere).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dashboard.khoros._parsers import as_list, care_data, flat_record, token_of
from dashboard.khoros.errors import (
    AuthenticationError,
    BadResponseError,
    BotTokenError,
    ConfigurationError,
    RequestRejectedError,
)
from dashboard.khoros.models import BotHealth, BotToken

__all__ = ["BotAPI"]


class BotAPI:
    """The Bot API v3 calls of :class:`~dashboard.khoros.client.KhorosClient` (a mixin of ``ClientCore``)."""

    def _held_token(self, app: str) -> BotToken | None:
        with self._token_lock:
            return self._tokens.get(app)

    def _keep_token(self, token: BotToken) -> BotToken:
        with self._token_lock:
            self._tokens[token.app_id] = token
        return token

    def _drop_token(self, app: str) -> None:
        with self._token_lock:
            self._tokens.pop(app, None)

    def _app(self, app_id: str | None) -> str:
        app = app_id or self.bot_app_id
        if not app:
            raise ConfigurationError("no bot app id: set KHOROS_BOT_APP_ID or pass app_id")
        return app

    def create_bot_token(self, app_id: str | None = None) -> BotToken:
        """Create the app's JWT (Basic auth); if one exists already (409), fetch it."""
        app = self._app(app_id)
        path = f"api/v2/tokens/khorosapi/ownerId/{quote(app, safe='')}"
        try:
            answer = self._send("POST", self._url("care", path), auth="bot-basic")
        except RequestRejectedError as exc:
            if exc.status != 409:
                raise BotTokenError(f"cannot create a bot token for {app}: {exc}", method=exc.method, url=exc.url,
                                    status=exc.status) from None
            answer = self._send("GET", self._url("care", path), auth="bot-basic")
        except AuthenticationError as exc:
            raise BotTokenError(f"cannot create a bot token for {app}: {exc} (does the user have the Bot API role?)",
                                method=exc.method, url=exc.url, status=exc.status) from None
        token = token_of(app, care_data(self._json(answer), "token"))
        return self._keep_token(token)

    def bot_token(self, app_id: str | None = None) -> BotToken:
        """The app's current token: created when missing, refreshed when it expires within the refresh margin."""
        app = self._app(app_id)
        token = self._held_token(app)
        if token is None:
            return self.create_bot_token(app)
        if token.expires_at - self.now() <= self.token_refresh_before:
            return self.refresh_bot_token(app)
        return token

    def refresh_bot_token(self, app_id: str | None = None) -> BotToken:
        """``PUT /bots/v3/tokens/appId/{appId}``; the old token stays valid for Khoros' 10-minute grace."""
        app = self._app(app_id)
        current = self._held_token(app)
        if current is None:
            current = self.create_bot_token(app)
        if current.expires_at <= self.now():
            raise BotTokenError(f"the bot token of {app} expired at {current.expires_at:%Y-%m-%d %H:%M} UTC; "
                                "create a new one (invalidate, then create)")
        answer = self._send("PUT", self._url("bot", f"bots/v3/tokens/appId/{quote(app, safe='')}"), auth="bearer",
                            bearer=current.token)
        data = self._json(answer)
        token = token_of(app, data.get("data") if isinstance(data, dict) else None)
        return self._keep_token(token)

    def invalidate_bot_token(self, app_id: str | None = None) -> None:
        app = self._app(app_id)
        current = self._held_token(app)
        if current is None:
            return
        self._send("DELETE", self._url("bot", f"bots/v3/tokens/appId/{quote(app, safe='')}"), auth="bearer",
                   bearer=current.token)
        self._drop_token(app)

    def bot_token_status(self, app_id: str | None = None) -> dict[str, Any]:
        """For the UI: ``{app_id, state: missing|valid|expiring|expired, expires_at, seconds_left}`` (no token)."""
        app = self._app(app_id)
        token = self._held_token(app)
        if token is None:
            return {"app_id": app, "state": "missing", "expires_at": None, "seconds_left": None}
        left = token.seconds_left(self.now())
        state = "expired" if left <= 0 else "expiring" if left <= self.token_refresh_before.total_seconds() else "valid"
        return {"app_id": app, "state": state, "expires_at": token.expires_at, "seconds_left": left}

    def _bot_get(self, path: str, params: Any = None, app_id: str | None = None) -> Any:
        app = self._app(app_id)
        token = self.bot_token(app)
        try:
            answer = self._send("GET", self._url("bot", path), params=params, auth="bearer", bearer=token.token)
        except AuthenticationError as exc:
            if exc.status != 401:
                raise
            # Refreshed or invalidated elsewhere: fetch the current token once and try again.
            self._drop_token(app)
            token = self.create_bot_token(app)
            answer = self._send("GET", self._url("bot", path), params=params, auth="bearer", bearer=token.token)
        return self._json(answer)

    def bot_health(self, app_id: str | None = None) -> BotHealth:
        app = self._app(app_id)
        data = self._bot_get(f"bots/v3/health/appId/{quote(app, safe='')}", app_id=app)
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
            raise BadResponseError(f"bot health of {app}: no data")
        h = rows[0]
        return BotHealth(app, str(h.get("status")), int(h.get("failureCount") or 0), int(h.get("successCount") or 0))

    def bot_request_records(self, app_id: str | None = None, *, since: str = "1d", states: tuple[str, ...] = (),
                            origin: str | None = None, before_ms: int | None = None) -> list[dict[str, Any]]:
        """Request records of the last ``since`` (``30m``, ``2h``, ``3d``; at most 31 days), newest first.

        Rows are flattened for ``schema.parse_rows("bot_request", ...)``: ``details.code`` -> ``code``,
        ``details.message`` -> ``message``.
        """
        app = self._app(app_id)
        params: list[tuple[str, str]] = [("from", since)] + [("state", s) for s in states]
        if origin:
            params.append(("origin", origin))
        if before_ms is not None:
            params.append(("before", str(before_ms)))
        data = self._bot_get(f"bots/v3/request/appId/{quote(app, safe='')}", params=params, app_id=app)
        rows = data.get("data") if isinstance(data, dict) else None
        return [flat_record(r) for r in as_list(rows, "request records")]

    def bot_request(self, request_id: str, app_id: str | None = None) -> dict[str, Any]:
        data = self._bot_get(f"bots/v3/request/{quote(request_id, safe='')}", app_id=app_id)
        rec = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rec, dict):
            raise BadResponseError(f"request record {request_id}: no data")
        return flat_record(rec)
