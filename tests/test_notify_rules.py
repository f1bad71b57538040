"""The rules file: the documented example parses; every kind of mistake is rejected with its line and reason."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from dashboard.notify.errors import RulesError
from dashboard.notify.rules import SECTIONS, load_rules, parse_rules, webhook_env_name

EXAMPLE = """\
dashboard_url = "https://care.example.com/"
email_from = "Care dashboard <care@example.com>"
timezone = "America/New_York"

[webhooks.care-leads]
format = "teams"

[[digests]]
name = "daily-care"
schedule = "0 8 * * *"
timezone = "America/Chicago"
window = "yesterday"
email = ["lead@example.com", "Ops <ops@example.com>"]
webhooks = ["care-leads"]
filters = { tier = ["Platinum", "Gold"], priority = 5 }
sections = ["tiers", "kpis"]

[[sla_alerts]]
name = "platinum-about-to-breach"
kind = "breach_soon"
within = "30m"
metrics = ["first_response"]
filters = { tier = ["Platinum"] }
quiet_hours = { start = "22:00", end = "07:00" }
webhooks = ["care-leads"]

[[sla_alerts]]
name = "frt-attainment"
kind = "attainment_below"
threshold_pct = 85
window = "4h"
min_decided = 20
backoff = "2h"
severity = "critical"
email = ["lead@example.com"]
"""


def _error(text: str) -> RulesError:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "rules.toml")
    return info.value


def test_the_documented_example_parses_into_rules() -> None:
    rules = parse_rules(EXAMPLE, "rules.toml")
    assert rules.dashboard_url == "https://care.example.com"
    assert rules.webhook_formats == {"care-leads": "teams"}
    digest = rules.digests[0]
    assert (digest.name, digest.schedule, digest.timezone, digest.window) == (
        "daily-care", "0 8 * * *", "America/Chicago", "yesterday")
    assert digest.email == ("lead@example.com", "ops@example.com")
    assert digest.filters == {"tier": ("Platinum", "Gold"), "priority": (5,)}
    assert digest.sections == ("kpis", "tiers")  # in the digest's own order, whatever the file's
    assert digest.line == 8
    soon, attainment = rules.sla_alerts
    assert soon.kind == "breach_soon" and soon.within == timedelta(minutes=30) and soon.once == "conversation"
    assert soon.backoff is None  # a conversation is told about once
    assert soon.timezone == "America/New_York"  # the file's default zone
    assert soon.quiet_hours is not None and soon.quiet_hours.start == time(22, 0)
    assert attainment.threshold_pct == 85 and attainment.window == timedelta(hours=4)
    assert attainment.backoff == timedelta(hours=2) and attainment.severity == "critical"
    assert rules.rule("frt-attainment") is attainment
    assert rules.webhook_names == ("care-leads",)


def test_defaults_fill_what_is_left_out() -> None:
    rules = parse_rules('[[digests]]\nname = "d"\nschedule = "0 8 * * 1"\nwindow = "last_week"\n'
                        'email = ["a@example.com"]\n', default_timezone="Europe/Berlin")
    digest = rules.digests[0]
    assert digest.timezone == "Europe/Berlin" and digest.sections == SECTIONS and digest.filters == {}
    assert rules.catch_up == timedelta(hours=6) and rules.dashboard_url is None


def test_a_file_that_does_not_parse_names_its_line() -> None:
    error = _error('[[digests]]\nname = "d"\nschedule = "0 8 * * *\n')
    assert error.line == 3 and "not valid TOML" in str(error) and str(error).startswith("rules.toml line 3:")


@pytest.mark.parametrize(("text", "line", "reason"), [
    ('[[digests]]\nname = "d"\nschedule = "0 8 * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n', 3,
     "five fields"),
    ('[[digests]]\nname = "d"\nschedule = "61 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n', 3,
     "Bad minute"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "fortnight"\nemail = ["a@example.com"]\n', 4,
     "'window' must be one of yesterday, last_week, month_to_date, last_28_days"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\ntimezone = "Mars/Olympus"\nwindow = "yesterday"\n'
     'email = ["a@example.com"]\n', 4, "not an IANA time zone"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["not-an-address"]\n', 5,
     "not an e-mail address"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\n', 1, "at least one recipient"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n'
     'filters = { colour = ["red"] }\n', 6, "unknown filter 'colour'"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n'
     'filters = { priority = [7] }\n', 6, "not a priority"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n'
     'sections = ["kpis", "weather"]\n', 6, "unknown section 'weather'"),
    ('[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n'
     'colour = "blue"\n', 6, "unknown key 'colour'"),
    ('[[digests]]\nname = "has space"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n',
     2, "may hold letters"),
    ('[[sla_alerts]]\nname = "a"\nkind = "breach_soon"\nemail = ["a@example.com"]\n', 1, "'within' is required"),
    ('[[sla_alerts]]\nname = "a"\nkind = "earthquake"\nemail = ["a@example.com"]\n', 3, "'kind' must be one of"),
    ('[[sla_alerts]]\nname = "a"\nkind = "attainment_below"\nthreshold_pct = 120\nwindow = "4h"\n'
     'email = ["a@example.com"]\n', 4, "percentage"),
    ('[[sla_alerts]]\nname = "a"\nkind = "breach_soon"\nwithin = "soon"\nemail = ["a@example.com"]\n', 4,
     "not a duration"),
    ('[[sla_alerts]]\nname = "a"\nkind = "breach_soon"\nwithin = "30m"\nmetrics = ["next_response"]\n'
     'email = ["a@example.com"]\n', 5, "no running clock per conversation"),
    ('[[sla_alerts]]\nname = "a"\nkind = "breach_soon"\nwithin = "30m"\nbackoff = "1h"\n'
     'email = ["a@example.com"]\n', 5, "applies to once = \"episode\""),
    ('[[sla_alerts]]\nname = "a"\nkind = "breach_soon"\nwithin = "30m"\nemail = ["a@example.com"]\n'
     'quiet_hours = { start = "22:00", end = "7" }\n', 6, "HH:MM"),
    ('[[sla_alerts]]\nname = "a"\nkind = "breach_soon"\nwithin = "30m"\nthreshold_pct = 5\n'
     'email = ["a@example.com"]\n', 5, "unknown key 'threshold_pct'"),
])
def test_a_wrong_rule_is_rejected_with_its_line_and_reason(text: str, line: int, reason: str) -> None:
    error = _error(text)
    assert error.line == line, str(error)
    assert reason in error.reason, str(error)


def test_rule_names_must_be_unique_across_digests_and_alerts() -> None:
    error = _error('[[digests]]\nname = "x"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n'
                   '\n[[sla_alerts]]\nname = "x"\nkind = "breach_soon"\nwithin = "1h"\nemail = ["a@example.com"]\n')
    assert error.line == 7 and "used twice (also line 1)" in error.reason


SECRET_URL = "https://hooks.slack.com/services/T000/B000/sEcReTtOkEn123"


@pytest.mark.parametrize(("text", "line"), [
    (f'[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nwebhooks = ["{SECRET_URL}"]\n', 5),
    ('smtp_url = "smtp://user:pw@mail.example.com"\n[[digests]]\nname = "d"\nschedule = "0 8 * * *"\n'
     'window = "yesterday"\nemail = ["a@example.com"]\n', 1),
    (f'[[digests]]\nname = "d"\nschedule = "0 8 * * *"\nwindow = "yesterday"\nemail = ["a@example.com"]\n'
     f'webhook_url = "{SECRET_URL}"\n', 6),
    (f'[webhooks.care]\nformat = "slack"\nurl = "{SECRET_URL}"\n', 3),
])
def test_a_rules_file_holding_a_url_or_credential_is_rejected_without_echoing_it(text: str, line: int) -> None:
    error = _error(text)
    assert error.line == line
    assert "environment" in error.reason
    assert "sEcReTtOkEn123" not in str(error) and "pw@" not in str(error)


def test_dashboard_url_must_not_carry_credentials() -> None:
    error = _error('dashboard_url = "https://admin:hunter2@care.example.com"\n')
    assert error.line == 1 and "credentials" in error.reason and "hunter2" not in str(error)


def test_webhook_env_name_and_unknown_rule() -> None:
    assert webhook_env_name("care-leads") == "CARE_DASHBOARD_WEBHOOK_CARE_LEADS"
    rules = parse_rules(EXAMPLE)
    with pytest.raises(RulesError, match="no rule named 'nope'"):
        rules.rule("nope")


def test_quiet_hours_span_midnight_in_their_zone() -> None:
    quiet = parse_rules(EXAMPLE).sla_alerts[0].quiet_hours
    assert quiet is not None
    # 22:00-07:00 New York; 2026-11-18 is EST (UTC-5)
    assert quiet.contains(datetime(2026, 11, 18, 3, 30, tzinfo=UTC))  # 22:30 local
    assert quiet.contains(datetime(2026, 11, 18, 11, 59, tzinfo=UTC))  # 06:59 local
    assert not quiet.contains(datetime(2026, 11, 18, 12, 0, tzinfo=UTC))  # 07:00 local
    assert not quiet.contains(datetime(2026, 11, 18, 2, 59, tzinfo=UTC))  # 21:59 local


def test_load_rules_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="rules file not found"):
        load_rules(tmp_path / "nope.toml")
    path = tmp_path / "rules.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load_rules(path).source == str(path)


def test_the_shipped_example_file_parses() -> None:
    from dashboard.notify import rules as rules_module

    example = Path(rules_module.__file__).with_name("example-notify.toml")
    rules = load_rules(example)
    assert [r.name for r in rules.digests] == ["daily-care", "weekly-care"]
    assert [r.kind for r in rules.sla_alerts] == ["breach_soon", "attainment_below"]
    assert rules.digests[1].timezone == "America/New_York"  # the file's default zone
    assert "notify run" in example.read_text(encoding="utf-8")
