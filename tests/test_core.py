"""The core: the policy parsed once and again when its file changes; facts cached per data version; the tier
source (attribute or CRM file) one code path for facts and the author panel; settings checked with their name."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard import core as core_module
from dashboard.core import Dashboard
from dashboard.errors import SettingsError
from dashboard.simulator.world import WorldConfig, generate_world
from tests._worlds import tenant_settings, write_tenant_store

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = """\
[schedules.default]
timezone = "UTC"
monday = [["00:00", "24:00"]]
[[targets]]
metric = "first_response"
target = "{target}"
clock = "calendar"
"""


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=9, days=5, conversations_per_day=30, end=END))


@pytest.fixture
def tenant(world, tmp_path):
    write_tenant_store(world.tables, tmp_path)
    return tmp_path


def test_the_policy_is_parsed_once_and_again_when_its_file_changes(tenant, monkeypatch):
    path = tenant / "policy.toml"
    path.write_text(POLICY.format(target="1h"))
    parsed = []
    original = core_module.load_policy

    def counting(file):
        parsed.append(file)
        return original(file)

    monkeypatch.setattr(core_module, "load_policy", counting)
    core = Dashboard.open(tenant_settings(tenant, CARE_DASHBOARD_POLICY=str(path)))
    assert core.policy().targets[0].target_seconds == 3600
    assert core.policy() is core.policy() and len(parsed) == 1
    path.write_text(POLICY.format(target="2h"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert core.policy().targets[0].target_seconds == 7200 and len(parsed) == 2


def test_facts_are_cached_per_data_version(tenant, world):
    core = Dashboard.open(tenant_settings(tenant))
    facts = core.facts()
    assert core.facts() is facts and facts.height == world.truth.height
    assert core.facts("any") is not facts  # each bot rule its own
    # an import (any write) is a new data version: computed again, with the new conversation
    row = world.tables["conversation"].head(1).with_columns(pl.lit("new-one").alias("conversation_id"))
    core.store.write_day("conversation", date(2026, 11, 19), pl.concat([
        world.tables["conversation"].filter(pl.col("created_time").dt.date() == date(2026, 11, 19)), row]),
        {"source": "import"})
    again = core.facts()
    assert again is not facts and again.height == facts.height + 1


def test_the_tier_file_is_the_tier_source_for_facts_and_the_author_panel(tenant, world):
    authors = world.tables["author"]
    some = sorted(authors["author_id"].unique().to_list())[:10]
    crm = tenant / "tiers.csv"
    crm.write_text("author_id,tier\n" + "".join(f"{a},Diamond\n" for a in some))
    core = Dashboard.open(tenant_settings(tenant, KHOROS_TIER_FILE=str(crm)))
    facts = core.facts()
    assert set(facts.filter(pl.col("author_id").is_in(some))["tier"]) == {"Diamond"}
    assert set(facts.filter(~pl.col("author_id").is_in(some))["tier"]) == {"unknown"}
    assert core.author_profile(some[0]).tier == "Diamond"
    assert core.bursts().filter(pl.col("author_id").is_in(some))["tier"].unique().to_list() in ([], ["Diamond"])
    # the file changes: so do the facts
    crm.write_text("author_id,tier\n" + "".join(f"{a},Onyx\n" for a in some))
    os.utime(crm, ns=(crm.stat().st_atime_ns, crm.stat().st_mtime_ns + 1_000_000))
    assert set(core.facts().filter(pl.col("author_id").is_in(some))["tier"]) == {"Onyx"}
    # without the file, the author export's attribute
    plain = Dashboard.open(tenant_settings(tenant))
    latest = authors.sort("updated_time").group_by("author_id").last()
    assert plain.author_profile(some[0]).tier == latest.filter(pl.col("author_id") == some[0])["tier"][0]


def test_settings_errors_name_the_setting(tenant):
    with pytest.raises(SettingsError, match="CARE_DASHBOARD_BOT_RULE"):
        Dashboard.open(tenant_settings(tenant, CARE_DASHBOARD_BOT_RULE="robots"))
    with pytest.raises(SettingsError, match="KHOROS_TIER_ATTRIBUTE 'segment'"):
        Dashboard.open(tenant_settings(tenant, KHOROS_TIER_ATTRIBUTE="segment")).facts()
    with pytest.raises(SettingsError, match="not found \\(KHOROS_TIER_FILE\\)"):
        Dashboard.open(tenant_settings(tenant, KHOROS_TIER_FILE=str(tenant / "none.csv"))).facts()
    any_rule = Dashboard.open(tenant_settings(tenant, CARE_DASHBOARD_BOT_RULE="any"))
    assert any_rule.default_filters().bot_rule == "any" and any_rule.bot_rule() == "any"


def test_a_core_over_tables_has_a_fixed_now_and_no_store(world):
    given = {k: v for k, v in world.tables.items() if k != "team_performance"}
    core = Dashboard.from_tables(given, now=END)
    assert core.now() == END and core.store is None and core.client is None
    assert core.facts().height == world.truth.height
    assert core.bot_health("any-app") == ("unavailable", "no Khoros client")
    missing = core.scan("team_performance").collect()  # a table it was not given: empty, typed
    assert missing.height == 0 and missing.schema == world.tables["team_performance"].schema
