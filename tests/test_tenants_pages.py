"""Two simulated tenants in the app (AppTest through ``app.py``): every page shows the tenant the link names, with
that tenant's own numbers (equal to a one-tenant deployment of the same world, and to its world's truth); the
"By tenant" view adds up; a reader allowed one tenant cannot reach the other's data by picker, link or the view."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from tests import _page_helpers as h
from tests._tenant_worlds import WORLDS, environment, single_env, tenants_env, write_tenants_file
from tests.conftest import KHOROS_ENV_NAMES, ROOT, run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGES = ["pages/overview.py", "pages/service_levels.py", "pages/live_queue.py", "pages/agents.py",
         "pages/contact_reasons.py", "pages/occupancy_staffing.py", "pages/automation.py", "pages/data.py"]
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-only-cookie-secret",
        "client_id": "care-dashboard", "client_secret": "x",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
ACCESS = """\
[[groups]]
name = "north-leads"
role = "viewer"
tenants = ["north"]

[[groups]]
name = "care-admins"
role = "admin"
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tenant-pages")
    env = tenants_env(root / "data", write_tenants_file(root))
    with environment(env):
        assert main(["sync", "--all-tenants", "--quiet", "--bot-requests"]) == 0
    (root / "access.toml").write_text(ACCESS)
    return {"env": env, "root": root}


def use(monkeypatch, env: dict) -> None:
    for name in (*KHOROS_ENV_NAMES, "CARE_DASHBOARD_SIMULATOR_SEED", "CARE_DASHBOARD_SIMULATOR_DAYS",
                 "CARE_DASHBOARD_SIMULATOR_CPD", "CARE_DASHBOARD_TENANTS", "CARE_DASHBOARD_ACCESS",
                 "CARE_DASHBOARD_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def app(deployment, monkeypatch) -> dict:
    use(monkeypatch, deployment["env"])
    return deployment


def world_of(tenant: str):
    from dashboard.ui.loaders import get_core

    return get_core(tenant).source.world


def truth_in_default_window(tenant: str) -> pl.DataFrame:
    from dashboard.ui.loaders import get_core

    core = get_core(tenant)
    zone = WORLDS[tenant]["timezone"]
    today = core.now().astimezone(ZoneInfo(zone)).date()
    local_day = pl.col("first_inbound_time").dt.convert_time_zone(zone).dt.date()
    return core.source.world.truth.filter(local_day.is_between(today - timedelta(days=27), today, closed="both"))


def all_text(at) -> str:
    frames = " ".join(str(pl.from_pandas(d.value).to_dicts()) for d in at.dataframe)
    boxes = " ".join(f"{s.label} {s.options}" for s in at.selectbox)
    return h.texts(at) + " " + frames + " " + boxes


@pytest.mark.parametrize("tenant", list(WORLDS))
def test_the_overview_of_a_tenant_is_its_own_worlds_and_a_one_tenant_deployments(app, monkeypatch, tmp_path, tenant):
    at = run_app(query={"tenant": tenant})
    assert not at.exception
    shown = h.metrics(at)
    assert shown["Conversations"] == f"{truth_in_default_window(tenant).height:,}"
    assert at.sidebar.selectbox(key="tenant").value == tenant
    # The same world as the only tenant of a deployment (no tenants file) shows the same figures.
    use(monkeypatch, single_env(tmp_path / "single", tenant))
    alone = run_app()
    assert not alone.exception
    assert h.metrics(alone) == shown


def test_each_page_shows_the_linked_tenant_without_error(app):
    for tenant in WORLDS:
        for page in PAGES:
            at = run_app(page, query={"tenant": tenant})
            assert not at.exception, (tenant, page, [e.value for e in at.exception])
            assert at.session_state["_tenant"] == tenant, page  # the tenant the gate chose for this run
    data = run_app("pages/data.py", query={"tenant": "south"})
    assert "(tenant south)" in h.texts(data) and "south-simulator-seed23" in h.texts(data)


@pytest.mark.parametrize("tenant", list(WORLDS))
def test_service_levels_headline_is_the_tenants_report(app, tenant):
    from dashboard.ui.loaders import get_core

    at = run_app("pages/service_levels.py", query={"tenant": tenant})
    assert not at.exception
    table = h.frame_with(at, "First response SLA %")
    expected = h.report(get_core(tenant), by=("tier",))
    shown = {r[table.columns[0]]: r["First response SLA %"] for r in table.iter_rows(named=True)}
    for row in expected.iter_rows(named=True):
        if row["attainment"] is not None:
            assert shown[row["tier"]] == pytest.approx(100 * row["attainment"], abs=0.05), row["tier"]


def test_the_by_tenant_view_adds_up_to_the_sum_of_the_tenants(app):
    at = run_app(query={"tenant": "south"})
    table = h.frame_with(at, "Tenant", "Conversations", "First response SLA %")
    rows = {r["Tenant"]: r for r in table.iter_rows(named=True)}
    assert list(rows) == ["north", "south", "All tenants"]
    for tenant in WORLDS:  # oracle: each world's own conversations in the window
        assert rows[tenant]["Conversations"] == truth_in_default_window(tenant).height
    total = rows["All tenants"]
    for column in ("Conversations", "First response met", "First response missed", "First response pending",
                   "Resolution met", "Resolution missed", "Resolution pending"):
        assert total[column] == rows["north"][column] + rows["south"][column], column
    met, missed = total["First response met"], total["First response missed"]
    assert total["First response SLA %"] == pytest.approx(100 * met / (met + missed))
    # North's row is the figure north's own Overview shows.
    north = run_app(query={"tenant": "north"})
    assert h.metrics(north)["FRT SLA"] == f"{rows['north']['First response SLA %']:.1f}%"
    sla = run_app("pages/service_levels.py", query={"tenant": "north"})
    by_tenant = h.frame_with(sla, "Tenant", "Next response SLA %")
    assert by_tenant.height == 3 and "Next response met" in by_tenant.columns


# ---- who may see which tenant ----------------------------------------------------------------------------------


def run_as(groups: list[str], page: str | None = None, query: dict | None = None) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.secrets = {"auth": AUTH}
    at.user = {"is_logged_in": True, "sub": "lee", "email": "lee@example.com", "name": "Lee", "groups": groups,
               "iat": int(time.time() - 60)}
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


@pytest.fixture
def signed_in(app, monkeypatch) -> dict:
    monkeypatch.setenv("CARE_DASHBOARD_ACCESS", str(Path(app["root"]) / "access.toml"))
    return app


def test_a_reader_of_one_tenant_never_reaches_the_other_by_link_picker_or_the_cross_view(signed_in):
    from dashboard.ui.loaders import get_core

    south = get_core("south")
    south_store = south.store.root.name
    at = run_as(["north-leads"], query={"tenant": "south"})
    assert not at.exception
    assert "The link's tenant 'south' matches nothing you may see; showing north." in h.texts(at)
    assert h.metrics(at)["Conversations"] == f"{truth_in_default_window('north').height:,}"
    assert not [s for s in at.sidebar.selectbox if s.key == "tenant"]  # no picker: one tenant to see
    assert "Tenant: north" in h.texts(at)
    assert not [d for d in at.dataframe if "Tenant" in d.value.columns]  # no cross view with one tenant
    for page in ("pages/service_levels.py", "pages/live_queue.py", "pages/agents.py"):
        shown = run_as(["north-leads"], page, query={"tenant": "south"})
        assert not shown.exception, page
        text = all_text(shown)
        assert "south" not in text.replace("'south'", "") and south_store not in text, page
    # Every download on a page is of the tenant shown: the rows behind north's figures.
    sla = run_as(["north-leads"], "pages/service_levels.py", query={"tenant": "south"})
    assert h.frame_with(sla, "First response SLA %").height > 0
    north_report = h.report(get_core("north"), by=("tier",))
    table = h.frame_with(sla, "First response SLA %")
    shown = {r[table.columns[0]]: r["First response SLA %"] for r in table.iter_rows(named=True)}
    for row in north_report.iter_rows(named=True):
        if row["attainment"] is not None:
            assert shown[row["tier"]] == pytest.approx(100 * row["attainment"], abs=0.05)


def test_an_admin_of_every_tenant_picks_either_and_sees_both_side_by_side(signed_in):
    at = run_as(["care-admins"], query={"tenant": "south"})
    assert not at.exception
    picker = at.sidebar.selectbox(key="tenant")
    assert picker.value == "south" and list(picker.options) == ["north", "south"]
    assert h.metrics(at)["Conversations"] == f"{truth_in_default_window('south').height:,}"
    table = h.frame_with(at, "Tenant", "Conversations")
    assert table.get_column("Tenant").to_list() == ["north", "south", "All tenants"]


def test_the_audit_of_a_sign_in_is_in_the_chosen_tenants_partition(signed_in):
    from dashboard.audit import audit_log
    from dashboard.ui.loaders import get_tenants

    run_as(["north-leads"], query={"tenant": "north"})
    tenants = get_tenants()
    north = audit_log(tenants.get("north").settings).latest(5, actions=("sign_in",))
    south = audit_log(tenants.get("south").settings).latest(5, actions=("sign_in",))
    north_only = ["north: viewer"]
    assert north and north[0].tenant == "north" and north[0].what["roles"] == north_only
    assert not [e for e in south if e.what.get("roles") == north_only]  # never in the other tenant's audit
