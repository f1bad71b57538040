"""Each bullet of "What Khoros documents" (issue 11), client against the simulator, in process.

One test per bullet, named after it; the simulator speaks the documented shape by default and the client reads
it into exactly the world's rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import polars as pl
import pytest

from dashboard import schema
from dashboard.khoros import KhorosClient, NotFoundError, PollPolicy
from dashboard.khoros._http import InProcessASGITransport
from dashboard.settings import Settings
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.world import WorldConfig, generate_world

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
SIM = "http://simulator.test"
FAST = PollPolicy(first_delay_s=0.01, factor=2.0, max_delay_s=0.1, timeout_s=30.0)
ANALYTICS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
             "raw_agent_states", "team_performance")


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=11, days=21, conversations_per_day=60, end=END))


class Recorder(httpx.BaseTransport):
    """The in-process transport, keeping every request the client sent."""

    def __init__(self, app) -> None:
        self.inner = InProcessASGITransport(app)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def client_on(world, tmp_path, **options) -> tuple[KhorosClient, Recorder]:
    recorder = Recorder(create_app(world, SimulatorOptions(analytics_per_min=10_000, care_per_min=10_000,
                                                           **options)))
    settings = Settings(data_dir=tmp_path, username="demo", password="demo", company_key="demo",
                        simulator_end=END, rate_analytics_per_min=10_000, rate_care_per_min=10_000,
                        export_time_format="MM/dd/yyyy HH:mm:ss", bot_app_id=str(world.bots["app_id"][0]))
    client = KhorosClient.from_settings(settings, base_url=SIM, transport=recorder, use_cache=False, poll=FAST)
    return client, recorder


def test_every_export_field_is_a_string(world, tmp_path):
    """Every field a string, times in the company's format, ``*_MILLIS`` durations, upper-case ids — and the
    client reads each export into exactly the world's rows."""
    client, _ = client_on(world, tmp_path)
    start = END - timedelta(days=10)
    for export_id in ANALYTICS:
        download = client.run_export(export_id, start, END, **({"report_type": "CREATED"}
                                                               if export_id == "conversation" else {}))
        rows = json.loads(download.body)
        assert rows and all(isinstance(v, str) for r in rows for v in r.values()), export_id
        assert all(key == key.upper() for key in rows[0]), export_id
        parsed = download.parse()
        assert parsed.quarantine.is_empty(), parsed.quarantine["reason"].head(3).to_list()
        s = schema.EXPORTS[export_id]
        t = pl.col(s.time_column)
        want = world.tables[export_id].filter((t >= start) & (t < END))
        got = parsed.frame.select(want.columns)
        assert got.sort(list(s.key)).equals(want.sort(list(s.key))), export_id
    team = json.loads(client.run_export("team_performance", start, END).body)
    assert "TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS" in team[0]
    client.close()


def test_column_ids_are_case_sensitive_and_only_documented_ids_are_sent(world, tmp_path):
    client, _ = client_on(world, tmp_path)
    start = END - timedelta(days=1)
    download = client.run_export("conversation", start, END, metrics=["CONVERSATION_ID", "STATUS"])
    assert list(json.loads(download.body)[0]) == ["CONVERSATION_ID", "STATUS"]
    with pytest.raises(ValueError, match="not a documented column id"):
        client.run_export("conversation", start, END, metrics=["conversation_id"])
    # the simulator refuses what the client refuses to send: an id in the wrong case is unknown (400 naming it)
    with httpx.Client(transport=InProcessASGITransport(create_app(world)), base_url=SIM, auth=("demo", "demo")) as c:
        r = c.post("/api/public/reports/report/conversation", params={"companyKey": "demo"},
                   data={"startTime": "0", "endTime": "1", "reportMetrics": "Status"})
        assert r.status_code == 400 and "unknown column 'Status'" in r.json()["message"]
    client.close()


def test_export_requests_are_get_with_query_parameters_or_post_with_a_form_body(world, tmp_path):
    client, recorder = client_on(world, tmp_path)
    client.run_export("response", END - timedelta(days=1), END)
    run = recorder.requests[0]
    assert run.method == "POST" and dict(run.url.params) == {"companyKey": "demo"}
    body = parse_qs(run.content.decode())
    assert {"startTime", "endTime", "reportFormat", "timezone"} == set(body)
    with httpx.Client(transport=InProcessASGITransport(create_app(world)), base_url=SIM, auth=("demo", "demo")) as c:
        fields = {"startTime": str(int((END - timedelta(days=1)).timestamp() * 1000)),
                  "endTime": str(int(END.timestamp() * 1000))}
        assert c.get("/api/public/reports/report/response", params={"companyKey": "demo", **fields}).status_code == 200
        assert c.post("/api/public/reports/report/response", params={"companyKey": "demo", **fields}).status_code \
            == 400
        assert c.post("/api/public/reports/report/response", params={"companyKey": "demo"}, json=fields).status_code \
            == 415
    client.close()


def test_download_answers_307_to_a_short_lived_presigned_link(world, tmp_path):
    # seed 8: the first two links of the job have expired when the client gets to them (seeded draws)
    client, recorder = client_on(world, tmp_path, fault_rate=0.5, fault_kinds=("expired_link",), seed=8)
    download = client.run_export("response", END - timedelta(days=3), END)
    assert (download.jobs, download.links) == (1, 3), "an expired link is asked for again; the job is not re-run"
    links = [r for r in recorder.requests if r.url.path.startswith("/signed/")]
    assert len(links) == download.links and all("authorization" not in r.headers for r in links)
    downloads = [r for r in recorder.requests if r.url.path.endswith("/download")]
    assert len(downloads) == download.links and all("authorization" in r.headers for r in downloads)
    assert client.stats.downloads == 3 and download.requests == 2 + 3  # run, one poll, /download three times
    assert len(json.loads(download.body)) == world.tables["response"].filter(
        pl.col("published_time") >= END - timedelta(days=3)).height
    client.close()


def test_conversation_display_id_lookup_takes_at_most_20_ids(world, tmp_path):
    client, recorder = client_on(world, tmp_path)
    numbers = world.tables["conversation"]["conversation_display_id"].head(45).to_list()
    lookup = client.conversations_by_display_id([*numbers, 1, 2])
    calls = [r for r in recorder.requests if "/displayIds/" in r.url.path]
    assert [len(r.url.path.rsplit("/", 1)[-1].split(",")) for r in calls] == [20, 20, 7]
    assert sorted(c.display_number for c in lookup.conversations) == sorted(numbers)
    assert lookup.unprocessed == (1, 2)  # listed in _meta: "Some conversations could not be processed."
    client.close()


def test_bot_api_v3_request_records_carry_the_event_in_payload(world, tmp_path):
    client, _ = client_on(world, tmp_path)
    app = str(world.bots["app_id"][0])
    records = client.bot_request_records(app, since="20d")
    parsed = schema.parse_rows("bot_request", records).frame
    want = world.tables["bot_request"].filter(pl.col("request_id").is_in(parsed["request_id"].implode()))
    assert parsed.height == want.height > 100
    assert parsed.sort("request_id").equals(want.sort("request_id"))  # event_type, conversation_id included
    operations = set(parsed.filter(pl.col("conversation_id").is_not_null())["event_type"])
    assert operations == {"CREATED", "CLOSED", "AGENT_RESPONSE"}
    client.close()


def test_current_tar_returns_khoros_own_time_to_agent_response(world, tmp_path):
    client, recorder = client_on(world, tmp_path)
    both = client.current_tars(timedelta(days=7), priorities=(4, 5), work_queue_ids=(10, 11))
    assert set(both) == {"FIRST", "SUBSEQUENT"}
    for kind, tar in both.items():
        assert tar.response_type == kind and tar.average_ms > 0 and tar.median_ms > 0
    sent = [r for r in recorder.requests if r.url.path == "/api/v2/bots/currentTAR"]
    assert [dict(r.url.params) for r in sent] == [
        {"timeRangeInMillis": str(7 * 86_400_000), "responseType": kind, "priorities": "4,5",
         "workqueueIds": "10,11"} for kind in ("FIRST", "SUBSEQUENT")]
    with pytest.raises(ValueError, match="at most a year"):
        client.current_tar(timedelta(days=400))
    with pytest.raises(NotFoundError, match="No smart view"):
        client.current_tar(timedelta(days=1), smart_view_id=999)
    client.close()


def test_times_are_asked_for_in_utc_so_no_local_hour_repeats(world, tmp_path):
    """Over the night daylight saving ends (1 November), local times repeat an hour; the client asks for UTC.
    Asked for New York time instead, the repeated hour is read as its first occurrence and said so."""
    client, _ = client_on(world, tmp_path)
    start, end = datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC)
    as_utc = client.run_export("conversation_history_action", start, end).parse()
    t = pl.col("action_time")
    want = world.tables["conversation_history_action"].filter((t >= start) & (t < end))
    assert as_utc.frame.select(want.columns).sort("action_id").equals(want.sort("action_id"))
    assert not any("repeats" in n for n in as_utc.notices)
    local = client.run_export("conversation_history_action", start, end, timezone="America/New_York").parse()
    second_hour = want.filter((t >= datetime(2026, 11, 1, 6, tzinfo=UTC)) & (t < datetime(2026, 11, 1, 7,
                                                                                          tzinfo=UTC)))
    if second_hour.height:  # read an hour early: EDT's 01:xx, not EST's
        shifted = local.frame.filter(pl.col("action_id").is_in(second_hour["action_id"].implode()))
        assert (shifted["action_time"] == second_hour.sort("action_id")["action_time"] - timedelta(hours=1)).all()
        assert any("repeats when daylight saving ends" in n for n in local.notices)
    client.close()
