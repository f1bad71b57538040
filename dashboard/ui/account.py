"""Who is reading: sign-in through the company's identity provider (Streamlit's ``st.login``), their role and
tenant from the access file, what every page says about it, and the audit records the UI writes.

:func:`admit` is the gate of the full dashboard, run before the navigation:

- ``[auth]`` configured in ``.streamlit/secrets.toml``: a signed-out reader gets only the sign-in page (at every
  path); a signed-in one gets the roles the access file (``CARE_DASHBOARD_ACCESS``) gives the values of their
  roles claim (``CARE_DASHBOARD_ROLES_CLAIM``) in this tenant; no role, or no role in this tenant, gets a page that
  says so and shows no data (and does not name the tenant). A sign-in older than ``CARE_DASHBOARD_SIGN_IN_MAX_AGE``
  hours is asked again, so a group removed in the identity provider stops counting.
- no ``[auth]``: the demo on the simulator stays open (and says so); a configured tenant refuses to open unless
  ``CARE_DASHBOARD_ALLOW_ANONYMOUS=true`` was set on purpose (and then every page says so).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.access import (
    ALL_TENANTS,
    ROLE_TEXT,
    AccessError,
    Identity,
    Viewer,
    allowed_tenants,
    choose_tenant,
    load_access,
)
from dashboard.audit import SYSTEM, AuditError, AuditEvent, audit_log
from dashboard.errors import DashboardError, SettingsError
from dashboard.filters import DIMENSIONS
from dashboard.settings import Settings
from dashboard.tenants import Tenants
from dashboard.ui.navigation import only_page
from dashboard.ui.widgets import as_text

__all__ = ["TENANT_KEY", "AuthConfig", "admit", "auth_config", "current_tenant", "current_viewer", "note_policy",
           "record", "recorder", "render_access_notice", "render_account", "render_tenant_picker"]

log = logging.getLogger("dashboard.ui.account")
_VIEWER_KEY = "_viewer"
_TENANT_KEY = "_tenant"
_TENANT_PROBLEM_KEY = "_tenant_link_problem"
_SIGNED_IN_KEY = "_signed_in_recorded"
_REFUSED_KEY = "_refusal_recorded"
_SHOWN_KEY = "_tenant_shown"
TENANT_KEY = "tenant"
"""The picker's key, and the URL's parameter (``?tenant=``)."""
_PER_TENANT_KEYS = (*(d.key for d in DIMENSIONS), "sla_pick")
"""Widgets whose values are one tenant's (agents, work queues, tiers, a picked group): dropped on a switch."""
APP_TITLE = "Khoros Care Dashboard"


@dataclass(frozen=True)
class AuthConfig:
    """The ``[auth]`` section, checked: the providers to offer (``default`` is the unnamed one)."""

    providers: tuple[str, ...]


def auth_config() -> AuthConfig | None:
    """``[auth]`` of the secrets, or None when there is none. A section that Streamlit could not sign in with
    (no ``redirect_uri``, ``cookie_secret`` or provider) is a :class:`SettingsError` naming what is missing."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:
        return None
    if not section:
        return None
    if not isinstance(section, Mapping):
        raise SettingsError("[auth] in .streamlit/secrets.toml must be a table (README, 'Sign-in')")
    missing = [key for key in ("redirect_uri", "cookie_secret") if not section.get(key)]
    providers = ["default"] if section.get("client_id") else []
    providers += [name for name, value in section.items() if isinstance(value, Mapping) and value.get("client_id")]
    if not providers:
        missing.append("client_id (with client_secret and server_metadata_url), or an [auth.<provider>] table")
    if missing:
        raise SettingsError(f"[auth] in .streamlit/secrets.toml lacks {', '.join(missing)} (README, 'Sign-in')")
    return AuthConfig(providers=tuple(providers))


def current_viewer() -> Viewer | None:
    """Who this run's reader is, as :func:`admit` found (None when the gate did not run: then nothing is allowed)."""
    viewer = st.session_state.get(_VIEWER_KEY)
    return viewer if isinstance(viewer, Viewer) else None


def current_tenant() -> str:
    return st.session_state.get(_TENANT_KEY, "")


def tenant_link_problem() -> str | None:
    return st.session_state.get(_TENANT_PROBLEM_KEY)


def _sign_in_page(auth: AuthConfig, note: str | None) -> Callable[[], None]:
    def sign_in() -> None:
        st.title(APP_TITLE)
        st.markdown("Sign in with your company account to see the dashboard.")
        if note:
            st.info(as_text(note), icon=":material/schedule:")
        for provider in auth.providers:
            label = "Sign in" if provider == "default" else f"Sign in with {provider.replace('_', ' ').title()}"
            if st.button(label, type="primary", key=f"sign_in_{provider}"):
                st.login(provider)

    return sign_in


def _message_page(title: str, message: str, detail: str | None = None, *, sign_out: bool = False,
                  viewer: Viewer | None = None) -> Callable[[], None]:
    def message_page() -> None:
        st.title(APP_TITLE)
        st.error(as_text(message), icon=":material/block:")
        if detail:
            st.caption(as_text(detail))
        if sign_out and st.button("Sign out", key="sign_out_refused"):
            if viewer is not None:
                record("sign_out", viewer=viewer)
            st.logout()

    return message_page


def _refuse(title: str, message: str, detail: str | None = None, **kwargs: Any) -> None:
    only_page(_message_page(title, message, detail, **kwargs), title)


def admit(settings: Settings, tenants: Tenants | None = None) -> tuple[Viewer, str]:
    """The reader and the tenant they see (of ``tenants``: the deployment's, default the settings' one); otherwise
    the one page they may see (sign-in, a refusal) is served at every path and the run stops there."""
    if tenants is None:
        tenants = Tenants.single(settings)
    # Nothing of an earlier run stands until this one has passed the gate (a page's context included).
    for key in (_VIEWER_KEY, _TENANT_KEY, _TENANT_PROBLEM_KEY, "_page_context"):
        st.session_state.pop(key, None)
    try:
        auth = auth_config()
    except SettingsError as exc:
        log.error("sign-in is misconfigured: %s", exc)
        _refuse("Sign-in is misconfigured", f"Sign-in is misconfigured: {exc}")
    if auth is None:
        if tenants.all_simulated:
            viewer = Viewer.open_demo()
        elif settings.allow_anonymous:
            viewer = Viewer.anonymous()
        else:
            log.error("a Khoros Care tenant is configured without sign-in ([auth]); refusing to open it")
            _refuse("Sign-in required",
                    "This dashboard does not open: it holds a Khoros Care tenant's customer data and no sign-in is "
                    "configured.",
                    "Configure sign-in with your identity provider ([auth] in .streamlit/secrets.toml and an access "
                    "file, CARE_DASHBOARD_ACCESS; README, 'Sign-in'), or set CARE_DASHBOARD_ALLOW_ANONYMOUS=true to "
                    "open it to anyone who can reach this server, on purpose.")
    else:
        viewer = _signed_in_viewer(settings, auth)
    # The picker's value (a switch in the sidebar) first, else the link's; only tenants the reader may see count.
    picked = st.session_state.get(TENANT_KEY)
    asked = picked if isinstance(picked, str) else st.query_params.get(TENANT_KEY)
    chosen, problem = choose_tenant(viewer, tenants.names, asked)
    if chosen is None:
        _record_refusal(tenants.tenants[0].settings, viewer, "no role in this tenant")
        groups = ", ".join(viewer.groups) or "none"
        _refuse("No access", f"You are signed in as {viewer.label}, but your access does not include this "
                "dashboard's data.",
                f"Your {settings.roles_claim}: {groups}. Ask an admin to give one of them a role in the access file.",
                sign_out=True, viewer=viewer)
    _record_sign_in(tenants.get(chosen).settings, viewer)
    _forget_other_tenants_picks(chosen)
    st.session_state[_VIEWER_KEY] = viewer
    st.session_state[_TENANT_KEY] = chosen
    if problem:
        st.session_state[_TENANT_PROBLEM_KEY] = problem
    return viewer, chosen


def _forget_other_tenants_picks(chosen: str) -> None:
    """On a switch of tenant, the sidebar's filters and a page's pick (another tenant's agents, queues, tiers) are
    dropped, from the session and the URL; the window, the zone and the bot rule stay."""
    shown = st.session_state.get(_SHOWN_KEY)
    st.session_state[_SHOWN_KEY] = chosen
    if shown is None or shown == chosen:
        return
    for key in _PER_TENANT_KEYS:
        st.session_state.pop(key, None)
        if key in st.query_params:
            del st.query_params[key]


def render_tenant_picker(viewer: Viewer, tenant: str, tenants: Tenants) -> None:
    """The sidebar's tenant picker, bound to the URL (``?tenant=``), offering only the tenants the reader may see
    (one: its name; no tenants file: nothing)."""
    if not tenants.from_file:
        return
    allowed = allowed_tenants(viewer, tenants.names)
    if len(allowed) == 1:
        st.sidebar.caption(as_text(f"Tenant: {tenant}"))
        return
    if st.session_state.get(TENANT_KEY) != tenant:
        st.session_state[TENANT_KEY] = tenant  # the gate's choice (a link to a tenant not allowed is corrected)
    st.sidebar.selectbox("Tenant", allowed, key=TENANT_KEY, bind="query-params",
                         help="The Khoros Care tenants you may see; each has its own data, settings and audit.")


def _signed_in_viewer(settings: Settings, auth: AuthConfig) -> Viewer:
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):
        only_page(_sign_in_page(auth, None), "Sign in")
    identity = Identity.from_claims(claims)
    max_age = timedelta(hours=settings.sign_in_max_age_h)
    if identity.issued_at is not None and datetime.now(UTC) - identity.issued_at > max_age:
        only_page(_sign_in_page(auth, f"Your sign-in is more than {settings.sign_in_max_age_h} hours old: sign in "
                                      "again."), "Sign in")
    if settings.access_path is None:
        log.error("[auth] is configured but CARE_DASHBOARD_ACCESS is not: nobody can be given a role")
        _refuse("No access file", "Sign-in works, but no access file gives anyone a role here.",
                "An admin sets CARE_DASHBOARD_ACCESS to the access file (README, 'Sign-in').", sign_out=True)
    try:
        access = load_access(settings.access_path)
    except AccessError as exc:
        log.error("access file: %s", exc)
        _refuse("Access file not valid", f"The access file is not valid, so nobody gets in: {exc}", sign_out=True)
    return access.resolve(identity, settings.roles_claim)


def _record_sign_in(settings: Settings, viewer: Viewer) -> None:
    """Once per session and sign-in: who, with which roles, and when their token was issued (a reopened tab is a
    new session of the same sign-in: the same ``token_issued``)."""
    identity = viewer.identity
    if identity is None or st.session_state.get(_SIGNED_IN_KEY) == (identity.subject, identity.issued_at):
        return
    try:
        audit_log(settings).record(identity.label, "sign_in", subject=identity.subject,
                                   roles=[f"{'every tenant' if t == ALL_TENANTS else t}: {r}"
                                          for t, r in sorted(viewer.roles.items())],
                                   token_issued=identity.issued_at.isoformat() if identity.issued_at else None)
    except AuditError as exc:  # a sign-in nobody can trace does not go through
        _refuse("Audit unavailable", f"You cannot sign in right now: {exc}", sign_out=True, viewer=viewer)
    st.session_state[_SIGNED_IN_KEY] = (identity.subject, identity.issued_at)


def _record_refusal(settings: Settings, viewer: Viewer, reason: str) -> None:
    if viewer.identity is None or st.session_state.get(_REFUSED_KEY) == viewer.identity.subject:
        return
    try:
        audit_log(settings).record(viewer.label, "sign_in_refused", subject=viewer.identity.subject, reason=reason,
                                   groups=list(viewer.groups))
    except AuditError:
        return  # the refusal stands either way; the log has the error
    st.session_state[_REFUSED_KEY] = viewer.identity.subject


def _settings() -> Settings:
    """The settings of the tenant this run shows (its audit is in its store partition)."""
    from dashboard.ui.loaders import get_settings, get_tenants

    tenants, tenant = get_tenants(), current_tenant()
    return tenants.get(tenant).settings if tenant in tenants.names else get_settings()


def recorder(action: str, **what: Any) -> Callable[[], AuditEvent]:
    """A record to write later (a download's callable runs outside this run, when the reader clicks): who and
    which tenant are taken now."""
    viewer = current_viewer()
    user = viewer.label if viewer is not None else "unknown"
    target = audit_log(_settings())
    return lambda: target.record(user, action, **what)


def record(action: str, *, viewer: Viewer | None = None, **what: Any) -> bool:
    """Write an audit record for an action this run did; a failure is an error on the page (and False)."""
    who = viewer or current_viewer()
    try:
        audit_log(_settings()).record(who.label if who is not None else "unknown", action, **what)
    except (AuditError, SettingsError) as exc:
        st.error(as_text(f"The audit record of this action could not be written: {exc}"))
        return False
    return True


_POLICY_SEEN: dict[tuple[Path, Path], tuple[int, int]] = {}


def note_policy(core) -> None:
    """Record the SLA policy file in force when this process first sees it, and each change of it (a new file, or
    new content): the file is edited outside the app, so the record's user is ``system``."""
    if core.store is None:
        return
    path = Path(core.policy_path)
    target = audit_log(core.settings)
    try:
        stat = path.stat()
    except OSError:
        return  # a missing policy file is the Data page's to say
    key, mark = (target.folder, path.resolve()), (stat.st_mtime_ns, stat.st_size)
    if _POLICY_SEEN.get(key) == mark:
        return
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        last = target.latest(1, actions=("policy_in_force", "policy_changed"))
        before = last[0].what if last else {}
        if before.get("sha256") != digest or before.get("file") != str(path):
            try:
                targets: int | str = len(core.policy().targets)
            except DashboardError:
                targets = "the file does not parse"
            target.record(SYSTEM, "policy_changed" if last else "policy_in_force", file=str(path), sha256=digest,
                          previous=before.get("sha256"), targets=targets)
    except (OSError, AuditError) as exc:
        log.error("the SLA policy could not be noted in the audit: %s", exc)
        return
    _POLICY_SEEN[key] = mark


def render_account(viewer: Viewer, tenant: str) -> None:
    """The sidebar's first lines: who is signed in, their role here, and "Sign out" (or that nobody signs in)."""
    sb = st.sidebar
    if viewer.identity is None:
        sb.caption("Open: no sign-in" if viewer.kind == "open_demo" else "Sign-in is off")
        return
    role = viewer.role_for(tenant) or "none"
    sb.caption(as_text(f"Signed in as {viewer.label} · {role}"), help=ROLE_TEXT.get(role))
    if sb.button("Sign out", key="sign_out"):
        record("sign_out")
        st.logout()


def render_access_notice(viewer: Viewer | None) -> None:
    """What every page says when nobody signs in: the open demo, or a tenant opened without sign-in on purpose."""
    if viewer is None or viewer.kind == "signed_in":
        return
    if viewer.kind == "open_demo":
        st.caption("Open to anyone who can reach this server: the demo needs no sign-in. A configured Khoros Care "
                   "tenant asks for sign-in with your identity provider (README, 'Sign-in').")
    else:
        st.warning("Sign-in is off (CARE_DASHBOARD_ALLOW_ANONYMOUS=true): anyone who can reach this server sees this "
                   "tenant's customer data and can use its Data page.", icon=":material/lock_open:")
