"""Automation metrics on small hand-made request records whose answers were worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard.metrics import automation as A
from dashboard.schema import EXPORTS, TIME

T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
APP = "app-1"
_SEQ = iter(range(10**9))


def rec(
    at_s: float,
    state: str = "SUCCESS",
    *,
    latency_ms: int = 300,
    app: str = APP,
    origin: str = "KHOROS",
    code: int | None = None,
    message: str | None = None,
    event_type: str = "message",
    payload: str | None = None,
    conversation_id: str | None = None,
) -> dict:
    created = T0 + timedelta(seconds=at_s)
    done = None if state == "PENDING" else created + timedelta(milliseconds=latency_ms)
    if code is None:
        code = {"SUCCESS": 202, "ERROR": 503, "PENDING": None}[state]
    return {
        "request_id": f"r{next(_SEQ)}",
        "app_id": app,
        "origin": origin,
        "state": state,
        "http_code": code,
        "message": message if message is not None else ("Accepted" if state == "SUCCESS" else None),
        "event_type": event_type,
        "network_key": "facebook",
        "external_id": "ext",
        "conversation_id": conversation_id,
        "payload": payload,
        "created_time": created,
        "completed_time": done,
        "last_updated_time": done or created,
    }


def frame(rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=EXPORTS["bot_request"].polars_schema).lazy()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def now_state(rows: list[dict], as_of_s: float, **kw) -> dict:
    out = A.health_now(frame(rows), at(as_of_s), **kw).collect()
    assert out.height == 1
    return out.row(0, named=True)


# ------------------------------------------------------------------------------------------------ health states


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([], "HEALTHY"),  # only an old success outside the window: 0 attempts
        (["SUCCESS"] * 3, "HEALTHY"),  # 100 % success, even with fewer than 10 attempts
        (["SUCCESS", "SUCCESS", "ERROR"], "DEGRADED"),  # mixed
        (["ERROR"] * 5, "DEGRADED"),  # only failures but fewer than 10
        (["ERROR"] * 9, "DEGRADED"),
        (["ERROR"] * 10, "DOWN"),  # 100 % failures with >= 10 attempts
        (["ERROR"] * 12 + ["SUCCESS"], "DEGRADED"),  # a single success is not DOWN
    ],
)
def test_khoros_states_in_the_window(outcomes: list[str], expected: str) -> None:
    rows = [rec(-600)] + [rec(i, s) for i, s in enumerate(outcomes)]
    row = now_state(rows, 60)
    assert row["state"] == expected
    assert row["attempts"] == len(outcomes)
    assert row["failures"] == outcomes.count("ERROR")


def test_window_is_two_minutes_half_open() -> None:
    rows = [rec(0), rec(10, "ERROR")]
    assert now_state(rows, 10 + 119.999)["state"] == "DEGRADED"
    assert now_state(rows, 10 + 120)["state"] == "HEALTHY"  # the failure left the window exactly now
    assert now_state(rows, 9.999)["state"] == "HEALTHY"  # not yet happened


def test_pending_and_not_yet_completed_requests_are_not_attempts() -> None:
    rows = [rec(0, "PENDING"), rec(1, "ERROR", latency_ms=30_000)]
    row = now_state(rows, 10)  # the error's outcome is known only at 31 s
    assert (row["state"], row["attempts"]) == ("HEALTHY", 0)
    assert now_state(rows, 40)["state"] == "DEGRADED"


def test_slow_successes_count_as_bad_unless_disabled() -> None:
    rows = [rec(i, latency_ms=6_000) for i in range(0, 60, 5)]  # 12 successes of 6 s
    assert now_state(rows, 70)["state"] == "DOWN"
    assert now_state(rows, 70, slow_after_s=None)["state"] == "HEALTHY"
    assert now_state(rows, 70, slow_after_s=10)["state"] == "HEALTHY"


def test_scope_is_app_and_origin_by_default_and_can_be_app_only() -> None:
    rows = [rec(i, "ERROR", origin="BOT", code=401) for i in range(10)] + [rec(i, origin="KHOROS") for i in range(5)]
    by_origin = {r["origin"]: r["state"] for r in A.health_now(frame(rows), at(30)).collect().iter_rows(named=True)}
    assert by_origin == {"BOT": "DOWN", "KHOROS": "HEALTHY"}
    app_only = A.health_now(frame(rows), at(30), by=("app_id",)).collect()
    assert app_only["state"].to_list() == ["DEGRADED"]
    with pytest.raises(ValueError, match="health scope"):
        A.health_now(frame(rows), at(30), by=("nope",))


def test_timeline_segments_worked_by_hand() -> None:
    rows = [rec(0), rec(60, "ERROR"), rec(90, "ERROR"), rec(100)]
    tl = A.health_timeline(frame(rows), at(600)).collect()
    got = [(r["state"], r["start"], r["end"], r["current"]) for r in tl.iter_rows(named=True)]
    assert got == [
        ("HEALTHY", at(0), at(60), False),
        ("DEGRADED", at(60), at(210), False),  # until the second failure leaves the window (90 + 120)
        ("HEALTHY", at(210), at(600), True),
    ]
    assert tl["peak_error_rate"].to_list()[1] == pytest.approx(2 / 3)  # at 90 s: success at 0, errors at 60, 90


def test_down_holds_through_retries_a_little_over_two_minutes_apart_and_ends_on_success() -> None:
    burst = [rec(i * 3, "ERROR") for i in range(12)]  # 0..33 s: DOWN
    retries = [rec(33 + k * 120.4, "ERROR") for k in range(1, 8)]  # one retry each ~2 min
    recovered = rec(33 + 8 * 120.4 + 5)
    rows = [rec(-300), *burst, *retries, recovered]
    tl = A.health_timeline(frame(rows), at(1200)).collect()
    states = [(r["state"], r["start"]) for r in tl.iter_rows(named=True)]
    assert states[0] == ("HEALTHY", at(-300))
    assert states[1] == ("DEGRADED", at(0))
    assert states[2][0] == "DOWN"  # from the 10th failure at 27 s ...
    assert states[2][1] == at(27)
    # ... through the 0.4 s silences between retries, until the success arrives (the last retry has left the
    # window by then, so the window holds only the success).
    assert states[3] == ("HEALTHY", recovered["created_time"])
    assert len(states) == 4
    # A full-window silence ends DOWN: a lone failure later is only DEGRADED.
    late = [*burst, rec(33 + 300, "ERROR")]
    assert now_state(late, 33 + 310)["state"] == "DEGRADED"


def test_down_persists_while_the_next_retry_is_in_flight_at_as_of() -> None:
    rows = [rec(i * 3, "ERROR") for i in range(12)] + [rec(153, "ERROR", latency_ms=10_000)]
    row = now_state(rows, 155)  # window (35, 155] empty: the last burst failure left at 153, retry not done
    assert row["state"] == "DOWN"
    assert row["attempts"] == 0


# ------------------------------------------------------------------------------------------------ incidents


def incident_rows(rows: list[dict], as_of_s: float, **kw) -> list[dict]:
    return A.incidents(frame(rows), at(as_of_s), **kw).collect().to_dicts()


def test_incident_bounds_duration_and_recovery_by_hand() -> None:
    rows = [rec(0), rec(100, "ERROR"), rec(130, "ERROR", code=500, message="boom 1"), rec(140), rec(400)]
    [inc] = incident_rows(rows, 3600)
    assert (inc["start"], inc["end"], inc["ongoing"]) == (at(100), at(250), False)
    assert inc["duration_s"] == inc["time_to_recovery_s"] == 150
    assert (inc["attempts"], inc["failures"], inc["errors"]) == (3, 2, 2)
    assert inc["peak_error_rate"] == 1.0
    assert inc["worst_state"] == "DEGRADED" and inc["down_s"] == 0
    assert inc["incident_id"].startswith("app-1|KHOROS|20261110T120140")


def test_gaps_shorter_than_the_window_merge_and_longer_ones_split() -> None:
    short_gap = [rec(0, "ERROR"), rec(60), rec(180, "ERROR")]  # healthy from 120 to 180: 1 min < 2 min
    assert len(incident_rows(short_gap, 3600)) == 1
    long_gap = [rec(0, "ERROR"), rec(200), rec(300, "ERROR")]  # healthy 120..300 = 3 min, with a success
    assert [(i["start"], i["end"]) for i in incident_rows(long_gap, 3600)] == [(at(0), at(120)), (at(300), at(420))]
    custom = incident_rows(long_gap, 3600, merge_gap=timedelta(minutes=5))
    assert len(custom) == 1


def test_silence_is_not_recovery_until_the_quiet_gap() -> None:
    quiet = [rec(0, "ERROR"), rec(600, "ERROR")]  # 8 silent minutes between, nothing succeeded
    [inc] = incident_rows(quiet, 3600)
    assert (inc["start"], inc["end"]) == (at(0), at(720))
    too_quiet = [rec(0, "ERROR"), rec(1200, "ERROR")]  # 18 min healthy gap > 15 min
    assert len(incident_rows(too_quiet, 3600)) == 2
    assert len(incident_rows(quiet, 3600, quiet_gap=timedelta(minutes=5))) == 2
    unrelated = [rec(0, "ERROR"), rec(600, "ERROR", code=429, message="429 Too Many Requests")]
    assert len(incident_rows(unrelated, 3600)) == 2  # a different error after the silence is a new incident


def test_ongoing_incident_has_no_end() -> None:
    rows = [rec(0), rec(100, "ERROR")]
    [inc] = incident_rows(rows, 160)
    assert inc["ongoing"] and inc["end"] is None and inc["time_to_recovery_s"] is None
    assert inc["duration_s"] == 60
    [still] = incident_rows(rows, 100 + 120 + 60)  # window closed, but nothing has succeeded since
    assert still["ongoing"]
    [over] = incident_rows([*rows, rec(400)], 500)
    assert not over["ongoing"] and over["end"] == at(220)


def test_incident_top_error_group_down_time_and_min_failures() -> None:
    msg = "POST https://bot.example.com/hook returned 503 Service Unavailable after {} ms (delivery {})"
    burst = [rec(i * 5, "ERROR", message=msg.format(10_000 + i, f"ab{i:010x}")) for i in range(12)]
    other = [rec(61, "ERROR", code=500, message="500 Internal Server Error")]
    lone = [rec(3000, "ERROR", code=429, message="429 Too Many Requests")]
    rows = [rec(-10), *burst, *other, *lone, rec(200)]
    incs = incident_rows(rows, 4000)
    assert len(incs) == 2
    first = incs[0]
    assert first["top_http_code"] == 503 and first["top_count"] == 12
    assert first["top_message"] == "POST <url> returned 503 Service Unavailable after <n> ms (delivery <id>)"
    assert first["worst_state"] == "DOWN"
    # DOWN once the success at -10 s leaves the window (110 s): 13 failures, none succeeded; until the success at
    # 200 s (the window is empty from 181 s, a silence shorter than the window, so DOWN holds).
    assert first["down_s"] == pytest.approx(90)
    assert [i["start"] for i in incident_rows(rows, 4000, min_failures=2)] == [at(0)]


# ------------------------------------------------------------------------------------------------ messages, masks


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("401 Unauthorized: JWT expired at 2026-11-02T14:00:44.360Z for appId app-1",
         "401 Unauthorized: JWT expired at <time> for appId <app>"),
        ("POST https://x.example.com/a/b?c=1 returned 503 Service Unavailable after 10123 ms (delivery 7d36368102a4)",
         "POST <url> returned 503 Service Unavailable after <n> ms (delivery <id>)"),
        ("user jane.doe+x@example.co.uk not found (id 550e8400-e29b-41d4-a716-446655440000)",
         "user <email> not found (id <id>)"),
        ("Authorization Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiIxIn0.sig rejected",
         "Authorization Bearer <token> rejected"),
        ("retry after 37 s, attempt 3 of 5", "retry after <n> s, attempt <n> of <n>"),
        ("took 1.5s at 2026-11-02 14:00", "took <n>s at <time>"),
        ("deadbeef and 12345678 and abc", "deadbeef and <id> and abc"),
        ("   many    spaces\n\there ", "many spaces here"),
        (None, ""),
        ("", ""),
    ],
)  # fmt: skip
def test_normalise_message(message: str | None, expected: str) -> None:
    assert A.normalise_message(message, APP) == expected


def test_normalise_message_is_idempotent_and_bounded() -> None:
    once = A.normalise_message("POST https://a.b/c returned 503 Service Unavailable after 12 ms (delivery 1a2b3c4d5e)")
    assert A.normalise_message(once) == once
    assert len(A.normalise_message("x" * 1000)) == 300


def test_mask_payload_masks_secret_and_personal_keys_at_any_depth() -> None:
    payload = json.dumps({
        "coordinate": {"networkKey": "facebook", "messageId": "123"},
        "author": {"id": "a-1", "fullName": "Jane Doe", "properties": {"email": "jane@example.com", "Phone": "+1 555"}},
        "text": "my card is 4111 1111",
        "properties": {"sessionToken": "sk_live_abc", "api_key": "k", "note": "mail me at jane@example.com"},
        "authorization": "Bearer eyJhbGciOiJIUzUxMiJ9.x.y",
        "credentials": {"password": "hunter2", "secret": "s"},
        "list": [{"name": "Bob"}, "Bearer abc.def"],
    })  # fmt: skip
    masked = A.mask_payload(payload)
    for leaked in ("Jane Doe", "jane@example.com", "+1 555", "4111", "sk_live_abc", "eyJhbGci", "hunter2", "Bob",
                   "abc.def"):  # fmt: skip
        assert leaked not in masked
    doc = json.loads(masked)
    assert doc["coordinate"] == {"networkKey": "facebook", "messageId": "123"}  # ids kept: needed to debug
    assert doc["author"]["id"] == "a-1" and doc["author"]["fullName"] == "***"
    assert doc["properties"]["note"] == "mail me at ***"
    assert A.mask_payload(None) is None


def test_mask_payload_on_non_json_masks_by_pattern() -> None:
    masked = A.mask_payload("token=abc1234567890abcdef123 sent to jane@example.com with Bearer xyz")
    assert "jane@example.com" not in masked and "xyz" not in masked and "abc1234567890abcdef123" not in masked


# ------------------------------------------------------------------------------------------------ error groups


def test_error_groups_fingerprint_counts_trend_and_masked_sample() -> None:
    pay = json.dumps({"author": {"fullName": "Jane Doe"}, "authorization": "Bearer eyJx.y.z"})
    m503 = "POST https://h/{} returned 503 Service Unavailable after {} ms (delivery {})"
    rows = [
        rec(-2 * 86400, "ERROR", code=503, message=m503.format("x", 10001, "1a2b3c4d5e6f")),
        rec(-86400, "ERROR", code=503, message=m503.format("y", 10044, "9f8e7d6c5b4a"), payload=pay),
        # another event type: another group
        rec(0, "ERROR", code=503, message=m503.format("x", 10001, "1a2b3c4d5e6f"), event_type="update"),
        rec(10, "ERROR", code=401, origin="BOT", message="401 Unauthorized: token of jane@example.com expired"),
        rec(20, "SUCCESS"),
    ]
    groups = A.error_groups(frame(rows), at(3600), trend_days=3).collect()
    assert groups.height == 3
    top = groups.row(0, named=True)
    assert (top["origin"], top["http_code"], top["event_type"], top["count"]) == ("KHOROS", 503, "message", 2)
    assert top["message"] == "POST <url> returned 503 Service Unavailable after <n> ms (delivery <id>)"
    assert (top["first_seen"], top["last_seen"]) == (at(-2 * 86400), at(-86400))
    assert top["trend"] == [1, 1, 0]  # 8 Nov, 9 Nov, 10 Nov
    assert top["app_ids"] == [APP]
    assert "Jane Doe" not in top["sample_payload"] and "eyJx" not in top["sample_payload"]
    bot = groups.filter(pl.col("origin") == "BOT").row(0, named=True)
    assert "jane@example.com" not in bot["sample_message"]
    assert bot["message"] == "401 Unauthorized: token of <email> expired"
    assert len(set(groups["group_id"])) == 3


def test_error_group_trend_long_form() -> None:
    rows = [rec(0, "ERROR", message="x 1"), rec(60, "ERROR", message="x 2"), rec(4000, "ERROR", message="x 3")]
    trend = A.error_group_trend(frame(rows), every="1h").collect()
    assert trend["count"].to_list() == [2, 1]
    assert trend["message"].to_list() == ["x <n>", "x <n>"]


# ------------------------------------------------------------------------------------------------ series, pending


def test_request_timeseries_error_rate_and_nearest_rank_latency() -> None:
    rows = [rec(i, latency_ms=100 * (i + 1)) for i in range(9)] + [rec(9, "ERROR", latency_ms=1000)]
    rows.append(rec(3700, latency_ms=50))
    ts = A.request_timeseries(frame(rows), every="1h").collect()
    first = ts.row(0, named=True)
    assert (first["attempts"], first["errors"], first["error_rate"]) == (10, 1, 0.1)
    assert first["p50_latency_ms"] == 500  # rank ceil(0.5 * 10) = 5 of 100..1000
    assert first["p95_latency_ms"] == 1000  # rank ceil(9.5) = 10
    assert ts.row(1, named=True)["p50_latency_ms"] == 50


def test_nearest_rank_small_samples() -> None:
    df = pl.DataFrame({"g": [1, 1, 1, 2], "x": [3.0, 1.0, 2.0, None]})
    out = df.group_by("g").agg(p50=A.nearest_rank(pl.col("x"), 0.5), p100=A.nearest_rank(pl.col("x"), 1.0)).sort("g")
    assert out["p50"].to_list() == [2.0, None]
    assert out["p100"].to_list() == [3.0, None]
    with pytest.raises(ValueError):
        A.nearest_rank(pl.col("x"), 0)


def test_pending_by_age_buckets_and_past_as_of() -> None:
    rows = [rec(-30, "PENDING"), rec(-200, "PENDING"), rec(-250, "PENDING"), rec(-20_000, "PENDING"),
            rec(-100, "SUCCESS", latency_ms=200_000)]  # fmt: skip
    out = A.pending_by_age(frame(rows), at(0)).collect()
    assert dict(zip(out["age_bucket"], out["pending"], strict=True)) == {
        "< 1 min": 1, "1–5 min": 3, "≥ 4 h": 1,  # the success completes at +100 s: pending at 0
    }  # fmt: skip
    assert out.filter(pl.col("age_bucket") == "1–5 min")["oldest_created_time"][0] == at(-250)
    assert A.pending_by_age(frame(rows), at(-25_000)).collect().height == 0


# ------------------------------------------------------------------------------------------------ impact


def test_incident_impact_counts_auto_handoffs_of_the_app_and_compares_to_baseline() -> None:
    rows = [rec(0, "ERROR", conversation_id="c1"), rec(30, "ERROR", conversation_id="c2"),
            rec(40, "ERROR", app="app-2", conversation_id="c3"), rec(500, conversation_id="c9")]  # fmt: skip
    incs = A.incidents(frame(rows), at(3600), by=("app_id", "origin"))
    auto = ["Bot Handoff", "Automatic Bot Handoff"]
    conversations = pl.DataFrame(
        {
            "conversation_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "tags": [auto, auto, auto, auto, [], ["Bot Handoff"], []],
            "created_time": [at(0), at(30), at(40), at(20), at(10), at(10), at(9000)],
            "first_response_seconds": [900.0, 1500.0, 50.0, 10.0, 100.0, 300.0, None],
        },
        schema_overrides={"created_time": TIME},
    ).lazy()
    impact = A.incident_impact(incs, conversations, frame(rows), as_of=at(3600)).collect()
    app1 = impact.row(0, named=True)
    # c1, c2 are app-1's; c3 is app-2's; c4 has no record of app-1, so it is not counted with records given.
    assert (app1["affected"], app1["answered"]) == (2, 2)
    assert app1["p50_first_response_s"] == 900 and app1["p90_first_response_s"] == 1500
    # baseline: c4, c5, c6, c7(unanswered) -> 10, 100, 300 -> p50 rank ceil(1.5)=2 -> 100
    assert app1["baseline_p50_first_response_s"] == 100
    assert app1["p50_delta_s"] == 800
    without_records = A.incident_impact(incs, conversations, as_of=at(3600)).collect()
    assert without_records["affected"].to_list() == [4, 1]  # time only: app-1 [0, 150) has c1-c4; app-2 [40, 160) c3


# ------------------------------------------------------------------------------------------------ token


def test_token_status() -> None:
    now = datetime(2026, 11, 18, 12, tzinfo=UTC)
    assert A.token_status(None, now).state == "UNKNOWN"
    ok = A.token_status(now + timedelta(days=60), now)
    assert ok.state == "OK" and not ok.needs_attention
    soon = A.token_status(int((now + timedelta(days=14)).timestamp() * 1000), now)
    assert soon.state == "EXPIRING" and "14.0 days" in soon.message
    assert A.token_status(now + timedelta(days=14, seconds=1), now).state == "OK"
    gone = A.token_status(now - timedelta(seconds=1), now)
    assert gone.state == "EXPIRED" and gone.needs_attention
    with pytest.raises(ValueError):
        A.token_status(datetime(2026, 12, 1), now)  # naive


def test_impact_conversations_from_facts_and_health_now_with_only_pending_records() -> None:
    facts = pl.DataFrame(
        {
            "conversation_id": ["c1", "c2"],
            "tags": [["Automatic Bot Handoff"], []],
            "created_time": [at(0), at(10)],
            "clock_start": [at(30), at(10)],
            "first_response_time": [at(330), None],
            "other": [1, 2],
        },
        schema_overrides={"created_time": TIME, "clock_start": TIME, "first_response_time": TIME},
    )
    rows = A.impact_conversations(facts).collect()
    assert rows.columns == ["conversation_id", "tags", "created_time", "first_response_seconds"]
    assert rows["first_response_seconds"].to_list() == [300.0, None]  # from the human clock's start
    only_pending = now_state([rec(0, "PENDING")], 30)
    assert (only_pending["state"], only_pending["attempts"]) == ("HEALTHY", 0)


def test_health_now_replays_only_the_lookback_and_caps_state_since_there() -> None:
    rows = [rec(0), rec(86400 * 3), rec(86400 * 9)]
    full = now_state(rows, 86400 * 10, lookback=None)
    recent = now_state(rows, 86400 * 10)  # default look-back: 7 days
    assert (full["state"], recent["state"]) == ("HEALTHY", "HEALTHY")
    assert full["state_since"] == at(0)
    assert recent["state_since"] == at(86400 * 9)  # the first attempt inside the look-back
    assert recent["last_request_time"] == full["last_request_time"] == at(86400 * 9)
