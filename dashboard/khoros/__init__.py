"""Client for the Khoros Care APIs (Analytics Reports, Care v2, Bot API v3) — or the bundled simulator.

Use :meth:`KhorosClient.from_settings`; every request passes through a retry layer and a per-family rate
limiter shared by all threads and processes on the machine (:mod:`._http`, :mod:`.ratelimit`); answers may be
served from an encrypted, pickle-free response cache (:mod:`.cache`).

Exceptions (all messages name what failed and where, and never contain a secret)::

    KhorosError
    ├── ConfigurationError        a needed setting is missing (URL, credentials, bot app id)
    ├── TransportError            connect/read failures, dropped or truncated bodies, on every attempt
    ├── BadResponseError          the answer is not the documented shape
    ├── HTTPStatusError           an HTTP error answer (.status, .where)
    │   ├── AuthenticationError   401/403: credentials, companyKey, bot token
    │   ├── NotFoundError         404
    │   ├── RequestRejectedError  other 4xx: a bad parameter; never retried
    │   ├── RateLimitError        429 on every attempt (.retry_after)
    │   └── ServerError           5xx on every attempt
    ├── ExportJobError            an export job did not deliver (.export_id, .window, .reason, .attempts)
    │   ├── ExportJobFailed       CLOSED/FAILED on every job attempt
    │   ├── ExportLinkExpired     the download link expired on every attempt
    │   └── ExportJobTimeout      still running when the poll timeout ran out
    └── BotTokenError             a Bot API v3 token cannot be created, refreshed or used
"""

from dashboard.khoros._http import RetryPolicy, SessionStats
from dashboard.khoros.cache import ResponseCache
from dashboard.khoros.client import MAX_EXPORT_DAYS, KhorosClient, PollPolicy
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
    ExportDownload,
    Tag,
    Team,
    WorkQueue,
)
from dashboard.khoros.ratelimit import Limit, SharedRateLimiter

__all__ = [
    "MAX_EXPORT_DAYS",
    "AgentStateType",
    "AuthenticationError",
    "Author",
    "BadResponseError",
    "BotHealth",
    "BotToken",
    "BotTokenError",
    "ConfigurationError",
    "Conversation",
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
