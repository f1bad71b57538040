"""The simulator's scripted automation incidents are detected (issue 7 "Must show"), and their impact measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard import alerts
from dashboard.metrics import automation as A
from dashboard.simulator.world import WorldConfig, generate_world

TOLERANCE = timedelta(minutes=2)
WORLDS = [
    WorldConfig(seed=11, days=21, conversations_per_day=80, end=datetime(2026, 11, 18, 15, 30, tzinfo=UTC)),
    WorldConfig(seed=3, days=30, conversations_per_day=150, end=datetime(2026, 6, 3, 9, 0, tzinfo=UTC)),
]


@pytest.fixture(scope="module", params=WORLDS, ids=lambda c: f"seed{c.seed}-d{c.days}")
def world(request: pytest.FixtureRequest):
    return generate_world(request.param)


@pytest.fixture(scope="module")
def detected(world) -> pl.DataFrame:
    return A.incidents(world.tables["bot_request"].lazy(), world.now).collect()


def test_every_scripted_incident_is_detected_once_with_its_bounds_and_top_error_group(world, detected) -> None:
    assert len(world.incidents) >= 4
    for truth in world.incidents:
        overlapping = detected.filter(
            (pl.col("app_id") == truth["app_id"])
            & (pl.col("origin") == truth["origin"])
            & (pl.col("start") < truth["end"])
            & (pl.col("end") > truth["start"])
        )
        assert overlapping.height == 1, f"{truth['kind']}: {overlapping.height} incidents overlap the truth"
        found = overlapping.row(0, named=True)
        assert abs(found["start"] - truth["start"]) <= TOLERANCE, truth["kind"]
        assert abs(found["end"] - truth["end"]) <= TOLERANCE, truth["kind"]
        assert found["top_http_code"] == truth["http_code"], truth["kind"]
        assert found["top_message"] == A.normalise_message(truth["message"], truth["app_id"]), truth["kind"]
        assert not found["ongoing"]


def test_background_noise_is_only_small_incidents(world, detected) -> None:
    """Outside the scripted incidents, isolated background errors make only short, small incidents."""

    def scripted(row: dict) -> bool:
        return any(
            row["app_id"] == t["app_id"] and row["start"] < t["end"] + TOLERANCE and row["end"] > t["start"] - TOLERANCE
            for t in world.incidents
        )

    stray = [row for row in detected.iter_rows(named=True) if not scripted(row)]
    assert stray  # the world has background errors; each is an incident by definition
    assert max(r["failures"] for r in stray) <= 3
    assert max(r["duration_s"] for r in stray) <= 15 * 60
    assert len(A.incidents(world.tables["bot_request"].lazy(), world.now, min_failures=5).collect()) >= len(
        world.incidents
    )


def test_health_now_and_timeline_cover_every_app(world) -> None:
    records = world.tables["bot_request"].lazy()
    now = A.health_now(records, world.now).collect()
    assert set(now["app_id"]) == set(world.bots["app_id"])
    assert set(now["state"]) <= {A.HEALTHY, A.DEGRADED, A.DOWN}
    truth = world.incidents[0]
    during = A.health_now(records, truth["start"] + (truth["end"] - truth["start"]) / 2).collect()
    row = during.filter((pl.col("app_id") == truth["app_id"]) & (pl.col("origin") == truth["origin"])).row(
        0, named=True
    )
    assert row["state"] in (A.DEGRADED, A.DOWN)


def test_impact_counts_the_truths_automatic_handoffs(world, detected) -> None:
    records = world.tables["bot_request"].lazy()
    truth = world.truth
    conversations = world.tables["conversation"].lazy().join(
        truth.lazy().select(
            "conversation_id",
            first_response_seconds=(pl.col("first_human_response_time") - pl.col("first_inbound_time"))
            .dt.total_seconds(),
        ),
        on="conversation_id",
        how="left",
    )
    impact = A.incident_impact(detected.lazy(), conversations, records, as_of=world.now).collect()
    by_id = {r["incident_id"]: r for r in impact.iter_rows(named=True)}
    for scripted in world.incidents:
        found = detected.filter(
            (pl.col("app_id") == scripted["app_id"]) & (pl.col("origin") == scripted["origin"])
            & (pl.col("start") < scripted["end"]) & (pl.col("end") > scripted["start"])
        ).row(0, named=True)  # fmt: skip
        expected = truth.filter(
            pl.col("automatic_handoff") & (pl.col("bot_app_id") == scripted["app_id"])
            & (pl.col("first_inbound_time") >= found["start"]) & (pl.col("first_inbound_time") < found["end"])
        ).height  # fmt: skip
        assert by_id[found["incident_id"]]["affected"] == expected, scripted["kind"]
    assert impact["baseline_p50_first_response_s"].drop_nulls().n_unique() == 1


def test_alerts_fire_during_each_scripted_incident_and_not_on_a_quiet_day(world) -> None:
    records = world.tables["bot_request"].lazy()
    rules = alerts.load_alert_rules()
    state: dict = {}
    for truth in world.incidents:
        firing = alerts.evaluate_alerts(records, rules, truth["start"] + timedelta(minutes=20), state)
        mine = [a for a in firing if a.app_id == truth["app_id"] and a.origin == truth["origin"]]
        assert mine, f"no alert 20 minutes into {truth['kind']}"
        assert all(a.notify for a in mine)
    quiet = min(t["start"] for t in world.incidents) - timedelta(days=2)
    assert alerts.evaluate_alerts(records, rules, quiet, {}) == []
