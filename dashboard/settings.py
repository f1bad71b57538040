"""Settings, from environment variables (and, in the UI, ``.streamlit/secrets.toml``).

The core never imports Streamlit: the UI passes its secrets as a mapping to
:func:`load_settings`, so notebooks and the CLI read the same names from the
environment. With no Khoros URL configured, :attr:`Settings.use_simulator` is
true and the app runs on the bundled simulator.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from dashboard.errors import SettingsError

__all__ = ["DEFAULT_DATA_DIR", "ENV_NAMES", "MODES", "WEBHOOK_PREFIX", "Settings", "deployment_mode", "load_settings"]

DEFAULT_DATA_DIR = Path.home() / ".cache" / "khoros-care-dashboard"

ENV_NAMES = (
    "KHOROS_ANALYTICS_URL",
    "KHOROS_CARE_URL",
    "KHOROS_BOT_API_URL",
    "KHOROS_COMPANY_KEY",
    "KHOROS_USERNAME",
    "KHOROS_PASSWORD",
    "KHOROS_BOT_APP_ID",
    "KHOROS_BOT_USERNAME",
    "KHOROS_BOT_PASSWORD",
    "KHOROS_TIER_ATTRIBUTE",
    "KHOROS_TIER_FILE",
    "KHOROS_RATE_ANALYTICS_PER_MIN",
    "KHOROS_RATE_CARE_PER_MIN",
    "KHOROS_EXPORT_TIME_FORMAT",
    "KHOROS_EXPORT_TIMEZONE",
    "CARE_DASHBOARD_TENANT_NAME",
    "CARE_DASHBOARD_DATA_DIR",
    "CARE_DASHBOARD_STORE_URL",
    "CARE_DASHBOARD_CACHE_KEY",
    "CARE_DASHBOARD_POLICY",
    "CARE_DASHBOARD_IFRAME_SECRET",
    "CARE_DASHBOARD_IFRAME_MAX_AGE",
    "CARE_DASHBOARD_TIMEZONE",
    "CARE_DASHBOARD_BOT_RULE",
    "CARE_DASHBOARD_SIMULATOR_SEED",
    "CARE_DASHBOARD_SIMULATOR_DAYS",
    "CARE_DASHBOARD_SIMULATOR_CPD",
    "CARE_DASHBOARD_SIMULATOR_END",
    "CARE_DASHBOARD_NOTIFY",
    "CARE_DASHBOARD_SMTP_URL",
    "CARE_DASHBOARD_MODE",
    "CARE_DASHBOARD_ALLOW_ANONYMOUS",
    "CARE_DASHBOARD_ROLES_CLAIM",
    "CARE_DASHBOARD_ACCESS",
    "CARE_DASHBOARD_SIGN_IN_MAX_AGE",
    "CARE_DASHBOARD_TENANTS",
)
MODES = ("full", "embed")
"""``CARE_DASHBOARD_MODE``: ``full`` (the dashboard, behind sign-in) or ``embed`` (only the author panel for a valid
iFrame payload; nothing else, no sign-in page)."""
WEBHOOK_PREFIX = "CARE_DASHBOARD_WEBHOOK_"
"""``CARE_DASHBOARD_WEBHOOK_<NAME>``: the URL of the webhook a notification rule names ``name`` (its letters upper
case, other signs ``_``); read from the environment and the secrets file like the names above."""


@dataclass(frozen=True)
class Settings:
    analytics_url: str | None = None
    care_url: str | None = None
    bot_api_url: str | None = None
    company_key: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    bot_app_id: str | None = None
    bot_username: str | None = field(default=None, repr=False)
    bot_password: str | None = field(default=None, repr=False)
    tier_attribute: str = "tier"
    tier_file: Path | None = None
    rate_analytics_per_min: int = 20
    rate_care_per_min: int = 60
    data_dir: Path = DEFAULT_DATA_DIR
    store_url: str | None = None
    """``CARE_DASHBOARD_STORE_URL``: where the stores live when not in ``data_dir / "store"``: ``s3://bucket/prefix``
    (``gs://``, ``az://`` too; credentials and an S3-compatible endpoint from the usual ``AWS_*`` environment
    variables). Each tenant's store is ``<store url>/<tenant label>`` (:func:`dashboard.store.open_store`)."""
    cache_key: str | None = field(default=None, repr=False)
    policy_path: Path | None = None
    iframe_secret: str | None = field(default=None, repr=False)
    iframe_max_age_s: int = 300
    timezone: str = "America/New_York"
    bot_rule: str = "human"
    """Default bot rule for first response (human | any) of the pages, the report CLI and the notebooks."""
    simulator_seed: int = 7
    simulator_days: int = 90
    simulator_conversations_per_day: int = 400
    simulator_end: datetime | None = None
    """The simulated world's "now"; part of the tenant name, so each demo world has its own store."""
    export_time_format: str | None = None
    """How the tenant writes times in exports (its company setting), as strftime: ``KHOROS_EXPORT_TIME_FORMAT``
    takes strftime (``%m/%d/%Y %H:%M:%S``) or Khoros' style (``MM/dd/yyyy HH:mm:ss``). None: read only
    ISO-8601 and epoch ms, and a date format only when the values leave a single reading."""
    export_timezone: str | None = None
    """The zone times in exported files are written in (the company's zone), for files imported from the
    Khoros UI; a sync asks Khoros for UTC instead."""
    notify_rules_path: Path | None = None
    """The digests and SLA alerts rules file (``CARE_DASHBOARD_NOTIFY``; :mod:`dashboard.notify.rules`)."""
    smtp_url: str | None = field(default=None, repr=False)
    """``CARE_DASHBOARD_SMTP_URL`` (holds the SMTP password: never shown, logged or stored)."""
    webhook_urls: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """(setting name, URL) of every ``CARE_DASHBOARD_WEBHOOK_<NAME>`` set, sorted (a webhook's URL is its
    credential)."""
    tenant_name: str | None = None
    """``CARE_DASHBOARD_TENANT_NAME``: what the store folder, the sync output and the Data page call the tenant
    (default: a short hash of the company key and host; never the key itself)."""
    mode: str = "full"
    """``CARE_DASHBOARD_MODE`` (:data:`MODES`)."""
    allow_anonymous: bool = False
    """``CARE_DASHBOARD_ALLOW_ANONYMOUS=true``: a configured tenant opens without sign-in, on purpose (every page
    says so). Without it and without ``[auth]``, a tenant's dashboard refuses to open."""
    roles_claim: str = "groups"
    """``CARE_DASHBOARD_ROLES_CLAIM``: the identity token's claim whose values the access file maps to roles (a
    dotted path reaches into an object claim, e.g. ``realm_access.roles``)."""
    access_path: Path | None = None
    """``CARE_DASHBOARD_ACCESS``: the access file (TOML) mapping the claim's values to roles and tenants
    (:mod:`dashboard.access`)."""
    sign_in_max_age_h: int = 12
    """``CARE_DASHBOARD_SIGN_IN_MAX_AGE``: hours a sign-in (its identity token's ``iat``) is honoured before the
    user signs in again, so a group removed in the identity provider stops counting within a working day."""

    tenants_path: Path | None = None
    """``CARE_DASHBOARD_TENANTS``: the tenants file (TOML; :mod:`dashboard.tenants`). None: one tenant, from these
    settings (or the simulator)."""
    listed: bool = False
    """These are one tenant's settings from the tenants file: ``tenant_name`` is its name there (the picker's,
    ``--tenant``'s, the access file's and its store folder's)."""

    @property
    def use_simulator(self) -> bool:
        """No tenant configured: run on the bundled simulator."""
        return not (self.analytics_url or self.care_url or self.bot_api_url)

    @property
    def host(self) -> str:
        """The Khoros host the tenant is reached at ("" for the simulator)."""
        return (self.analytics_url or self.care_url or self.bot_api_url or "").split("//")[-1].split("/")[0]

    @property
    def tenant(self) -> str:
        """A name for the data source that holds no credential part (store folders, cache keys, what the CLI
        prints and the Data page shows): ``CARE_DASHBOARD_TENANT_NAME``, else ``khoros-`` and a short hash of
        the company key and host."""
        if self.use_simulator:
            end = f"-{self.simulator_end:%Y%m%dT%H%M}" if self.simulator_end else ""
            # A simulated tenant of the tenants file is named first: two of them never share a store.
            named = f"{self.tenant_name}-" if self.listed and self.tenant_name else ""
            return (
                f"{named}simulator-seed{self.simulator_seed}-d{self.simulator_days}"
                f"-c{self.simulator_conversations_per_day}{end}"
            )
        return self.tenant_name or self.tenant_hash

    @property
    def tenant_hash(self) -> str:
        digest = hashlib.sha256(f"{self.company_key or ''}@{self.host}".encode()).hexdigest()[:12]
        return f"khoros-{digest}"

    @property
    def previous_store_folders(self) -> list[str]:
        """Names earlier versions (or settings) gave this tenant's store folder, oldest first: the company key
        and host (before issue 18), then the hash label (before a name was configured). The store is moved from
        one of them on open, so no folder keeps the key in its name."""
        if self.use_simulator:
            return []
        names = [f"{self.company_key or 'nokey'}@{self.host}", self.tenant_hash]
        return [n for n in names if n != self.tenant]

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def missing_for_tenant(self) -> list[str]:
        """Names of settings a real tenant needs but are not set."""
        need = {
            "KHOROS_ANALYTICS_URL": self.analytics_url,
            "KHOROS_COMPANY_KEY": self.company_key,
            "KHOROS_USERNAME": self.username,
            "KHOROS_PASSWORD": self.password,
        }
        return [k for k, v in need.items() if not v]


def _get(source: Mapping[str, object], name: str) -> str | None:
    value = source.get(name)
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _int(source: Mapping[str, object], name: str, default: int, lowest: int = 0, highest: int = 10**9) -> int:
    raw = _get(source, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be a whole number, got {raw[:40]!r}") from None
    if not lowest <= value <= highest:
        raise SettingsError(f"setting {name} must be between {lowest:,} and {highest:,}, got {value:,}")
    return value


def load_settings(secrets: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings; ``secrets`` (Streamlit's, flattened) win over the environment."""
    source = _source(secrets, env)
    tier_file = _get(source, "KHOROS_TIER_FILE")
    sim_end = _get(source, "CARE_DASHBOARD_SIMULATOR_END")
    time_format, time_zone = _export_times(source)
    policy = _get(source, "CARE_DASHBOARD_POLICY")
    notify = _get(source, "CARE_DASHBOARD_NOTIFY")
    access = _get(source, "CARE_DASHBOARD_ACCESS")
    tenants = _get(source, "CARE_DASHBOARD_TENANTS")
    webhooks = tuple(sorted((k, url) for k in source if k.startswith(WEBHOOK_PREFIX) and (url := _get(source, k))))
    return Settings(
        analytics_url=_get(source, "KHOROS_ANALYTICS_URL"),
        care_url=_get(source, "KHOROS_CARE_URL"),
        bot_api_url=_get(source, "KHOROS_BOT_API_URL"),
        company_key=_get(source, "KHOROS_COMPANY_KEY"),
        username=_get(source, "KHOROS_USERNAME"),
        password=_get(source, "KHOROS_PASSWORD"),
        bot_app_id=_get(source, "KHOROS_BOT_APP_ID"),
        bot_username=_get(source, "KHOROS_BOT_USERNAME"),
        bot_password=_get(source, "KHOROS_BOT_PASSWORD"),
        tier_attribute=_get(source, "KHOROS_TIER_ATTRIBUTE") or "tier",
        tier_file=Path(tier_file) if tier_file else None,
        rate_analytics_per_min=_int(source, "KHOROS_RATE_ANALYTICS_PER_MIN", 20, 1, 1_000_000),
        rate_care_per_min=_int(source, "KHOROS_RATE_CARE_PER_MIN", 60, 1, 1_000_000),
        data_dir=Path(_get(source, "CARE_DASHBOARD_DATA_DIR") or DEFAULT_DATA_DIR).expanduser(),
        store_url=_store_url(source),
        cache_key=_get(source, "CARE_DASHBOARD_CACHE_KEY"),
        policy_path=Path(policy) if policy else None,
        iframe_secret=_get(source, "CARE_DASHBOARD_IFRAME_SECRET"),
        iframe_max_age_s=_int(source, "CARE_DASHBOARD_IFRAME_MAX_AGE", 300, 1, 86_400),
        timezone=_get(source, "CARE_DASHBOARD_TIMEZONE") or "America/New_York",
        bot_rule=_get(source, "CARE_DASHBOARD_BOT_RULE") or "human",
        simulator_seed=_int(source, "CARE_DASHBOARD_SIMULATOR_SEED", 7),
        simulator_days=_int(source, "CARE_DASHBOARD_SIMULATOR_DAYS", 90, 1, 730),
        simulator_conversations_per_day=_int(source, "CARE_DASHBOARD_SIMULATOR_CPD", 400, 1, 100_000),
        simulator_end=_parse_instant("CARE_DASHBOARD_SIMULATOR_END", sim_end) if sim_end else None,
        export_time_format=time_format,
        export_timezone=time_zone,
        notify_rules_path=Path(notify).expanduser() if notify else None,
        smtp_url=_get(source, "CARE_DASHBOARD_SMTP_URL"),
        webhook_urls=webhooks,
        tenant_name=_get(source, "CARE_DASHBOARD_TENANT_NAME"),
        mode=_mode(source),
        allow_anonymous=_flag(source, "CARE_DASHBOARD_ALLOW_ANONYMOUS"),
        roles_claim=_get(source, "CARE_DASHBOARD_ROLES_CLAIM") or "groups",
        access_path=Path(access).expanduser() if access else None,
        sign_in_max_age_h=_int(source, "CARE_DASHBOARD_SIGN_IN_MAX_AGE", 12, 1, 24 * 90),
        tenants_path=Path(tenants).expanduser() if tenants else None,
    )


def _source(secrets: Mapping[str, object] | None, env: Mapping[str, str] | None) -> dict[str, object]:
    source: dict[str, object] = dict(os.environ if env is None else env)
    if secrets:
        source.update({k: v for k, v in secrets.items() if k in ENV_NAMES or k.startswith(WEBHOOK_PREFIX)})
    return source


def _store_url(source: Mapping[str, object]) -> str | None:
    raw = _get(source, "CARE_DASHBOARD_STORE_URL")
    if not raw:
        return None
    from dashboard.store._objects import SCHEMES

    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() not in SCHEMES or not rest.strip("/"):
        raise SettingsError(f"setting CARE_DASHBOARD_STORE_URL must look like s3://bucket/prefix (schemes: "
                            f"{', '.join(SCHEMES)}), got {raw[:80]!r}")
    return f"{scheme.lower()}://{rest.strip('/')}"


def _mode(source: Mapping[str, object]) -> str:
    raw = (_get(source, "CARE_DASHBOARD_MODE") or "full").lower()
    if raw not in MODES:
        raise SettingsError(f"setting CARE_DASHBOARD_MODE must be one of {', '.join(MODES)}, got {raw[:40]!r}")
    return raw


def deployment_mode(secrets: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None) -> str:
    """``CARE_DASHBOARD_MODE`` alone: the app decides what a process serves before (and whether) it reads the
    other settings, so that an embed-only process never shows another setting's error in Khoros' frame."""
    return _mode(_source(secrets, env))


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _flag(source: Mapping[str, object], name: str) -> bool:
    raw = _get(source, name)
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"setting {name} must be true or false, got {raw[:40]!r}")


def _export_times(source: Mapping[str, object]) -> tuple[str | None, str | None]:
    """``KHOROS_EXPORT_TIME_FORMAT`` as strftime and ``KHOROS_EXPORT_TIMEZONE``, checked."""
    from dashboard.schema import TimeReading

    raw_format = _get(source, "KHOROS_EXPORT_TIME_FORMAT")
    raw_zone = _get(source, "KHOROS_EXPORT_TIMEZONE")
    try:
        format_ = TimeReading(format=raw_format).format
    except ValueError as exc:
        raise SettingsError(f"setting KHOROS_EXPORT_TIME_FORMAT: {exc}") from None
    try:
        TimeReading(zone=raw_zone)
    except ValueError as exc:
        raise SettingsError(f"setting KHOROS_EXPORT_TIMEZONE: {exc}") from None
    return format_, raw_zone


def _parse_instant(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be an ISO-8601 instant like 2026-11-24T15:00:00Z, got "
                            f"{raw[:40]!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
