"""The access model: the access file's errors (line and reason), roles per tenant from the identity token's claims,
and the one question every consumer asks (``allowed_tenants``), worked by hand."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from dashboard.access import (
    AccessError,
    Identity,
    Viewer,
    allowed_tenants,
    choose_tenant,
    load_access,
    parse_access,
    tenant_of,
)
from dashboard.settings import load_settings

ACCESS = """\
# who may see what
[[groups]]
name = "care-leads"
role = "viewer"

[[groups]]
name = "analysts"
role = "analyst"
tenants = ["emea", "apac"]

[[groups]]
name = "emea-admins"
role = "admin"
tenants = ["emea"]

[[groups]]
name = "ops@example.com"
claim = "email"
role = "admin"
"""


def who(**claims) -> Identity:
    return Identity.from_claims({"sub": "u-1", **claims})


def test_roles_are_per_tenant_the_highest_of_the_entries_a_person_matches():
    access = parse_access(ACCESS, "access.toml")
    both = access.resolve(who(groups=["care-leads", "analysts", "emea-admins"]), "groups")
    # care-leads covers every tenant as viewer; analysts lift emea and apac; emea-admins lifts emea again
    assert [both.role_for(t) for t in ("emea", "apac", "amer")] == ["admin", "analyst", "viewer"]
    assert both.may("admin", "emea") and not both.may("admin", "apac") and not both.may("export", "amer")
    assert both.may("export", "apac") and both.may("view", "amer")

    only_emea = access.resolve(who(groups=["emea-admins"]), "groups")
    assert allowed_tenants(only_emea, ["amer", "emea", "apac"]) == ["emea"]
    assert only_emea.role_for("amer") is None and not only_emea.may("view", "amer")

    nobody = access.resolve(who(groups=["marketing"]), "groups")
    assert nobody.roles == {} and allowed_tenants(nobody, ["amer", "emea"]) == []
    assert nobody.groups == ("marketing",)  # shown to them, so they can ask for the right one

    # an entry may name one person by another claim
    ops = access.resolve(who(email="ops@example.com", groups=[]), "groups")
    assert allowed_tenants(ops, ["amer", "emea"]) == ["amer", "emea"] and ops.may("admin", "amer")


def test_the_claim_may_be_one_value_a_list_or_nested():
    access = parse_access('[[groups]]\nname = "care"\nrole = "analyst"\n')
    assert access.resolve(who(roles="care"), "roles").role_for("x") == "analyst"
    assert access.resolve(who(realm_access={"roles": ["x", "care"]}), "realm_access.roles").role_for("x") == "analyst"
    assert access.resolve(who(groups=[{"name": "care"}]), "groups").roles == {}  # objects are not group names
    assert access.resolve(who(), "groups").roles == {}  # no claim at all: no role


def test_choose_tenant_treats_a_tenant_one_may_not_see_as_one_that_does_not_exist():
    access = parse_access(ACCESS)
    emea = access.resolve(who(groups=["emea-admins"]), "groups")
    assert choose_tenant(emea, ["amer", "emea"], None) == ("emea", None)
    assert choose_tenant(emea, ["amer", "emea"], "emea") == ("emea", None)
    hidden = choose_tenant(emea, ["amer", "emea"], "amer")
    invented = choose_tenant(emea, ["amer", "emea"], "zzz")
    assert hidden[0] == invented[0] == "emea"
    assert hidden[1].replace("'amer'", "X") == invented[1].replace("'zzz'", "X")  # same words: nothing leaks
    nobody = access.resolve(who(groups=[]), "groups")
    assert choose_tenant(nobody, ["amer"], "amer") == (None, None)


def test_open_demo_and_anonymous_may_do_everything_and_have_no_identity():
    for viewer in (Viewer.open_demo(), Viewer.anonymous()):
        assert viewer.identity is None and viewer.may("admin", "anything") and viewer.every_tenant
    assert "no sign-in" in Viewer.open_demo().label and "sign-in off" in Viewer.anonymous().label


def test_identity_reads_its_label_and_issue_time_from_the_claims():
    ident = Identity.from_claims({"sub": "abc", "email": "a@example.com", "iat": 1_763_479_800, "name": "A"})
    assert ident.label == "a@example.com" and ident.issued_at == datetime(2025, 11, 18, 15, 30, tzinfo=UTC)
    assert Identity.from_claims({"sub": "abc", "preferred_username": "ab"}).label == "ab"
    assert Identity.from_claims({"sub": "abc", "iat": "yesterday"}).issued_at is None


def test_the_demo_is_called_demo_and_a_tenant_by_its_name():
    assert tenant_of(load_settings(env={})) == "demo"
    tenant = load_settings(env={"KHOROS_ANALYTICS_URL": "https://a.example.com/api",
                                "CARE_DASHBOARD_TENANT_NAME": "emea"})
    assert tenant_of(tenant) == "emea"


@pytest.mark.parametrize(("text", "line", "says"), [
    ('[[groups]\nname = "x"\n', 1, "not valid TOML"),
    ('title = "who"\n[[groups]]\nname = "x"\nrole = "viewer"\n', 1, "unknown key 'title'"),
    ("# nothing here\n", None, "no [[groups]] entry"),
    ('[[groups]]\nname = "x"\nrole = "viewer"\n\n[[groups]]\nname = "y"\nrole = "owner"\n', 7,
     "[[groups]] #2: role must be one of viewer, analyst, admin, got 'owner'"),
    ('[[groups]]\nname = "x"\n', 1, "role is required"),
    ('[[groups]]\nrole = "admin"\n', 1, "name is required"),
    ('[[groups]]\nname = "x"\nrole = "admin"\ntenant = ["emea"]\n', 4, "unknown key 'tenant'"),
    ('[[groups]]\nname = "x"\nrole = "admin"\ntenants = []\n', 4, "tenants must be a list of tenant names"),
    ('[[groups]]\nname = "x"\nrole = "admin"\ntenants = [1]\n', 4, "tenants must be a list of tenant names"),
    ('[[groups]]\nname = "x"\nrole = "viewer"\n[[groups]]\nname = "x"\nrole = "admin"\n', 5,
     "'x' is named twice (also line 1)"),
])
def test_a_wrong_access_file_names_its_line_and_the_reason(text, line, says):
    with pytest.raises(AccessError) as err:
        parse_access(text, "access.toml")
    assert err.value.line == line and says in err.value.reason
    assert str(err.value).startswith(f"access.toml line {line}: " if line else "access.toml: ")


def test_load_access_reads_again_when_the_file_changes_and_says_when_it_is_missing(tmp_path):
    path = tmp_path / "access.toml"
    with pytest.raises(AccessError, match="access file not found"):
        load_access(path)
    path.write_text('[[groups]]\nname = "a"\nrole = "viewer"\n')
    assert load_access(path).grants[0].role == "viewer"
    path.write_text('[[groups]]\nname = "a"\nrole = "admin"\n ')
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert load_access(path).grants[0].role == "admin"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(AccessError, match="not UTF-8"):
        load_access(path)


def test_the_shipped_example_access_file_reads_as_its_comments_say():
    from tests.conftest import ROOT

    example = load_access(ROOT / "dashboard" / "example-access.toml")
    regional = example.resolve(who(groups=["care-admins-emea"]), "groups")
    assert allowed_tenants(regional, ["amer", "emea"]) == ["emea"] and regional.may("admin", "emea")
    ops = example.resolve(who(email="ops-lead@example.com"), "groups")
    assert ops.may("admin", "amer")
