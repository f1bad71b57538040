"""What every API family of the client shares: configuration, the HTTP session, errors, the cache.

:class:`ClientCore` is the base of :class:`~dashboard.khoros.client.KhorosClient`; the per-family mixins
(:mod:`._analytics`, :mod:`._care`, :mod:`._bots`) call only the methods defined here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from dashboard.khoros._http import HttpAnswer, HttpSession, NetworkError, RetryPolicy, SessionStats, redact_url
from dashboard.khoros._parsers import server_message
from dashboard.khoros.cache import ResponseCache
from dashboard.khoros.errors import (
    AuthenticationError,
    BadResponseError,
    ConfigurationError,
    HTTPStatusError,
    NotFoundError,
    RateLimitError,
    RequestRejectedError,
    ServerError,
    TransportError,
    scrub,
)
from dashboard.khoros.models import BotToken, Probe
from dashboard.khoros.ratelimit import SharedRateLimiter

__all__ = ["ClientCore", "PollPolicy", "join_url"]

_SETTING_OF_FAMILY = {"analytics": "KHOROS_ANALYTICS_URL", "care": "KHOROS_CARE_URL", "bot": "KHOROS_BOT_API_URL"}


@dataclass(frozen=True)
class PollPolicy:
    """How to poll an export job's ``statusUrl`` (gap 8: start 2 s, x1.5, at most 60 s between polls)."""

    first_delay_s: float = 2.0
    factor: float = 1.5
    max_delay_s: float = 60.0
    timeout_s: float = 3600.0


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def _strip_suffix(url: str, *suffixes: str) -> str:
    url = url.rstrip("/")
    for s in suffixes:
        if url.endswith(s):
            return url[: -len(s)]
    return url


class ClientCore:
    """Configuration, the rate-limited retrying session, error mapping and the response cache."""

    def __init__(
        self,
        *,
        tenant: str,
        analytics_url: str | None,
        care_url: str | None,
        bot_url: str | None,
        company_key: str | None,
        username: str | None,
        password: str | None,
        bot_app_id: str | None = None,
        bot_username: str | None = None,
        bot_password: str | None = None,
        transport: Any | None = None,
        limiter: SharedRateLimiter | None = None,
        cache: ResponseCache | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        job_attempts: int = 5,
        link_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        token_refresh_before: timedelta = timedelta(days=7),
        export_time_format: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.tenant = tenant
        self.analytics_url = (join_url(_strip_suffix(analytics_url, "/api/public"), "api/public")
                              if analytics_url else None)
        self.care_url = _strip_suffix(care_url, "/api/v2") if care_url else None
        self.bot_url = _strip_suffix(bot_url, "/bots/v3") if bot_url else None
        self.company_key = company_key
        self._basic = (username, password) if username and password else None
        self._bot_basic = (bot_username, bot_password) if bot_username and bot_password else self._basic
        self.bot_app_id = bot_app_id
        self.limiter = limiter
        self.cache = cache
        self.poll = poll or PollPolicy()
        self.job_attempts = max(1, job_attempts)
        self.link_attempts = max(1, link_attempts)
        self.sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))
        self.token_refresh_before = token_refresh_before
        self.export_time_format = export_time_format
        """The tenant's export time format (strftime), when configured: how downloads are read."""
        self._session = HttpSession(transport=transport, limiter=limiter, retry=retry, sleep=sleep,
                                    timeout_s=timeout_s)
        self._tokens: dict[str, BotToken] = {}
        self._token_lock = threading.Lock()

    def close(self) -> None:
        self._session.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> SessionStats:
        """Requests sent, 429s and retries since the client was made (``.copy()`` / ``.minus()`` for deltas)."""
        return self._session.stats

    def counting(self):
        """``with client.counting() as used:`` — ``used`` (a :class:`SessionStats`) counts the requests, 429s
        and retries this thread sends inside the block (other threads' calls are not mixed in)."""
        return self._session.scope()

    def now(self) -> datetime:
        return self._now()

    # ---- HTTP plumbing -----------------------------------------------------------------------------------

    def _secrets(self) -> list[str | None]:
        found = [self.company_key]
        for pair in (self._basic, self._bot_basic):
            if pair:
                found.extend(pair)
        found.extend(t.token for t in self._tokens.values())
        return found

    def _send(self, method: str, url: str, *, params: Any = None, json_body: Any = None, form: Any = None,
              auth: str = "basic", bearer: str | None = None) -> HttpAnswer:
        """One request; ``auth`` is ``basic`` (the API user), ``bot-basic`` (the Bot API user), ``bearer`` or
        ``none`` (a pre-signed storage link). An HTTP error answer raises; a redirect is returned as it is."""
        basic = self._basic if auth == "basic" else self._bot_basic if auth == "bot-basic" else None
        if auth in ("basic", "bot-basic") and basic is None:
            raise ConfigurationError("KHOROS_USERNAME and KHOROS_PASSWORD are required for this call",
                                     method=method, url=redact_url(url))
        try:
            answer = self._session.request(method, url, params=params, json_body=json_body, form=form, basic=basic,
                                           bearer=bearer, storage=auth == "none")
        except NetworkError as exc:
            raise TransportError(f"{exc} (after retries)", method=exc.method, url=exc.url) from None
        if answer.status >= 400:
            raise self._http_error(answer)
        return answer

    def _http_error(self, answer: HttpAnswer) -> HTTPStatusError:
        method, url, status = answer.method, answer.url, answer.status
        message = server_message(answer.body)
        text = f"{method} {url}: HTTP {status}" + (f" — {scrub(message, self._secrets())}" if message else "")
        if status in (401, 403):
            return AuthenticationError(text, status=status, method=method, url=url)
        if status == 404:
            return NotFoundError(text, status=status, method=method, url=url)
        if status == 429:
            retry_after = answer.headers.get("retry-after")
            try:
                seconds = float(retry_after) if retry_after else None
            except ValueError:
                seconds = None
            return RateLimitError(text + " (rate limit, retries exhausted)", status=status, method=method, url=url,
                                  retry_after=seconds)
        if status >= 500:
            return ServerError(text + " (after retries)", status=status, method=method, url=url)
        return RequestRejectedError(text, status=status, method=method, url=url)

    def _json(self, answer: HttpAnswer) -> Any:
        try:
            return answer.json()
        except ValueError:
            raise BadResponseError(f"{answer.method} {answer.url}: answer is not JSON", method=answer.method,
                                   url=answer.url, status=answer.status) from None

    def _url(self, family: str, path: str) -> str:
        base = {"analytics": self.analytics_url, "care": self.care_url, "bot": self.bot_url}[family]
        if not base:
            raise ConfigurationError(f"{_SETTING_OF_FAMILY[family]} is not set; it is needed for {path.split('?')[0]}")
        return join_url(base, path)

    def _cached_get(self, family: str, path: str, params: dict[str, Any] | None, ttl: float | None,
                    *, auth: str = "basic", bearer: str | None = None) -> Any:
        """GET a JSON answer through the cache (``ttl`` None: no caching)."""
        endpoint = f"{family}:{path}"
        if ttl is not None and self.cache is not None:
            hit = self.cache.get(endpoint, params)
            if hit is not None:
                return json.loads(hit)
        answer = self._send("GET", self._url(family, path), params=params, auth=auth, bearer=bearer)
        data = self._json(answer)
        if ttl is not None and self.cache is not None:
            self.cache.set(endpoint, params, answer.body, expire=ttl)
        return data

    def _analytics_params(self, **extra: Any) -> dict[str, Any]:
        if not self.company_key:
            raise ConfigurationError("KHOROS_COMPANY_KEY is required for the Analytics API")
        return {"companyKey": self.company_key, **extra}

    def _probe(self, family: str, method: str, url: str, *, params: Any = None, auth: str = "basic",
               bearer: str | None = None) -> Probe:
        """Send one call and describe what came back (never raises for an HTTP or network failure)."""
        sent = datetime.now(UTC)
        try:
            answer = self._session.request(method, url, params=params,
                                           basic=self._basic if auth == "basic" else self._bot_basic
                                           if auth == "bot-basic" else None, bearer=bearer)
        except NetworkError as exc:
            return Probe(family, method, exc.url, None, False, str(exc))
        received = datetime.now(UTC)
        server_time = None
        if answer.headers.get("date"):
            try:
                server_time = parsedate_to_datetime(answer.headers["date"]).astimezone(UTC)
            except (TypeError, ValueError):
                server_time = None
        rate = {k: v for k, v in answer.headers.items() if k == "retry-after" or k.startswith("x-ratelimit")}
        message = scrub(server_message(answer.body), self._secrets()) if answer.status >= 400 else ""
        return Probe(family, method, answer.url, answer.status, answer.status < 400, message, server_time,
                     sent + (received - sent) / 2, rate)
