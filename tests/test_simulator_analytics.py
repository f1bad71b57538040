"""Contract tests of the simulator's Analytics Reports API, with plain httpx (not our client), in process.

The simulator speaks what Khoros documents: upper-case column ids, every field a string, times in the
company's format and zone, ``*_MILLIS`` durations, GET or form-POST job creation, and ``/download`` answering 307
to a short-lived pre-signed link."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import polars as pl
import pytest

from dashboard import schema
from dashboard.khoros._http import InProcessASGITransport
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.exports import column_id
from dashboard.simulator.world import WorldConfig, generate_world

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
DAY = 86_400_000
ZONE = ZoneInfo("America/New_York")
US = "%m/%d/%Y %H:%M:%S"


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))


def sim_http(app, **kw) -> httpx.Client:
    """A plain httpx client on the simulator's ASGI app, in this process (no port)."""
    return httpx.Client(transport=InProcessASGITransport(app), base_url="http://simulator.test", timeout=10, **kw)


@pytest.fixture(scope="module")
def app(world):
    return create_app(world, SimulatorOptions(analytics_per_min=10_000, care_per_min=10_000))


@pytest.fixture()
def client(app) -> Iterator[httpx.Client]:
    with sim_http(app, auth=("demo", "demo")) as c:
        yield c


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def run_job(client: httpx.Client, export_id: str, start: int, end: int, **params) -> dict:
    """Create a job the documented POST way: companyKey in the query, the rest as a form body."""
    fields = {"startTime": str(start), "endTime": str(end), **params}
    run = client.post(f"/api/public/reports/report/{export_id}", params={"companyKey": "demo"}, data=fields)
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["status"] == "PASS" and body["request"] is None and body["message"] is None
    job = body["result"]
    assert job["downloadUrl"] == ""
    assert set(job) == {"workflowId", "runId", "downloadUrl", "statusUrl"}
    return job


def download(client: httpx.Client, job: dict) -> bytes:
    status = client.get(job["statusUrl"])
    assert status.status_code == 200
    result = status.json()["result"]
    assert isinstance(result, dict), "a ready job answers with an object"
    assert result["result"]["runnerState"] == "CLOSED" and result["result"]["detail"] == "COMPLETED"
    redirect = client.get(result["jobInfo"]["downloadUrl"])
    assert redirect.status_code == 307
    # The pre-signed link takes no credentials (the caller's Basic auth would be refused).
    link = client.get(redirect.headers["location"], auth=None)
    assert link.status_code == 200, link.text
    return link.content


def run_export(client: httpx.Client, export_id: str, start: int, end: int, **params) -> bytes:
    return download(client, run_job(client, export_id, start, end, **params))


def typed(export_id: str, body: bytes, fmt: str = "json", zone: str = "America/New_York",
          time_format: str = US) -> schema.ParseResult:
    return schema.parse_export_bytes(export_id, body, fmt, times=schema.TimeReading(time_format, zone))


@pytest.mark.parametrize("export_id", [e for e in schema.EXPORTS if e != "bot_request"])
def test_every_export_is_strings_with_upper_case_ids_and_reads_back_as_the_world(client, world, export_id):
    end = world.now_ms
    body = run_export(client, export_id, end - 7 * DAY, end, conversationReportType="CREATED")
    rows = json.loads(body)
    assert isinstance(rows, list) and rows, export_id
    assert all(isinstance(v, str) for row in rows for v in row.values()), "every export field is a string"
    assert all(k == k.upper() for k in rows[0]), list(rows[0])
    result = typed(export_id, body)
    assert result.quarantine.height == 0
    s = schema.export_schema(export_id)
    t = pl.col(s.time_column)
    expected = world.tables[export_id].filter((t >= datetime.fromtimestamp((end - 7 * DAY) / 1000, UTC))
                                               & (t < world.now))
    got = result.frame.select(expected.columns)
    assert got.sort(list(s.key)).equals(expected.sort(list(s.key))), export_id
    # times are local wall-clock text in the company's format
    local = world.tables[export_id].filter(pl.col(s.time_column) >= datetime.fromtimestamp(
        (end - 7 * DAY) / 1000, UTC)).sort(list(s.key)).row(0, named=True)[s.time_column]
    texts = {r[column_id(export_id, s.time_column)] for r in rows}
    assert local.astimezone(ZONE).strftime(US) in texts


def test_durations_are_millisecond_strings(client, world):
    end = world.now_ms
    rows = json.loads(run_export(client, "team_performance", end - 3 * DAY, end, timezone="UTC"))
    assert "TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS" in rows[0] and "LOGGED_IN_SECONDS" not in rows[0]
    team = world.tables["team_performance"]
    seconds = {(r["agent_id"], r["window_start"].strftime(US)): r["logged_in_seconds"]
               for r in team.iter_rows(named=True)}
    assert rows and all(int(r["TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS"]) == 1000 * seconds[(r["AGENT_ID"],
                                                                                          r["WINDOW_START"])]
                        for r in rows)
    assert any(int(r["TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS"]) > 0 for r in rows)


def test_timezone_offset_and_locale_parameters(client, world):
    end = world.now_ms
    start = end - 2 * DAY
    post = world.tables["incoming_post"].filter(pl.col("received_time") >= datetime.fromtimestamp(
        start / 1000, UTC)).sort("post_id").row(0, named=True)
    by = {}
    for name, params in {"company": {}, "utc": {"timezone": "UTC"}, "offset": {"timezoneOffset": "3600000"},
                         "de": {"locale": "de", "timezone": "UTC"}, "gb": {"locale": "en_GB", "timezone": "UTC"}
                         }.items():
        rows = json.loads(run_export(client, "incoming_post", start, end, **params))
        by[name] = next(r["RECEIVED_TIME"] for r in rows if r["POST_ID"] == post["post_id"])
    t = post["received_time"]
    assert by["company"] == t.astimezone(ZONE).strftime(US)
    assert by["utc"] == t.strftime(US)
    assert by["offset"] == (t + timedelta(hours=1)).strftime(US)  # a fixed offset, whatever the season
    assert by["de"] == t.strftime("%d.%m.%Y %H:%M:%S")
    assert by["gb"] == t.strftime("%d/%m/%Y %H:%M:%S")


def test_conversation_report_types_select_created_closed_and_open_at_end(client, world):
    start, end = world.now_ms - 10 * DAY, world.now_ms - 3 * DAY
    conv = world.tables["conversation"]
    lo, hi = datetime.fromtimestamp(start / 1000, UTC), datetime.fromtimestamp(end / 1000, UTC)

    def ids(report_type):
        body = run_export(client, "conversation", start, end, conversationReportType=report_type)
        return set(typed("conversation", body).frame["conversation_id"])

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


def test_csv_has_the_same_ids_and_strings_as_json(client, world):
    end = world.now_ms
    body = run_export(client, "conversation", end - 5 * DAY, end, reportFormat="csv",
                      conversationReportType="CREATED")
    reader = csv.DictReader(io.StringIO(body.decode()))
    header = reader.fieldnames or []
    assert header == [column_id("conversation", c) for c in schema.export_schema("conversation").names]
    assert "ASSIGNED_AGENT_DISPLAY_ID" in header, "Khoros' documented id, not ours"
    parsed = typed("conversation", body, fmt="csv")
    assert parsed.quarantine.height == 0
    as_json = typed("conversation", run_export(client, "conversation", end - 5 * DAY, end,
                                               conversationReportType="CREATED"))
    assert parsed.frame.sort("conversation_id").equals(as_json.frame.sort("conversation_id"))
    assert any(";" in (row["TAGS"] or "") for row in reader), "multi-tag rows are joined by ;"


def test_report_metrics_are_upper_case_ids_and_an_unknown_or_lower_case_id_is_refused(client, world):
    end = world.now_ms
    body = run_export(client, "incoming_post", end - 3 * DAY, end,
                      reportMetrics=["POST_ID", "PRIORITY", "RECEIVED_TIME"], priorities="4,5")
    rows = json.loads(body)
    assert rows and list(rows[0]) == ["POST_ID", "PRIORITY", "RECEIVED_TIME"]
    assert {r["PRIORITY"] for r in rows} <= {"4", "5"}
    body = run_export(client, "conversation", end - 3 * DAY, end,
                      reportMetrics=["CONVERSATION_ID", "STATUS", "ASSIGNED_AGENT_DISPLAY_ID"])
    assert list(json.loads(body)[0]) == ["CONVERSATION_ID", "STATUS", "ASSIGNED_AGENT_DISPLAY_ID"]
    body = run_export(client, "raw_agent_states", end - 3 * DAY, end, teamIds="1")
    assert {r["TEAM_ID"] for r in json.loads(body)} == {"1"}
    for bad in ("post_id", "Post_Id", "NOPE"):
        r = client.post("/api/public/reports/report/incoming_post", params={"companyKey": "demo"},
                        data={"startTime": "0", "endTime": str(DAY), "reportMetrics": bad})
        assert r.status_code == 400 and f"unknown column {bad!r}" in r.json()["message"]


def test_same_world_gives_byte_identical_downloads(world):
    twin = generate_world(WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))
    bodies = []
    for w in (world, twin):
        with sim_http(create_app(w, SimulatorOptions()), auth=("demo", "demo")) as c:
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
        ({"startTime": 0, "endTime": DAY, "locale": "xx"}, 400, "locale"),
        ({"startTime": 0, "endTime": DAY, "conversationReportType": "ALL"}, 400, "conversationReportType"),
        ({"startTime": 0, "endTime": DAY, "priorities": "9"}, 400, "priorities"),
    ],
)
def test_bad_requests_get_a_fail_envelope_naming_the_problem(client, params, status, needle):
    r = client.post("/api/public/reports/report/conversation", params={"companyKey": "demo"}, data=params)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == "FAIL" and needle in body["message"] and body["result"] is None


def test_unknown_export_auth_and_company_key(app, client):
    fields = {"startTime": "0", "endTime": "1"}
    r = client.post("/api/public/reports/report/brand_post", params={"companyKey": "demo"}, data=fields)
    assert r.status_code == 400 and "Unknown export id" in r.json()["message"]
    assert client.post("/api/public/reports/report/conversation", data=fields
                       ).json()["message"].startswith("companyKey is required")
    r = client.post("/api/public/reports/report/conversation", params={"companyKey": "x"}, data=fields)
    assert r.status_code == 401
    with sim_http(app, auth=("demo", "wrong")) as wrong:
        r = wrong.post("/api/public/reports/report/conversation", params={"companyKey": "demo"}, data=fields)
    assert r.status_code == 401 and r.json()["status"] == "FAIL"
    r = client.get("/api/public/reports/report/abc/def/status", params={"companyKey": "demo"})
    assert r.status_code == 404


def test_running_and_failed_jobs_answer_with_a_one_element_array(world):
    with sim_http(create_app(world, SimulatorOptions(job_seconds=30)), auth=("demo", "demo")) as c:
        job = run_job(c, "response", world.now_ms - DAY, world.now_ms)
        assert "%2F" in job["statusUrl"] or "/" not in job["runId"], "runId is URL-encoded in the path"
        status = c.get(job["statusUrl"]).json()["result"]
        assert isinstance(status, list) and len(status) == 1
        assert status[0]["result"]["runnerState"] == "RUNNING" and status[0]["result"]["detail"] == ""
        assert status[0]["jobInfo"]["downloadUrl"] == ""
        early = c.get(job["statusUrl"].replace("/status", "/download"))
        assert early.status_code == 409 and early.json()["status"] == "FAIL"
    with sim_http(create_app(world, SimulatorOptions(failed_job_rate=1.0)), auth=("demo", "demo")) as c:
        job = run_job(c, "response", world.now_ms - DAY, world.now_ms)
        status = c.get(job["statusUrl"]).json()["result"]
        assert isinstance(status, list)
        assert status[0]["result"]["runnerState"] == "CLOSED" and status[0]["result"]["detail"] == "FAILED"
        assert status[0]["jobInfo"]["downloadUrl"] == ""
        gone = c.get(job["statusUrl"].replace("/status", "/download"))
        assert gone.status_code == 410


def test_get_with_query_parameters_works_and_run_id_round_trips(client, world):
    r = client.get("/api/public/reports/report/author",
                   params={"companyKey": "demo", "startTime": world.now_ms - DAY, "endTime": world.now_ms})
    job = r.json()["result"]
    path = httpx.URL(job["statusUrl"]).raw_path.decode()
    assert unquote(path.split("/")[-2]) == job["runId"]
    assert job["runId"].endswith("=") and "%3D" in path
    assert json.loads(download(client, job)) is not None


def test_post_takes_a_form_body_with_only_company_key_in_the_query(client, world):
    fields = {"startTime": str(world.now_ms - DAY), "endTime": str(world.now_ms),
              "reportMetrics": ["RESPONSE_ID", "PUBLISHED_TIME"]}
    rows = json.loads(run_export(client, "response", int(fields["startTime"]), world.now_ms,
                                 reportMetrics=fields["reportMetrics"]))
    assert rows and list(rows[0]) == ["RESPONSE_ID", "PUBLISHED_TIME"]
    # the older lenient shapes are refused, each naming what to do instead
    in_query = client.post("/api/public/reports/report/response", params={"companyKey": "demo", **fields})
    assert in_query.status_code == 400 and "x-www-form-urlencoded" in in_query.json()["message"]
    as_json = client.post("/api/public/reports/report/response", params={"companyKey": "demo"}, json=fields)
    assert as_json.status_code == 415 and "x-www-form-urlencoded" in as_json.json()["message"]


def test_timezones_and_teams(client, world):
    zones = client.get("/api/public/config/timezones", params={"companyKey": "demo"}).json()["result"]
    assert {"id", "name", "shortName", "offsetString", "offsetMillis"} <= set(zones[0])
    assert {"America/New_York", "UTC"} <= {z["id"] for z in zones}
    teams = client.get("/api/public/teams", params={"companyKey": "demo"}).json()["result"]
    assert {t["teamId"] for t in teams} == set(world.teams["team_id"])
    assert sum(t["numberOfMembers"] for t in teams) == world.agents.height


def test_window_end_is_exclusive(client, world):
    first = world.tables["response"].sort("published_time").row(3, named=True)
    t = ms(first["published_time"])
    before = json.loads(run_export(client, "response", t - DAY, t))
    after = json.loads(run_export(client, "response", t, t + DAY))
    assert first["response_id"] not in {r["RESPONSE_ID"] for r in before}
    assert first["response_id"] in {r["RESPONSE_ID"] for r in after}
    assert timedelta(0) < world.now - first["published_time"]


def test_business_hour_filter_splits_rows_inside_and_outside_opening_hours(client, world):
    end = world.now_ms
    everything = json.loads(run_export(client, "incoming_post", end - 7 * DAY, end))
    inside = run_export(client, "incoming_post", end - 7 * DAY, end, enableBusinessHour="true",
                        businessHourType="true")
    outside = json.loads(run_export(client, "incoming_post", end - 7 * DAY, end, enableBusinessHour="true",
                                    businessHourType="false"))
    inside_rows = typed("incoming_post", inside).frame
    assert inside_rows.height and outside and inside_rows.height + len(outside) == len(everything)
    local = inside_rows["received_time"].dt.convert_time_zone(world.config.timezone)
    assert ((local.dt.hour() >= 9) & (local.dt.hour() < 17) & (local.dt.weekday() <= 5)).all()
    r = client.post("/api/public/reports/report/incoming_post", params={"companyKey": "demo"},
                    data={"startTime": "0", "endTime": str(DAY), "businessHourType": "true"})
    assert r.status_code == 400 and "enableBusinessHour" in r.json()["message"]


def test_the_presigned_link_refuses_credentials_and_expires(world, monkeypatch):
    import time

    from dashboard.simulator import app as app_module

    class Later:
        """The simulator's clock, moved on by ``ahead`` seconds (no sleeping in tests)."""

        ahead = 0.0

        @classmethod
        def time(cls) -> float:
            return time.time() + cls.ahead

        @staticmethod
        def monotonic() -> float:
            return time.monotonic()

    monkeypatch.setattr(app_module, "time", Later)
    app = create_app(world, SimulatorOptions(download_link_ttl_s=60))
    with sim_http(app, auth=("demo", "demo")) as c:
        job = run_job(c, "response", world.now_ms - DAY, world.now_ms)
        ready = c.get(job["statusUrl"]).json()["result"]["jobInfo"]["downloadUrl"]
        location = c.get(ready).headers["location"]
        assert location.startswith("http://simulator.test/signed/") and "signature=" in location
        with_auth = c.get(location)  # this client sends Basic auth with every request
        assert with_auth.status_code == 400 and b"Only one auth mechanism allowed" in with_auth.content
        assert c.get(location, auth=None).status_code == 200
        forged = c.get(location.replace("signature=", "signature=0"), auth=None)
        assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
        Later.ahead = 61
        expired = c.get(location, auth=None)
        assert expired.status_code == 403 and b"Request has expired" in expired.content
        fresh = c.get(ready).headers["location"]  # ask /download again: a new link, no new job
        assert fresh != location and c.get(fresh, auth=None).status_code == 200
