"""The Automation page through the entrypoint (AppTest), on the pinned demo world with its request records:
what it lists is what the simulated world scripted and recorded."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/automation.py"


@pytest.fixture
def records(app_env, demo_world) -> pl.DataFrame:
    """The world's Bot API request records up to its "now" (the demo syncs them into the store)."""
    return demo_world.tables["bot_request"].filter(pl.col("created_time") <= demo_world.now)


def test_health_cards_and_error_groups_cover_every_recorded_bot_and_error(records, demo_world) -> None:
    at = run_app(PAGE, query={"automation_window": "Last 28 days"})
    assert not at.exception, at.exception
    assert "Automation" in [t.value for t in at.title]
    assert {"Health now", "Incidents", "Error groups"} <= {s.value for s in at.subheader}
    # one card per app id and origin that has records, in one of the three states
    scopes = {f"{a} · {o}" for a, o in records.select("app_id", "origin").unique().iter_rows()}
    shown = h.metrics(at)
    assert scopes == set(shown)
    assert set(shown.values()) <= {"HEALTHY", "DEGRADED", "DOWN"}
    # a scope whose last 2 minutes hold no error and no slow success is HEALTHY
    recent = records.filter(pl.col("created_time") > demo_world.now - timedelta(minutes=2))
    troubled = {f"{a} · {o}" for a, o in recent.filter(pl.col("state") == "ERROR").select("app_id", "origin")
                .unique().iter_rows()}
    slow = recent.filter((pl.col("completed_time") - pl.col("created_time")) > timedelta(seconds=5))
    troubled |= {f"{a} · {o}" for a, o in slow.select("app_id", "origin").unique().iter_rows()}
    assert all(shown[s] == "HEALTHY" for s in scopes - troubled)
    # every recorded error belongs to exactly one group
    groups = next(df.value for df in at.dataframe if "Group" in df.value.columns and "Last 14 days" in df.value.columns)
    assert int(groups["Errors in window"].sum()) == records.filter(pl.col("state") == "ERROR").height > 0
    assert list(groups["Errors in window"]) == sorted(groups["Errors in window"], reverse=True)


def test_incidents_of_the_last_28_days_are_listed_with_their_top_error(records, demo_world):
    at = run_app(PAGE, query={"automation_window": "Last 28 days"})
    assert not at.exception
    incidents = next(df.value for df in at.dataframe if "Top message" in df.value.columns)
    scripted = [i for i in demo_world.incidents if i["start"] > demo_world.now - timedelta(days=28)]
    assert scripted, "the pinned demo world has scripted incidents"
    for truth in scripted:
        rows = incidents[(incidents["App id"] == truth["app_id"]) & (incidents["Origin"] == truth["origin"])]
        assert not rows.empty, truth["kind"]
        assert truth["http_code"] in set(rows["Top HTTP code"].dropna().astype(int)), truth["kind"]


def test_alert_state_lives_in_the_session_and_the_sample_payload_is_masked(records) -> None:
    at = run_app(PAGE, query={"automation_window": "Last 28 days"})
    assert not at.exception
    assert isinstance(at.session_state["automation_alert_state"], dict)
    payloads = [c.value for c in at.code if c.language == "json"]
    assert payloads
    assert "sk_live_" not in payloads[0] and "eyJhbGci" not in payloads[0]


def test_isolated_errors_are_listed_only_on_request(records) -> None:
    at = run_app(PAGE, query={"automation_window": "Last 28 days"})
    assert not at.exception

    def incident_rows():
        return next(df.value for df in at.dataframe if "Top message" in df.value.columns)

    default = incident_rows()
    assert (default["Failures"] >= 3).all()
    at.toggle(key="automation_blips").set_value(True).run()
    assert not at.exception
    with_blips = incident_rows()
    assert len(with_blips) > len(default) and (with_blips["Failures"] < 3).any()
