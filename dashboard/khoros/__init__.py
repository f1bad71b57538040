"""Client for the Khoros Care APIs (Analytics Reports, Care v2, Bot API v3) — or the bundled simulator.

Use :meth:`KhorosClient.from_settings`; every request passes through a retry layer and a per-family rate
limiter shared by all threads and processes on the machine (:mod:`._http`, :mod:`.ratelimit`); answers may be
served from an encrypted, pickle-free response cache (:mod:`.cache`). The client is one facade
(:mod:`.client`) over a module per API family: :mod:`._analytics` (export jobs), :mod:`._care` (Care v2 and
Khoros' ``currentTAR``), :mod:`._bots` (Bot API v3 and its tokens), with :mod:`._core` (plumbing) and
:mod:`._parsers` (reading answers).

Exceptions (all messages name what failed and where, and never contain a secret; like httpx's, each carries
the request's ``method``, redacted ``url`` and the answer's ``status`` where there was one)::

    DashboardError                (dashboard.errors)
    └── KhorosError
        ├── ConfigurationError        a needed setting is missing (URL, credentials, bot app id)
        ├── TransportError            connect/read failures, dropped or truncated bodies, on every attempt
        ├── BadResponseError          the answer is not the documented shape
        ├── HTTPStatusError           an HTTP error answer (.status, .method, .url)
        │   ├── AuthenticationError   401/403: credentials, companyKey, bot token, a permission
        │   ├── NotFoundError         404
        │   ├── RequestRejectedError  other 4xx: a bad parameter; never retried
        │   ├── RateLimitError        429 on every attempt (.retry_after)
        │   └── ServerError           5xx on every attempt
        ├── ExportJobError            an export job did not deliver (.export_id, .window, .reason, .attempts)
        │   ├── ExportJobFailed       CLOSED/FAILED on every job attempt
        │   ├── ExportLinkExpired     the pre-signed link expired every time it was asked for, on every job
        │   └── ExportJobTimeout      still running when the poll timeout ran out
        └── BotTokenError             a Bot API v3 token cannot be created, refreshed or used
"""

from dashboard.khoros._analytics import DOCUMENTED_REPORT_METRICS, MAX_EXPORT_DAYS, REQUEST_TIMEZONE
from dashboard.khoros._http import RetryPolicy, SessionStats
from dashboard.khoros.cache import ResponseCache
from dashboard.khoros.client import KhorosClient, PollPolicy
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
    KhorosError,
    NotFoundError,
    RateLimitError,
    RequestRejectedError,
    ServerError,
    TransportError,
)
from dashboard.khoros.models import (
    AgentStateType,
    Author,
    BotHealth,
    BotToken,
    Conversation,
    CurrentTar,
    DisplayIdLookup,
    ExportDownload,
    Probe,
    Tag,
    Team,
    WorkQueue,
)
from dashboard.khoros.ratelimit import Limit, SharedRateLimiter

__all__ = [
    "DOCUMENTED_REPORT_METRICS",
    "MAX_EXPORT_DAYS",
    "REQUEST_TIMEZONE",
    "AgentStateType",
    "AuthenticationError",
    "Author",
    "BadResponseError",
    "BotHealth",
    "BotToken",
    "BotTokenError",
    "ConfigurationError",
    "Conversation",
    "CurrentTar",
    "DisplayIdLookup",
    "ExportDownload",
    "ExportJobError",
    "ExportJobFailed",
    "ExportJobTimeout",
    "ExportLinkExpired",
    "HTTPStatusError",
    "KhorosClient",
    "KhorosError",
    "Limit",
    "NotFoundError",
    "PollPolicy",
    "Probe",
    "RateLimitError",
    "RequestRejectedError",
    "ResponseCache",
    "RetryPolicy",
    "ServerError",
    "SessionStats",
    "SharedRateLimiter",
    "Tag",
    "Team",
    "TransportError",
    "WorkQueue",
]
