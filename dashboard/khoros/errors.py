"""The client's exceptions (the hierarchy is drawn in :mod:`dashboard.khoros`).

Every message says what failed and where (API family, method, path, export and window) and never carries a
secret: URLs are shown without their query string (which holds ``companyKey`` or an access token), headers are
never shown, and server messages pass through :func:`scrub` before they are quoted. Like httpx's errors, every
:class:`KhorosError` raised for a request carries that request's ``method``, its redacted ``url`` and, when an
answer came, its HTTP ``status`` (``None`` where there was no request or no answer).
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.errors import DashboardError

__all__ = [
    "AuthenticationError",
    "BadResponseError",
    "BotTokenError",
    "ConfigurationError",
    "ExportJobError",
    "ExportJobFailed",
    "ExportJobTimeout",
    "ExportLinkExpired",
    "HTTPStatusError",
    "KhorosError",
    "NotFoundError",
    "RateLimitError",
    "RequestRejectedError",
    "ServerError",
    "TransportError",
    "scrub",
]


class KhorosError(DashboardError):
    """Base class of everything the Khoros client raises."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        """``scheme://host/path``: no query string, no user info."""
        self.status = status

    @property
    def where(self) -> str:
        """``"METHOD url"`` of the request that failed (empty when the error is not about one request)."""
        return " ".join(part for part in (self.method, self.url) if part)


class ConfigurationError(KhorosError):
    """Settings are missing or invalid (e.g. no URL for an API family, no bot app id)."""


class TransportError(KhorosError):
    """The network failed (connect, read, dropped or truncated body) on every attempt."""


class BadResponseError(KhorosError):
    """An answer arrived but is not the documented shape (not JSON, missing fields)."""


class HTTPStatusError(KhorosError):
    """An HTTP error answer: ``status`` is its code, ``method`` and ``url`` (redacted) name the request."""

    status: int

    def __init__(self, message: str, *, status: int, method: str, url: str) -> None:
        super().__init__(message, method=method, url=url, status=status)


class AuthenticationError(HTTPStatusError):
    """401/403: wrong credentials, unknown companyKey, an expired or invalidated bot token."""


class NotFoundError(HTTPStatusError):
    """404: the author, conversation, request record or job does not exist."""


class RequestRejectedError(HTTPStatusError):
    """Another 4xx: the request itself is wrong (bad parameter, range too long). Never retried."""


class RateLimitError(HTTPStatusError):
    """429 on every attempt: the shared quota is exhausted by someone else for too long."""

    def __init__(self, message: str, *, status: int, method: str, url: str, retry_after: float | None = None
                 ) -> None:
        super().__init__(message, status=status, method=method, url=url)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """5xx on every attempt."""


class ExportJobError(KhorosError):
    """An Analytics export job did not deliver; carries the export, the window and the reason."""

    def __init__(self, message: str, *, export_id: str, window: str, reason: str, attempts: int,
                 method: str | None = None, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message, method=method, url=url, status=status)
        self.export_id = export_id
        self.window = window
        self.reason = reason
        self.attempts = attempts


class ExportJobFailed(ExportJobError):
    """The job ended ``CLOSED`` / ``FAILED`` on every attempt."""


class ExportLinkExpired(ExportJobError):
    """The download link had expired on every attempt."""


class ExportJobTimeout(ExportJobError):
    """The job was still running when the poll timeout ran out."""


class BotTokenError(KhorosError):
    """The Bot API v3 token could not be created, refreshed or used (no app id, no Bot API role)."""


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``***`` and cut to 300 characters."""
    out = text
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***")
    return out[:300]
