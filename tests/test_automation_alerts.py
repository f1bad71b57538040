"""Alert rules: parsing ``[[alerts]]`` from the policy file, evaluation on request records, re-alert back-off."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard import alerts
from dashboard.alerts import AlertRule, AlertRuleError, evaluate_alerts, load_alert_rules, parse_alert_rules
from tests.test_automation import APP, at, frame, rec

POLICY = """
[schedules.default]
timezone = "UTC"
monday = [["09:00", "17:00"]]

[[alerts]]
name = "errors"
kind = "error_rate"
threshold_pct = 50
window = "10m"
min_attempts = 4

[[alerts]]
kind = "failures"
count = 3
window = "5m"
origin = "BOT"
backoff = "1h"

[[alerts]]
name = "down"
kind = "down"
for = "2m"
app_id = "app-1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_are_parsed_from_the_policy_file(tmp_path: Path) -> None:
    rules = load_alert_rules(write(tmp_path, POLICY))
    assert [r.kind for r in rules] == ["error_rate", "failures", "down"]
    errors, failures, down = rules
    assert (errors.name, errors.threshold, errors.min_attempts) == ("errors", 50, 4)
    assert errors.window == timedelta(minutes=10)
    assert errors.backoff == timedelta(minutes=30) and errors.severity == "warning"
    assert (failures.threshold, failures.origin, failures.backoff) == (3, "BOT", timedelta(hours=1))
    assert failures.name.startswith("failures #2")
    assert (down.window, down.app_id, down.severity) == (timedelta(minutes=2), "app-1", "critical")


def test_no_alerts_table_means_the_defaults_and_an_empty_list_means_none(tmp_path: Path) -> None:
    assert load_alert_rules(write(tmp_path, "[schedules.default]\ntimezone = 'UTC'\n")) == list(
        alerts.DEFAULT_ALERT_RULES
    )
    assert load_alert_rules(write(tmp_path, "alerts = []\n")) == []
    assert [r.kind for r in load_alert_rules()] == [r.kind for r in load_alert_rules(None)]  # bundled policy


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "flood"', "'kind' must be one of error_rate, failures, latency, down"),
        ('kind = "latency"\nwindow = "5m"', "missing key 'p95_s'"),
        ('kind = "failures"\nwindow = "5m"', "missing key 'count'"),
        ('kind = "failures"\ncount = 2.5\nwindow = "5m"', "'count' must be an integer"),
        ('kind = "failures"\ncount = 0\nwindow = "5m"', "'count' must be at least 1"),
        ('kind = "error_rate"\nthreshold_pct = 120\nwindow = "5m"', "percentage"),
        ('kind = "error_rate"\nthreshold_pct = 20\nwindow = "soon"', "is not a duration"),
        ('kind = "down"\nfor = "0m"', "'for' must be longer than zero"),
        ('kind = "down"\nfor = "5m"\nthreshold_pct = 3', "unknown key(s) for kind down: threshold_pct"),
        ('kind = "down"\nfor = "5m"\norigin = "SOMEONE"', "'origin' must be KHOROS or BOT"),
        ('kind = "down"\nfor = "5m"\nseverity = "panic"', "'severity' must be one of"),
    ],
)
def test_invalid_rules_name_the_file_entry_line_and_key(tmp_path: Path, entry: str, message: str) -> None:
    text = '[[alerts]]\nkind = "down"\nfor = "5m"\n\n# second\n[[alerts]]\n' + entry + "\n"
    path = write(tmp_path, text)
    with pytest.raises(AlertRuleError) as info:
        load_alert_rules(path)
    assert str(path) in str(info.value)
    assert "line 6: alerts[2]" in str(info.value)
    assert message in str(info.value)


def test_unparseable_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AlertRuleError, match="not valid TOML"):
        load_alert_rules(write(tmp_path, "[[alerts]\nkind="))
    with pytest.raises(AlertRuleError, match="policy file not found"):
        load_alert_rules(tmp_path / "nope.toml")
    with pytest.raises(AlertRuleError, match="must be unique"):
        parse_alert_rules({"alerts": [{"name": "x", "kind": "down", "for": "1m"}] * 2})


# ------------------------------------------------------------------------------------------------ evaluation


def test_error_rate_needs_the_threshold_and_enough_attempts() -> None:
    rule = AlertRule("rate", "error_rate", timedelta(minutes=10), threshold=50, min_attempts=4)
    three = [rec(0, "ERROR"), rec(10, "ERROR"), rec(20)]
    assert evaluate_alerts(frame(three), [rule], at(60), {}) == []  # 67 % but only 3 attempts
    four = [*three, rec(30, "ERROR")]
    [alert] = evaluate_alerts(frame(four), [rule], at(60), {})
    assert alert.value == 75 and alert.app_id == APP and alert.origin == "KHOROS"
    assert alert.message == "app-1 (KHOROS): error rate 75 % (3 of 4 attempts) over the last 10 min"
    assert evaluate_alerts(frame([*four, rec(40), rec(50), rec(55)]), [rule], at(60), {}) == []  # 3 of 7 < 50 %
    assert evaluate_alerts(frame(four), [rule], at(0 + 600), {}) == []  # the first error left the 10 min window


def test_failures_rule_counts_errors_not_slow_successes_and_respects_scope() -> None:
    rule = AlertRule("burst", "failures", timedelta(minutes=5), threshold=3, origin="BOT")
    rows = [rec(i * 10, "ERROR", origin="BOT", code=401) for i in range(3)] + [
        rec(i * 10, "ERROR", origin="KHOROS") for i in range(5)
    ] + [rec(i, origin="BOT", latency_ms=20_000) for i in range(5)]  # fmt: skip
    [alert] = evaluate_alerts(frame(rows), [rule], at(100), {})
    assert (alert.origin, alert.value) == ("BOT", 3)
    other_app = AlertRule("burst", "failures", timedelta(minutes=5), threshold=3, app_id="someone-else")
    assert evaluate_alerts(frame(rows), [other_app], at(100), {}) == []


def test_down_rule_fires_only_after_the_duration() -> None:
    rule = AlertRule("down", "down", timedelta(minutes=2), severity="critical")
    rows = [rec(-100)] + [rec(i * 5, "ERROR") for i in range(40)]
    # The success leaves the window at 20 s; the 10th failure (45 s) makes it DOWN.
    assert evaluate_alerts(frame(rows), [rule], at(160), {}) == []  # DOWN for 115 s
    [alert] = evaluate_alerts(frame(rows), [rule], at(170), {})
    assert alert.value == pytest.approx(125) and alert.since == at(45)
    assert alert.message == "app-1 (KHOROS): DOWN for 2 min 5 s"


def test_back_off_suppresses_repeats_until_it_passes_and_keeps_the_state_in_a_plain_dict() -> None:
    rule = AlertRule("burst", "failures", timedelta(hours=2), threshold=1, backoff=timedelta(minutes=30))
    rows = [rec(0, "ERROR")]
    state: dict = {}
    assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(60), state)] == [True]
    # an episode entry of the shared machinery (dashboard.alerts.episodes), JSON-able as it is
    assert state == {"burst|app-1|KHOROS": {"since": "2026-11-10T12:00:00Z", "last_notified": "2026-11-10T12:01:00Z",
                                            "closed": None}}
    assert json.loads(json.dumps(state)) == state
    assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(60 + 29 * 60), state)] == [False]
    assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(60 + 30 * 60), state)] == [True]
    assert state["burst|app-1|KHOROS"]["last_notified"] == "2026-11-10T12:31:00Z"


def test_the_former_state_shape_is_migrated_and_keeps_its_back_off() -> None:
    rule = AlertRule("burst", "failures", timedelta(hours=2), threshold=1, backoff=timedelta(minutes=30))
    rows = [rec(0, "ERROR")]
    for told in (at(60), at(60).isoformat()):  # what the page's session held before: key -> last notified
        state: dict = {"burst|app-1|KHOROS": told, "gone|app-1|KHOROS": "not an instant"}
        assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(60 + 29 * 60), state)] == [False]
        assert state == {"burst|app-1|KHOROS": {"since": "2026-11-10T12:01:00Z",
                                                "last_notified": "2026-11-10T12:01:00Z", "closed": None}}
        assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(60 + 30 * 60), state)] == [True]


def test_an_alert_that_stops_holding_ends_its_episode_and_is_new_when_it_holds_again() -> None:
    rule = AlertRule("burst", "failures", timedelta(minutes=5), threshold=1, backoff=timedelta(hours=1))
    rows = [rec(0, "ERROR"), rec(900, "ERROR")]
    state: dict = {}
    assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(60), state)] == [True]
    assert evaluate_alerts(frame(rows), [rule], at(600), state) == []  # the error left the 5 min window
    assert state["burst|app-1|KHOROS"]["closed"] == "2026-11-10T12:10:00Z"
    # within the hour of back-off, but a new episode: announced
    assert [a.notify for a in evaluate_alerts(frame(rows), [rule], at(960), state)] == [True]
    assert state["burst|app-1|KHOROS"] == {"since": "2026-11-10T12:15:00Z", "last_notified": "2026-11-10T12:16:00Z",
                                           "closed": None}


def test_each_rule_keeps_its_own_back_off_and_keys() -> None:
    often = AlertRule("often", "failures", timedelta(hours=2), threshold=1, backoff=timedelta(minutes=10))
    rarely = AlertRule("rarely", "failures", timedelta(hours=2), threshold=1, backoff=timedelta(hours=1))
    rows = [rec(0, "ERROR")]
    state: dict = {}
    assert {a.rule.name: a.notify for a in evaluate_alerts(frame(rows), [often, rarely], at(60), state)} == {
        "often": True, "rarely": True}
    assert {a.rule.name: a.notify for a in evaluate_alerts(frame(rows), [often, rarely], at(60 + 600), state)} == {
        "often": True, "rarely": False}
    assert set(state) == {"often|app-1|KHOROS", "rarely|app-1|KHOROS"}


def test_alerts_are_sorted_most_severe_first() -> None:
    rules = [
        AlertRule("burst", "failures", timedelta(minutes=5), threshold=1),
        AlertRule("down", "down", timedelta(seconds=10), severity="critical"),
    ]
    rows = [rec(i * 2, "ERROR") for i in range(20)]
    firing = evaluate_alerts(frame(rows), rules, at(60), {})
    assert [a.rule.name for a in firing] == ["down", "burst"]
    assert firing[0].key == "down|app-1|KHOROS"


def test_latency_rule_uses_the_nearest_rank_p95_and_needs_enough_requests() -> None:
    [rule] = parse_alert_rules({"alerts": [{"kind": "latency", "p95_s": 5, "window": "10m", "min_attempts": 5}]})
    assert rule.describe() == "p95 latency ≥ 5 s over 10 min (at least 5 requests)"
    fast = [rec(i, latency_ms=300) for i in range(18)]
    slow = [rec(20, latency_ms=6000), rec(21, latency_ms=7000)]
    # 20 requests: p95 = the 19th smallest = 6 s.
    [alert] = evaluate_alerts(frame(fast + slow), [rule], at(60), {})
    assert alert.value == 6.0 and alert.since == at(20)
    assert alert.message == "app-1 (KHOROS): p95 latency 6.0 s over the last 10 min (20 requests)"
    more_fast = [*fast, *(rec(30 + i) for i in range(12)), rec(20, latency_ms=6000)]  # 31: p95 = 30th = 300 ms
    assert evaluate_alerts(frame(more_fast), [rule], at(60), {}) == []
    assert evaluate_alerts(frame(slow), [rule], at(60), {}) == []  # only 2 requests


def test_default_rules_cover_every_kind() -> None:
    assert {r.kind for r in alerts.DEFAULT_ALERT_RULES} == set(alerts.ALERT_KINDS)
