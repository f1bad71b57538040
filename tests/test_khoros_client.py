"""The Khoros client against scripted answers (httpx.MockTransport): job flow, retries, errors, tokens.

The scripted answers follow Khoros' documented shapes: job creation is a POST with companyKey in the query and
a form body; ``/download`` answers 307 to a pre-signed link that refuses credentials."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from dashboard import khoros
from dashboard.khoros import (
    AuthenticationError,
    ExportJobFailed,
    ExportJobTimeout,
    ExportLinkExpired,
    KhorosClient,
    PollPolicy,
    RateLimitError,
    RequestRejectedError,
    RetryPolicy,
    ServerError,
    TransportError,
)

PASSWORD = "pw-Secret-9931"
COMPANY_KEY = "ck-Hidden-4471"
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 8, tzinfo=UTC)
ROWS = [{"post_id": "p1", "conversation_id": "c1", "author_id": "a1", "network": "twitter",
         "received_time": 1791000000000}]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(handler: Callable[[httpx.Request], httpx.Response], **kw) -> tuple[KhorosClient, Sleeps]:
    sleeps = Sleeps()
    client = KhorosClient(
        tenant="t", analytics_url="https://analytics.example/api/public", care_url="https://care.example",
        bot_url="https://bots.example", company_key=COMPANY_KEY, username="user-x", password=PASSWORD,
        bot_app_id=kw.pop("bot_app_id", "app-1"), transport=httpx.MockTransport(handler), sleep=sleeps,
        poll=kw.pop("poll", PollPolicy(first_delay_s=1.0, factor=2.0, max_delay_s=8.0, timeout_s=60.0)),
        retry=kw.pop("retry", RetryPolicy(attempts=4, throttled_attempts=4, base_s=0.5, cap_s=4.0)),
        **kw,
    )
    return client, sleeps


def analytics(result, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"status": "PASS", "request": None, "message": None, "result": result})


def form(request: httpx.Request) -> dict[str, list[str]]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return parse_qs(request.content.decode(), keep_blank_values=True)


class FakeAnalytics:
    """Khoros' export job flow with scripted job outcomes and quirks.

    ``expired``: how many times a job's pre-signed link answers 403 before it works (``-1``: always)."""

    def __init__(self, outcomes: list[str] | None = None, running_polls: int = 1, body: bytes | None = None,
                 expired: int = 0, storage_host: str = "storage.example"):
        self.outcomes = list(outcomes or ["ok"])
        self.running_polls = running_polls
        self.body = body if body is not None else json.dumps(ROWS).encode()
        self.expired = expired
        self.storage_host = storage_host
        self.requests: list[httpx.Request] = []
        self.jobs: dict[str, dict] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.url.host == self.storage_host and path.startswith("/signed/"):
            if "authorization" in request.headers:  # object storage refuses a second auth mechanism
                return httpx.Response(400, content=b"<Error><Code>InvalidArgument</Code></Error>")
            job = self.jobs[path.split("/")[2]]
            job["fetches"] += 1
            if self.expired < 0 or job["fetches"] <= self.expired:
                return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code>"
                                                   b"<Message>Request has expired</Message></Error>")
            return httpx.Response(200, content=self.body, headers={"content-type": "application/json"})
        if request.method == "POST" and path.startswith("/api/public/reports/report/"):
            n = len(self.jobs) + 1
            wf, run = f"wf-{n}", f"run+{n}/=="
            self.jobs[wf] = {"polls": 0, "outcome": self.outcomes[min(n, len(self.outcomes)) - 1], "fetches": 0}
            encoded = run.replace("+", "%2B").replace("/", "%2F")
            base = f"https://analytics.example/api/public/reports/report/{wf}/{encoded}"
            self.jobs[wf]["base"] = base
            return analytics({"workflowId": wf, "runId": run, "downloadUrl": "",
                              "statusUrl": f"{base}/status?companyKey={COMPANY_KEY}"})
        m = re.match(r"/api/public/reports/report/(wf-\d+)/.+/(status|download)$", path)
        if m:
            wf = m.group(1)
            job = self.jobs[wf]
            if m.group(2) == "status":
                job["polls"] += 1
                if job["polls"] <= self.running_polls or job["outcome"] == "never":
                    inner = {"runnerState": "RUNNING", "reason": None, "detail": ""}
                    return analytics([{"jobInfo": {"downloadUrl": ""}, "result": inner}])
                if job["outcome"] == "fail":
                    inner = {"runnerState": "CLOSED", "reason": "boom", "detail": "FAILED"}
                    return analytics([{"jobInfo": {"downloadUrl": ""}, "result": inner}])
                inner = {"runnerState": "CLOSED", "reason": None, "detail": "COMPLETED"}
                return analytics({"jobInfo": {"downloadUrl": f"{job['base']}/download?companyKey={COMPANY_KEY}"},
                                  "result": inner})
            return httpx.Response(307, headers={
                "Location": f"https://{self.storage_host}/signed/{wf}/file.json?X-Amz-Signature=abc"})
        return httpx.Response(404, json={"status": "fail", "message": f"no route {path}"})


def test_httpx_is_imported_in_exactly_one_module():
    package = Path(khoros.__file__).parent
    importing = sorted(p.name for p in package.rglob("*.py")
                       if re.search(r"^\s*(import httpx|from httpx)", p.read_text(), re.MULTILINE))
    assert importing == ["_http.py"]


def test_run_export_follows_the_job_flow_with_the_fewest_requests():
    fake = FakeAnalytics(running_polls=1)
    client, sleeps = make_client(fake)
    dl = client.run_export("incoming_post", START, END)
    assert json.loads(dl.body) == ROWS
    assert (dl.workflow_id, dl.run_id, dl.fmt, dl.jobs, dl.links) == ("wf-1", "run+1/==", "json", 1, 1)
    # run, one RUNNING poll, one CLOSED poll, /download (307), then the pre-signed link
    assert [(r.method, r.url.host) for r in fake.requests] == [
        ("POST", "analytics.example"), ("GET", "analytics.example"), ("GET", "analytics.example"),
        ("GET", "analytics.example"), ("GET", "storage.example")]
    assert dl.requests == 4 and client.stats.downloads == 1  # Khoros calls; the storage GET is not one
    run = fake.requests[0]
    assert run.url.path == "/api/public/reports/report/incoming_post"
    assert dict(run.url.params) == {"companyKey": COMPANY_KEY}  # only companyKey in the query of a POST
    body = form(run)
    assert body["reportFormat"] == ["json"] and body["timezone"] == ["UTC"]
    assert body["startTime"] == [str(int(START.timestamp() * 1000))]
    assert body["endTime"] == [str(int(END.timestamp() * 1000))]
    assert "reportMetrics" not in body  # every column, by default
    assert run.headers["authorization"] == "Basic " + base64.b64encode(f"user-x:{PASSWORD}".encode()).decode()
    # the statusUrl is used as returned, without a second companyKey
    assert fake.requests[1].url.params.get_list("companyKey") == [COMPANY_KEY]
    # the pre-signed link gets no credentials and no query of ours
    signed = fake.requests[-1]
    assert "authorization" not in signed.headers and "companyKey" not in str(signed.url)
    # polls back off: first delay, then x2
    assert sleeps.calls == [1.0, 2.0]


def test_a_redirect_to_the_same_host_still_carries_no_credentials():
    # httpx would keep Authorization on a same-origin redirect; the client follows 307s itself.
    fake = FakeAnalytics(running_polls=0, storage_host="analytics.example")
    client, _ = make_client(fake)
    client.run_export("incoming_post", START, END)
    signed = fake.requests[-1]
    assert signed.url.path.startswith("/signed/") and "authorization" not in signed.headers


def test_filters_are_mapped_and_unknown_filters_refused():
    fake = FakeAnalytics(running_polls=0)
    client, _ = make_client(fake)
    client.run_export("conversation", START, END, report_type="CREATED", priorities=[0, 1], work_queue_ids=(3,))
    q = form(fake.requests[0])
    assert q["conversationReportType"] == ["CREATED"] and q["priorities"] == ["0,1"] and q["workqueueIds"] == ["3"]
    client.run_export("conversation", START, END, timezone="America/Chicago")
    assert form(fake.requests[-4])["timezone"] == ["America/Chicago"]  # POST, status, /download, link
    with pytest.raises(ValueError, match="unknown export filter 'colour'"):
        client.run_export("conversation", START, END, colour="red")
    with pytest.raises(ValueError, match="longer than 31 days"):
        client.run_export("conversation", START, START + timedelta(days=32))
    with pytest.raises(ValueError, match="unknown Analytics export"):
        client.run_export("brand_post", START, END)


def test_report_metrics_are_sent_only_from_the_documented_allow_list():
    fake = FakeAnalytics(running_polls=0)
    client, _ = make_client(fake)
    client.run_export("conversation", START, END, metrics=["CONVERSATION_ID", "STATUS"])
    assert form(fake.requests[0])["reportMetrics"] == ["CONVERSATION_ID", "STATUS"]  # repeated, case kept
    sent = len(fake.requests)
    for bad, export in (("conversation_id", "conversation"), ("CREATED_TIME", "conversation"),
                        ("POST_ID", "incoming_post")):
        with pytest.raises(ValueError, match=f"'{bad}' is not a documented column id of the {export}"):
            client.run_export(export, START, END, metrics=[bad])
    assert len(fake.requests) == sent  # refused before anything was sent


def test_a_failed_job_is_run_again_then_reported_with_export_and_window():
    fake = FakeAnalytics(outcomes=["fail", "ok"], running_polls=0)
    client, _ = make_client(fake)
    dl = client.run_export("incoming_post", START, END)
    assert dl.jobs == 2 and dl.workflow_id == "wf-2"

    always = FakeAnalytics(outcomes=["fail"], running_polls=0)
    client, _ = make_client(always, job_attempts=2)
    with pytest.raises(ExportJobFailed) as err:
        client.run_export("incoming_post", START, END)
    assert err.value.export_id == "incoming_post" and err.value.attempts == 2
    assert "2026-10-01T00:00Z..2026-10-08T00:00Z" in str(err.value) and "FAILED" in str(err.value)
    assert COMPANY_KEY not in str(err.value) and PASSWORD not in str(err.value)


def test_an_expired_link_is_asked_for_again_before_the_job_is_run_again():
    fake = FakeAnalytics(running_polls=0, expired=2)
    client, _ = make_client(fake)
    dl = client.run_export("incoming_post", START, END)
    assert (dl.jobs, dl.links, len(fake.jobs)) == (1, 3, 1)  # two fresh links from /download, one job
    downloads = [r for r in fake.requests if r.url.path.endswith("/download")]
    assert len(downloads) == 3

    stale = FakeAnalytics(running_polls=0, expired=-1)
    client, _ = make_client(stale, job_attempts=2)
    with pytest.raises(ExportLinkExpired) as err:
        client.run_export("incoming_post", START, END)
    assert len(stale.jobs) == 2 and "expired" in str(err.value)  # 3 links per job, then the job again
    assert err.value.status == 403 and err.value.url.startswith("https://storage.example/signed/")
    assert "X-Amz-Signature" not in str(err.value)


def test_a_job_that_never_finishes_times_out():
    fake = FakeAnalytics(outcomes=["never"])
    client, sleeps = make_client(fake, job_attempts=1, poll=PollPolicy(1.0, 2.0, 8.0, timeout_s=20.0))
    with pytest.raises(ExportJobTimeout, match="still running"):
        client.run_export("incoming_post", START, END)
    assert sum(sleeps.calls) >= 20.0 and max(sleeps.calls) == 8.0


class Script:
    """Answers a fixed sequence of responses (or exceptions) and records the requests."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok_queues() -> httpx.Response:
    return httpx.Response(200, json={"data": [{"id": 7, "name": "Billing", "archived": False}]})


def test_5xx_and_network_errors_are_retried_with_backoff():
    script = Script(httpx.Response(500, json={"status": "fail", "message": "oops"}),
                    httpx.ConnectError("refused"), ok_queues())
    client, sleeps = make_client(script)
    assert [q.name for q in client.work_queues()] == ["Billing"]
    assert len(script.requests) == 3
    assert len(sleeps.calls) == 2 and 0.25 <= sleeps.calls[0] <= 0.5 and 0.5 <= sleeps.calls[1] <= 1.0
    assert client.stats.retries == 2 and client.stats.requests == 3


def test_429_honours_retry_after_and_gives_up_with_rate_limit_error():
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}, json={"status": "fail"}), ok_queues())
    client, sleeps = make_client(script)
    client.work_queues()
    assert sleeps.calls == [7.0] and client.stats.throttled == 1

    always = Script(httpx.Response(429, headers={"Retry-After": "1"}, json={"status": "fail"}))
    client, _ = make_client(always)
    with pytest.raises(RateLimitError) as err:
        client.work_queues()
    assert len(always.requests) == 4 and err.value.retry_after == 1.0


def test_other_4xx_are_never_retried_and_name_the_call():
    script = Script(httpx.Response(400, json={"status": "fail", "message": f"bad value for {COMPANY_KEY}"}))
    client, sleeps = make_client(script)
    with pytest.raises(RequestRejectedError) as err:
        client.work_queues()
    assert len(script.requests) == 1 and sleeps.calls == []
    assert "GET https://care.example/api/v2/workqueues/active: HTTP 400" in str(err.value)
    assert COMPANY_KEY not in str(err.value)  # a server echoing a secret is scrubbed

    client, _ = make_client(Script(httpx.Response(401, json={"status": "fail", "message": "Unauthorized"})))
    with pytest.raises(AuthenticationError):
        client.tags()


def test_truncated_bodies_are_retried():
    cut = httpx.Response(200, content=b'{"data": [{"id": 7, "na', headers={"content-type": "application/json"})
    script = Script(cut, ok_queues())
    client, _ = make_client(script)
    assert client.work_queues()[0].id == 7 and len(script.requests) == 2

    csv_cut = FakeAnalytics(running_polls=0, body=b"post_id,conversation_id\np1,c")
    csv_cut_calls = {"n": 0}

    def csv_handler(request: httpx.Request) -> httpx.Response:
        response = csv_cut(request)
        if request.url.path.endswith("/download"):
            csv_cut_calls["n"] += 1
            body = b"post_id,conversation_id\np1,c" if csv_cut_calls["n"] == 1 else b"post_id,conversation_id\np1,c1\n"
            return httpx.Response(200, content=body, headers={"content-type": "text/csv"})
        return response

    client, _ = make_client(csv_handler)
    dl = client.run_export("incoming_post", START, END, fmt="csv")
    assert dl.body.endswith(b"c1\n") and csv_cut_calls["n"] == 2


def test_exhausted_retries_raise_without_secrets():
    client, _ = make_client(Script(httpx.ConnectError(f"refused {PASSWORD}")))
    with pytest.raises(TransportError) as err:
        client.work_queues()
    assert PASSWORD not in str(err.value) and "ConnectError" in str(err.value)
    client, _ = make_client(Script(httpx.Response(503, json={"status": "fail", "message": "down"})))
    with pytest.raises(ServerError, match="HTTP 503"):
        client.tags()


def test_reference_data_and_records_are_typed():
    def handler(request: httpx.Request) -> httpx.Response:
        p = request.url.path
        if p == "/api/v2/tags":
            return httpx.Response(200, json={"status": "success", "data": [
                {"tagId": 5, "name": "VIP", "hierarchy": "VIP", "tagState": "ENABLED", "lswUuid": "u"}]})
        if p == "/api/v2/agentstate":
            return httpx.Response(200, json={"status": "success", "data": [
                {"id": "s1", "name": "Lunch", "type": "CUSTOM", "deleted": False}]})
        if p == "/api/public/teams":
            return analytics([{"uuid": "x", "teamId": 3, "name": "Care", "numberOfMembers": 4}])
        if p == "/api/v2/conversations/c-9":
            return httpx.Response(200, json={"status": "success", "data": {
                "lswUuid": "c-9", "displayNumber": 12, "status": "CLOSED", "priority": 2, "workQueue": {"id": 4},
                "assignedToAgent": {"lswUuid": "ag"}, "createDate": 1791000000000, "closeDate": 1791000600000,
                "tags": [{"tagId": 5, "name": "VIP"}]}})
        return httpx.Response(404, json={"status": "fail", "message": "nope"})

    client, _ = make_client(handler)
    assert client.tags()[0].name == "VIP"
    assert client.agent_state_types()[0].type == "CUSTOM"
    assert client.teams()[0].team_id == 3
    conv = client.conversation("c-9")
    assert (conv.status, conv.priority, conv.work_queue_id, conv.tags) == ("CLOSED", 2, 4, ("VIP",))
    assert conv.closed_time - conv.created_time == timedelta(minutes=10)


class FakeBots:
    """Token lifecycle: create (409 when it exists), get, refresh (new token), invalidate; records and health."""

    def __init__(self, expires_in: timedelta = timedelta(days=90)) -> None:
        self.serial = 0
        self.current: str | None = None
        self.expires_in = expires_in
        self.log: list[str] = []

    def issue(self) -> dict:
        self.serial += 1
        self.current = f"jwt-{self.serial}"
        expires = datetime.now(UTC) + self.expires_in
        return {"token": self.current, "expiresAtMillis": int(expires.timestamp() * 1000)}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        p, m = request.url.path, request.method
        self.log.append(f"{m} {p}")
        if p == "/api/v2/tokens/khorosapi/ownerId/app-1":
            if m == "POST":
                if self.current:
                    return httpx.Response(409, json={"status": "fail",
                                                     "message": "A token at this path already exists."})
                return httpx.Response(200, json={"status": "success", "data": self.issue()})
            expires = int((datetime.now(UTC) + self.expires_in).timestamp() * 1000)
            return httpx.Response(200, json={"status": "success",
                                             "data": {"token": self.current, "expiresAtMillis": expires}})
        bearer = request.headers.get("authorization", "")
        if bearer != f"Bearer {self.current}":
            return httpx.Response(401, json={"error": {"message": "Unauthorized"}})
        if p == "/bots/v3/tokens/appId/app-1" and m == "PUT":
            return httpx.Response(200, json={"data": self.issue(), "requestId": "r"})
        if p == "/bots/v3/tokens/appId/app-1" and m == "DELETE":
            self.current = None
            return httpx.Response(200, json={})
        if p == "/bots/v3/health/appId/app-1":
            return httpx.Response(200, json={"data": [{"status": "DEGRADED", "failureCount": 2, "successCount": 23}],
                                             "requestId": "r"})
        if p == "/bots/v3/request/appId/app-1":
            assert request.url.params["from"] == "2h"
            return httpx.Response(200, json={"data": [{
                "id": "q1", "appId": "app-1", "origin": "KHOROS", "state": "ERROR", "companyKey": COMPANY_KEY,
                "details": {"code": "403", "message": "Forbidden"}, "createdEpochMillis": 1791000000000}],
                "requestId": "r"})
        return httpx.Response(404, json={"error": {"messages": ["no"]}})


def test_bot_token_lifecycle_and_status_for_the_ui():
    fake = FakeBots()
    client, _ = make_client(fake)
    assert client.bot_token_status()["state"] == "missing"
    health = client.bot_health()
    assert (health.status, health.failure_count, health.success_count) == ("DEGRADED", 2, 23)
    assert fake.log[0] == "POST /api/v2/tokens/khorosapi/ownerId/app-1"
    status = client.bot_token_status()
    assert status["state"] == "valid" and "token" not in status and status["seconds_left"] > 80 * 86400
    old = fake.current
    client.refresh_bot_token()
    assert fake.current != old
    records = client.bot_request_records(since="2h")
    assert records[0]["code"] == "403" and records[0]["message"] == "Forbidden" and "companyKey" not in records[0]
    # someone else refreshed the token: a 401 makes the client fetch the current one and try once more
    fake.issue()
    assert client.bot_health().status == "DEGRADED"
    assert fake.log[-3:] == ["POST /api/v2/tokens/khorosapi/ownerId/app-1",
                             "GET /api/v2/tokens/khorosapi/ownerId/app-1", "GET /bots/v3/health/appId/app-1"]
    client.invalidate_bot_token()
    assert fake.current is None and client.bot_token_status()["state"] == "missing"


def test_a_token_close_to_expiry_is_refreshed_before_use():
    fake = FakeBots(expires_in=timedelta(days=3))
    client, _ = make_client(fake)
    client.create_bot_token()
    assert client.bot_token_status()["state"] == "expiring"
    client.bot_health()
    assert "PUT /bots/v3/tokens/appId/app-1" in fake.log


def test_from_settings_needs_a_url_or_a_simulator(tmp_path):
    from dashboard.khoros import ConfigurationError
    from dashboard.settings import Settings

    with pytest.raises(ConfigurationError, match="KHOROS_ANALYTICS_URL"):
        KhorosClient.from_settings(Settings(data_dir=tmp_path))
    client = KhorosClient.from_settings(Settings(data_dir=tmp_path, company_key="k"), base_url="http://127.0.0.1:9")
    assert client.analytics_url == "http://127.0.0.1:9/api/public" and client.care_url == "http://127.0.0.1:9"
    assert client.bot_url == "http://127.0.0.1:9"
    client.close()
    tenant = KhorosClient.from_settings(Settings(data_dir=tmp_path, analytics_url="https://a.example",
                                                 company_key="k"))
    with pytest.raises(ConfigurationError, match="KHOROS_CARE_URL is not set"):
        tenant.work_queues()
    with pytest.raises(ConfigurationError, match="KHOROS_USERNAME"):
        tenant.teams()


def test_settled_windows_are_cached_forever_and_open_ones_briefly(tmp_path):
    from dashboard.khoros.cache import ResponseCache

    fake = FakeAnalytics(running_polls=0)
    cache = ResponseCache(tmp_path / "cache", "k", "t")
    expiries: list[float | None] = []
    real_set = cache.set

    def spy(endpoint, params, value, *, expire):
        expiries.append(expire)
        return real_set(endpoint, params, value, expire=expire)

    cache.set = spy  # type: ignore[method-assign]
    client, _ = make_client(fake, cache=cache)
    # a window the caller knows is settled is cached without expiry, and the second call sends nothing
    client.run_export("incoming_post", START, END, settled=True)
    sent = len(fake.requests)
    again = client.run_export("incoming_post", START, END, settled=True)
    assert again.from_cache and again.requests == 0 and len(fake.requests) == sent
    assert (again.time_zone, again.time_format) == ("UTC", None)  # read back the way it was asked for
    # a window that may still change: a short TTL only
    client.run_export("conversation", START, END, report_type="CREATED")
    assert expiries == [None, 300.0]


def test_setup_errors_are_not_retried(tmp_path):
    from dashboard.khoros import ConfigurationError
    from dashboard.settings import Settings

    script = Script(httpx.UnsupportedProtocol("no scheme"))
    client, sleeps = make_client(script)
    with pytest.raises(TransportError, match="UnsupportedProtocol"):
        client.work_queues()
    assert len(script.requests) == 1 and sleeps.calls == []
    with pytest.raises(ConfigurationError, match="KHOROS_CARE_URL must be an http"):
        KhorosClient.from_settings(Settings(data_dir=tmp_path, care_url="care.example.com/api/v2?x=1"))


def test_a_401_on_download_is_an_auth_error_not_an_expired_link():
    fake = FakeAnalytics(running_polls=0)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/download"):
            fake.requests.append(request)
            return httpx.Response(401, json={"status": "FAIL", "message": "Unauthorized"})
        return fake(request)

    client, _ = make_client(handler)
    with pytest.raises(AuthenticationError, match="HTTP 401") as err:
        client.run_export("incoming_post", START, END)
    assert len(fake.jobs) == 1
    assert (err.value.method, err.value.status) == ("GET", 401)
    assert err.value.url == "https://analytics.example/api/public/reports/report/wf-1/run%2B1%2F==/download"


def test_every_khoros_error_is_a_dashboard_error_with_method_redacted_url_and_status():
    from dashboard.errors import DashboardError
    from dashboard.khoros import KhorosError

    client, _ = make_client(Script(httpx.ConnectError(f"refused {PASSWORD}")))
    with pytest.raises(TransportError) as err:
        client.author("a-1")
    assert isinstance(err.value, KhorosError) and isinstance(err.value, DashboardError)
    assert (err.value.method, err.value.url, err.value.status) == ("GET", "https://care.example/api/v2/authors/a-1",
                                                                  None)
    client, _ = make_client(Script(httpx.Response(400, json={"status": "fail", "message": "bad"})))
    with pytest.raises(RequestRejectedError) as err:
        client.changed_author_ids(START, START + timedelta(hours=1))
    assert (err.value.method, err.value.status) == ("GET", 400)
    assert err.value.url == "https://care.example/api/v2/authors/changed"  # no query: it can hold secrets
    assert err.value.where == "GET https://care.example/api/v2/authors/changed"
