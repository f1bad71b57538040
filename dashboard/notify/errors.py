"""The notifier's exceptions (the hierarchy is drawn in :mod:`dashboard.notify`).

Every message says what failed and where — the rules file and line, the rule, the channel — and never holds a
secret: an SMTP URL, its password or a webhook URL (whose path is the credential) is never part of a message.
"""

from __future__ import annotations

from dashboard.errors import ConfigFileError, DashboardError

__all__ = ["DeliveryError", "NotifyBusy", "NotifyConfigError", "NotifyError", "RulesError"]


class NotifyError(DashboardError):
    """Base of every error the notifier raises on purpose."""


class RulesError(NotifyError, ConfigFileError):
    """The rules file (``CARE_DASHBOARD_NOTIFY``) is invalid; ``line`` is 1-based when known."""


class NotifyConfigError(NotifyError, ValueError):
    """A delivery setting (SMTP URL, a webhook's URL) is missing or unusable; names the setting, not its value."""


class DeliveryError(NotifyError):
    """Sending to one channel failed after its retries. ``transient`` says whether a later run may succeed."""

    def __init__(self, channel: str, reason: str, *, transient: bool, attempts: int = 1) -> None:
        self.channel = channel
        self.reason = reason
        self.transient = transient
        self.attempts = attempts
        super().__init__(f"{channel}: {reason}")


class NotifyBusy(NotifyError):
    """Another ``notify run`` holds the lock of this store's notification state."""
