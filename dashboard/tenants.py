"""Several Khoros Care tenants (or brands, regions, an agency's clients) in one deployment: the tenants file.

``CARE_DASHBOARD_TENANTS`` names a TOML file with one table per tenant. Its name (the table's key) is what the
sidebar's picker, ``?tenant=``, ``--tenant``, the access file's ``tenants`` and the audit call it, and its store
partition's folder name. Each table holds that tenant's settings; its secrets are named, never written there::

    [tenants.emea]
    analytics_url = "https://analytics-emea.example.com/api/v2"
    care_url = "https://emea.response.lithium.com"       # optional (the Author API)
    company_key = "acme-emea"
    timezone = "Europe/Berlin"                            # the report zone (default CARE_DASHBOARD_TIMEZONE)
    export_time_format = "dd/MM/yyyy HH:mm:ss"            # the company's format setting, for imported files
    export_timezone = "Europe/Berlin"
    policy = "policies/emea.toml"                         # relative to this file (default CARE_DASHBOARD_POLICY)
    bot_rule = "human"

    [tenants.emea.credentials]                            # the NAME of the environment variable (or
    username = "EMEA_KHOROS_USERNAME"                     # .streamlit/secrets.toml key) holding each secret
    password = "EMEA_KHOROS_PASSWORD"

    [tenants.north]                                       # a tenant of the bundled simulator (demo, tests)
    simulator = { seed = 11, days = 21, conversations_per_day = 80 }

Settings that belong to the deployment (the data folder, sign-in, the access file, mode, notifications' delivery)
stay in the environment; the ``KHOROS_*`` tenant settings of the environment are not used once there is a file.
Without a file there is one tenant, from the environment (or the simulator), called as
:func:`dashboard.access.tenant_of` says.

A file that does not parse, or says something that cannot be used, is refused whole with the file, line, tenant and
key (:class:`TenantsError`). A secret that is not set stops only its tenant: asking for that tenant's settings
raises the error (naming tenant, key, variable and where), the others open — so one tenant's missing password
never takes the other tenants down (``sync --all-tenants``), and no tenant's credential is ever read for another.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard.errors import DashboardError, SettingsError
from dashboard.settings import Settings, load_settings

__all__ = [
    "CREDENTIALS",
    "TENANT_KEYS",
    "Tenant",
    "Tenants",
    "TenantsError",
    "load_tenants",
    "parse_tenants",
    "tenant_settings",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
CREDENTIALS = {"username": "username", "password": "password", "bot_username": "bot_username",
               "bot_password": "bot_password"}
"""``[tenants.<name>.credentials]`` keys -> the setting each fills (its value names where the secret is)."""
_TEXT = ("analytics_url", "care_url", "bot_api_url", "company_key", "bot_app_id", "tier_attribute", "timezone",
         "bot_rule", "export_time_format", "export_timezone")
_PATHS = {"policy": "policy_path", "tier_file": "tier_file"}
_INTS = {"rate_analytics_per_min": (1, 1_000_000), "rate_care_per_min": (1, 1_000_000)}
_SIMULATOR = {"seed": ("simulator_seed", 0, 10**9), "days": ("simulator_days", 1, 730),
              "conversations_per_day": ("simulator_conversations_per_day", 1, 100_000)}
TENANT_KEYS = (*_TEXT, *_PATHS, *_INTS, "simulator", "credentials")
_URLS = ("analytics_url", "care_url", "bot_api_url")
_TENANT_FIELDS = {"analytics_url": None, "care_url": None, "bot_api_url": None, "company_key": None, "username": None,
                  "password": None, "bot_app_id": None, "bot_username": None, "bot_password": None,
                  "tier_attribute": "tier", "tier_file": None, "rate_analytics_per_min": 20, "rate_care_per_min": 60,
                  "export_time_format": None, "export_timezone": None}
"""A tenant's own settings, as a tenant of the file starts them (the environment's ``KHOROS_*`` do not leak in)."""


class TenantsError(SettingsError):
    """The tenants file (or one tenant's secret) cannot be used; the message names the file, line, tenant and key."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source} line {line}: {reason}" if line else f"{source}: {reason}")


@dataclass(frozen=True)
class Tenant:
    """One tenant: its settings, and why they cannot be used when a secret they name is not set (then ``settings``
    lack that secret: enough to name the tenant's store partition and audit, never to reach Khoros)."""

    name: str
    settings: Settings
    problem: TenantsError | None = None

    @property
    def simulated(self) -> bool:
        return self.settings.use_simulator


@dataclass(frozen=True)
class Tenants:
    """The deployment's tenants, in the file's order (one, from the environment, without a file)."""

    tenants: tuple[Tenant, ...]
    source: str | None = None
    """The tenants file; None: one tenant from the environment."""

    @classmethod
    def single(cls, settings: Settings) -> Tenants:
        """The one tenant of ``settings`` (no tenants file)."""
        from dashboard.access import tenant_of

        return cls((Tenant(tenant_of(settings), settings),))

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tenants]

    @property
    def from_file(self) -> bool:
        return self.source is not None

    @property
    def all_simulated(self) -> bool:
        """Every tenant is the bundled simulator's (the demo): nothing of a customer to sign in for."""
        return all(t.problem is None and t.simulated for t in self.tenants)

    def get(self, name: str) -> Tenant:
        for tenant in self.tenants:
            if tenant.name == name:
                return tenant
        where = f"the tenants file {self.source}" if self.source else "this deployment (no CARE_DASHBOARD_TENANTS)"
        raise SettingsError(f"no tenant {name[:60]!r} in {where}; the tenants are {', '.join(self.names)}")

    def settings_for(self, name: str) -> Settings:
        """The settings of tenant ``name``; a :class:`SettingsError` when there is none, or its secret is not set."""
        tenant = self.get(name)
        if tenant.problem is not None:
            raise tenant.problem
        return tenant.settings

    def chosen(self, name: str | None) -> str:
        """The tenant a command runs for: ``name``, else the only one; several and none named is an error."""
        if name is not None:
            return self.get(name).name
        if len(self.tenants) == 1:
            return self.tenants[0].name
        raise SettingsError(f"{len(self.tenants)} tenants are configured ({', '.join(self.names)}); name one with "
                            "--tenant NAME (or --all-tenants where a command offers it)")


# ---- reading the file ----------------------------------------------------------------------------------------


def _table_lines(text: str) -> dict[str, tuple[int, int]]:
    """(first, last) line of each ``[tenants.<name>]`` table (its sub-tables included), to name a line."""
    lines = text.splitlines()
    headers = [n for n, raw in enumerate(lines, 1) if re.match(r"^\s*\[", raw)]
    spans: dict[str, tuple[int, int]] = {}
    for i, n in enumerate(headers):
        found = re.match(r"^\s*\[\s*tenants\s*\.\s*(?:\"([^\"]+)\"|([A-Za-z0-9_-]+))", lines[n - 1])
        if found:
            last = headers[i + 1] - 1 if i + 1 < len(headers) else len(lines)
            name = found.group(1) or found.group(2)
            spans[name] = (spans.get(name, (n, n))[0], last)
    return spans


def _key_line(text: str, span: tuple[int, int] | None, key: str) -> int | None:
    if span is None:
        return None
    lines = text.splitlines()
    # ``key = ...``, or a sub-table's header ``[tenants.<name>.key]``
    pattern = re.compile(rf"^\s*(\"?{re.escape(key)}\"?\s*=|\[\s*tenants\s*\.[^\]]*\.\s*{re.escape(key)}\s*\])")
    return next((n for n in range(span[0], span[1] + 1) if pattern.match(lines[n - 1])), span[0])


def parse_tenants(text: str, base: Settings, lookup: Mapping[str, object], *, source: str = "<tenants>",
                  folder: Path | None = None) -> Tenants:
    """The tenants of a tenants file's ``text``: each from ``base`` (the deployment's settings) with its own keys;
    ``lookup`` holds the environment and the secrets, where each named secret is found. Relative paths are read
    from ``folder`` (the file's)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"\(at line (\d+), column \d+\)", str(e))
        reason = str(e)[: found.start()].strip() if found else str(e)
        raise TenantsError(source, int(found.group(1)) if found else None, f"not valid TOML: {reason}") from None
    unknown = [k for k in data if k != "tenants"]
    if unknown:
        line = next((n for n, raw in enumerate(text.splitlines(), 1)
                     if re.match(rf"^\s*(\[+\s*)?\"?{re.escape(unknown[0])}\"?\s*[=\].]", raw)), None)
        raise TenantsError(source, line, f"unknown key {unknown[0]!r} (the file holds [tenants.<name>] tables only)")
    tables = data.get("tenants")
    if not isinstance(tables, dict) or not tables:
        raise TenantsError(source, None, "no [tenants.<name>] table: name at least one tenant (README, 'Several "
                                         "tenants')")
    spans = _table_lines(text)
    tenants = [_tenant(name, entry, base, lookup, text=text, span=spans.get(name), source=source,
                       folder=folder or Path.cwd()) for name, entry in tables.items()]
    return Tenants(tuple(tenants), source=source)


def _tenant(name: str, entry: Any, base: Settings, lookup: Mapping[str, object], *, text: str,
            span: tuple[int, int] | None, source: str, folder: Path) -> Tenant:
    def fail(key: str | None, reason: str) -> TenantsError:
        line = _key_line(text, span, key) if key else (span[0] if span else None)
        return TenantsError(source, line, f"tenant {name[:40]!r}: {reason}")

    if not _NAME.match(name):
        raise fail(None, "a tenant's name is 1-40 letters, digits, '-' or '_' (it names a store folder and goes in "
                         "links)")
    if not isinstance(entry, dict):
        raise fail(None, "must be a table [tenants.<name>]")
    unknown = sorted(set(entry) - set(TENANT_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key {unknown[0]!r} (expected one of {', '.join(TENANT_KEYS)})")
    changes: dict[str, Any] = {**_TENANT_FIELDS, "tenant_name": name, "listed": True}
    for key in _TEXT:
        if key in entry:
            value = entry[key]
            if not isinstance(value, str) or not value.strip():
                raise fail(key, f"{key} must be a non-empty text")
            changes[key] = value.strip()
    for key in _URLS:
        if key in changes and changes[key] and not re.match(r"^https?://[^/\s]+", changes[key]):
            raise fail(key, f"{key} must be an http(s) URL, got {changes[key][:60]!r}")
    for key, field_name in _PATHS.items():
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise fail(key, f"{key} must be a file path")
            path = Path(entry[key]).expanduser()
            changes[field_name] = path if path.is_absolute() else folder / path
    for key, (lowest, highest) in _INTS.items():
        if key in entry:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
                raise fail(key, f"{key} must be a whole number between {lowest:,} and {highest:,}")
            changes[key] = value
    _check_values(changes, entry, fail)
    simulated = not any(changes.get(k) for k in _URLS)
    if "simulator" in entry:
        if not simulated:
            raise fail("simulator", "a tenant is either the simulator or a Khoros tenant (analytics_url): not both")
        changes.update(_simulator(entry["simulator"], fail))
    elif simulated:
        raise fail(None, "needs analytics_url (a Khoros Care tenant) or simulator = { seed = ... } (the bundled "
                         "simulator)")
    credentials = entry.get("credentials", {})
    if not isinstance(credentials, dict):
        raise fail("credentials", "credentials must be a table [tenants.<name>.credentials]")
    if simulated and credentials:
        raise fail("credentials", "the simulator's tenants take no credentials")
    if not simulated:
        if not changes.get("company_key"):
            raise fail(None, "company_key is required for a Khoros Care tenant")
        for needed in ("username", "password"):
            if needed not in credentials:
                raise fail("credentials", f"credentials.{needed} is required: the name of the environment variable "
                                          "(or .streamlit/secrets.toml key) holding it")
    problem: TenantsError | None = None
    for key, held_in in credentials.items():
        if key not in CREDENTIALS:
            raise fail(key, f"unknown credentials key {key!r} (expected {', '.join(CREDENTIALS)})")
        if not isinstance(held_in, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", held_in):
            raise fail(key, f"credentials.{key} must be the NAME of an environment variable or secrets.toml key "
                            "(never the secret itself)")
        value = lookup.get(held_in)
        if value is None or str(value).strip() == "":
            problem = problem or fail(key, f"credentials.{key} names {held_in}, which is set neither in the "
                                           "environment nor in .streamlit/secrets.toml")
            continue
        changes[CREDENTIALS[key]] = str(value).strip()
    return Tenant(name, base.with_overrides(**changes), problem)


def _check_values(changes: dict[str, Any], entry: Mapping[str, Any], fail) -> None:
    from dashboard.formats import report_zone_problem
    from dashboard.metrics.conversations import BOT_RULES
    from dashboard.schema import TimeReading

    if "timezone" in entry:
        why = report_zone_problem(changes["timezone"])
        if why:
            raise fail("timezone", f"timezone: {why}")
    if "bot_rule" in entry and changes["bot_rule"] not in BOT_RULES:
        raise fail("bot_rule", f"bot_rule must be one of {', '.join(BOT_RULES)}, got {changes['bot_rule'][:40]!r}")
    try:
        changes["export_time_format"] = TimeReading(format=changes.get("export_time_format")).format
    except ValueError as exc:
        raise fail("export_time_format", f"export_time_format: {exc}") from None
    try:
        TimeReading(zone=changes.get("export_timezone"))
    except ValueError as exc:
        raise fail("export_timezone", f"export_timezone: {exc}") from None


def _simulator(table: Any, fail) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise fail("simulator", "simulator must be a table like { seed = 11, days = 21, conversations_per_day = 80 }")
    unknown = sorted(set(table) - {*_SIMULATOR, "end"})
    if unknown:
        raise fail("simulator", f"unknown simulator key {unknown[0]!r} (expected {', '.join([*_SIMULATOR, 'end'])})")
    out: dict[str, Any] = {}
    for key, (field_name, lowest, highest) in _SIMULATOR.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
                raise fail("simulator", f"simulator.{key} must be a whole number between {lowest:,} and {highest:,}")
            out[field_name] = value
    if "end" in table:
        end = table["end"]
        if isinstance(end, str):
            try:
                end = datetime.fromisoformat(end)
            except ValueError:
                raise fail("simulator", f"simulator.end must be an instant like 2026-11-18T15:30:00Z, got "
                                        f"{end[:40]!r}") from None
        if not isinstance(end, datetime):
            raise fail("simulator", "simulator.end must be an instant like 2026-11-18T15:30:00Z")
        out["simulator_end"] = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    return out


# ---- the configured tenants ------------------------------------------------------------------------------------


def load_tenants(settings: Settings | None = None, *, secrets: Mapping[str, object] | None = None,
                 env: Mapping[str, str] | None = None) -> Tenants:
    """The deployment's tenants: from the tenants file ``settings.tenants_path`` (``CARE_DASHBOARD_TENANTS``), else
    the one tenant of ``settings`` itself. Secrets are looked up in ``secrets`` (Streamlit's) and the environment."""
    base = settings or load_settings(secrets, env)
    if base.tenants_path is None:
        return Tenants.single(base)
    path = Path(base.tenants_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TenantsError(str(path), None, "tenants file not found (setting CARE_DASHBOARD_TENANTS)") from None
    except UnicodeDecodeError as e:
        raise TenantsError(str(path), None, f"not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise TenantsError(str(path), None, f"cannot be read ({e.strerror})") from None
    lookup: dict[str, object] = dict(os.environ if env is None else env)
    lookup.update(secrets or {})
    return parse_tenants(text, base, lookup, source=str(path), folder=path.parent)


def tenant_settings(name: str | None = None, *, secrets: Mapping[str, object] | None = None,
                    env: Mapping[str, str] | None = None) -> Settings:
    """The settings of the tenant a command runs for (``--tenant NAME``; see :meth:`Tenants.chosen`)."""
    tenants = load_tenants(secrets=secrets, env=env)
    return tenants.settings_for(tenants.chosen(name))


def cli_tenant_settings(args: Any, err: Any) -> Settings | None:
    """A command's tenant settings for ``args.tenant``, or None after saying on ``err`` why there are none (the
    command then exits 2)."""
    try:
        return tenant_settings(args.tenant)
    except DashboardError as exc:
        print(f"error: {exc}", file=err)
        return None


TENANT_HELP = "the tenant (its name in CARE_DASHBOARD_TENANTS); needed when several are configured"


def add_tenant_argument(parser: Any) -> None:
    """``--tenant NAME`` on a command that reads or writes one tenant's data."""
    parser.add_argument("--tenant", default=None, metavar="NAME", help=TENANT_HELP)
