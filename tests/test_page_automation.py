"""The Automation page through the entrypoint (AppTest), on the pinned demo world with its request records."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from dashboard.metrics import automation
from tests.conftest import run_app


@pytest.fixture(scope="module")
def synced_requests(demo_source):
    """Bot API request records of every simulated app, synced into the demo store through the client."""
    from dashboard.store.sync import sync_bot_requests

    source = demo_source
    if source.scan("bot_request").select(pl.len()).collect().item() == 0:
        apps = source.world.bots["app_id"].to_list()
        sync_bot_requests(source.client, source.store, app_ids=apps, days=source.settings.simulator_days,
                          now=source.now())  # fmt: skip
    records = source.scan("bot_request").collect()
    assert records.height > 0
    return records


def test_automation_page_shows_health_incidents_and_error_groups(app_env, synced_requests, demo_source) -> None:
    at = run_app("pages/automation.py", query={"automation_window": "Last 28 days"})
    assert not at.exception, at.exception
    titles = [t.value for t in at.title]
    assert "Automation" in titles
    # Health now: one metric per app id and origin, with our recomputed state.
    now = automation.health_now(synced_requests.lazy(), demo_source.now()).collect()
    shown = {m.label: m.value for m in at.metric}
    for row in now.iter_rows(named=True):
        assert shown[f"{row['app_id']} · {row['origin']}"] == row["state"]
    subheaders = [s.value for s in at.subheader]
    assert {"Health now", "Incidents", "Error groups"} <= set(subheaders)
    # The error-group table lists the same groups, largest first, as the metric.
    groups = automation.error_groups(synced_requests.lazy(), demo_source.now()).collect()
    tables = [df.value for df in at.dataframe]
    group_table = next(v for v in tables if "group_id" in v.columns and "trend" in v.columns)
    assert list(group_table["group_id"])[:3] == groups["group_id"].to_list()[:3]
    assert int(group_table["count"].iloc[0]) == groups["count"][0]


def test_incidents_of_the_last_28_days_are_listed_with_their_top_error(app_env, synced_requests, demo_source):
    at = run_app("pages/automation.py", query={"automation_window": "Last 28 days"})
    assert not at.exception
    tables = [df.value for df in at.dataframe]
    incidents = next(v for v in tables if "top_message" in v.columns)
    scripted = [i for i in demo_source.world.incidents if i["start"] > demo_source.now() - timedelta(days=28)]
    assert scripted, "the pinned demo world has scripted incidents"
    for truth in scripted:
        rows = incidents[(incidents["app_id"] == truth["app_id"]) & (incidents["origin"] == truth["origin"])]
        assert not rows.empty, truth["kind"]
        assert truth["http_code"] in set(rows["top_http_code"].dropna().astype(int)), truth["kind"]


def test_alert_state_lives_in_the_session_and_the_sample_payload_is_masked(app_env, synced_requests) -> None:
    at = run_app("pages/automation.py", query={"automation_window": "Last 28 days"})
    assert not at.exception
    assert isinstance(at.session_state["automation_alert_state"], dict)
    payloads = [c.value for c in at.code if c.language == "json"]
    assert payloads
    assert "sk_live_" not in payloads[0] and "eyJhbGci" not in payloads[0]


def test_isolated_errors_are_listed_only_on_request(app_env, synced_requests, demo_source) -> None:
    at = run_app("pages/automation.py", query={"automation_window": "Last 28 days"})
    assert not at.exception

    def incident_rows():
        return len(next(df.value for df in at.dataframe if "top_message" in df.value.columns))

    default = incident_rows()
    since = demo_source.now() - timedelta(days=28)
    expected = automation.incidents(synced_requests.lazy(), demo_source.now(), min_failures=3).filter(
        pl.col("end").is_null() | (pl.col("end") >= since)
    ).collect()
    assert default == expected.height
    at.toggle(key="automation_blips").set_value(True).run()
    assert not at.exception
    assert incident_rows() > default
