"""Who may see what: roles and tenants from the identity token, mapped by the access file.

The sign-in itself is Streamlit's OpenID Connect support (``st.login``; ``[auth]`` in ``.streamlit/secrets.toml``);
this module only decides, from the claims of the identity token, what a signed-in person may do. It has no
Streamlit in it, so the UI, a test or a later multi-tenant core ask the same functions.

Roles, each including the ones before it (:data:`ROLES`):

- ``viewer`` — the pages, and the CSV downloads of the rows behind a figure;
- ``analyst`` — plus the Parquet downloads of those rows: the export meant for notebooks and a warehouse (exact
  types, nothing neutralised for spreadsheets);
- ``admin`` — plus the Data page: sync, import, the SLA policy, digests and alerts (test sends), the connection
  check and the audit.

The access file (``CARE_DASHBOARD_ACCESS``, TOML) maps the values of one claim of the identity token
(``CARE_DASHBOARD_ROLES_CLAIM``, default ``groups``) to a role, and optionally to the tenants that role covers::

    [[groups]]
    name = "care-leads"         # a value of the claim
    role = "viewer"
    tenants = ["emea"]          # optional: the tenants (as the Data page names them) it covers; default all ("*")

    [[groups]]
    name = "ops@example.com"    # one person, by another claim
    claim = "email"
    role = "admin"

A person's role in a tenant is the highest role of the entries they match that cover that tenant; a tenant no
entry covers is not theirs to see (:func:`allowed_tenants`). A file that does not parse, or says something that
cannot be used, is refused with its line and the reason (:class:`AccessError`): nobody gets in on a broken file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard.errors import ConfigFileError

__all__ = [
    "ALL_TENANTS",
    "PERMISSIONS",
    "ROLES",
    "ROLE_TEXT",
    "AccessError",
    "AccessMap",
    "Grant",
    "Identity",
    "Viewer",
    "allowed_tenants",
    "choose_tenant",
    "load_access",
    "parse_access",
    "tenant_of",
]

ROLES = ("viewer", "analyst", "admin")
"""Lowest first: each role may do what the roles before it may."""
ALL_TENANTS = "*"
PERMISSIONS = {"view": "viewer", "export": "analyst", "admin": "admin"}
"""What a page or a button asks for, and the lowest role that has it."""
ROLE_TEXT = {
    "viewer": "the pages and the CSV downloads of the rows behind a figure",
    "analyst": "the pages, CSV downloads, and the Parquet downloads of rows meant for notebooks and a warehouse",
    "admin": "everything, including the Data page: sync, import, the SLA policy, digests and alerts, the connection "
             "check and the audit",
}
_KEYS = {"name", "role", "tenants", "claim"}


class AccessError(ConfigFileError):
    """The access file cannot be used; the message names the file, the line when known, and the reason."""


@dataclass(frozen=True)
class Grant:
    """One ``[[groups]]`` entry: whoever has ``name`` among the values of ``claim`` gets ``role`` in ``tenants``."""

    name: str
    role: str
    tenants: tuple[str, ...] = (ALL_TENANTS,)
    claim: str | None = None
    """None: the roles claim of the settings."""
    line: int | None = None


@dataclass(frozen=True)
class Identity:
    """Who signed in, from the claims of their identity token (nothing else of the token is kept)."""

    subject: str
    email: str | None = None
    name: str | None = None
    issued_at: datetime | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Identity:
        def text(key: str) -> str | None:
            value = claims.get(key)
            return str(value) if value not in (None, "") else None

        iat = claims.get("iat")
        issued = datetime.fromtimestamp(iat, UTC) if isinstance(iat, int | float) and not isinstance(iat, bool) \
            else None
        return cls(subject=text("sub") or text("email") or "?", email=text("email"),
                   name=text("name") or text("preferred_username"), issued_at=issued, claims=dict(claims))

    @property
    def label(self) -> str:
        """How the audit and the sidebar name this person: the e-mail, else the name, else the subject."""
        return self.email or self.name or self.subject

    def values(self, claim: str) -> tuple[str, ...]:
        """The values of ``claim`` (a list or one value; a dotted path reaches into objects), as text."""
        value: Any = self.claims
        if claim in self.claims:
            value = self.claims[claim]
        else:
            for part in claim.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
        if value is None or isinstance(value, Mapping):
            return ()
        items = value if isinstance(value, list | tuple) else [value]
        return tuple(str(v) for v in items if v is not None and not isinstance(v, Mapping | list))


@dataclass(frozen=True)
class Viewer:
    """Who is looking and what they may do, per tenant. ``kind``: ``signed_in`` (roles from the access file),
    ``open_demo`` (the simulator with no sign-in configured) or ``anonymous`` (a tenant opened without sign-in
    on purpose, ``CARE_DASHBOARD_ALLOW_ANONYMOUS``): the last two may do everything, and every page says so."""

    kind: str
    identity: Identity | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    """tenant (or ``*``) -> role."""
    groups: tuple[str, ...] = ()
    """The values of the roles claim (shown to a person who has no role, so they can ask for the right one)."""

    @classmethod
    def open_demo(cls) -> Viewer:
        return cls("open_demo", roles={ALL_TENANTS: "admin"})

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls("anonymous", roles={ALL_TENANTS: "admin"})

    @property
    def label(self) -> str:
        if self.identity is not None:
            return self.identity.label
        return "demo visitor (no sign-in)" if self.kind == "open_demo" else "anonymous (sign-in off)"

    def role_for(self, tenant: str) -> str | None:
        found = [r for r in (self.roles.get(tenant), self.roles.get(ALL_TENANTS)) if r]
        return max(found, key=ROLES.index) if found else None

    def may(self, permission: str, tenant: str) -> bool:
        """Whether this viewer has ``permission`` (:data:`PERMISSIONS`) in ``tenant``."""
        role = self.role_for(tenant)
        return role is not None and ROLES.index(role) >= ROLES.index(PERMISSIONS[permission])

    @property
    def every_tenant(self) -> bool:
        return ALL_TENANTS in self.roles


def tenant_of(settings: Any) -> str:
    """The name the access file and the audit give the configured tenant: ``CARE_DASHBOARD_TENANT_NAME`` (else the
    ``khoros-…`` label the Data page shows); ``demo`` for the bundled simulator; a tenant of the tenants file
    (``CARE_DASHBOARD_TENANTS``) by its name there, simulated or not."""
    if getattr(settings, "listed", False) and settings.tenant_name:
        return settings.tenant_name
    return "demo" if settings.use_simulator else settings.tenant


def allowed_tenants(viewer: Viewer, tenants: Iterable[str]) -> list[str]:
    """The tenants of ``tenants`` (in their order) this viewer may see: the one question the sidebar, a link's
    ``tenant`` and every download ask before any data of a tenant is read."""
    return [t for t in tenants if viewer.role_for(t) is not None]


def choose_tenant(viewer: Viewer, tenants: Sequence[str], asked: str | None) -> tuple[str | None, str | None]:
    """The tenant to show and a message about the link, for a link asking for ``asked`` (or None). A tenant the
    viewer may not see is treated as one that does not exist, so a link cannot tell which tenants there are."""
    allowed = allowed_tenants(viewer, tenants)
    if not allowed:
        return None, None
    if asked is None or asked in allowed:
        return (asked or allowed[0]), None
    return allowed[0], f"The link's tenant {asked[:60]!r} matches nothing you may see; showing {allowed[0]}."


@dataclass(frozen=True)
class AccessMap:
    grants: tuple[Grant, ...]
    source: str = "<access>"

    def resolve(self, identity: Identity, claim: str) -> Viewer:
        """What ``identity`` may do: per tenant, the highest role of the entries it matches."""
        roles: dict[str, str] = {}
        for grant in self.grants:
            if grant.name not in identity.values(grant.claim or claim):
                continue
            for tenant in grant.tenants:
                if tenant not in roles or ROLES.index(grant.role) > ROLES.index(roles[tenant]):
                    roles[tenant] = grant.role
        return Viewer("signed_in", identity=identity, roles=roles, groups=identity.values(claim))


def _entry_lines(text: str, table: str) -> list[tuple[int, int]]:
    """(first, last) line of each ``[[table]]`` entry, to name the line of a semantic error."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[")
    starts = [n for n, raw in enumerate(lines, 1) if re.match(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]", raw)]
    out = []
    for start in starts:
        end = next((n - 1 for n in range(start + 1, len(lines) + 1) if header.match(lines[n - 1])), len(lines))
        out.append((start, end))
    return out


def _key_line(text: str, span: tuple[int, int] | None, key: str) -> int | None:
    if span is None:
        return None
    lines = text.splitlines()
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    return next((n for n in range(span[0], span[1] + 1) if pattern.match(lines[n - 1])), span[0])


def parse_access(text: str, source: str = "<access>") -> AccessMap:
    """Parse an access file; raise :class:`AccessError` naming the line and the reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"\(at line (\d+), column \d+\)", str(e))
        reason = str(e)[: found.start()].strip() if found else str(e)
        raise AccessError(source, int(found.group(1)) if found else None, f"not valid TOML: {reason}") from None
    for key in data:
        if key != "groups":
            line = next((n for n, raw in enumerate(text.splitlines(), 1)
                         if re.match(rf"^\s*(\[+\s*)?\"?{re.escape(key)}\"?\s*[=\]]", raw)), None)
            raise AccessError(source, line, f"unknown key {key!r} (the file holds [[groups]] entries only)")
    entries = data.get("groups")
    if not isinstance(entries, list) or not entries:
        raise AccessError(source, None, "no [[groups]] entry: nobody would get a role (see the README, 'Sign-in')")
    spans = _entry_lines(text, "groups")
    grants: list[Grant] = []
    seen: dict[tuple[str, str], int | None] = {}
    for i, entry in enumerate(entries):
        span = spans[i] if i < len(spans) else None

        def fail(key: str | None, reason: str, i: int = i, span: tuple[int, int] | None = span) -> AccessError:
            line = _key_line(text, span, key) if key else (span[0] if span else None)
            return AccessError(source, line, f"[[groups]] #{i + 1}: {reason}")

        if not isinstance(entry, dict):
            raise fail(None, "must be a table")
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise fail(unknown[0], f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_KEYS))})")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail("name" if "name" in entry else None, "name is required: a value of the roles claim")
        role = entry.get("role")
        if role not in ROLES:
            raise fail("role" if "role" in entry else None,
                       f"role must be one of {', '.join(ROLES)}, got {role!r}" if "role" in entry
                       else f"role is required (one of {', '.join(ROLES)})")
        claim = entry.get("claim")
        if claim is not None and (not isinstance(claim, str) or not claim.strip()):
            raise fail("claim", "claim must be the name of a claim of the identity token")
        tenants = entry.get("tenants", [ALL_TENANTS])
        if isinstance(tenants, str):
            tenants = [tenants]
        if (not isinstance(tenants, list) or not tenants
                or not all(isinstance(t, str) and t.strip() for t in tenants)):
            raise fail("tenants", 'tenants must be a list of tenant names (or ["*"] for all; leave it out for all)')
        key = (name.strip(), (claim or "").strip())
        if key in seen:
            raise fail("name", f"{name.strip()!r} is named twice (also line {seen[key]}); give it one entry")
        seen[key] = span[0] if span else None
        grants.append(Grant(name=name.strip(), role=role, tenants=tuple(t.strip() for t in tenants),
                            claim=claim.strip() if claim else None, line=span[0] if span else None))
    return AccessMap(grants=tuple(grants), source=source)


_LOADED: dict[Path, tuple[tuple[int, int], AccessMap]] = {}


def load_access(path: str | os.PathLike[str]) -> AccessMap:
    """The access file at ``path``, parsed again only when it changes (every page run asks)."""
    file = Path(path)
    try:
        stat = file.stat()
        mark = (stat.st_mtime_ns, stat.st_size)
        known = _LOADED.get(file)
        if known is not None and known[0] == mark:
            return known[1]
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AccessError(str(file), None, "access file not found (setting CARE_DASHBOARD_ACCESS)") from None
    except UnicodeDecodeError as e:
        raise AccessError(str(file), None, f"not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise AccessError(str(file), None, f"cannot be read ({e.strerror})") from None
    parsed = parse_access(text, source=str(file))
    _LOADED[file] = (mark, parsed)
    return parsed
