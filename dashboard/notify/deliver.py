"""Sending: SMTP (``CARE_DASHBOARD_SMTP_URL``) and incoming webhooks (``CARE_DASHBOARD_WEBHOOK_<NAME>``).

The SMTP URL::

    smtp://[user[:password]@]host[:port][?starttls=require|off][&cafile=/path/ca.pem][&timeout=30][&from=ADDR]
    smtps://[user[:password]@]host[:port][?cafile=...]            (TLS from the first byte, port 465)

``smtp://`` upgrades with STARTTLS (port 587 by default) and fails if the server does not offer it;
``starttls=off`` is for a relay on the local network that speaks no TLS, and then refuses credentials (they
would cross the network in clear). The certificate is checked against the system's CAs, or ``cafile``. User
and password are percent-decoded (``%40`` for ``@``).

Webhook URLs must be ``https://`` (``http://`` only to a loopback host). Their format is the one declared in
the rules file (``[webhooks.NAME] format``), else Teams for Microsoft hosts (``*.webhook.office.com``,
``*.logic.azure.com``, ``*.powerplatform.com``, ``*.powerautomate.com``), else Slack's (which Mattermost,
Rocket.Chat and others accept).

Every send is retried with exponential back-off while its failure is transient (a refused or dropped
connection, a timeout, an SMTP 4xx, an HTTP 429 — honouring ``Retry-After`` — or 5xx); a permanent one (bad
credentials, an unknown recipient, an HTTP 4xx, a certificate that does not verify) stops at once. Every
failure becomes a :class:`DeliveryError` whose reason passes through :meth:`Secrets.scrub`: no URL, user name
or password ever reaches a message, a log line or the state file.
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from ipaddress import ip_address
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dashboard.notify.errors import DeliveryError, NotifyConfigError
from dashboard.notify.rules import WEBHOOK_FORMATS, NotifyRules, webhook_env_name
from dashboard.settings import WEBHOOK_PREFIX

__all__ = [
    "SMTP_ENV",
    "Channels",
    "DeliveryPolicy",
    "Secrets",
    "SmtpSettings",
    "Webhook",
    "post_webhook",
    "resolve_webhook",
    "send_email",
]

SMTP_ENV = "CARE_DASHBOARD_SMTP_URL"
TEAMS_HOSTS = (".webhook.office.com", ".logic.azure.com", ".powerplatform.com", ".powerautomate.com")
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 3
    """Tries per message and channel, the first one included."""
    base_s: float = 2.0
    cap_s: float = 30.0
    timeout_s: float = 30.0

    def backoff(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * 2 ** (attempt - 1))


class Secrets:
    """The secret strings of this process's channels; :meth:`scrub` removes them from any text."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= 4:
                self._values.add(value)

    def scrub(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def __contains__(self, text: str) -> bool:
        return any(value in text for value in self._values)


# --------------------------------------------------------------------------------------------------------------
# Retries


def _with_retries(channel: str, attempt_once: Callable[[], None], classify: Callable[[BaseException], tuple[bool,
                  str, float | None]], policy: DeliveryPolicy, sleep: Callable[[float], None],
                  secrets: Secrets) -> int:
    """Run ``attempt_once`` until it succeeds or fails permanently; return the attempts it took."""
    attempt = 0
    while True:
        attempt += 1
        try:
            attempt_once()
            return attempt
        except Exception as exc:  # classified below; anything unknown is permanent
            transient, reason, wait = classify(exc)
            reason = secrets.scrub(reason)
            if not transient or attempt >= policy.attempts:
                raise DeliveryError(channel, reason + (f" (after {attempt} attempts)" if attempt > 1 else ""),
                                    transient=transient, attempts=attempt) from None
            sleep(min(wait, MAX_RETRY_AFTER_S) if wait is not None else policy.backoff(attempt))


# --------------------------------------------------------------------------------------------------------------
# SMTP


@dataclass(frozen=True, repr=False)
class SmtpSettings:
    host: str
    port: int
    tls: str
    """``implicit`` (smtps), ``starttls`` or ``off``."""
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout_s: float = 30.0
    sender: str | None = None
    """``from=`` of the URL: the sender when the rules file names none."""

    def __repr__(self) -> str:
        return f"SmtpSettings(tls={self.tls!r}, auth={self.username is not None})"

    @classmethod
    def from_url(cls, url: str, *, setting: str = SMTP_ENV) -> SmtpSettings:
        """Parse the SMTP URL; errors name ``setting``, never the URL or its parts."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise NotifyConfigError(f"{setting} is not a URL like smtp://user:password@host:587") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise NotifyConfigError(f"{setting} must start with smtp:// (STARTTLS) or smtps:// (TLS)")
        if not parts.hostname:
            raise NotifyConfigError(f"{setting} has no host")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = sorted(set(query) - {"starttls", "cafile", "timeout", "from"})
        if unknown:
            raise NotifyConfigError(f"{setting}: unknown parameter(s) {', '.join(unknown)} "
                                    "(known: starttls, cafile, timeout, from)")
        starttls = query.get("starttls", "require")
        if starttls not in ("require", "off"):
            raise NotifyConfigError(f"{setting}: starttls must be require or off")
        if parts.scheme == "smtps":
            if "starttls" in query:
                raise NotifyConfigError(f"{setting}: smtps:// is TLS already; starttls applies to smtp://")
            tls = "implicit"
        else:
            tls = "starttls" if starttls == "require" else "off"
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if tls == "off" and (username or password):
            raise NotifyConfigError(f"{setting}: credentials without TLS would cross the network in clear; use "
                                    "STARTTLS (the default) or smtps://")
        try:
            timeout = float(query.get("timeout", 30))
        except ValueError:
            raise NotifyConfigError(f"{setting}: timeout must be a number of seconds") from None
        return cls(host=parts.hostname, port=port or (465 if tls == "implicit" else 587), tls=tls,
                   username=username, password=password, cafile=query.get("cafile") or None, timeout_s=timeout,
                   sender=query.get("from") or None)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile) if self.cafile else ssl.create_default_context()


def _network_failure(exc: BaseException, socket_error: str) -> tuple[bool, str, float | None]:
    """The last rungs of both channels' failure ladders: a timeout or a socket error (``socket_error`` names it
    in the channel's words) may pass on a retry; anything else is not retried."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return True, "timed out", None
    if isinstance(exc, OSError):
        return True, f"{socket_error} ({exc.strerror or type(exc).__name__})", None
    return False, f"unexpected {type(exc).__name__}", None


def _classify_smtp(exc: BaseException) -> tuple[bool, str, float | None]:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False, f"authentication refused ({exc.smtp_code})", None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        transient = all(400 <= c < 500 for c in codes)
        return transient, f"{len(exc.recipients)} recipient(s) refused ({', '.join(map(str, codes))})", None
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False, "the server does not offer STARTTLS (or the AUTH asked for); see starttls in the URL", None
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return 400 <= code < 500, f"server answered {code} {text[:120]}", None
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True, "the server closed the connection", None
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False, f"the server's TLS certificate does not verify ({exc.verify_message})", None
    if isinstance(exc, ssl.SSLError):
        return False, f"TLS failed ({exc.reason or type(exc).__name__})", None
    if isinstance(exc, smtplib.SMTPException):  # (an OSError too: before the network errors below)
        return False, f"{type(exc).__name__}", None
    return _network_failure(exc, "cannot connect")


def send_email(smtp: SmtpSettings, message: EmailMessage, *, policy: DeliveryPolicy | None = None,
               sleep: Callable[[float], None] = time.sleep, secrets: Secrets | None = None) -> int:
    """Send ``message`` (one connection per attempt); return the attempts it took or raise DeliveryError."""
    policy = policy or DeliveryPolicy(timeout_s=smtp.timeout_s)
    secrets = secrets or Secrets()
    secrets.add(smtp.username, smtp.password)

    def attempt_once() -> None:
        context = smtp.ssl_context()
        if smtp.tls == "implicit":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=policy.timeout_s, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=policy.timeout_s)
        try:
            client.ehlo()
            if smtp.tls == "starttls":
                client.starttls(context=context)  # raises SMTPNotSupportedError if not offered
                client.ehlo()
            if smtp.username is not None:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    return _with_retries("email", attempt_once, _classify_smtp, policy, sleep, secrets)


# --------------------------------------------------------------------------------------------------------------
# Webhooks


@dataclass(frozen=True, repr=False)
class Webhook:
    name: str
    url: str = field(repr=False)
    format: str

    def __repr__(self) -> str:
        return f"Webhook(name={self.name!r}, format={self.format!r})"

    @property
    def channel(self) -> str:
        return f"webhook:{self.name}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_webhook(name: str, sources: Mapping[str, Any], formats: Mapping[str, str] | None = None) -> Webhook:
    """The webhook called ``name``: its URL from ``CARE_DASHBOARD_WEBHOOK_<NAME>`` in ``sources`` (secrets over
    environment, merged by the caller), its format declared or guessed from the host."""
    setting = webhook_env_name(name)
    url = str(sources.get(setting) or "").strip()
    if not url:
        raise NotifyConfigError(f"webhook {name!r}: {setting} is not set (environment or secrets file)")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise NotifyConfigError(f"webhook {name!r}: {setting} is not a URL") from None
    if not host or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not _is_loopback(host)):
        raise NotifyConfigError(f"webhook {name!r}: {setting} must be an https:// URL")
    declared = (formats or {}).get(name)
    if declared is not None and declared not in WEBHOOK_FORMATS:
        raise NotifyConfigError(f"webhook {name!r}: unknown format {declared!r}")
    fmt = declared or ("teams" if host.endswith(TEAMS_HOSTS) else "slack")
    return Webhook(name=name, url=url, format=fmt)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answers itself; following a redirect would send the payload somewhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _classify_http(exc: BaseException) -> tuple[bool, str, float | None]:
    if isinstance(exc, urllib.error.HTTPError):
        detail = ""
        try:
            body = exc.read(200).decode("utf-8", "replace").strip()
            detail = f": {body[:120]}" if body and "<" not in body else ""
        except OSError:
            pass
        if exc.code == 429:
            return True, f"HTTP 429 (rate limited){detail}", _retry_after(exc.headers)
        if 300 <= exc.code < 400:
            return False, f"HTTP {exc.code} (a redirect: webhooks are not followed elsewhere)", None
        return exc.code >= 500, f"HTTP {exc.code}{detail}", _retry_after(exc.headers) if exc.code >= 500 else None
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return False, f"the TLS certificate does not verify ({reason.verify_message})", None
        text = getattr(reason, "strerror", None) or type(reason).__name__
        return True, f"cannot connect ({text})", None
    return _network_failure(exc, "network error")


def post_webhook(hook: Webhook, payload: Mapping[str, Any], *, policy: DeliveryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, secrets: Secrets | None = None) -> int:
    """POST ``payload`` as JSON to the webhook; return the attempts it took or raise DeliveryError."""
    policy = policy or DeliveryPolicy()
    secrets = secrets or Secrets()
    parts = urlsplit(hook.url)
    secrets.add(hook.url, parts.path if len(parts.path) > 1 else None, parts.query or None)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def attempt_once() -> None:
        request = urllib.request.Request(hook.url, data=body, method="POST",  # noqa: S310 - https or loopback only
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "User-Agent": "khoros-care-dashboard-notify"})
        with _OPENER.open(request, timeout=policy.timeout_s) as response:
            response.read()

    return _with_retries(hook.channel, attempt_once, _classify_http, policy, sleep, secrets)


# --------------------------------------------------------------------------------------------------------------
# Channels


@dataclass
class Channels:
    """Where messages go: the SMTP server and the named webhooks, from the environment and the secrets file.

    ``sources`` maps setting names to values (the secrets file over the environment). Every secret value in it
    is registered with :attr:`secrets` at once, so no message can carry one.
    """

    sources: Mapping[str, Any]
    formats: Mapping[str, str] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=Secrets)

    def __post_init__(self) -> None:
        for name, value in self.sources.items():
            if name == SMTP_ENV or name.startswith(WEBHOOK_PREFIX):
                self.secrets.add(str(value))
                if name == SMTP_ENV:
                    with contextlib.suppress(NotifyConfigError):  # a bad URL is reported when it is used
                        smtp = SmtpSettings.from_url(str(value))
                        self.secrets.add(smtp.password, smtp.username)
                else:
                    parts = urlsplit(str(value))
                    self.secrets.add(parts.path if len(parts.path) > 8 else None, parts.query or None)

    @classmethod
    def from_sources(cls, env: Mapping[str, str], secrets: Mapping[str, Any] | None = None,
                     formats: Mapping[str, str] | None = None) -> Channels:
        merged: dict[str, Any] = dict(env)
        merged.update({k: v for k, v in (secrets or {}).items() if isinstance(v, str)})
        return cls(merged, dict(formats or {}))

    @classmethod
    def from_settings(cls, settings: Any, formats: Mapping[str, str] | None = None) -> Channels:
        """The channels of :class:`dashboard.settings.Settings` (read from the environment and the secrets file
        by :func:`dashboard.settings.load_settings`, as every other setting)."""
        sources: dict[str, Any] = dict(settings.webhook_urls)
        if settings.smtp_url:
            sources[SMTP_ENV] = settings.smtp_url
        return cls(sources, dict(formats or {}))

    def smtp(self) -> SmtpSettings:
        url = str(self.sources.get(SMTP_ENV) or "").strip()
        if not url:
            raise NotifyConfigError(f"{SMTP_ENV} is not set (environment or secrets file)")
        return SmtpSettings.from_url(url)

    def webhook(self, name: str) -> Webhook:
        return resolve_webhook(name, self.sources, self.formats)

    def check(self, rules: NotifyRules) -> tuple[dict[str, Webhook], list[str]]:
        """The channels ``rules`` send to: the webhooks that resolve (by name, in the order of
        ``rules.webhook_names``) and what is missing or unusable (the SMTP server when a rule e-mails, then each
        webhook), secrets scrubbed. ``notify check`` prints them; the Data page lists the problems."""
        webhooks: dict[str, Webhook] = {}
        problems: list[str] = []
        if any(r.email for r in (*rules.digests, *rules.sla_alerts)):
            try:
                self.smtp()
            except NotifyConfigError as exc:
                problems.append(self.secrets.scrub(str(exc)))
        for name in rules.webhook_names:
            try:
                webhooks[name] = self.webhook(name)
            except NotifyConfigError as exc:
                problems.append(self.secrets.scrub(str(exc)))
        return webhooks, problems
