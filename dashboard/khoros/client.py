"""The Khoros Care client: one facade over the three API families.

:class:`KhorosClient` is :class:`~._core.ClientCore` (settings, the rate-limited retrying session, errors,
the cache) plus one mixin per API family: :class:`~._analytics.AnalyticsAPI` (export jobs),
:class:`~._care.CareAPI` (Care v2 and ``currentTAR``) and :class:`~._bots.BotAPI` (Bot v3 and its tokens);
answers are read by :mod:`._parsers`. One client per process; it is thread-safe (the session, the limiter and
the cache are).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dashboard.khoros._analytics import MAX_EXPORT_DAYS, AnalyticsAPI
from dashboard.khoros._bots import BotAPI
from dashboard.khoros._care import CareAPI
from dashboard.khoros._core import ClientCore, PollPolicy
from dashboard.khoros._http import RetryPolicy
from dashboard.khoros.cache import ResponseCache, load_or_create_key_file
from dashboard.khoros.errors import (
    BadResponseError,
    BotTokenError,
    ConfigurationError,
    HTTPStatusError,
    TransportError,
)
from dashboard.khoros.models import Probe
from dashboard.khoros.ratelimit import Limit, SharedRateLimiter

__all__ = ["MAX_EXPORT_DAYS", "KhorosClient", "PollPolicy"]


class KhorosClient(AnalyticsAPI, CareAPI, BotAPI, ClientCore):
    """Talks to one Khoros Care tenant (or the simulator, which serves all three API families on one host)."""

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        base_url: str | None = None,
        transport: Any | None = None,
        rate_window_s: float = 60.0,
        use_cache: bool = True,
        poll: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = 60.0,
    ) -> KhorosClient:
        """A client for ``settings``; ``base_url`` (the simulator) serves all three API families."""
        if base_url is None and settings.use_simulator:
            raise ConfigurationError(
                "no Khoros URL is configured (KHOROS_ANALYTICS_URL, KHOROS_CARE_URL, KHOROS_BOT_API_URL); "
                "pass base_url= of a running simulator or configure a tenant")
        analytics = base_url or settings.analytics_url
        care = base_url or settings.care_url
        bot = base_url or settings.bot_api_url
        for name, url in (("KHOROS_ANALYTICS_URL", analytics), ("KHOROS_CARE_URL", care),
                          ("KHOROS_BOT_API_URL", bot)):
            if url and not url.lower().startswith(("https://", "http://")):
                raise ConfigurationError(f"{name} must be an http(s) URL, got {url.split('?')[0][:80]!r}")
        data_dir = Path(settings.data_dir)
        where = hashlib.sha256(f"{settings.tenant}|{analytics or care or bot}".encode()).hexdigest()[:16]
        care_limit = Limit(settings.rate_care_per_min, rate_window_s)
        limiter = SharedRateLimiter(
            data_dir / "ratelimit" / f"{where}.json",
            {"analytics": Limit(settings.rate_analytics_per_min, rate_window_s), "author": care_limit,
             "conversation": care_limit, "care": care_limit, "bot": care_limit},
            sleep=sleep,
        )
        cache = None
        if use_cache:
            secret: bytes | str = settings.cache_key or load_or_create_key_file(data_dir / "keys" / "cache.key")
            cache = ResponseCache(data_dir / "cache", secret, settings.tenant)
        if poll is None and base_url is not None and settings.use_simulator:
            # The bundled simulator finishes jobs at once by default; a real tenant needs the patient policy.
            poll = PollPolicy(first_delay_s=0.05, factor=2.0, max_delay_s=2.0, timeout_s=600.0)
        return cls(
            tenant=settings.tenant, analytics_url=analytics, care_url=care, bot_url=bot,
            company_key=settings.company_key, username=settings.username, password=settings.password,
            bot_app_id=settings.bot_app_id, bot_username=settings.bot_username, bot_password=settings.bot_password,
            transport=transport, limiter=limiter, cache=cache, poll=poll, retry=retry, sleep=sleep,
            export_time_format=getattr(settings, "export_time_format", None), timeout_s=timeout_s,
        )

    # ---- health of the connection -------------------------------------------------------------------------

    def ping(self) -> dict[str, str]:
        """Check each configured API family with one cheap authenticated call: ``{family: "ok" | reason}``."""
        out: dict[str, str] = {}
        checks = {"analytics": lambda: self._send("GET", self._url("analytics", "config/timezones"),
                                                  params=self._analytics_params()),
                  "care": lambda: self._send("GET", self._url("care", "api/v2/workqueues/active"))}
        if self.bot_app_id and self.bot_url:
            checks["bot"] = lambda: self.bot_health()
        for family, check in checks.items():
            try:
                check()
                out[family] = "ok"
            except (HTTPStatusError, TransportError, BadResponseError, ConfigurationError, BotTokenError) as exc:
                out[family] = str(exc)
        return out

    def probes(self, *, now: datetime | None = None) -> list[Probe]:
        """One cheap authenticated call per API family and permission, each described (never raises), for
        ``doctor``: Analytics (time zones), Care v2 (work queues), the Author API (authors changed in the last
        hour), the Conversation API (a display-number lookup: "not found" still proves the permission), and the
        Bot API v3 (the app's health, with its token) when a bot app id is configured."""
        now = now or self.now()
        out: list[Probe] = []

        def url(family: str, path: str) -> str | None:
            try:
                return self._url(family, path)
            except ConfigurationError as exc:
                out.append(Probe(family, "GET", path, None, False, str(exc)))
                return None

        if (u := url("analytics", "config/timezones")) is not None:
            if self.company_key:
                out.append(self._probe("analytics", "GET", u, params=self._analytics_params()))
            else:
                out.append(Probe("analytics", "GET", u, None, False, "KHOROS_COMPANY_KEY is not set"))
        if (u := url("care", "api/v2/workqueues/active")) is not None:
            out.append(self._probe("care", "GET", u))
        hour_ago = int((now - timedelta(hours=1)).astimezone(UTC).timestamp() * 1000)
        if (u := url("care", "api/v2/authors/changed")) is not None:
            out.append(self._probe("author", "GET", u, params={"startEpochMillis": hour_ago,
                                                               "endEpochMillis": hour_ago + 3_600_000}))
        if (u := url("care", "api/v2/conversations/displayIds/1")) is not None:
            out.append(self._probe("conversation", "GET", u))
        if self.bot_app_id and self.bot_url:
            app = quote(self.bot_app_id, safe="")
            try:
                token = self.bot_token()
            except (HTTPStatusError, TransportError, BadResponseError, BotTokenError) as exc:
                # The error repeats the request; keep what the server said (after the dash), or the whole text.
                out.append(Probe("bot", exc.method or "POST",
                                 exc.url or f"{self.care_url}/api/v2/tokens/khorosapi/ownerId/{app}", exc.status,
                                 False, str(exc).split(" — ", 1)[-1]))
            else:
                out.append(self._probe("bot", "GET", self._url("bot", f"bots/v3/health/appId/{app}"), auth="bearer",
                                       bearer=token.token))
        return out
