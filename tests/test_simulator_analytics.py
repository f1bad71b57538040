"""Contract tests of the simulator's Analytics Reports API, with plain httpx (not our client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import polars as pl
import pytest

from dashboard import schema
from dashboard.simulator.app import SimulatorOptions
from dashboard.simulator.server import start_simulator
from dashboard.simulator.world import WorldConfig, generate_world

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
DAY = 86_400_000


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))


@pytest.fixture(scope="module")
def sim(world):
    with start_simulator(world, SimulatorOptions(analytics_per_min=10_000, care_per_min=10_000)) as running:
        yield running


@pytest.fixture()
def client(sim):
    with httpx.Client(base_url=sim.base_url, auth=("demo", "demo"), timeout=10) as c:
        yield c


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def run_export(client: httpx.Client, export_id: str, start: int, end: int, **params) -> bytes:
    query = {"companyKey": "demo", "startTime": start, "endTime": end, **params}
    run = client.post(f"/api/public/reports/report/{export_id}", params=query)
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["status"] == "PASS" and body["request"] is None and body["message"] is None
    job = body["result"]
    assert job["downloadUrl"] == ""
    assert set(job) == {"workflowId", "runId", "downloadUrl", "statusUrl"}
    status = client.get(job["statusUrl"])
    assert status.status_code == 200
    result = status.json()["result"]
    assert isinstance(result, dict), "a ready job answers with an object"
    assert result["result"]["runnerState"] == "CLOSED" and result["result"]["detail"] == "COMPLETED"
    download = client.get(result["jobInfo"]["downloadUrl"])
    assert download.status_code == 200
    return download.content


@pytest.mark.parametrize("export_id", [e for e in schema.EXPORTS if e != "bot_request"])
def test_every_export_runs_and_parses_with_the_schema(client, world, export_id):
    end = world.now_ms
    body = run_export(client, export_id, end - 7 * DAY, end)
    rows = json.loads(body)
    assert isinstance(rows, list) and rows, export_id
    result = schema.parse_json_bytes(export_id, body)
    assert result.quarantine.height == 0
    names = schema.export_schema(export_id).names
    assert result.frame.columns[: len(names)] == names
    time_col = schema.export_schema(export_id).time_column
    if export_id != "conversation":  # the default conversation report is OPEN_AT_END
        expected = world.tables[export_id].filter(
            (pl.col(time_col) >= datetime.fromtimestamp((end - 7 * DAY) / 1000, UTC))
            & (pl.col(time_col) < world.now)
        )
        assert result.frame.height == expected.height
        assert isinstance(rows[0][time_col], int), "JSON times are epoch ms"


def test_conversation_report_types_select_created_closed_and_open_at_end(client, world):
    start, end = world.now_ms - 10 * DAY, world.now_ms - 3 * DAY
    conv = world.tables["conversation"]
    lo, hi = datetime.fromtimestamp(start / 1000, UTC), datetime.fromtimestamp(end / 1000, UTC)

    def ids(report_type):
        body = run_export(client, "conversation", start, end, conversationReportType=report_type)
        return set(schema.parse_json_bytes("conversation", body).frame["conversation_id"])

    created = set(conv.filter((pl.col("created_time") >= lo) & (pl.col("created_time") < hi))["conversation_id"])
    closed = set(conv.filter((pl.col("closed_time") >= lo) & (pl.col("closed_time") < hi))["conversation_id"])
    assert ids("CREATED") == created
    assert ids("CLOSED") == closed
    # Open at end: created before the end and not closed then, judged from the status history.
    history = world.tables["conversation_history_action"].filter(
        (pl.col("action") == "STATUS_CHANGED") & (pl.col("action_time") < hi))
    last_state = history.sort("action_time").group_by("conversation_id").agg(pl.col("to_value").last())
    closed_then = set(last_state.filter(pl.col("to_value") == "CLOSED")["conversation_id"])
    expected_open = set(conv.filter(pl.col("created_time") < hi)["conversation_id"]) - closed_then
    got = ids("OPEN_AT_END")
    assert got == expected_open and got
    # Some of those were closed later: the backlog of the past is not today's backlog.
    assert got - set(conv.filter(pl.col("status") != "CLOSED")["conversation_id"])


def test_csv_has_schema_header_local_iso_times_and_joined_tags(client, world):
    end = world.now_ms
    body = run_export(client, "conversation", end - 5 * DAY, end, reportFormat="csv",
                      conversationReportType="CREATED", timezone="America/New_York")
    header, first = body.decode().splitlines()[:2]
    assert header.split(",") == schema.export_schema("conversation").names
    assert "-05:00" in first or "-04:00" in first
    parsed = schema.parse_csv_bytes("conversation", body)
    assert parsed.quarantine.height == 0
    from_json = schema.parse_json_bytes(
        "conversation", run_export(client, "conversation", end - 5 * DAY, end, conversationReportType="CREATED"))
    # schema.parse_csv_bytes currently reads empty CSV fields as "" (not null); compare modulo that.
    blank_is_null = [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                     for c, dt in parsed.frame.schema.items() if dt == pl.String]
    assert parsed.frame.with_columns(blank_is_null).sort("conversation_id").equals(
        from_json.frame.sort("conversation_id"))
    assert any(";" in line for line in body.decode().splitlines()[1:]), "multi-tag rows are joined by ;"


def test_report_metrics_select_columns_and_filters_apply(client, world):
    end = world.now_ms
    body = run_export(client, "incoming_post", end - 3 * DAY, end,
                      reportMetrics=["post_id", "priority", "received_time"], priorities="4,5")
    rows = json.loads(body)
    assert rows and list(rows[0]) == ["post_id", "priority", "received_time"]
    assert {r["priority"] for r in rows} <= {4, 5}
    body = run_export(client, "raw_agent_states", end - 3 * DAY, end, teamIds="1")
    assert {r["team_id"] for r in json.loads(body)} == {1}


def test_same_world_gives_byte_identical_downloads(world):
    twin = generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))
    bodies = []
    for w in (world, twin):
        with start_simulator(w, SimulatorOptions()) as s, httpx.Client(base_url=s.base_url, auth=("demo", "demo")) as c:
            bodies.append([run_export(c, e, w.now_ms - 7 * DAY, w.now_ms, reportFormat=f)
                           for e in ("conversation", "response", "author") for f in ("json", "csv")])
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"startTime": 0, "endTime": 32 * DAY}, 400, "31 days"),
        ({"startTime": "yesterday", "endTime": 1}, 400, "startTime"),
        ({"endTime": 1}, 400, "startTime is required"),
        ({"startTime": 5, "endTime": 5}, 400, "after startTime"),
        ({"startTime": 0, "endTime": DAY, "reportMetrics": "nope"}, 400, "nope"),
        ({"startTime": 0, "endTime": DAY, "reportFormat": "xml"}, 400, "reportFormat"),
        ({"startTime": 0, "endTime": DAY, "timezone": "Mars/Base"}, 400, "timezone"),
        ({"startTime": 0, "endTime": DAY, "conversationReportType": "ALL"}, 400, "conversationReportType"),
        ({"startTime": 0, "endTime": DAY, "priorities": "9"}, 400, "priorities"),
    ],
)
def test_bad_requests_get_a_fail_envelope_naming_the_problem(client, params, status, needle):
    r = client.post("/api/public/reports/report/conversation", params={"companyKey": "demo", **params})
    assert r.status_code == status
    body = r.json()
    assert body["status"] == "FAIL" and needle in body["message"] and body["result"] is None


def test_unknown_export_auth_and_company_key(sim, client):
    r = client.post("/api/public/reports/report/brand_post", params={"companyKey": "demo", "startTime": 0,
                                                                      "endTime": 1})
    assert r.status_code == 400 and "Unknown export id" in r.json()["message"]
    assert client.post("/api/public/reports/report/conversation", params={"startTime": 0, "endTime": 1}
                       ).json()["message"].startswith("companyKey is required")
    r = client.post("/api/public/reports/report/conversation", params={"companyKey": "x", "startTime": 0,
                                                                        "endTime": 1})
    assert r.status_code == 401
    r = httpx.post(f"{sim.base_url}/api/public/reports/report/conversation",
                   params={"companyKey": "demo", "startTime": 0, "endTime": 1}, auth=("demo", "wrong"))
    assert r.status_code == 401 and r.json()["status"] == "FAIL"
    r = client.get("/api/public/reports/report/abc/def/status", params={"companyKey": "demo"})
    assert r.status_code == 404


def test_running_and_failed_jobs_answer_with_a_one_element_array(world):
    opts = SimulatorOptions(job_seconds=30)
    with start_simulator(world, opts) as s, httpx.Client(base_url=s.base_url, auth=("demo", "demo")) as c:
        job = c.post("/api/public/reports/report/response",
                     params={"companyKey": "demo", "startTime": world.now_ms - DAY, "endTime": world.now_ms}
                     ).json()["result"]
        assert "%2F" in job["statusUrl"] or "/" not in job["runId"], "runId is URL-encoded in the path"
        status = c.get(job["statusUrl"]).json()["result"]
        assert isinstance(status, list) and len(status) == 1
        assert status[0]["result"]["runnerState"] == "RUNNING" and status[0]["result"]["detail"] == ""
        assert status[0]["jobInfo"]["downloadUrl"] == ""
        download = c.get(job["statusUrl"].replace("/status", "/download"))
        assert download.status_code == 409 and download.json()["status"] == "FAIL"
    with start_simulator(world, SimulatorOptions(failed_job_rate=1.0)) as s, \
            httpx.Client(base_url=s.base_url, auth=("demo", "demo")) as c:
        job = c.post("/api/public/reports/report/response",
                     params={"companyKey": "demo", "startTime": world.now_ms - DAY, "endTime": world.now_ms}
                     ).json()["result"]
        status = c.get(job["statusUrl"]).json()["result"]
        assert isinstance(status, list)
        assert status[0]["result"]["runnerState"] == "CLOSED" and status[0]["result"]["detail"] == "FAILED"
        assert status[0]["jobInfo"]["downloadUrl"] == ""


def test_get_is_accepted_like_post_and_run_id_round_trips(client, world):
    r = client.get("/api/public/reports/report/author",
                   params={"companyKey": "demo", "startTime": world.now_ms - DAY, "endTime": world.now_ms})
    job = r.json()["result"]
    path = httpx.URL(job["statusUrl"]).raw_path.decode()
    assert unquote(path.split("/")[-2]) == job["runId"]
    assert job["runId"].endswith("=") and "%3D" in path


def test_timezones_and_teams(client, world):
    zones = client.get("/api/public/config/timezones", params={"companyKey": "demo"}).json()["result"]
    assert {"id", "name", "shortName", "offsetString", "offsetMillis"} <= set(zones[0])
    assert any(z["id"] == "America/New_York" for z in zones)
    teams = client.get("/api/public/teams", params={"companyKey": "demo"}).json()["result"]
    assert {t["teamId"] for t in teams} == set(world.teams["team_id"])
    assert sum(t["numberOfMembers"] for t in teams) == world.agents.height


def test_window_end_is_exclusive(client, world):
    first = world.tables["response"].sort("published_time").row(3, named=True)
    t = ms(first["published_time"])
    before = json.loads(run_export(client, "response", t - DAY, t))
    after = json.loads(run_export(client, "response", t, t + DAY))
    assert first["response_id"] not in {r["response_id"] for r in before}
    assert first["response_id"] in {r["response_id"] for r in after}
    assert timedelta(0) < world.now - first["published_time"]


def test_business_hour_filter_splits_rows_inside_and_outside_opening_hours(client, world):
    end = world.now_ms
    everything = json.loads(run_export(client, "incoming_post", end - 7 * DAY, end))
    inside = json.loads(run_export(client, "incoming_post", end - 7 * DAY, end, enableBusinessHour="true",
                                   businessHourType="true"))
    outside = json.loads(run_export(client, "incoming_post", end - 7 * DAY, end, enableBusinessHour="true",
                                    businessHourType="false"))
    assert inside and outside and len(inside) + len(outside) == len(everything)
    zone = world.config.timezone
    local = pl.Series([r["received_time"] for r in inside]).cast(pl.Datetime("ms", "UTC")).dt.convert_time_zone(zone)
    assert ((local.dt.hour() >= 9) & (local.dt.hour() < 17) & (local.dt.weekday() <= 5)).all()
    r = client.post("/api/public/reports/report/incoming_post",
                    params={"companyKey": "demo", "startTime": 0, "endTime": DAY, "businessHourType": "true"})
    assert r.status_code == 400 and "enableBusinessHour" in r.json()["message"]


def test_parameters_may_come_as_a_form_or_json_body(client, world):
    fields = {"companyKey": "demo", "startTime": str(world.now_ms - DAY), "endTime": str(world.now_ms),
              "reportMetrics": ["response_id", "published_time"]}
    r = client.post("/api/public/reports/report/response", data=fields)
    assert r.status_code == 200, r.text
    job = r.json()["result"]
    rows = json.loads(client.get(client.get(job["statusUrl"]).json()["result"]["jobInfo"]["downloadUrl"]).content)
    assert rows and list(rows[0]) == ["response_id", "published_time"]
    r = client.post("/api/public/reports/report/response", json={**fields, "startTime": world.now_ms - DAY})
    assert r.status_code == 200, r.text
    r = client.post("/api/public/reports/report/response", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]
