"""The Khoros Care client: Analytics export jobs, Care v2 reads, Bot API v3 request records, health, tokens.

One client per process; it is thread-safe (the session, the limiter and the cache are). All HTTP goes through
:mod:`dashboard.khoros._http` (rate limit and retry), answers are checked against the documented envelopes
(``khoros-care-api.md``), and errors become the exceptions of :mod:`dashboard.khoros.errors`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dashboard.khoros._http import HttpAnswer, HttpSession, NetworkError, RetryPolicy, SessionStats
from dashboard.khoros.cache import ResponseCache, load_or_create_key_file
from dashboard.khoros.errors import (
    AuthenticationError,
    BadResponseError,
    BotTokenError,
    ConfigurationError,
    ExportJobError,
    ExportJobFailed,
    ExportJobTimeout,
    ExportLinkExpired,
    HTTPStatusError,
    NotFoundError,
    RateLimitError,
    RequestRejectedError,
    ServerError,
    TransportError,
    scrub,
)
from dashboard.khoros.models import (
    AgentStateType,
    Author,
    BotHealth,
    BotToken,
    Conversation,
    ExportDownload,
    Tag,
    Team,
    WorkQueue,
    from_ms,
)
from dashboard.khoros.ratelimit import Limit, SharedRateLimiter

__all__ = ["EVENT_SETTLE_MARGIN", "MAX_EXPORT_DAYS", "SETTLE_MARGINS", "KhorosClient", "PollPolicy", "settle_margin"]

MAX_EXPORT_DAYS = 31
"""Longest window one export job may cover (the simulator's rule; Khoros publishes none, gap 5)."""
ANALYTICS_EXPORT_IDS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
                        "raw_agent_states", "team_performance")
SETTLE_MARGINS: dict[str, timedelta] = {
    # Conversations change after creation (status, closed time, tags, queue) for days.
    "conversation": timedelta(days=7),
    # An open agent state gets its end_time later; per-window aggregates are recomputed for a while.
    "raw_agent_states": timedelta(days=1),
    "team_performance": timedelta(days=1),
    "bot_request": timedelta(days=1),
}
EVENT_SETTLE_MARGIN = timedelta(hours=1)
"""Posts, responses, actions and author versions are immutable per event time: an hour of ingestion lag."""
OPEN_WINDOW_TTL_S = 300.0
"""Cache lifetime of a window that is not settled yet (shorter than the sync's refresh interval)."""
REFERENCE_TTL_S = 3600.0
RECORD_TTL_S = 60.0

_FILTERS = {
    "report_type": "conversationReportType",
    "priorities": "priorities",
    "work_queue_ids": "workqueueIds",
    "team_ids": "teamIds",
    "smart_view_id": "smartViewId",
    "timezone": "timezone",
    "timezone_offset_ms": "timezoneOffset",
    "locale": "locale",
    "include_disabled": "includeDisabled",
    "raise_limit": "raiselimit",
    "business_hours": "businessHourType",
}


@dataclass(frozen=True)
class PollPolicy:
    """How to poll an export job's ``statusUrl`` (gap 8: start 2 s, x1.5, at most 60 s between polls)."""

    first_delay_s: float = 2.0
    factor: float = 1.5
    max_delay_s: float = 60.0
    timeout_s: float = 3600.0


def settle_margin(export_id: str) -> timedelta:
    """How long after its end a window's rows stop changing (the sync re-fetches days younger than this)."""
    return SETTLE_MARGINS.get(export_id, EVENT_SETTLE_MARGIN)


def _ms(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError(f"{t!r} has no time zone; pass an aware datetime (UTC)")
    return int(t.timestamp() * 1000)


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def _strip_suffix(url: str, *suffixes: str) -> str:
    url = url.rstrip("/")
    for s in suffixes:
        if url.endswith(s):
            return url[: -len(s)]
    return url


def _as_list(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


class KhorosClient:
    """Talks to one Khoros Care tenant (or the simulator, which serves all three API families on one host)."""

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
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        token_refresh_before: timedelta = timedelta(days=7),
    ) -> None:
        self.tenant = tenant
        self.analytics_url = _join(_strip_suffix(analytics_url, "/api/public"), "api/public") if analytics_url else None
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
        self.sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))
        self.token_refresh_before = token_refresh_before
        self._session = HttpSession(transport=transport, limiter=limiter, retry=retry, sleep=sleep)
        self._tokens: dict[str, BotToken] = {}
        self._token_lock = threading.Lock()

    # ---- construction ------------------------------------------------------------------------------------

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
        )

    def close(self) -> None:
        self._session.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> KhorosClient:
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

    def _send(self, method: str, url: str, *, params: Any = None, json_body: Any = None,
              auth: str = "basic", bearer: str | None = None) -> HttpAnswer:
        basic = self._basic if auth == "basic" else self._bot_basic if auth == "bot-basic" else None
        if auth in ("basic", "bot-basic") and basic is None:
            raise ConfigurationError("KHOROS_USERNAME and KHOROS_PASSWORD are required for this call")
        try:
            answer = self._session.request(method, url, params=params, json_body=json_body, basic=basic,
                                           bearer=bearer)
        except NetworkError as exc:
            raise TransportError(f"{exc} (after retries)") from None
        if answer.status >= 400:
            raise self._http_error(method, answer)
        return answer

    def _http_error(self, method: str, answer: HttpAnswer) -> HTTPStatusError:
        where = f"{method} {answer.url}"
        message = _server_message(answer.body)
        text = f"{where}: HTTP {answer.status}" + (f" — {scrub(message, self._secrets())}" if message else "")
        status = answer.status
        if status in (401, 403):
            return AuthenticationError(text, status=status, where=where)
        if status == 404:
            return NotFoundError(text, status=status, where=where)
        if status == 429:
            retry_after = answer.headers.get("retry-after")
            try:
                seconds = float(retry_after) if retry_after else None
            except ValueError:
                seconds = None
            return RateLimitError(text + " (rate limit, retries exhausted)", status=status, where=where,
                                  retry_after=seconds)
        if status >= 500:
            return ServerError(text + " (after retries)", status=status, where=where)
        return RequestRejectedError(text, status=status, where=where)

    def _json(self, answer: HttpAnswer) -> Any:
        try:
            return answer.json()
        except ValueError:
            raise BadResponseError(f"{answer.url}: answer is not JSON") from None

    def _url(self, family: str, path: str) -> str:
        base = {"analytics": self.analytics_url, "care": self.care_url, "bot": self.bot_url}[family]
        if not base:
            name = {"analytics": "KHOROS_ANALYTICS_URL", "care": "KHOROS_CARE_URL", "bot": "KHOROS_BOT_API_URL"}
            raise ConfigurationError(f"{name[family]} is not set; it is needed for {path.split('?')[0]}")
        return _join(base, path)

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

    # ---- Analytics export jobs -------------------------------------------------------------------------

    def run_export(self, export_id: str, start: datetime, end: datetime, *, fmt: str = "json",
                   now: datetime | None = None, **filters: Any) -> ExportDownload:
        """Run one export job for ``[start, end)``, poll it, download the file.

        ``filters``: report_type (conversation: CREATED | CLOSED | OPEN_AT_END), priorities, work_queue_ids,
        team_ids, smart_view_id, timezone, timezone_offset_ms, locale, include_disabled, raise_limit,
        business_hours. A FAILED job or an expired link is re-run up to ``job_attempts`` times.

        The download is cached: without expiry when the window is settled (it ended more than the export's
        :func:`settle_margin` before ``now``, default the client's clock), else for ``OPEN_WINDOW_TTL_S``.
        """
        from dashboard.schema import EXPORTS

        if export_id not in ANALYTICS_EXPORT_IDS:
            raise ValueError(f"unknown Analytics export {export_id!r}; known: {', '.join(ANALYTICS_EXPORT_IDS)}")
        fmt = fmt.lower()
        if fmt not in ("json", "csv"):
            raise ValueError(f"report format {fmt!r}: json or csv")
        start_ms, end_ms = _ms(start), _ms(end)
        if end_ms <= start_ms:
            raise ValueError(f"export window end {end.isoformat()} is not after start {start.isoformat()}")
        if end_ms - start_ms > MAX_EXPORT_DAYS * 86_400_000:
            raise ValueError(f"export window {start:%Y-%m-%d}..{end:%Y-%m-%d} is longer than {MAX_EXPORT_DAYS} "
                             "days; split it")
        params: dict[str, Any] = {"startTime": str(start_ms), "endTime": str(end_ms), "reportFormat": fmt}
        for name, value in sorted(filters.items()):
            if value is None:
                continue
            if name not in _FILTERS:
                raise ValueError(f"unknown export filter {name!r}; known: {', '.join(_FILTERS)}")
            params[_FILTERS[name]] = _as_list(value)
        schema = EXPORTS[export_id]
        if not schema.extra_attributes:
            params["reportMetrics"] = list(schema.names)
        window = f"{start.astimezone(UTC):%Y-%m-%dT%H:%MZ}..{end.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
        endpoint = f"export:{export_id}"
        if self.cache is not None:
            hit = self.cache.get(endpoint, params)
            if hit is not None:
                return ExportDownload(hit, fmt, "", "", 0, export_id, start, end, jobs=0, from_cache=True)

        last: ExportJobError | None = None
        with self._session.scope() as used:
            for attempt in range(1, self.job_attempts + 1):
                try:
                    workflow, run, body = self._one_job(export_id, params, window, attempt)
                except ExportJobError as exc:
                    last = exc
                    continue
                closed = end <= (now or self.now()) - settle_margin(export_id)
                if self.cache is not None:
                    self.cache.set(endpoint, params, body, expire=None if closed else OPEN_WINDOW_TTL_S)
                return ExportDownload(body, fmt, workflow, run, used.requests, export_id, start, end, jobs=attempt)
        assert last is not None
        kind = type(last)
        raise kind(f"{export_id} export for {window}: {last.reason} (gave up after {self.job_attempts} jobs)",
                   export_id=export_id, window=window, reason=last.reason, attempts=self.job_attempts)

    def _one_job(self, export_id: str, params: dict[str, Any], window: str, attempt: int) -> tuple[str, str, bytes]:
        answer = self._send("POST", self._url("analytics", f"reports/report/{export_id}"),
                            params=self._analytics_params(**params))
        job = _analytics_result(self._json(answer), answer.url)
        if not isinstance(job, dict) or not job.get("workflowId") or not job.get("runId"):
            raise BadResponseError(f"{answer.url}: export run answer has no workflowId/runId")
        workflow, run = str(job["workflowId"]), str(job["runId"])
        status_url = job.get("statusUrl") or self._url(
            "analytics", f"reports/report/{quote(workflow, safe='')}/{quote(run, safe='')}/status")
        download_url = job.get("downloadUrl") or ""

        def fail(kind: type[ExportJobError], reason: str) -> ExportJobError:
            return kind(f"{export_id} export for {window}: {reason}", export_id=export_id, window=window,
                        reason=reason, attempts=attempt)

        delay = self.poll.first_delay_s
        waited = 0.0
        while not download_url:
            if waited >= self.poll.timeout_s:
                raise fail(ExportJobTimeout, f"job still running after {self.poll.timeout_s:.0f} s")
            self.sleep(delay)
            waited += delay
            delay = min(self.poll.max_delay_s, delay * self.poll.factor)
            status = self._send("GET", status_url, params=self._status_params(status_url))
            info, state = _job_state(self._json(status), status.url)
            runner, detail = state.get("runnerState"), state.get("detail")
            if runner == "CLOSED" and detail == "FAILED":
                reason = state.get("reason") or "job ended CLOSED/FAILED"
                raise fail(ExportJobFailed, f"job FAILED ({scrub(str(reason), self._secrets())})")
            if runner == "CLOSED" and detail == "COMPLETED":
                download_url = info.get("downloadUrl") or ""
                if not download_url:
                    raise BadResponseError(f"{status.url}: job COMPLETED without a downloadUrl")
        try:
            got = self._send("GET", download_url, params=self._status_params(download_url))
        except AuthenticationError as exc:
            # An expired (pre-signed) link answers 403; wrong credentials answer 401 and are not re-run.
            if exc.status == 403 and "unauthori" not in str(exc).lower():
                raise fail(ExportLinkExpired, "download link expired") from None
            raise
        except RequestRejectedError as exc:
            if exc.status == 410:
                raise fail(ExportJobFailed, "download gone (job FAILED)") from None
            raise
        body = got.body
        if params["reportFormat"] == "json" and not body.lstrip().startswith(b"["):
            raise BadResponseError(f"{got.url}: JSON export download is not a JSON array")
        return workflow, run, body

    def _status_params(self, url: str) -> dict[str, Any] | None:
        # statusUrl/downloadUrl carry their own companyKey or analyticsAccessToken; add ours only if absent.
        if "companyKey=" in url or "analyticsAccessToken=" in url:
            return None
        return self._analytics_params()

    # ---- Analytics reference ---------------------------------------------------------------------------

    def teams(self) -> list[Team]:
        data = _analytics_result(self._cached_get("analytics", "teams", self._analytics_params(), REFERENCE_TTL_S),
                                 "teams")
        return [Team(int(t["teamId"]), str(t.get("name") or ""), t.get("description"), t.get("numberOfMembers"),
                     t.get("uuid")) for t in _list(data, "teams")]

    # ---- Care v2 -----------------------------------------------------------------------------------------

    def work_queues(self) -> list[WorkQueue]:
        data = self._cached_get("care", "api/v2/workqueues/active", None, REFERENCE_TTL_S)
        rows = _list(data.get("data") if isinstance(data, dict) else None, "work queues")
        return [WorkQueue(int(q["id"]), str(q.get("name") or ""), bool(q.get("archived")), q.get("description"),
                          q.get("uuid")) for q in rows]

    def tags(self) -> list[Tag]:
        rows = _care_data(self._cached_get("care", "api/v2/tags", None, REFERENCE_TTL_S), "tags")
        return [Tag(int(t["tagId"]), str(t.get("name") or ""), t.get("hierarchy"), t.get("tagState"),
                    t.get("lswUuid")) for t in _list(rows, "tags")]

    def agent_state_types(self) -> list[AgentStateType]:
        rows = _care_data(self._cached_get("care", "api/v2/agentstate", None, REFERENCE_TTL_S), "agent states")
        return [AgentStateType(str(s["id"]), str(s.get("name") or ""), str(s.get("type") or ""),
                               bool(s.get("deleted"))) for s in _list(rows, "agent states")]

    def author(self, author_id: str) -> Author:
        data = _care_data(self._cached_get("care", f"api/v2/authors/{quote(author_id, safe='')}", None,
                                           RECORD_TTL_S), "author")
        found = data[0] if isinstance(data, list) and data else data
        if not isinstance(found, dict):
            raise BadResponseError(f"author {author_id}: answer has no author")
        return _author(found)

    def authors(self) -> Iterator[Author]:
        """Every author, page by page (follows ``nextPageUrl`` until it is absent)."""
        url: str | None = self._url("care", "api/v2/authors")
        params: dict[str, Any] | None = {"offset": 0}
        while url:
            data = _care_data(self._json(self._send("GET", url, params=params)), "authors")
            if not isinstance(data, dict):
                raise BadResponseError("authors list: data is not an object")
            people = data.get("personList") or []
            yield from (_author(p) for p in people)
            url = data.get("nextPageUrl") if people else None
            params = None

    def changed_author_ids(self, start: datetime, end: datetime) -> list[str]:
        """Ids of authors changed in ``[start, end)``, asked in 24-hour windows as Khoros requires."""
        out: list[str] = []
        for a, b in _day_windows(start, end):
            data = _care_data(self._json(self._send("GET", self._url("care", "api/v2/authors/changed"),
                                                    params={"startEpochMillis": a, "endEpochMillis": b})),
                              "changed authors")
            out.extend(str(x) for x in _list(data, "changed authors") if str(x) not in out)
        return out

    def author_conversation_ids(self, author_id: str, start: datetime, end: datetime) -> list[str]:
        out: list[str] = []
        for a, b in _day_windows(start, end):
            data = _care_data(self._json(self._send(
                "GET", self._url("care", f"api/v2/authors/{quote(author_id, safe='')}/conversations"),
                params={"startEpochMillis": a, "endEpochMillis": b})), "author conversations")
            out.extend(str(x) for x in _list(data, "author conversations"))
        return out

    def conversation(self, conversation_id: str) -> Conversation:
        data = _care_data(self._cached_get("care", f"api/v2/conversations/{quote(conversation_id, safe='')}", None,
                                           RECORD_TTL_S), "conversation")
        found = data[0] if isinstance(data, list) and data else data
        if not isinstance(found, dict):
            raise BadResponseError(f"conversation {conversation_id}: answer has no conversation")
        return _conversation(found)

    def conversations_by_display_id(self, numbers: list[int]) -> list[Conversation]:
        if not numbers:
            return []
        joined = ",".join(str(int(n)) for n in numbers)
        data = _care_data(self._json(self._send("GET", self._url("care", f"api/v2/conversations/displayIds/{joined}"))),
                          "conversations")
        return [_conversation(c) for c in _list(data, "conversations")]

    # ---- Bot API v3 ----------------------------------------------------------------------------------------

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
                raise BotTokenError(f"cannot create a bot token for {app}: {exc}") from None
            answer = self._send("GET", self._url("care", path), auth="bot-basic")
        except AuthenticationError as exc:
            raise BotTokenError(f"cannot create a bot token for {app}: {exc} (does the user have the Bot API role?)"
                                ) from None
        token = _token(app, _care_data(self._json(answer), "token"))
        with self._token_lock:
            self._tokens[app] = token
        return token

    def bot_token(self, app_id: str | None = None) -> BotToken:
        """The app's current token: created when missing, refreshed when it expires within the refresh margin."""
        app = self._app(app_id)
        with self._token_lock:
            token = self._tokens.get(app)
        if token is None:
            return self.create_bot_token(app)
        if token.expires_at - self.now() <= self.token_refresh_before:
            return self.refresh_bot_token(app)
        return token

    def refresh_bot_token(self, app_id: str | None = None) -> BotToken:
        """``PUT /bots/v3/tokens/appId/{appId}``; the old token stays valid for Khoros' 10-minute grace."""
        app = self._app(app_id)
        with self._token_lock:
            current = self._tokens.get(app)
        if current is None:
            current = self.create_bot_token(app)
        if current.expires_at <= self.now():
            raise BotTokenError(f"the bot token of {app} expired at {current.expires_at:%Y-%m-%d %H:%M} UTC; "
                                "create a new one (invalidate, then create)")
        answer = self._send("PUT", self._url("bot", f"bots/v3/tokens/appId/{quote(app, safe='')}"), auth="bearer",
                            bearer=current.token)
        data = self._json(answer)
        token = _token(app, data.get("data") if isinstance(data, dict) else None)
        with self._token_lock:
            self._tokens[app] = token
        return token

    def invalidate_bot_token(self, app_id: str | None = None) -> None:
        app = self._app(app_id)
        with self._token_lock:
            current = self._tokens.get(app)
        if current is None:
            return
        self._send("DELETE", self._url("bot", f"bots/v3/tokens/appId/{quote(app, safe='')}"), auth="bearer",
                   bearer=current.token)
        with self._token_lock:
            self._tokens.pop(app, None)

    def bot_token_status(self, app_id: str | None = None) -> dict[str, Any]:
        """For the UI: ``{app_id, state: missing|valid|expiring|expired, expires_at, seconds_left}`` (no token)."""
        app = self._app(app_id)
        with self._token_lock:
            token = self._tokens.get(app)
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
            with self._token_lock:
                self._tokens.pop(app, None)
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
        return [_flat_record(r) for r in _list(rows, "request records")]

    def bot_request(self, request_id: str, app_id: str | None = None) -> dict[str, Any]:
        data = self._bot_get(f"bots/v3/request/{quote(request_id, safe='')}", app_id=app_id)
        rec = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rec, dict):
            raise BadResponseError(f"request record {request_id}: no data")
        return _flat_record(rec)

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


# ---- answer parsing helpers ------------------------------------------------------------------------------------


def _server_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):
            return data["message"]
        err = data.get("error")
        if isinstance(err, dict):
            if isinstance(err.get("message"), str):
                return err["message"]
            if isinstance(err.get("messages"), list):
                return "; ".join(str(m) for m in err["messages"])
        if isinstance(data.get("errors"), list):
            return "; ".join(str(m) for m in data["errors"])
    return ""


def _analytics_result(data: Any, where: str) -> Any:
    if not isinstance(data, dict) or "result" not in data:
        raise BadResponseError(f"{where}: not an Analytics envelope (no 'result')")
    if str(data.get("status", "PASS")).upper() != "PASS":
        raise BadResponseError(f"{where}: Analytics status {data.get('status')!r}: {data.get('message')}")
    return data["result"]


def _job_state(data: Any, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    result = _analytics_result(data, where)
    if isinstance(result, list):  # Khoros quirk: running/failed answers wrap the object in an array
        result = result[0] if result else None
    if not isinstance(result, dict) or not isinstance(result.get("result"), dict):
        raise BadResponseError(f"{where}: job status has no result object")
    info = result.get("jobInfo") if isinstance(result.get("jobInfo"), dict) else {}
    return info, result["result"]


def _care_data(data: Any, what: str) -> Any:
    if not isinstance(data, dict) or "data" not in data:
        raise BadResponseError(f"{what}: not a Care envelope (no 'data')")
    if str(data.get("status", "success")).lower() not in ("success", "pass"):
        raise BadResponseError(f"{what}: status {data.get('status')!r}")
    return data["data"]


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadResponseError(f"{what}: expected a list")
    return value


def _day_windows(start: datetime, end: datetime) -> Iterator[tuple[int, int]]:
    a, b = _ms(start), _ms(end)
    if b <= a:
        raise ValueError("window end must be after start")
    while a < b:
        yield a, min(b, a + 86_400_000)
        a += 86_400_000


def _author(p: dict[str, Any]) -> Author:
    handles = p.get("handles") if isinstance(p.get("handles"), dict) else {}
    network, first = None, {}
    for net, entries in handles.items():
        if isinstance(entries, list) and entries:
            network, first = net, entries[0]
            break
    attributes = p.get("attributes") if isinstance(p.get("attributes"), dict) else {}
    return Author(
        id=str(first.get("lswUuid") or p.get("id")),
        display_number=p.get("displayNumber"),
        network=network,
        handle=first.get("screenName") or first.get("name"),
        name=first.get("name"),
        attributes={str(k): str(v) for k, v in attributes.items() if v is not None},
        raw=p,
    )


def _conversation(c: dict[str, Any]) -> Conversation:
    queue = c.get("workQueue") if isinstance(c.get("workQueue"), dict) else {}
    agent = c.get("assignedToAgent") if isinstance(c.get("assignedToAgent"), dict) else {}
    tags = tuple(str(t.get("name") or t.get("tagId")) for t in c.get("tags") or [] if isinstance(t, dict))
    return Conversation(
        id=str(c.get("lswUuid")),
        display_number=c.get("displayNumber"),
        status=c.get("status"),
        priority=c.get("priority"),
        work_queue_id=queue.get("id"),
        assigned_agent_id=agent.get("lswUuid"),
        created_time=from_ms(c.get("createDate")),
        closed_time=from_ms(c.get("closeDate")),
        tags=tags,
        raw=c,
    )


def _token(app: str, data: Any) -> BotToken:
    if not isinstance(data, dict) or not data.get("token"):
        raise BotTokenError(f"token answer for {app} has no token")
    expires = data.get("expiresAtMillis") or data.get("expiresAtMillis: ")
    when = from_ms(expires)
    if when is None:
        raise BotTokenError(f"token answer for {app} has no expiresAtMillis")
    return BotToken(app, str(data["token"]), when)


def _flat_record(r: Any) -> dict[str, Any]:
    if not isinstance(r, dict):
        raise BadResponseError("request record is not an object")
    out = {k: v for k, v in r.items() if k not in ("details", "callbackUrl", "companyKey")}
    details = r.get("details") if isinstance(r.get("details"), dict) else {}
    out["code"] = details.get("code")
    out["message"] = details.get("message")
    return out
