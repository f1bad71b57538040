"""Delivery settings and the state file: the SMTP URL's forms and mistakes (never echoed), webhook URLs and their
format, scrubbing, and a state written atomically that refuses to guess when it is damaged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.notify.deliver import (
    Channels,
    DeliveryPolicy,
    Secrets,
    SmtpSettings,
    _classify_http,
    _classify_smtp,
    resolve_webhook,
)
from dashboard.notify.errors import NotifyBusy, NotifyConfigError, NotifyError
from dashboard.notify.rules import parse_rules
from dashboard.notify.state import locked_state, read_state

PASSWORD = "p%40ss:w0rd-secret"


def test_smtp_url_forms() -> None:
    starttls = SmtpSettings.from_url(f"smtp://care%40example.com:{PASSWORD}@mail.example.com?timeout=5")
    assert (starttls.host, starttls.port, starttls.tls) == ("mail.example.com", 587, "starttls")
    assert starttls.username == "care@example.com" and starttls.password == "p@ss:w0rd-secret"
    assert starttls.timeout_s == 5.0
    implicit = SmtpSettings.from_url("smtps://u:p@mail.example.com")
    assert (implicit.port, implicit.tls) == (465, "implicit")
    relay = SmtpSettings.from_url("smtp://relay.internal:25?starttls=off&from=care%40example.com")
    assert (relay.port, relay.tls, relay.username, relay.sender) == (25, "off", None, "care@example.com")
    assert "secret" not in repr(starttls)


@pytest.mark.parametrize(("url", "reason"), [
    (f"http://u:{PASSWORD}@mail.example.com", "must start with smtp://"),
    (f"smtp://u:{PASSWORD}@mail.example.com?starttls=off", "in clear"),
    (f"smtp://u:{PASSWORD}@mail.example.com?starttls=maybe", "starttls must be require or off"),
    (f"smtps://u:{PASSWORD}@mail.example.com?starttls=require", "TLS already"),
    (f"smtp://u:{PASSWORD}@mail.example.com?verify=no", "unknown parameter(s) verify"),
    (f"smtp://u:{PASSWORD}@mail.example.com:notaport", "not a URL"),
    (f"smtp://u:{PASSWORD}@/", "no host"),
])
def test_smtp_url_mistakes_name_the_setting_not_the_value(url: str, reason: str) -> None:
    with pytest.raises(NotifyConfigError) as info:
        SmtpSettings.from_url(url)
    assert reason in str(info.value) and "CARE_DASHBOARD_SMTP_URL" in str(info.value)
    assert "w0rd" not in str(info.value) and "mail.example.com" not in str(info.value)


def test_webhooks_resolve_from_the_environment_with_their_format() -> None:
    sources = {
        "CARE_DASHBOARD_WEBHOOK_CARE_LEADS": "https://hooks.slack.com/services/T0/B0/tok",
        "CARE_DASHBOARD_WEBHOOK_OPS": "https://contoso.webhook.office.com/webhookb2/abc",
        "CARE_DASHBOARD_WEBHOOK_FLOW": "https://prod-01.westus.logic.azure.com:443/workflows/x/triggers/manual",
        "CARE_DASHBOARD_WEBHOOK_CHAT": "https://chat.example.com/hooks/xyz",
        "CARE_DASHBOARD_WEBHOOK_LOCAL": "http://127.0.0.1:9999/hook",
        "CARE_DASHBOARD_WEBHOOK_PLAIN": "http://chat.example.com/hooks/xyz",
    }
    assert resolve_webhook("care-leads", sources).format == "slack"
    assert resolve_webhook("ops", sources).format == "teams"
    assert resolve_webhook("flow", sources).format == "teams"
    assert resolve_webhook("chat", sources).format == "slack"
    assert resolve_webhook("chat", sources, {"chat": "teams"}).format == "teams"
    assert resolve_webhook("local", sources).channel == "webhook:local"
    with pytest.raises(NotifyConfigError, match="must be an https:// URL") as info:
        resolve_webhook("plain", sources)
    assert "xyz" not in str(info.value)
    with pytest.raises(NotifyConfigError, match="CARE_DASHBOARD_WEBHOOK_NOPE is not set"):
        resolve_webhook("nope", sources)
    assert "tok" not in repr(resolve_webhook("care-leads", sources))


def test_channels_know_every_secret_and_scrub_it() -> None:
    channels = Channels.from_sources(
        {"CARE_DASHBOARD_SMTP_URL": f"smtp://care%40example.com:{PASSWORD}@mail.example.com",
         "CARE_DASHBOARD_WEBHOOK_A": "https://hooks.slack.com/services/T0/B0/sEcReT"},
        secrets={"CARE_DASHBOARD_WEBHOOK_B": "https://hooks.slack.com/services/T1/B1/fRoMfIlE"})
    text = ("failed: p@ss:w0rd-secret, care@example.com, https://hooks.slack.com/services/T0/B0/sEcReT and "
            "/services/T1/B1/fRoMfIlE")
    scrubbed = channels.secrets.scrub(text)
    for secret in ("w0rd", "care@example.com", "sEcReT", "fRoMfIlE"):
        assert secret not in scrubbed
    assert channels.webhook("b").url.endswith("fRoMfIlE")  # the secrets file's value is used


def test_check_lists_the_channels_that_resolve_and_what_is_missing_in_order_without_secrets() -> None:
    rules = parse_rules('[[digests]]\nname = "d"\nschedule = "0 8 * * 1"\nwindow = "last_week"\n'
                        'email = ["a@example.com"]\nwebhooks = ["ops", "care-leads", "gone"]\n')
    channels = Channels.from_sources({
        "CARE_DASHBOARD_WEBHOOK_CARE_LEADS": "https://hooks.slack.com/services/T0/B0/sEcReT",
        "CARE_DASHBOARD_WEBHOOK_OPS": "http://contoso.example.com/hooks/sEcReT2",
    })
    webhooks, problems = channels.check(rules)
    assert {name: hook.format for name, hook in webhooks.items()} == {"care-leads": "slack"}
    assert [p.split(" ", 1)[0] for p in problems] == ["CARE_DASHBOARD_SMTP_URL", "webhook", "webhook"]
    assert "CARE_DASHBOARD_WEBHOOK_GONE is not set" in problems[1] and "must be an https:// URL" in problems[2]
    assert not any("sEcReT" in p for p in problems)
    webhooks, problems = Channels.from_sources({}).check(parse_rules(
        '[[digests]]\nname = "d"\nschedule = "0 8 * * 1"\nwindow = "last_week"\nwebhooks = ["x"]\n'))
    assert webhooks == {} and len(problems) == 1  # no rule e-mails: the SMTP server is not asked for


@pytest.mark.parametrize(("exc", "smtp", "webhook", "retried"), [
    (TimeoutError(), "timed out", "timed out", True),
    (ConnectionRefusedError(111, "Connection refused"), "cannot connect (Connection refused)",
     "network error (Connection refused)", True),
    (OSError(), "cannot connect (OSError)", "network error (OSError)", True),
    (ValueError("x"), "unexpected ValueError", "unexpected ValueError", False),
])
def test_network_failures_read_in_each_channels_words_and_only_socket_trouble_is_retried(
        exc: BaseException, smtp: str, webhook: str, retried: bool) -> None:
    assert _classify_smtp(exc) == (retried, smtp, None)
    assert _classify_http(exc) == (retried, webhook, None)


def test_secrets_scrub_longest_first_and_ignore_short_values() -> None:
    secrets = Secrets()
    secrets.add("abcdef", "abcdefgh", "ab", None)
    assert secrets.scrub("x abcdefgh y abcdef z ab") == "x *** y *** z ab"
    assert "abcdef" in secrets and "nothing" not in secrets


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = DeliveryPolicy(attempts=6, base_s=2.0, cap_s=10.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_state_is_written_atomically_owner_only_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "_notify"
    at = datetime(2026, 11, 18, 13, 0, tzinfo=UTC)
    with locked_state(folder) as state:
        state.record_channel("d@2026-11-18T13:00:00Z", "d", at, "email", sent=True, at=at, attempts=2)
        state.record_failure(rule="d", channel="webhook:x", at=at, reason="HTTP 500", attempts=3, transient=True,
                             what="digest")
        state.save()
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
    assert (folder / "state.json").stat().st_mode & 0o777 == 0o600
    again = read_state(folder)
    assert again.channel_record("d@2026-11-18T13:00:00Z", "email")["attempts"] == 2
    assert again.failures[0]["reason"] == "HTTP 500" and again.last_sent("d") == at


def test_a_damaged_state_file_is_refused_not_guessed(tmp_path: Path) -> None:
    folder = tmp_path / "_notify"
    folder.mkdir()
    (folder / "state.json").write_text('{"version": 1, "digests": {', encoding="utf-8")
    with pytest.raises(NotifyError, match="line 1: the notification state is not valid JSON"):
        read_state(folder)
    (folder / "state.json").write_text(json.dumps({"version": 99}), encoding="utf-8")
    with pytest.raises(NotifyError, match="not a notification state of version 1"):
        read_state(folder)


def test_a_held_lock_makes_the_second_holder_wait_then_give_up(tmp_path: Path) -> None:
    folder = tmp_path / "_notify"
    with (locked_state(folder), pytest.raises(NotifyBusy, match="another `notify run` holds the lock"),
          locked_state(folder, timeout_s=0.3)):
        pass
    with locked_state(folder, timeout_s=0.3):  # released: free again
        pass
