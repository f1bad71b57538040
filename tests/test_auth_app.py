"""Who may see what, through the entrypoint with AppTest (no browser): Streamlit's AppTest sets ``st.user`` (its
``user`` dict) and the secrets (``[auth]``) of a run, so every branch of the gate runs as in a server. The sign-in
itself against a real identity provider is in ``test_browser_auth.py``."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.audit import AuditLog, audit_log
from dashboard.embed import encode_payload
from dashboard.settings import load_settings
from dashboard.ui.embed_gate import INVALID_LINK_MESSAGE
from tests import _page_helpers as h
from tests._worlds import TENANT_ENV
from tests.conftest import DEMO_ENV, KHOROS_ENV_NAMES, ROOT, run_app
from tests.test_page_data_notify import notify_page  # noqa: F401 (a fixture)

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-only-cookie-secret",
        "client_id": "care-dashboard", "client_secret": "x",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
ACCESS = """\
[[groups]]
name = "care-leads"
role = "viewer"

[[groups]]
name = "care-analysts"
role = "analyst"

[[groups]]
name = "care-admins"
role = "admin"

[[groups]]
name = "emea-admins"
role = "admin"
tenants = ["emea"]
"""


def user(sub: str, *groups: str, age_s: float = 60) -> dict:
    return {"is_logged_in": True, "sub": sub, "email": f"{sub}@example.com", "name": sub.title(),
            "groups": list(groups), "iat": int(time.time() - age_s)}


SIGNED_OUT = {"is_logged_in": False}


@pytest.fixture
def access_env(app_env, monkeypatch, tmp_path) -> Path:
    path = tmp_path / "access.toml"
    path.write_text(ACCESS)
    monkeypatch.setenv("CARE_DASHBOARD_ACCESS", str(path))
    return path


def run_as(who: dict, page: str | None = None, *, auth: dict | None = AUTH, query: dict | None = None,
           page_hash: str | None = None) -> AppTest:
    """The entrypoint run for ``who`` (``st.user``) with ``[auth]`` in the secrets (None: no ``[auth]``)."""
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if auth is not None:
        at.secrets = {"auth": auth}
    at.user = who
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    if page_hash is not None:  # what a link to /<path> asks for: the page registered at that path
        at._page_hash = page_hash
        at.run()
    return at


def texts(at) -> str:
    return " ".join(h.plain(e.value) for kind in ("title", "markdown", "caption", "error", "warning", "info")
                    for e in getattr(at, kind))


def url_hash(path: str) -> str:
    from streamlit.util import calc_hash

    return calc_hash(path)  # how st.Page names the page at a URL path


def sidebar_captions(at) -> str:
    return " ".join(h.plain(e.value) for e in at.sidebar if type(e).__name__ == "Caption")


# ---- no [auth] ----------------------------------------------------------------------------------------------------


def test_the_demo_opens_without_configuration_and_says_so_on_every_page(app_env):
    at = run_app()
    assert "Open: no sign-in" in sidebar_captions(at)
    for page in (None, "pages/agents.py", "pages/data.py"):
        at = run_app(page)
        assert not at.exception, page
        assert "Open to anyone who can reach this server: the demo needs no sign-in" in texts(at), page
    assert at.button(key="data_sync")  # the demo's visitor may do everything, the Data page included


def test_a_tenant_without_sign_in_refuses_to_open(monkeypatch, tmp_path):
    from dashboard.ui import loaders

    for name in (*KHOROS_ENV_NAMES, *DEMO_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(loaders, "_CORES", {})
    at = run_as(SIGNED_OUT, auth=None)
    assert not at.exception
    assert [h.plain(e.value) for e in at.error] == [
        "This dashboard does not open: it holds a Khoros Care tenant's customer data and no sign-in is configured."]
    assert "CARE_DASHBOARD_ALLOW_ANONYMOUS=true" in texts(at)
    assert not at.metric and not at.sidebar.multiselect and not at.button
    assert loaders._CORES == {}  # nothing of the tenant was opened
    assert not (tmp_path / "store").exists()


def test_a_tenant_opened_without_sign_in_on_purpose_says_so_on_every_page(monkeypatch, tmp_path):
    from dashboard.ui import loaders

    for name in (*KHOROS_ENV_NAMES, *DEMO_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**TENANT_ENV, "CARE_DASHBOARD_DATA_DIR": str(tmp_path),
                        "CARE_DASHBOARD_ALLOW_ANONYMOUS": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(loaders, "_CORES", {})
    try:
        for page in (None, "pages/data.py"):
            at = run_as(SIGNED_OUT, page, auth=None)
            assert not at.exception, page
            warned = [h.plain(w.value) for w in at.warning]
            assert any(w.startswith("Sign-in is off (CARE_DASHBOARD_ALLOW_ANONYMOUS=true): anyone who can reach")
                       for w in warned), (page, warned)
    finally:
        for core in loaders._CORES.values():
            core.close()


@pytest.mark.parametrize(("name", "value", "says"), [
    ("CARE_DASHBOARD_ALLOW_ANONYMOUS", "perhaps", "must be true or false, got 'perhaps'"),
    ("CARE_DASHBOARD_MODE", "embedded", "must be one of full, embed, got 'embedded'"),
    ("CARE_DASHBOARD_SIGN_IN_MAX_AGE", "0", "must be between 1 and 2,160, got 0"),
])
def test_a_wrong_access_setting_names_itself(name, value, says):
    from dashboard.errors import SettingsError

    with pytest.raises(SettingsError, match=f"setting {name} {says}"):
        load_settings(env={name: value})


def test_access_settings_are_read_from_the_secrets_file_too(tmp_path):
    s = load_settings({"CARE_DASHBOARD_ROLES_CLAIM": "roles", "CARE_DASHBOARD_ACCESS": str(tmp_path / "a.toml"),
                       "CARE_DASHBOARD_ALLOW_ANONYMOUS": "TRUE", "CARE_DASHBOARD_MODE": "Embed"}, env={})
    assert (s.roles_claim, s.access_path, s.allow_anonymous, s.mode) == ("roles", tmp_path / "a.toml", True, "embed")
    assert load_settings(env={}).roles_claim == "groups" and load_settings(env={}).sign_in_max_age_h == 12


# ---- [auth] configured ----------------------------------------------------------------------------------------------


def test_a_signed_out_reader_gets_only_the_sign_in(access_env):
    at = run_as(SIGNED_OUT)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Sign in with your company account" in texts(at)
    assert not at.metric and not at.sidebar.multiselect and not sidebar_captions(at)
    assert "Demo data" not in texts(at)


def test_named_providers_each_get_a_button(access_env):
    auth = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x",
            "okta": {"client_id": "a", "client_secret": "b", "server_metadata_url": "https://okta.example/x"},
            "microsoft": {"client_id": "c", "client_secret": "d", "server_metadata_url": "https://ms.example/x"}}
    at = run_as(SIGNED_OUT, auth=auth)
    assert [b.label for b in at.button] == ["Sign in with Okta", "Sign in with Microsoft"]


def test_an_incomplete_auth_section_is_refused_naming_what_it_lacks(access_env):
    at = run_as(SIGNED_OUT, auth={"client_id": "x"})
    assert not at.exception and not at.metric and not at.button
    assert any("[auth] in .streamlit/secrets.toml lacks redirect_uri, cookie_secret" in h.plain(e.value)
               for e in at.error)


def test_a_viewer_sees_the_pages_but_not_the_data_page(access_env, demo_core):
    at = run_as(user("lee", "care-leads"))
    assert not at.exception and at.metric
    assert "Signed in as lee@example.com · viewer" in sidebar_captions(at)
    assert "Open to anyone" not in texts(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/data.py")  # not in the navigation
    at = run_as(user("lee", "care-leads"), page_hash=url_hash("data"))  # a link to /data
    assert not at.exception
    assert [h.plain(e.value) for e in at.error] == ["You may not open the Data page: it needs the admin role."]
    assert "data_sync" not in [b.key for b in at.button] and "Freshness" not in texts(at)


def test_an_admin_opens_the_data_page_and_reads_the_audit(access_env, demo_core):
    at = run_as(user("ada", "care-admins"), "pages/data.py")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.button(key="data_sync")
    audit = h.frame_with(at, "At", "User", "Action", "What")
    signed = audit.filter((pl.col("User") == "ada@example.com") & (pl.col("Action") == "Signed in"))
    assert signed.height >= 1 and "every tenant: admin" in signed["What"][0]

    # an import (of a file that does not read: nothing is written) is recorded with who and what, not the rows
    at.selectbox(key="data_import_export").set_value("response")
    at.file_uploader(key="data_import_files").upload("secret-rows.csv", b"just,some,columns\n1,2,3\n",
                                                    "text/csv").run()
    at.button(key="data_import").click().run()
    assert any("Import failed, nothing was written" in e.value for e in at.error)
    record = AuditLog(audit_log(load_settings()).folder).latest(1, actions=["import"])[0]
    assert (record.user, record.what) == ("ada@example.com", {"export": "response", "files": ["secret-rows.csv"],
                                                              "bytes": 24, "ok": False})


def test_an_analyst_may_download_parquet_and_a_viewer_only_csv(access_env, demo_core):
    # (AppTest cannot click a download; the browser test downloads and reads the audit)
    def parquet_buttons(at):
        return [b for b in at.get("download_button") if b.proto.label == "Download Parquet"]

    analyst = run_as(user("ann", "care-analysts"))
    viewer = run_as(user("lee", "care-leads"))
    assert parquet_buttons(analyst) and not any(b.proto.disabled for b in parquet_buttons(analyst))
    assert parquet_buttons(viewer) and all(b.proto.disabled for b in parquet_buttons(viewer))
    assert "for notebooks and a warehouse" in parquet_buttons(viewer)[0].proto.help


def test_a_user_without_a_role_here_sees_no_data_and_not_the_tenant(access_env):
    for who in (user("eve", "emea-admins"), user("mo", "marketing")):
        at = run_as(who)
        assert not at.exception
        shown = texts(at)
        assert "your access does not include this dashboard's data" in shown
        assert not at.metric and not at.sidebar.multiselect
        assert "demo" not in shown.lower() and "simulator" not in shown.lower()
        assert [b.label for b in at.button] == ["Sign out"]
    assert "Your groups: marketing." in texts(at)
    refused = AuditLog(audit_log(load_settings()).folder).latest(5, actions=["sign_in_refused"])
    assert {r.user for r in refused} >= {"eve@example.com", "mo@example.com"}


def test_a_link_naming_another_tenant_is_said_and_shows_this_one(access_env, demo_core):
    at = run_as(user("ada", "care-admins"), query={"tenant": "emea"})
    assert not at.exception and at.metric
    assert "The link's tenant 'emea' matches nothing you may see; showing demo." in texts(at)


def test_an_old_sign_in_is_asked_again(access_env):
    at = run_as(user("ada", "care-admins", age_s=13 * 3600))
    assert [b.label for b in at.button] == ["Sign in"] and not at.metric
    assert "Your sign-in is more than 12 hours old: sign in again." in texts(at)


def test_sign_in_without_an_access_file_or_with_a_broken_one_lets_nobody_in(access_env, monkeypatch):
    access_env.write_text('[[groups]]\nname = "care-admins"\nrole = "owner"\n')
    at = run_as(user("ada", "care-admins"))
    assert not at.metric
    assert any("The access file is not valid, so nobody gets in:" in h.plain(e.value) and "line 3" in e.value
               for e in at.error)
    monkeypatch.delenv("CARE_DASHBOARD_ACCESS")
    at = run_as(user("ada", "care-admins"))
    assert not at.metric and "no access file gives anyone a role here" in texts(at)


def test_a_page_run_outside_the_gate_still_checks_the_role():
    """``start_page`` refuses a page the context's reader may not open (the navigation never offers it; this holds
    for any run that did not come through it)."""
    def script(role: str) -> None:
        from types import SimpleNamespace

        import streamlit as st

        from dashboard.access import Identity, Viewer
        from dashboard.ui import context

        viewer = Viewer("signed_in", identity=Identity("lee", email="lee@example.com"), roles={"*": role})
        st.session_state["_page_context"] = context.PageContext(
            core=SimpleNamespace(is_demo=False), filters=None, viewer=viewer, tenant="demo")
        context.start_page("Data")
        st.write("the Data page's body")

    viewer = AppTest.from_function(script, args=("viewer",)).run()
    assert [h.plain(e.value) for e in viewer.error] == ["You may not open the Data page: it needs the admin role."]
    assert not [m for m in viewer.markdown if "body" in m.value]
    admin = AppTest.from_function(script, args=("admin",)).run()
    assert not admin.error and [m.value for m in admin.markdown if "body" in m.value]


# ---- embed-only ---------------------------------------------------------------------------------------------------


def _payload_token() -> str:
    return encode_payload({"agent": {"id": "agent-1"}, "author": {"id": "author-x", "network": "twitter"},
                           "conversationId": "c-1", "network": "twitter", "timestamp": int(time.time() * 1000)},
                          DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"])


@pytest.mark.parametrize("query", [{}, {"token": "abc"}, {"Payload": "abc"}, {"payload": "garbage"}])
def test_embed_only_serves_the_generic_page_without_a_valid_payload_and_never_the_sign_in(access_env, monkeypatch,
                                                                                         query):
    monkeypatch.setenv("CARE_DASHBOARD_MODE", "embed")
    for who in (SIGNED_OUT, user("ada", "care-admins")):
        at = run_as(who, query=query)
        assert not at.exception
        assert [e.value for e in at.error] == [INVALID_LINK_MESSAGE]
        assert not at.button and not at.metric and not at.sidebar.multiselect and not sidebar_captions(at)


def test_embed_only_serves_the_author_panel_for_a_valid_payload(access_env, monkeypatch, demo_core):
    monkeypatch.setenv("CARE_DASHBOARD_MODE", "embed")
    at = run_as(SIGNED_OUT, query={"payload": _payload_token()})
    assert not at.exception and not at.error
    assert any("Open conversations" in m.value for m in at.markdown)
    assert not at.sidebar.multiselect


def test_embed_only_with_an_unreadable_other_setting_still_shows_only_the_generic_page(app_env, monkeypatch):
    monkeypatch.setenv("CARE_DASHBOARD_MODE", "embed")
    monkeypatch.setenv("KHOROS_RATE_CARE_PER_MIN", "lots")
    at = run_as(SIGNED_OUT, auth=None)
    assert [e.value for e in at.error] == [INVALID_LINK_MESSAGE]
    assert "KHOROS_RATE_CARE_PER_MIN" not in texts(at)


# ---- what the UI records -------------------------------------------------------------------------------------------


def test_the_policy_in_force_and_each_change_of_it_are_recorded_once(tmp_path):
    from types import SimpleNamespace

    from dashboard.metrics.policy import DEFAULT_POLICY_PATH, load_policy
    from dashboard.ui.account import note_policy

    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY_PATH.read_text())
    settings = load_settings(env={"CARE_DASHBOARD_DATA_DIR": str(tmp_path / "data")})
    core = SimpleNamespace(store=object(), settings=settings, policy_path=policy, policy=lambda: load_policy(policy))
    log = audit_log(settings)
    note_policy(core)
    note_policy(core)  # the same file: nothing new
    (first,) = log.latest(10)
    assert (first.user, first.action, first.what["file"]) == ("system", "policy_in_force", str(policy))
    assert first.what["targets"] == len(load_policy(policy).targets)

    policy.write_text(policy.read_text() + "\n# tightened\n")
    note_policy(core)
    changed, _ = log.latest(10)
    assert changed.action == "policy_changed" and changed.what["previous"] == first.what["sha256"]
    assert changed.what["sha256"] != first.what["sha256"]

    from dashboard.ui import account

    account._POLICY_SEEN.clear()  # another process (or a restart) sees the same file: nothing new either
    note_policy(core)
    assert len(log.latest(10)) == 2


@pytest.mark.integration  # a webhook receiver on a loopback port
def test_a_test_send_from_the_data_page_is_recorded(notify_page):  # noqa: F811 (the fixture imported above)
    from tests.test_notify_integration import WebhookReceiver
    from tests.test_page_data_notify import HOOK_TOKEN, RULES

    receiver = WebhookReceiver()
    try:
        notify_page(RULES, CARE_DASHBOARD_WEBHOOK_CARE_LEADS=receiver.url(f"/services/{HOOK_TOKEN}"))
        at = run_app("pages/data.py")
        at.selectbox(key="data_notify_test_rule").set_value("daily-care")
        at.button(key="data_notify_send_test").click().run()
        assert not at.exception and receiver.at(f"/services/{HOOK_TOKEN}")
    finally:
        receiver.close()
    (sent,) = AuditLog(audit_log(load_settings()).folder).latest(1, actions=["notify_test"])
    assert (sent.user, sent.what) == ("demo visitor (no sign-in)", {"rule": "daily-care", "ok": True})
