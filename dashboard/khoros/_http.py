"""The only module that imports httpx: the transport stack and a small session the client talks to.

Stack, outermost first::

    RetryTransport      429 (honours Retry-After), 5xx, connect/read errors, dropped or truncated bodies:
                        exponential backoff with full jitter; other 4xx are returned at once
      RateLimitTransport  one slot of the shared per-family quota per attempt, released when the body is in
        network           httpx.HTTPTransport, or any transport handed in (httpx.MockTransport in tests)

The issue lists the limiter first; it sits *inside* the retry layer here so that every attempt, retries
included, takes a slot — a retry that skipped the limiter would be the next 429.

The rest of the package sees only :class:`HttpSession` and :class:`HttpAnswer`, so moving to another HTTP
library (or a maintained fork) is a change to this one file.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from dashboard.khoros.ratelimit import SharedRateLimiter

__all__ = ["HttpAnswer", "HttpSession", "InProcessASGITransport", "RetryPolicy", "SessionStats", "family_of",
           "redact_url"]

STORAGE_EXTENSION = "khoros_storage"
"""Marks a request to a pre-signed storage link: no Khoros quota, counted as a download."""


def family_of(path: str) -> str | None:
    """The rate-limit family of a request path (Khoros counts these separately)."""
    if "/api/public/" in path or path.endswith("/api/public"):
        return "analytics"
    if "/api/v2/authors" in path:
        return "author"
    if "/api/v2/conversations" in path:
        return "conversation"
    if "/api/v2/" in path:
        return "care"
    if "/bots/v3/" in path:
        return "bot"
    return None


def redact_url(url: str) -> str:
    """``scheme://host/path`` without query or user info: safe to put in a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    """Tries for 5xx, network errors and truncated bodies (the first one included)."""
    throttled_attempts: int = 10
    """Tries while the server answers 429."""
    base_s: float = 0.5
    cap_s: float = 30.0
    max_retry_after_s: float = 120.0
    """Longest Retry-After honoured; a longer one ends the retries (the caller decides)."""


@dataclass
class SessionStats:
    """Counters of everything sent; read them before and after a piece of work for its share.

    ``requests`` counts calls to Khoros' APIs (what its quotas count); ``downloads`` the GETs of pre-signed
    export links, which go to object storage, not to Khoros."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    by_family: dict[str, int] = field(default_factory=dict)
    downloads: int = 0

    def copy(self) -> SessionStats:
        return SessionStats(self.requests, self.throttled, self.retries, dict(self.by_family), self.downloads)

    def minus(self, earlier: SessionStats) -> SessionStats:
        fams = {k: v - earlier.by_family.get(k, 0) for k, v in self.by_family.items()}
        return SessionStats(self.requests - earlier.requests, self.throttled - earlier.throttled,
                            self.retries - earlier.retries, {k: v for k, v in fams.items() if v},
                            self.downloads - earlier.downloads)


class _Counters:
    """Session-wide counters plus per-thread scopes (a job running in a worker thread counts its own)."""

    def __init__(self) -> None:
        self.total = SessionStats()
        self._lock = threading.Lock()
        self._local = threading.local()

    def add(self, *, family: str | None = None, request: bool = False, throttled: bool = False,
            retry: bool = False, download: bool = False) -> None:
        targets = [self.total, *getattr(self._local, "scopes", [])]
        with self._lock:
            for s in targets:
                if download:
                    s.downloads += 1
                if request:
                    s.requests += 1
                    key = family or "other"
                    s.by_family[key] = s.by_family.get(key, 0) + 1
                if throttled:
                    s.throttled += 1
                if retry:
                    s.retries += 1

    @contextmanager
    def scope(self) -> Iterator[SessionStats]:
        stats = SessionStats()
        scopes = getattr(self._local, "scopes", None)
        if scopes is None:
            scopes = self._local.scopes = []
        scopes.append(stats)
        try:
            yield stats
        finally:
            scopes.remove(stats)


def _body_problem(response: httpx.Response) -> str | None:
    """Why a 2xx body cannot be whole (the network cut it), or None."""
    body = response.content
    ctype = response.headers.get("content-type", "").lower()
    stripped = body.strip()
    looks_json = "json" in ctype or stripped[:1] in (b"{", b"[")
    if looks_json and stripped:
        try:
            json.loads(stripped)
        except ValueError:
            return "truncated or malformed JSON body"
    elif "csv" in ctype and body and not body.endswith(b"\n"):
        # Our CSV writers end every line with a newline; a body cut mid-line does not.
        return "truncated CSV body"
    return None


class RateLimitTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, limiter: SharedRateLimiter | None, counters: _Counters) -> None:
        self.inner = inner
        self.limiter = limiter
        self.counters = counters

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        storage = bool(request.extensions.get(STORAGE_EXTENSION))
        family = None if storage else family_of(request.url.path)
        slot = self.limiter.acquire(family) if self.limiter else None
        self.counters.add(family=family, request=not storage, download=storage)
        try:
            response = self.inner.handle_request(request)
            headers = httpx.Headers(response.headers)
            try:
                raw = b"".join(response.iter_raw())
            except httpx.StreamConsumed:
                # Built in memory (a mock transport): already decoded, so drop any content-encoding.
                raw = response.content
                headers.pop("content-encoding", None)
            finally:
                response.close()
        finally:
            if self.limiter:
                self.limiter.complete(family, slot)
        # A fresh response over the complete body, read inside the limiter slot; the client decodes it as usual.
        return httpx.Response(response.status_code, headers=headers, content=raw, request=request,
                              extensions={k: v for k, v in response.extensions.items() if k != "network_stream"})

    def close(self) -> None:
        self.inner.close()


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RetryTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy, counters: _Counters,
                 limiter: SharedRateLimiter | None, sleep: Callable[[float], None],
                 rng: random.Random | None = None) -> None:
        self.inner = inner
        self.policy = policy
        self.counters = counters
        self.limiter = limiter
        self.sleep = sleep
        self.rng = rng or random.Random()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.cap_s, self.policy.base_s * 2 ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        failures = 0
        throttles = 0
        family = family_of(request.url.path)
        while True:
            try:
                response = self.inner.handle_request(request)
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError):
                raise  # our request or setup is wrong: retrying cannot help
            except httpx.TransportError:
                failures += 1
                if failures >= self.policy.attempts:
                    raise
                self.counters.add(retry=True)
                self.sleep(self._backoff(failures))
                continue
            status = response.status_code
            if status == 429:
                throttles += 1
                self.counters.add(throttled=True)
                wait = _retry_after(response)
                if throttles >= self.policy.throttled_attempts or (wait or 0) > self.policy.max_retry_after_s:
                    return response
                wait = wait if wait is not None else self._backoff(throttles)
                if self.limiter:
                    self.limiter.block(family, wait)
                self.counters.add(retry=True)
                self.sleep(wait)
                continue
            problem = None
            if status >= 500:
                problem = f"HTTP {status}"
            elif 200 <= status < 300:
                problem = _body_problem(response)
            if problem is None:
                return response
            failures += 1
            if failures >= self.policy.attempts:
                if status >= 500:
                    return response
                raise httpx.RemoteProtocolError(problem, request=request)
            self.counters.add(retry=True)
            wait = _retry_after(response) if status >= 500 else None
            self.sleep(min(wait, self.policy.cap_s) if wait is not None else self._backoff(failures))

    def close(self) -> None:
        self.inner.close()


class InProcessASGITransport(httpx.BaseTransport):
    """A synchronous transport that calls an ASGI app in this process: no port, no server thread, no sockets.

    httpx ships only an async ASGI transport; this one runs it on an event loop in a helper thread (an anyio
    blocking portal, as Starlette's own test client does), so the synchronous client, its rate limiter and its
    retries talk to the simulator exactly as over HTTP. An app that raises ``ConnectionError`` is a dropped
    connection (``httpx.RemoteProtocolError``), as a real server closing the socket would be; any other
    exception is the app's bug and propagates.
    """

    def __init__(self, app: Any) -> None:
        from anyio.from_thread import start_blocking_portal

        self._asgi = httpx.ASGITransport(app=app)
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            try:
                response = await self._asgi.handle_async_request(inner)
            except ConnectionError as exc:
                raise httpx.RemoteProtocolError(f"server disconnected: {exc}", request=request) from None
            content = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers.raw, content

        status, headers, content = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes
    url: str
    """The URL asked, query removed."""
    method: str = "GET"

    def json(self) -> Any:
        return json.loads(self.body)


class NetworkError(Exception):
    """The network failed on every attempt (wraps the httpx error's class name only)."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class HttpSession:
    """An httpx client over the stack; the client package calls ``request`` and reads ``stats``."""

    def __init__(self, *, transport: Any | None = None, limiter: SharedRateLimiter | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] | None = None,
                 timeout_s: float = 60.0, rng: random.Random | None = None) -> None:
        import time

        self.counters = _Counters()
        network = transport if transport is not None else httpx.HTTPTransport(retries=0)
        stack = RetryTransport(RateLimitTransport(network, limiter, self.counters), retry or RetryPolicy(),
                               self.counters, limiter, sleep or time.sleep, rng)
        # Redirects are never followed by httpx: it keeps the Authorization header on a same-origin redirect, and
        # a pre-signed download link must get no credentials (the client follows those itself).
        self._client = httpx.Client(transport=stack, timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
                                    follow_redirects=False, headers={"Accept": "application/json, text/csv"})

    @property
    def stats(self) -> SessionStats:
        return self.counters.total

    def scope(self):
        """``with session.scope() as s:`` counts only this thread's requests inside the block."""
        return self.counters.scope()

    def request(self, method: str, url: str, *, params: Any = None, json_body: Any = None, form: Any = None,
                basic: tuple[str, str] | None = None, bearer: str | None = None, storage: bool = False
                ) -> HttpAnswer:
        """One request (retried and rate-limited by the stack). ``form`` is sent x-www-form-urlencoded (a list
        value repeats its key); a redirect is returned as it is, never followed. ``storage``: a pre-signed
        link (no quota, counted in ``downloads``)."""
        headers: dict[str, str] = {}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = self._client.request(method, url, params=params, json=json_body, data=form, headers=headers,
                                            auth=httpx.BasicAuth(*basic) if basic else None,
                                            extensions={STORAGE_EXTENSION: True} if storage else None)
        except httpx.RequestError as exc:
            raise NetworkError(f"{type(exc).__name__} on {method} {redact_url(url)}", method=method,
                               url=redact_url(url)) from None
        return HttpAnswer(response.status_code, dict(response.headers), response.content, redact_url(str(response.url)),
                          method=method)

    def close(self) -> None:
        self._client.close()
