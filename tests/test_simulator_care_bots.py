"""Contract tests of the simulator's Care v2 and Bot v3 routes, its limits, faults and own routes (plain httpx).

In process (the ASGI app through ``InProcessASGITransport``), except the tests of the real server and the CLI,
which are marked ``integration``."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime

import httpx
import polars as pl
import pytest

from dashboard.khoros._http import InProcessASGITransport
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.server import start_simulator
from dashboard.simulator.world import WorldConfig, generate_world

END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
DAY = 86_400_000


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
def care(app):
    with sim_http(app, auth=("demo", "demo")) as c:
        yield c


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_author_by_id_list_paging_and_changed(care, world):
    author = world.tables["author"].sort("updated_time").row(-1, named=True)  # a recent version
    r = care.get(f"/api/v2/authors/{author['author_id']}")
    assert r.status_code == 200 and r.json()["status"] == "success"
    (payload,) = r.json()["data"]
    handle = payload["handles"][author["network"]][0]
    assert handle["lswUuid"] == author["author_id"] and handle["screenName"] == author["handle"]
    assert payload["attributes"]["tier"] == author["tier"]
    page = care.get("/api/v2/authors").json()["data"]
    assert len(page["personList"]) == 30 and page["nextPageUrl"].endswith("offset=30")
    n_authors = world.tables["author"]["author_id"].n_unique()
    last = care.get("/api/v2/authors", params={"offset": n_authors - 5}).json()["data"]
    assert len(last["personList"]) == 5 and "nextPageUrl" not in last
    t = ms(author["updated_time"])
    changed = care.get("/api/v2/authors/changed", params={"startEpochMillis": t - 1000, "endEpochMillis": t + 1})
    assert author["author_id"] in changed.json()["data"]
    too_long = care.get("/api/v2/authors/changed", params={"startEpochMillis": 0, "endEpochMillis": DAY + 1})
    assert too_long.status_code == 400 and "24 hours" in too_long.json()["message"]
    assert care.get("/api/v2/authors/changed").status_code == 400
    assert care.get("/api/v2/authors/not-a-real-id").status_code == 404


def test_tier_changes_are_author_versions(world):
    versions = world.tables["author"].group_by("author_id").agg(pl.len(), pl.col("tier").n_unique().alias("tiers"))
    changed = versions.filter(pl.col("len") > 1)
    assert changed.height > 0 and (changed["tiers"] == 2).all()
    first = world.tables["author"].group_by("author_id").agg(pl.col("updated_time").min())
    first_post = world.tables["conversation"].group_by("author_id").agg(pl.col("created_time").min())
    joined = first.join(first_post, on="author_id")
    assert (joined["updated_time"] == joined["created_time"]).all(), "first version at the first inbound post"


def test_author_by_network_address_and_conversations(care, world):
    conv = world.tables["conversation"].filter(pl.col("network") == "whatsapp").row(0, named=True)
    payload = care.get(f"/api/v2/authors/{conv['author_id']}").json()["data"][0]
    handle = payload["handles"]["whatsapp"][0]
    by_id = care.get(f"/api/v2/authors/networks/whatsapp/ids/{handle['id']}").json()["data"]
    assert by_id[0]["handles"]["whatsapp"][0]["lswUuid"] == conv["author_id"]
    by_handle = care.get(f"/api/v2/authors/networks/whatsapp/handles/{handle['screenName']}").json()["data"]
    assert conv["author_id"] in {a["handles"]["whatsapp"][0]["lswUuid"] for a in by_handle}
    start = ms(conv["created_time"]) - 1000
    ids = care.get(f"/api/v2/authors/{conv['author_id']}/conversations",
                   params={"startEpochMillis": start}).json()["data"]
    assert conv["conversation_id"] in ids
    ids = care.get(f"/api/v2/conversations/networks/whatsapp/instances/default/ids/{handle['id']}",
                   params={"startEpochMillis": start}).json()["data"]
    assert conv["conversation_id"] in ids
    bad = care.get("/api/v2/authors/networks/myspace/ids/1")
    assert bad.status_code == 400 and "Unsupported author data container format" in bad.json()["message"]


def test_author_attribute_update_by_put(care, world):
    author = world.tables["author"].filter(pl.col("network") == "brand_messenger").row(0, named=True)
    r = care.put(f"/api/v2/authors/{author['author_id']}", json={"tier": "Platinum", "vip_note": "called CEO"})
    assert r.status_code == 200
    assert r.json()["data"][0]["attributes"]["tier"] == "Platinum"
    assert care.get(f"/api/v2/authors/{author['author_id']}").json()["data"][0]["attributes"]["vip_note"] == (
        "called CEO")
    assert care.put(f"/api/v2/authors/{author['author_id']}", content=b"not json").status_code == 400
    social = world.tables["author"].filter(pl.col("network") == "twitter").row(0, named=True)
    assert care.put(f"/api/v2/authors/{social['author_id']}", json={"tier": "Gold"}).status_code == 400


def test_conversation_by_id_and_display_id_agree_with_the_exports(care, world):
    conv = world.tables["conversation"].filter(pl.col("status") == "CLOSED").row(3, named=True)
    data = care.get(f"/api/v2/conversations/{conv['conversation_id']}").json()["data"]
    assert data["lswUuid"] == conv["conversation_id"] and data["displayNumber"] == conv["conversation_display_id"]
    assert data["status"] == "CLOSED" and data["closeDate"] == ms(conv["closed_time"])
    assert data["priority"] == conv["priority"] and data["workQueue"]["id"] == conv["work_queue_id"]
    n_posts = world.tables["incoming_post"].filter(pl.col("conversation_id") == conv["conversation_id"]).height
    n_resp = world.tables["response"].filter(pl.col("conversation_id") == conv["conversation_id"]).height
    assert len(data["messages"]) == n_posts + n_resp
    by_display = care.get(f"/api/v2/conversations/displayIds/{conv['conversation_display_id']}").json()["data"]
    assert by_display[0]["lswUuid"] == conv["conversation_id"]
    assert care.get("/api/v2/conversations/displayIds/abc").status_code == 400
    missing = care.get("/api/v2/conversations/nope")
    assert missing.status_code == 404 and missing.json() == {"status": "fail",
                                                             "message": "No conversation found with id nope"}


def test_reference_data(care, world):
    queues = care.get("/api/v2/workqueues/active").json()
    assert "status" not in queues and {q["id"] for q in queues["data"]} == set(world.work_queues["id"])
    tags = care.get("/api/v2/tags").json()
    assert tags["status"] == "success" and "Automatic Bot Handoff" in {t["name"] for t in tags["data"]}
    states = care.get("/api/v2/agentstate").json()["data"]
    assert {"OFFLINE", "AVAILABLE", "CUSTOM"} == {s["type"] for s in states}
    assert care.get("/api/v2/smartviews").json()["status"] == "success"


def test_care_needs_basic_auth(app):
    with sim_http(app) as anonymous:
        r = anonymous.get("/api/v2/tags")
        assert r.status_code == 401 and r.json() == {"status": "fail", "message": "Unauthorized"}
        assert anonymous.get("/api/v2/tags", auth=("demo", "nope")).status_code == 401


def test_bot_token_lifecycle_and_records(world):
    app_id = world.bots["app_id"][0]
    opts = SimulatorOptions(token_grace_s=0.5)
    app = create_app(world, opts)
    with sim_http(app, auth=("demo", "demo")) as care:
        assert care.get(f"/api/v2/tokens/khorosapi/ownerId/{app_id}").status_code == 404
        created = care.post(f"/api/v2/tokens/khorosapi/ownerId/{app_id}").json()
        assert created["status"] == "success"
        token = created["data"]["token"]
        assert created["data"]["expiresAtMillis"] > time.time() * 1000 + 89 * DAY
        again = care.post(f"/api/v2/tokens/khorosapi/ownerId/{app_id}")
        assert again.status_code == 409 and again.json()["message"] == "A token at this path already exists."
        assert care.get(f"/api/v2/tokens/khorosapi/ownerId/{app_id}").json()["data"]["token"] == token
        assert care.post("/api/v2/tokens/khorosapi/ownerId/no-such-bot").status_code == 404
        bot = sim_http(app, headers={"Authorization": f"Bearer {token}"})
        listed = bot.get(f"/bots/v3/request/appId/{app_id}", params={"from": "3d"})
        assert listed.status_code == 200 and listed.headers["x-amzn-RequestId"] == listed.json()["requestId"]
        records = listed.json()["data"]
        expected = world.tables["bot_request"].filter(
            (pl.col("app_id") == app_id) & (pl.col("created_time") >= pl.lit(world.now_ms - 3 * DAY).cast(
                pl.Datetime("ms", "UTC"))))
        assert len(records) == min(expected.height, 1000)
        rec = records[0]
        assert {"id", "appId", "origin", "state", "details", "payload", "createdEpochMillis",
                "completedEpochMillis", "lastUpdatedEpochMillis"} <= set(rec)
        assert isinstance(rec["payload"], str)
        one = bot.get(f"/bots/v3/request/{rec['id']}").json()["data"]
        assert one == rec
        errors = bot.get(f"/bots/v3/request/appId/{app_id}",
                         params=[("from", "21d"), ("state", "ERROR"), ("state", "PENDING"), ("origin", "KHOROS")])
        assert {r["state"] for r in errors.json()["data"]} <= {"ERROR", "PENDING"}
        assert {r["origin"] for r in errors.json()["data"]} == {"KHOROS"}
        assert all(r["details"]["code"] not in ("200", "202") for r in errors.json()["data"] if r["details"])
        bad = bot.get(f"/bots/v3/request/appId/{app_id}", params={"from": "yesterday"})
        assert bad.status_code == 400 and bad.json()["error"]["messages"] == ['Incorrect syntax in "from"']
        assert bot.get(f"/bots/v3/request/appId/{app_id}", params={"from": "32d"}).status_code == 400
        assert bot.get("/bots/v3/request/nope").json()["error"]["messages"] == ["nope not found"]
        other = world.bots["app_id"][1]
        assert bot.get(f"/bots/v3/request/appId/{other}").status_code == 403
        regs = bot.get("/bots/v3/registrations").json()["data"]
        assert {r["appId"] for r in regs} == set(world.bots["app_id"])
        # Refresh: a new token; the old one works during the grace period, then not.
        new = bot.put(f"/bots/v3/tokens/appId/{app_id}").json()["data"]["token"]
        assert new != token
        assert bot.get(f"/bots/v3/health/appId/{app_id}").status_code == 200
        time.sleep(0.6)
        stale = bot.get(f"/bots/v3/health/appId/{app_id}")
        assert stale.status_code == 401 and stale.json()["error"]["message"].startswith("Unauthorized")
        fresh = sim_http(app, headers={"Authorization": f"Bearer {new}"})
        assert fresh.delete(f"/bots/v3/tokens/appId/{app_id}").json() == {}
        assert fresh.get(f"/bots/v3/health/appId/{app_id}").status_code == 401
        with sim_http(app) as anonymous:
            assert anonymous.get("/bots/v3/registrations").status_code == 401
            forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
            assert anonymous.get("/bots/v3/registrations",
                                 headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_incidents_show_in_records_and_health(world):
    assert {i["kind"] for i in world.incidents} == {"token_expired", "bad_deploy_4xx", "endpoint_down", "slow"}
    records = world.tables["bot_request"]
    from dashboard.simulator.bots import health_of

    for inc in world.incidents:
        inside = records.filter((pl.col("app_id") == inc["app_id"]) & (pl.col("created_time") >= inc["start"])
                                & (pl.col("created_time") < inc["end"]))
        errors = inside.filter(pl.col("state") == "ERROR")
        assert errors.height > 0, inc["kind"]
        assert (errors["http_code"] == inc["http_code"]).any(), inc["kind"]
        # Messages carry variable parts (ids, numbers) that fingerprinting must normalise.
        assert errors.filter(pl.col("http_code") == inc["http_code"])["message"].n_unique() > 1, inc["kind"]
        if inc["kind"] == "slow":
            latency = (inside["completed_time"] - inside["created_time"]).dt.total_milliseconds()
            assert latency.median() > 5000
    down = next(i for i in world.incidents if i["kind"] == "endpoint_down")
    at = ms(down["start"]) + 5 * 60_000
    assert health_of(records, down["app_id"], at)["status"] == "DOWN"
    assert health_of(records, down["app_id"], ms(down["start"]) - 3600_000)["status"] in ("HEALTHY", "DEGRADED")
    truth = world.truth
    assert truth.filter(pl.col("automatic_handoff")).height > 0
    conv = world.tables["conversation"].join(truth.select("conversation_id", "automatic_handoff"),
                                             on="conversation_id")
    auto_tags = conv.filter(pl.col("tags").list.contains("Automatic Bot Handoff"))
    assert set(auto_tags["conversation_id"]) == set(conv.filter(pl.col("automatic_handoff"))["conversation_id"])
    assert records["payload"].str.contains("sk_live_").any() and records["payload"].str.contains("fullName").any()


def test_rate_limit_answers_429_with_retry_after_and_counts_it(world):
    opts = SimulatorOptions(analytics_per_min=3, care_per_min=2, rate_window_s=1.0)
    with sim_http(create_app(world, opts), auth=("demo", "demo")) as c:
        codes = [c.get("/api/public/teams", params={"companyKey": "demo"}).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = c.get("/api/public/teams", params={"companyKey": "demo"})
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json() == {"status": "fail", "message": "Rate limit exceeded"}
        assert [c.get("/api/v2/authors").status_code for _ in range(3)] == [200, 200, 429]
        assert c.get("/api/v2/tags").status_code == 200, "reference data is not in the author/conversation family"
        time.sleep(1.05)
        assert c.get("/api/public/teams", params={"companyKey": "demo"}).status_code == 200
        stats = c.get("/__simulator__/stats").json()
        assert stats["routes"]["GET /api/public/teams"] == {"200": 4, "429": 3}
        assert stats["throttled"] == 4
        c.post("/__simulator__/stats/reset")
        assert c.get("/__simulator__/stats").json()["total"] == 0


def test_faults_are_seeded_and_of_every_kind(world):
    opts = SimulatorOptions(fault_rate=1.0, seed=5, slow_seconds=0.05, analytics_per_min=10_000,
                            care_per_min=10_000)
    seen = set()
    with sim_http(create_app(world, opts), auth=("demo", "demo")) as c:
        for _ in range(40):
            try:
                r = c.get("/api/v2/tags")
            except httpx.RemoteProtocolError:
                seen.add("dropped")
                continue
            if r.status_code in (500, 503):
                seen.add(r.status_code)
                assert r.json()["status"] == "fail"
            elif r.status_code == 200:
                try:
                    r.json()
                    seen.add("ok-or-slow")
                except ValueError:
                    seen.add("truncated")
        assert {500, 503, "dropped", "truncated", "ok-or-slow"} <= seen
        assert c.get("/__simulator__/stats").status_code == 200, "the simulator's own routes never fault"


def test_truth_route_lists_conversations_bots_and_incidents(care, world):
    body = care.get("/__simulator__/truth", params={"limit": 5}).json()
    assert len(body["conversations"]) == 5
    assert body["bot_app_ids"] == world.bots["app_id"].to_list()
    assert {i["kind"] for i in body["incidents"]} == {i["kind"] for i in world.incidents}
    assert isinstance(body["conversations"][0]["first_inbound_time"], int)
    assert body["schedule"]["timezone"] == "America/New_York"
    assert care.get("/__simulator__/truth", params={"limit": "x"}).status_code == 400


@pytest.mark.integration
def test_stop_frees_the_port_and_the_thread(world):
    s = start_simulator(world, SimulatorOptions())
    port = s.port
    assert httpx.get(f"{s.base_url}/__simulator__/stats").status_code == 200
    s.stop()
    assert not s.running
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # raises if the port were still held
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/__simulator__/stats", timeout=1)
    s.stop()  # stopping twice is harmless


def test_expired_download_link_and_failed_job_faults(world):
    fields = {"startTime": str(world.now_ms - DAY), "endTime": str(world.now_ms)}
    app = create_app(world, SimulatorOptions(fault_rate=1.0, fault_kinds=("expired_link",)))
    with sim_http(app, auth=("demo", "demo")) as c:
        run = c.post("/api/public/reports/report/response", params={"companyKey": "demo"}, data=fields)
        assert run.status_code == 200, "only pre-signed links can expire"
        status = c.get(run.json()["result"]["statusUrl"]).json()["result"]
        link = c.get(status["jobInfo"]["downloadUrl"])
        assert link.status_code == 307
        expired = c.get(link.headers["location"], auth=None)
        assert expired.status_code == 403 and b"Request has expired" in expired.content
    app = create_app(world, SimulatorOptions(fault_rate=1.0, fault_kinds=("failed_job",)))
    with sim_http(app, auth=("demo", "demo")) as c:
        run = c.post("/api/public/reports/report/response", params={"companyKey": "demo"}, data=fields)
        status = c.get(run.json()["result"]["statusUrl"]).json()["result"]
        assert isinstance(status, list) and status[0]["result"]["detail"] == "FAILED"
    with pytest.raises(ValueError, match="fault_kinds"):
        SimulatorOptions(fault_kinds=("meteor",))


@pytest.mark.integration
def test_cli_serves_prints_credentials_and_stops(world, capsys):
    import argparse
    import threading

    from dashboard.simulator import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--port", "0", "--days", "2", "--conversations-per-day", "20", "--seed", "3",
                              "--end", "2026-11-18T15:30:00Z", "--job-seconds", "0", "--username", "ann",
                              "--password", "pw", "--company-key", "acme"])
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(cli.run(args, stop_event=stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        base = None
        while base is None and time.monotonic() < deadline:
            out = capsys.readouterr().out
            for line in out.splitlines():
                if "listening on" in line:
                    base = line.rsplit(" ", 1)[-1]
            time.sleep(0.05)
            if out:
                printed = out
        assert base, "the CLI printed its base URL"
        assert "username=ann password=pw companyKey=acme" in printed
        r = httpx.get(f"{base}/api/public/teams", params={"companyKey": "acme"}, auth=("ann", "pw"))
        assert r.status_code == 200
    finally:
        stop.set()
        thread.join(15)
    assert result == [0]


def test_cli_rejects_bad_arguments(capsys):
    import argparse

    from dashboard.simulator import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--fault-rate", "2"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--end", "tomorrow"])
    args = parser.parse_args(["--days", "0", "--port", "0"])
    assert cli.run(args) == 2
    assert "days must be between" in capsys.readouterr().err


def test_unknown_routes_and_methods_get_envelopes_not_html(care):
    r = care.get("/api/public/reports/nothing/here", params={"companyKey": "demo"})
    assert r.status_code == 404 and r.json()["status"] == "FAIL"
    r = care.delete("/api/v2/tags")
    assert r.status_code == 405 and r.json()["status"] == "fail"
    r = care.get("/bots/v3/nowhere")
    assert r.status_code == 404 and "nowhere" in r.json()["error"]["messages"][0]


def test_every_route_answers_and_is_counted(world):
    """Call each route of the three families once (plain httpx); the stats must list every route template."""
    from starlette.routing import Route

    conv = world.tables["conversation"].filter(pl.col("network") == "whatsapp").row(0, named=True)
    author = world.tables["author"].filter(pl.col("author_id") == conv["author_id"]).row(0, named=True)
    post = world.tables["incoming_post"].filter(pl.col("conversation_id") == conv["conversation_id"]).row(0,
                                                                                                         named=True)
    app_id = world.bots["app_id"][1]
    window = {"startEpochMillis": ms(conv["created_time"]) - 1000}
    app = create_app(world, SimulatorOptions(analytics_per_min=10_000, care_per_min=10_000))
    with sim_http(app, auth=("demo", "demo")) as c:
        net_id = c.get(f"/api/v2/authors/{author['author_id']}").json()["data"][0]["handles"]["whatsapp"][0]["id"]
        handle = author["handle"]
        base = "/api/v2/authors/networks/whatsapp"
        calls = [
            ("GET", "/api/public/config/timezones", {"companyKey": "demo"}, None),
            ("GET", "/api/public/teams", {"companyKey": "demo"}, None),
            ("GET", "/api/v2/authors", None, None),
            ("GET", "/api/v2/authors/changed", window, None),
            ("GET", f"{base}/ids/{net_id}", None, None),
            ("PUT", f"{base}/ids/{net_id}", None, {"segment": "A"}),
            ("GET", f"{base}/instances/default/ids/{net_id}", None, None),
            ("PUT", f"{base}/instances/default/ids/{net_id}", None, {"segment": "B"}),
            ("GET", f"{base}/handles/{handle}", None, None),
            ("GET", f"{base}/instances/default/handles/{handle}", None, None),
            ("GET", f"{base}/ids/{net_id}/conversations", window, None),
            ("GET", f"{base}/instances/default/ids/{net_id}/conversations", window, None),
            ("GET", f"{base}/handles/{handle}/conversations", window, None),
            ("GET", f"{base}/instances/default/handles/{handle}/conversations", window, None),
            ("GET", f"/api/v2/authors/{author['author_id']}/conversations", window, None),
            ("GET", f"/api/v2/authors/{author['author_id']}", None, None),
            ("PUT", f"/api/v2/authors/{author['author_id']}", None, {"segment": "C"}),
            ("GET", f"/api/v2/conversations/displayIds/{conv['conversation_display_id']}", None, None),
            ("GET", f"/api/v2/conversations/bySourceDocumentId/networks/whatsapp/instances/default/id/"
                    f"{post['post_id']}", None, None),
            ("GET", f"/api/v2/conversations/networks/whatsapp/instances/default/ids/{net_id}", window, None),
            ("GET", f"/api/v2/conversations/{conv['conversation_id']}", None, None),
            ("GET", "/api/v2/workqueues/active", None, None),
            ("GET", "/api/v2/smartviews", None, None),
            ("GET", "/api/v2/tags", None, None),
            ("GET", "/api/v2/agentstate", None, None),
            ("POST", f"/api/v2/tokens/khorosapi/ownerId/{app_id}", None, None),
            ("GET", f"/api/v2/tokens/khorosapi/ownerId/{app_id}", None, None),
        ]
        for method, path, params, body in calls:
            r = c.request(method, path, params=params, json=body)
            assert r.status_code == 200, (method, path, r.text)
        assert conv["conversation_id"] in c.get(f"{base}/ids/{net_id}/conversations", params=window).json()["data"]
        assert c.put(f"{base}/ids/{net_id}", json={"x": 1}).json()["data"][0]["attributes"]["segment"] == "C"
        assert c.get("/api/public/reports/report/author", params={"companyKey": "demo", "startTime": 0,
                                                                  "endTime": DAY}).status_code == 200
        job = c.post("/api/public/reports/report/author", params={"companyKey": "demo"},
                     data={"startTime": world.now_ms - DAY, "endTime": world.now_ms})
        status = c.get(job.json()["result"]["statusUrl"]).json()["result"]
        link = c.get(status["jobInfo"]["downloadUrl"])
        assert link.status_code == 307 and c.get(link.headers["location"], auth=None).status_code == 200
        assert c.get("/api/v2/bots/currentTAR", params={"timeRangeInMillis": 7 * DAY}).status_code == 200
        token = c.get(f"/api/v2/tokens/khorosapi/ownerId/{app_id}").json()["data"]["token"]
        bot = sim_http(app, headers={"Authorization": f"Bearer {token}"})
        record = bot.get(f"/bots/v3/request/appId/{app_id}", params={"from": "21d"}).json()["data"][0]
        for path in (f"/bots/v3/request/{record['id']}", f"/bots/v3/health/appId/{app_id}", "/bots/v3/registrations",
                     f"/bots/v3/registrations/appId/{app_id}"):
            assert bot.get(path).status_code == 200, path
        new_token = bot.put(f"/bots/v3/tokens/appId/{app_id}").json()["data"]["token"]
        fresh = sim_http(app, headers={"Authorization": f"Bearer {new_token}"})
        assert fresh.delete(f"/bots/v3/tokens/appId/{app_id}").status_code == 200
        stats = c.get("/__simulator__/stats").json()["routes"]
        served = {f"{m} {r.path}" for r in app.routes if isinstance(r, Route)
                  for m in (r.methods or set()) - {"HEAD"} if not r.path.startswith("/__simulator__")}
        assert served <= set(stats), sorted(served - set(stats))


def test_status_polls_and_downloads_count_against_the_analytics_limit(world):
    opts = SimulatorOptions(analytics_per_min=3, rate_window_s=60)
    with sim_http(create_app(world, opts), auth=("demo", "demo")) as c:
        job = c.post("/api/public/reports/report/author", params={"companyKey": "demo"},
                     data={"startTime": world.now_ms - DAY, "endTime": world.now_ms})
        status = c.get(job.json()["result"]["statusUrl"])
        download = c.get(status.json()["result"]["jobInfo"]["downloadUrl"])
        assert [job.status_code, status.status_code, download.status_code] == [200, 200, 307]
        # the pre-signed link is object storage, not the Analytics API: no quota, counted apart
        assert c.get(download.headers["location"], auth=None).status_code == 200
        again = c.get(job.json()["result"]["statusUrl"])
        assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 60
        stats = c.get("/__simulator__/stats").json()
        assert (stats["total"], stats["downloads"], stats["throttled"]) == (4, 1, 1)


def test_display_id_lookup_processes_at_most_20_and_lists_the_rest_in_meta(care, world):
    numbers = world.tables["conversation"].sort("conversation_display_id")["conversation_display_id"].to_list()
    asked = [*numbers[:25], 1]  # 26 ids: 25 real, one that does not exist
    body = care.get(f"/api/v2/conversations/displayIds/{','.join(map(str, asked))}").json()
    assert body["status"] == "success" and len(body["data"]) == 20
    assert {c["displayNumber"] for c in body["data"]} == set(asked[:20])
    assert body["_meta"]["message"] == "Some conversations could not be processed."
    assert body["_meta"]["displayIds"] == asked[20:]
    one = care.get(f"/api/v2/conversations/displayIds/{numbers[0]},1").json()
    assert len(one["data"]) == 1 and one["_meta"]["displayIds"] == [1]
    assert "_meta" not in care.get(f"/api/v2/conversations/displayIds/{numbers[0]}").json()


def test_bot_records_carry_the_event_in_the_documented_payload_only(world):
    app_id = world.bots["app_id"][0]
    app = create_app(world, SimulatorOptions())
    with sim_http(app, auth=("demo", "demo")) as care:
        token = care.post(f"/api/v2/tokens/khorosapi/ownerId/{app_id}").json()["data"]["token"]
    with sim_http(app, headers={"Authorization": f"Bearer {token}"}) as bot:
        records = bot.get(f"/bots/v3/request/appId/{app_id}", params={"from": "21d"}).json()["data"]
    assert records
    documented = {"id", "companyKey", "externalId", "networkKey", "appId", "callbackUrl", "origin", "state",
                  "details", "payload", "createdEpochMillis", "completedEpochMillis", "lastUpdatedEpochMillis"}
    assert {k for r in records for k in r} == documented  # no eventType / conversationId of our own
    operations = {}
    for r in records:
        event = json.loads(r["payload"])
        assert event["type"] in {"message", "update", "control", "resolve"}
        if "operation" in event:
            operations[event["operation"]] = event
    assert set(operations) == {"CREATED", "CLOSED", "AGENT_RESPONSE"}
    for op, event in operations.items():
        assert event["type"] == "update" and set(event["conversation"]) == {"displayId", "conversationUuid"}
        assert event["conversation"]["conversationUuid"] in set(world.tables["conversation"]["conversation_id"])
        assert ("agentResponse" in event) == (op == "AGENT_RESPONSE")


def test_permissions_clock_and_dropped_columns_can_be_faulty(world):
    from email.utils import parsedate_to_datetime

    app_id = world.bots["app_id"][0]
    opts = SimulatorOptions(forbidden_families=("author", "bot"), clock_skew_s=3600,
                            drop_export_columns=("conversation:STATUS",))
    with sim_http(create_app(world, opts), auth=("demo", "demo")) as c:
        denied = c.get("/api/v2/authors/changed", params={"startEpochMillis": 0})
        assert denied.status_code == 403 and "no permission for the author API" in denied.json()["message"]
        assert c.post(f"/api/v2/tokens/khorosapi/ownerId/{app_id}").status_code == 403  # no Bot API role
        tags = c.get("/api/v2/tags")
        assert tags.status_code == 200
        skew = (parsedate_to_datetime(tags.headers["date"]) - datetime.now(UTC)).total_seconds()
        assert 3590 < skew < 3610
        job = c.post("/api/public/reports/report/conversation", params={"companyKey": "demo"},
                     data={"startTime": world.now_ms - DAY, "endTime": world.now_ms})
        status = c.get(job.json()["result"]["statusUrl"]).json()["result"]
        link = c.get(status["jobInfo"]["downloadUrl"]).headers["location"]
        rows = json.loads(c.get(link, auth=None).content)
        assert rows and "STATUS" not in rows[0] and "CONVERSATION_ID" in rows[0]
    with pytest.raises(ValueError, match="forbidden_families"):
        SimulatorOptions(forbidden_families=("email",))
    with pytest.raises(ValueError, match="drop_export_columns"):
        SimulatorOptions(drop_export_columns=("STATUS",))
