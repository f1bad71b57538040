"""SLA policy file: the shipped default loads; bad files are rejected with the line and the reason."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.metrics.policy import (
    DEFAULT_POLICY_PATH,
    PolicyError,
    load_policy,
    parse_duration,
    parse_policy,
)

SCHEDULE = """\
[schedules.default]
timezone = "America/New_York"
monday = [["09:00", "17:00"]]
holidays = ["2026-11-26"]
"""


def test_shipped_default_policy_loads_and_covers_every_metric_and_tier() -> None:
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert set(policy.schedules) == {"default", "always"}
    office = policy.schedules["default"]
    assert office.timezone == "America/New_York"
    assert date(2026, 11, 26) in office.holidays
    assert office.versions[0].weekly_seconds == 5 * 8 * 3600
    for metric in ("first_response", "next_response", "time_to_assign", "resolution"):
        rules = policy.targets_for(metric)
        assert rules, metric
        assert rules[-1].tier is None and rules[-1].priority is None, f"{metric} needs a catch-all last rule"
    tiers = {t for rule in policy.targets_for("first_response") if rule.tier for t in rule.tier}
    assert tiers == {"Platinum", "Gold", "Silver", "Standard"}


def test_load_policy_without_a_path_is_the_shipped_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Which file a tenant uses is the core's to decide (tests/test_core.py); the metric layer reads no settings.
    monkeypatch.setenv("CARE_DASHBOARD_POLICY", "/nowhere/policy.toml")
    assert load_policy().source == str(DEFAULT_POLICY_PATH)


def test_tier_order_comes_from_the_policy() -> None:
    assert load_policy().tier_order == ("Platinum", "Gold", "Silver", "Standard", "unknown")
    targets = ('[[targets]]\nmetric = "first_response"\ntier = ["Or", "Argent"]\ntarget = "1h"\n'
               '[[targets]]\nmetric = "resolution"\ntier = "Bronze"\ntarget = "1d"\n'
               '[[targets]]\nmetric = "first_response"\ntier = "Argent"\ntarget = "2h"\n')
    # without a tiers list: the order in which the targets name them; "unknown" (no tier) always last
    named = parse_policy(SCHEDULE + targets)
    assert named.tier_order == ("Or", "Argent", "Bronze", "unknown")
    assert named.order_tiers(["unknown", "Zinc", "Bronze", "Or", "Alu"]) == ["Or", "Bronze", "unknown", "Alu", "Zinc"]
    # an explicit list wins (a top-level key comes before the tables in TOML)
    ranked = parse_policy('tiers = ["Bronze", "Argent", "Or"]\n' + SCHEDULE + targets)
    assert ranked.tier_order == ("Bronze", "Argent", "Or", "unknown")
    with pytest.raises(PolicyError) as info:
        parse_policy('tiers = "Gold"\n' + SCHEDULE + targets)
    assert info.value.line == 1 and "tiers must be a list" in str(info.value)


def test_targets_parse_matching_keys() -> None:
    policy = parse_policy(SCHEDULE + """
[[targets]]
metric = "first_response"
tier = "Platinum"
priority = [4, 5]
channel = ["Twitter", "facebook"]
target = "1h30m"
clock = "calendar"

[[alerts]]
app_id = "bot-1"
error_rate = 0.1
""")
    target = policy.targets[0]
    assert (target.tier, target.priority, target.channel) == (("Platinum",), (4, 5), ("twitter", "facebook"))
    assert target.target_seconds == 5400
    assert target.clock == "calendar"
    assert target.schedule == "default"
    assert target.line == 6


@pytest.mark.parametrize(("text", "seconds"), [("45s", 45), ("30m", 1800), ("4h", 14400), ("2d", 172800),
                                               ("1h30m", 5400), ("1.5h", 5400), (90, 90)])
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30", "5x", "-1h", True])
def test_bad_durations(text) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        # syntax error: tomllib's own line
        ('[[targets]]\nmetric = "first_response"\ntarget = 30m\n', 7, "not valid TOML"),
        # unknown metric: the metric line of the second target
        ('[[targets]]\nmetric = "resolution"\ntarget = "1d"\n\n[[targets]]\nmetric = "first_reponse"\n'
         'target = "1h"\n', 10, "unknown metric 'first_reponse'"),
        # unknown schedule
        ('[[targets]]\nmetric = "resolution"\ntarget = "1d"\nschedule = "weekend"\n', 8, "unknown schedule 'weekend'"),
        # unknown key inside a target
        ('[[targets]]\nmetric = "resolution"\ntarget = "1d"\ntiers = "Gold"\n', 8, "unknown key 'tiers'"),
        # bad clock
        ('[[targets]]\nmetric = "resolution"\ntarget = "1d"\nclock = "wall"\n', 8, "unknown clock 'wall'"),
        # bad duration
        ('[[targets]]\nmetric = "resolution"\ntarget = "soon"\n', 7, "not a duration"),
        # priority out of range
        ('[[targets]]\nmetric = "resolution"\ntarget = "1h"\npriority = [4, 9]\n', 8, "outside 0-5"),
        # missing target
        ('[[targets]]\nmetric = "resolution"\n', 5, "target is required"),
        # a key after the schedule table belongs to it (TOML), so it is an unknown schedule key
        ('retries = 3\n[[targets]]\nmetric = "resolution"\ntarget = "1h"\n', 5, "unknown key 'retries'"),
    ],
)
def test_semantic_and_syntax_errors_name_the_line(body: str, line: int, reason: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(SCHEDULE + body, source="policy.toml")
    assert info.value.line == line
    assert reason in str(info.value)
    assert str(info.value).startswith(f"policy.toml line {line}: ")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('[schedules.default]\ntimezone = "Mars/Olympus"\nmonday = [["09:00", "17:00"]]\n', 2, "unknown time zone"),
        ('[schedules.default]\ntimezone = "UTC"\nmonday = [["09:00", "07:00"]]\n', 3, "closes before it opens"),
        ('[schedules.default]\ntimezone = "UTC"\nfunday = [["09:00", "17:00"]]\n', 3, "unknown key 'funday'"),
        ('[schedules.default]\nmonday = [["09:00", "17:00"]]\n', 1, "timezone is required"),
        ('[schedules.default]\ntimezone = "UTC"\nholidays = ["2026-13-01"]\n', 3, "not a date"),
    ],
)
def test_schedule_errors_name_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text + '[[targets]]\nmetric = "resolution"\ntarget = "1h"\n', source="p.toml")
    assert info.value.line == line, str(info.value)
    assert reason in str(info.value)


def test_unknown_top_level_scalar_is_rejected() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy("retries = 3\n" + SCHEDULE + '[[targets]]\nmetric = "resolution"\ntarget = "1h"\n')
    assert info.value.line == 1
    assert "unknown top-level key 'retries'" in str(info.value)


def test_schedule_changes_are_versions() -> None:
    policy = parse_policy(SCHEDULE + """
[[schedules.default.changes]]
effective_from = "2027-01-04"
monday = [["08:00", "18:00"]]

[[targets]]
metric = "resolution"
target = "1h"
""")
    office = policy.schedules["default"]
    assert office.hours_on(date(2026, 12, 28)) == ((9 * 3600, 17 * 3600),)
    assert office.hours_on(date(2027, 1, 4)) == ((8 * 3600, 18 * 3600),)


def test_missing_file_and_no_targets() -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy("/nonexistent/policy.toml")
    with pytest.raises(PolicyError, match=r"\[\[targets\]\]"):
        parse_policy(SCHEDULE)
    with pytest.raises(PolicyError, match="schedules"):
        parse_policy('[[targets]]\nmetric = "resolution"\ntarget = "1h"\n')


def test_unknown_metric_in_query_is_an_error() -> None:
    policy = load_policy(DEFAULT_POLICY_PATH)
    with pytest.raises(ValueError, match="unknown metric"):
        policy.targets_for("first_reply")
