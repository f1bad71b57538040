"""The notifier against a real SMTP server (aiosmtpd, STARTTLS and AUTH, on a loopback port) and a local webhook
receiver: the right messages at the right instants, nothing twice across runs, figures equal to the report's,
PNG charts attached, breach alerts for exactly the at-risk conversations, the episode closed when attainment
recovers, failures retried and recorded without blocking the other rules, and no secret anywhere."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dashboard import report
from dashboard.core import Dashboard
from dashboard.notify import Channels, DeliveryPolicy, Notifier, parse_rules, read_state, rule_status, state_folder
from dashboard.notify.alert_messages import MAX_LISTED
from dashboard.views import build_live_queue

pytestmark = pytest.mark.integration

SMTP_USER = "care-bot@example.com"
SMTP_PASSWORD = "s3cret-Pa55word"  # what the tests look for in logs, state and messages
HOOK_TOKEN = "T00000/B00000/XyZsecretHookToken"
END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
NY = "America/New_York"


# --------------------------------------------------------------------------------------------------------------
# A real SMTP server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: keeps every accepted message; can answer 451 to the next DATA commands."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    fail_data: int = 0
    data_commands: int = 0

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.fail_data > 0:
            self.fail_data -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.fail_data = self.data_commands = 0


@dataclass
class SmtpServer:
    recorder: SmtpRecorder
    port: int
    cafile: Path

    def url(self, *, password: str = SMTP_PASSWORD) -> str:
        user = SMTP_USER.replace("@", "%40")
        return f"smtp://{user}:{password}@127.0.0.1:{self.port}?cafile={self.cafile}&timeout=10"


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port, offering STARTTLS with a self-signed certificate and requiring AUTH."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path_factory.mktemp("smtp-tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 235 or 535 itself

    recorder = SmtpRecorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticate, auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        yield SmtpServer(recorder, port, cert)
    finally:
        controller.stop()


# --------------------------------------------------------------------------------------------------------------
# A local webhook receiver


@dataclass
class Received:
    path: str
    payload: dict[str, Any]


class WebhookReceiver:
    """A small HTTP server in a thread: records every POST; answers the statuses queued for a path, else 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                queue = receiver.statuses.get(self.path, [])
                status = queue.pop(0) if queue else 200
                if status == 200:
                    receiver.received.append(Received(self.path, json.loads(body)))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no_service" if status == 404 else b"busy")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


# --------------------------------------------------------------------------------------------------------------
# Data and a notifier


@pytest.fixture(scope="module")
def world():
    world_module = pytest.importorskip("dashboard.simulator.world")
    return world_module.generate_world(world_module.WorldConfig(seed=11, days=21, conversations_per_day=80, end=END))


@pytest.fixture(scope="module")
def core(world) -> Dashboard:
    return Dashboard.from_tables(world.tables, now=END)


RULES = """
dashboard_url = "https://care.example.com"
email_from = "Care dashboard <care@example.com>"

[webhooks.teams-leads]
format = "teams"

[[digests]]
name = "daily-care"
schedule = "0 8 * * *"
timezone = "America/New_York"
window = "yesterday"
email = ["lead@example.com", "ops@example.com"]
webhooks = ["care-leads", "teams-leads"]
"""


@dataclass
class Setup:
    notifier: Notifier
    sleeps: list[float]
    store_root: Path


def make_notifier(rules_text: str, core: Any, store_root: Path, env: dict[str, str]) -> Setup:
    """A notifier over ``core`` whose state lives where a store at ``store_root`` keeps it."""
    sleeps: list[float] = []
    rules = parse_rules(rules_text, "rules.toml")
    channels = Channels.from_sources(env, formats=rules.webhook_formats)
    notifier = Notifier(rules, core, channels, state_dir=state_folder(store_root),
                        policy=DeliveryPolicy(attempts=3, base_s=2.0, timeout_s=10), sleep=sleeps.append)
    return Setup(notifier, sleeps, store_root)


def hook_env(hooks: WebhookReceiver, **names: str) -> dict[str, str]:
    return {f"CARE_DASHBOARD_WEBHOOK_{name.upper()}": hooks.url(path) for name, path in names.items()}


def at_local(day: int, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(UTC)


# --------------------------------------------------------------------------------------------------------------
# Digests


def test_a_digest_goes_out_at_its_slot_once_with_the_reports_figures_and_png_charts(
        smtp_server: SmtpServer, hooks: WebhookReceiver, core: Dashboard, tmp_path: Path) -> None:
    smtp_server.recorder.clear()
    env = {"CARE_DASHBOARD_SMTP_URL": smtp_server.url(),
           **hook_env(hooks, care_leads=f"/services/{HOOK_TOKEN}", teams_leads="/teams")}
    setup = make_notifier(RULES, core, tmp_path / "store", env)

    before = setup.notifier.run(at_local(17, 7, 59))
    assert [o.status for o in before.outcomes] == ["skipped"] and "not due" in before.outcomes[0].detail
    assert smtp_server.recorder.messages == [] and hooks.received == []

    sent = setup.notifier.run(at_local(17, 8, 0))
    assert [o.status for o in sent.outcomes] == ["sent"] and not sent.failed
    assert [d.channel for d in sent.outcomes[0].deliveries] == ["email", "webhook:care-leads", "webhook:teams-leads"]
    (message,) = smtp_server.recorder.messages
    assert smtp_server.recorder.envelopes[0] == ("care@example.com", ["lead@example.com", "ops@example.com"])
    assert message["X-Care-Dashboard-Slot"] == "2026-11-17T13:00:00Z"
    assert message["Subject"] == "Care digest daily-care: Mon 16 Nov 2026"

    # every tier line is the report CLI's figure for the same window, as of the slot
    printed = report.sla_report(core, by=["tier"], start=date(2026, 11, 16),
                                end=date(2026, 11, 17), tz=NY, as_of=at_local(17, 8, 0))
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    for row in printed.iter_rows(named=True):
        decided = row["achieved"] + row["breached"]
        line = next(line for line in text.splitlines() if line.startswith(row["tier"] + " "))
        assert f"{100 * row['attainment']:.1f} %" in line and f"{row['achieved']} / {decided}" in line
        assert f"{100 * row['attainment']:.1f} %" in html_part
    pngs = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(pngs) == 2 and all(p.get_content()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "https://care.example.com/?range=Custom&amp;dates=2026-11-16&amp;dates=2026-11-16" in html_part

    slack, teams = hooks.at(f"/services/{HOOK_TOKEN}"), hooks.at("/teams")
    assert len(slack) == 1 and len(teams) == 1
    assert slack[0]["blocks"][0]["text"]["text"] == message["Subject"]
    assert teams[0]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"

    # the same slot again, later the same morning, and from a fresh process: nothing is sent twice
    for later in (at_local(17, 8, 5), at_local(17, 13, 0)):
        again = make_notifier(RULES, core, tmp_path / "store", env).notifier.run(later)
        assert [o.status for o in again.outcomes] == ["skipped"] and "already handled" in again.outcomes[0].detail
    assert len(smtp_server.recorder.messages) == 1 and len(hooks.received) == 2

    # the next day's slot is a new one
    setup.notifier.run(at_local(18, 8, 1))
    assert len(smtp_server.recorder.messages) == 2 and len(hooks.received) == 4
    assert smtp_server.recorder.messages[1]["Subject"] == "Care digest daily-care: Tue 17 Nov 2026"
    state = read_state(state_folder(tmp_path / "store"))
    assert set(state.digests) == {"daily-care@2026-11-17T13:00:00Z", "daily-care@2026-11-18T13:00:00Z"}


def test_an_smtp_failure_is_retried_with_backoff_recorded_and_blocks_no_other_rule(
        smtp_server: SmtpServer, hooks: WebhookReceiver, core: Dashboard, tmp_path: Path) -> None:
    smtp_server.recorder.clear()
    rules = RULES + """
[[digests]]
name = "chat-only"
schedule = "0 8 * * 2,3"
timezone = "America/New_York"
window = "last_week"
webhooks = ["care-leads"]
sections = ["kpis"]
"""
    env = {"CARE_DASHBOARD_SMTP_URL": smtp_server.url(),
           **hook_env(hooks, care_leads=f"/services/{HOOK_TOKEN}", teams_leads="/teams")}
    setup = make_notifier(rules, core, tmp_path / "store", env)

    # a temporary refusal twice, then accepted: delivered on the third attempt after 2 s and 4 s of back-off
    smtp_server.recorder.fail_data = 2
    result = setup.notifier.run(at_local(17, 8, 0))  # Tuesday: both digests are due
    assert [o.status for o in result.outcomes] == ["sent", "sent"]
    assert result.outcomes[0].deliveries[0].attempts == 3 and setup.sleeps == [2.0, 4.0]
    assert len(smtp_server.recorder.messages) == 1

    # refused on every attempt: recorded, the webhooks and the other digest still go out
    smtp_server.recorder.clear()
    smtp_server.recorder.fail_data = 99
    setup.sleeps.clear()
    result = setup.notifier.run(at_local(18, 8, 0))
    daily, chat_only = result.outcomes
    assert daily.status == "partial" and chat_only.status == "sent"  # the other rule is not held up
    email_delivery = daily.deliveries[0]
    assert not email_delivery.ok and email_delivery.attempts == 3 and setup.sleeps == [2.0, 4.0]
    assert "451" in email_delivery.reason and "after 3 attempts" in email_delivery.reason
    assert all(d.ok for d in daily.deliveries[1:]) and result.failed
    state = read_state(state_folder(tmp_path / "store"))
    assert state.failures[-1]["rule"] == "daily-care" and state.failures[-1]["channel"] == "email"
    assert "451" in state.failures[-1]["reason"]
    # what the Data page lists: each rule, its last run and send, its failures
    rows = {r.name: r for r in rule_status(setup.notifier.rules, state, at_local(18, 9, 0))}
    assert rows["daily-care"].last_status == "partial" and rows["daily-care"].failures == 1
    assert rows["daily-care"].last_run == at_local(18, 8, 0) == rows["daily-care"].last_sent
    assert "email: server answered 451" in rows["daily-care"].last_failure
    assert rows["daily-care"].recipients == "lead@example.com, ops@example.com, webhook care-leads, webhook teams-leads"
    assert rows["daily-care"].next_slot == at_local(19, 8, 0)
    assert rows["chat-only"].last_status == "sent" and rows["chat-only"].failures == 0

    # the next run tries the failed channel again (and only it): the server is back
    posted = len(hooks.received)
    smtp_server.recorder.fail_data = 0
    retry = setup.notifier.run(at_local(18, 8, 5))
    assert retry.outcomes[0].status == "sent" and [d.channel for d in retry.outcomes[0].deliveries] == ["email"]
    assert len(smtp_server.recorder.messages) == 1 and len(hooks.received) == posted


def test_an_unreachable_server_and_failing_webhooks_are_recorded_while_the_rest_is_delivered(
        hooks: WebhookReceiver, core: Dashboard, tmp_path: Path) -> None:
    dead = _free_port()  # nothing listens there
    env = {"CARE_DASHBOARD_SMTP_URL": f"smtp://127.0.0.1:{dead}?starttls=off&timeout=2",
           **hook_env(hooks, care_leads="/gone", teams_leads="/flaky")}
    hooks.statuses["/gone"] = [404]
    hooks.statuses["/flaky"] = [503, 429]
    setup = make_notifier(RULES, core, tmp_path / "store", env)
    result = setup.notifier.run(at_local(17, 8, 0))
    email_d, gone, flaky = result.outcomes[0].deliveries
    assert not email_d.ok and "cannot connect" in email_d.reason and email_d.attempts == 3
    assert not gone.ok and gone.attempts == 1 and gone.reason.startswith("HTTP 404")  # permanent: no retry
    assert flaky.ok and flaky.attempts == 3  # 503, then 429 (Retry-After: 1), then delivered
    assert setup.sleeps == [2.0, 4.0, 2.0, 1.0]  # e-mail back-off; webhook back-off, then the server's Retry-After
    assert len(hooks.at("/flaky")) == 1


class BrokenForBotRuleAny(Dashboard):
    """A core whose facts for the bot rule "any" cannot be built (a damaged export, say)."""

    def facts(self, bot_rule: str | None = None) -> pl.DataFrame:
        if bot_rule == "any":
            raise pl.exceptions.ComputeError("damaged export file day=2026-11-16")
        return super().facts(bot_rule)

    def facts_lazy(self, bot_rule: str | None = None) -> pl.LazyFrame:
        if bot_rule == "any":
            raise pl.exceptions.ComputeError("damaged export file day=2026-11-16")
        return super().facts_lazy(bot_rule)


def test_a_rule_that_cannot_be_evaluated_is_recorded_and_the_others_still_run(
        hooks: WebhookReceiver, core: Dashboard, tmp_path: Path) -> None:
    rules = """
[[digests]]
name = "any-reply"
schedule = "0 8 * * *"
window = "yesterday"
bot_rule = "any"
webhooks = ["care-leads"]

[[digests]]
name = "human-reply"
schedule = "0 8 * * *"
window = "yesterday"
webhooks = ["care-leads"]
"""
    broken = BrokenForBotRuleAny(core.source)
    setup = make_notifier(rules, broken, tmp_path / "store", hook_env(hooks, care_leads="/h"))
    result = setup.notifier.run(at_local(17, 8, 0))
    assert [o.status for o in result.outcomes] == ["error", "sent"] and result.failed
    assert "ComputeError: damaged export file day=2026-11-16" in result.outcomes[0].detail
    assert len(hooks.at("/h")) == 1
    failure = read_state(state_folder(tmp_path / "store")).failures[-1]
    assert (failure["rule"], failure["what"]) == ("any-reply", "digest evaluation")


def test_starttls_and_auth_are_used_and_a_wrong_password_fails_once_without_leaking(
        smtp_server: SmtpServer, core: Dashboard, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    smtp_server.recorder.clear()
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + SMTP_PASSWORD
    setup = make_notifier(RULES.replace('webhooks = ["care-leads", "teams-leads"]\n', ""), core, tmp_path / "store",
                          {"CARE_DASHBOARD_SMTP_URL": smtp_server.url(password=wrong)})
    result = setup.notifier.run(at_local(17, 8, 0))
    (delivery,) = result.outcomes[0].deliveries
    assert not delivery.ok and delivery.attempts == 1 and "authentication refused (535)" in delivery.reason
    assert smtp_server.recorder.messages == [] and smtp_server.recorder.data_commands == 0
    stored = (state_folder(tmp_path / "store") / "state.json").read_text()
    for secret in (wrong, SMTP_USER, smtp_server.url(password=wrong)):
        assert secret not in stored and secret not in caplog.text and secret not in result.outcomes[0].line()


def test_no_secret_in_logs_state_or_messages(smtp_server: SmtpServer, hooks: WebhookReceiver, core: Dashboard,
                                             tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    smtp_server.recorder.clear()
    caplog.set_level(logging.DEBUG)
    env = {"CARE_DASHBOARD_SMTP_URL": smtp_server.url(),
           **hook_env(hooks, care_leads=f"/services/{HOOK_TOKEN}", teams_leads=f"/teams/{HOOK_TOKEN}x")}
    hooks.statuses[f"/teams/{HOOK_TOKEN}x"] = [500, 500, 500]
    setup = make_notifier(RULES, core, tmp_path / "store", env)
    result = setup.notifier.run(at_local(17, 8, 0))
    failed = result.outcomes[0].deliveries[2]
    assert not failed.ok and failed.reason.startswith("HTTP 500")
    setup.notifier.preview("daily-care", at_local(17, 8, 0), tmp_path / "preview")
    texts = {
        "log": caplog.text,
        "state": (state_folder(tmp_path / "store") / "state.json").read_text(),
        "outcomes": "\n".join(o.line() for o in result.outcomes),
        "email": smtp_server.recorder.messages[0].as_string(),
        "chat": json.dumps([r.payload for r in hooks.received]),
        "preview": (tmp_path / "preview" / "daily-care.eml").read_text() + (
            tmp_path / "preview" / "daily-care.html").read_text(),
    }
    secrets = [SMTP_PASSWORD, HOOK_TOKEN, env["CARE_DASHBOARD_SMTP_URL"], *hook_env(
        hooks, a=f"/services/{HOOK_TOKEN}").values()]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret in the {where}"


# --------------------------------------------------------------------------------------------------------------
# SLA alerts


def test_breach_alerts_name_exactly_the_conversations_the_at_risk_list_says_will_breach(
        hooks: WebhookReceiver, world, core: Dashboard, tmp_path: Path) -> None:
    rules = """
dashboard_url = "https://care.example.com"
[[sla_alerts]]
name = "about-to-breach"
kind = "breach_soon"
within = "2h"
webhooks = ["care-leads"]
"""
    setup = make_notifier(rules, core, tmp_path / "store", hook_env(hooks, care_leads="/alerts"))
    told: set[str] = set()
    instants = [END - timedelta(hours=h) for h in (30, 29, 24, 20)]
    for at in instants:
        result = setup.notifier.run(at)
        # the oracle: what the Live queue page lists at that instant (a core whose "now" it is)
        page = build_live_queue(Dashboard.from_tables(world.tables, now=at), core.default_filters(days=1))
        risk = page.queue_rows.filter(pl.col("seconds_to_breach").is_between(0, 7200))  # at risk, not yet overdue
        expected = {f"{r['conversation_id']}|{r['metric']}": r for r in risk.iter_rows(named=True)}
        new = {k: r for k, r in expected.items() if k not in told}
        payloads = hooks.at("/alerts")
        if not new:
            assert result.outcomes[0].status == "skipped"
            continue
        assert result.outcomes[0].status == "sent"
        lines = next(b for b in payloads[-1]["blocks"] if b["type"] == "section" and "text" in b)["text"]["text"]
        listed = [line.removeprefix("• ").split(":")[0] for line in lines.splitlines()]
        # soonest breach first; past MAX_LISTED clocks the message says how many more
        soonest = sorted(new.values(), key=lambda r: (r["breach_at"], r["conversation_id"], r["metric"]))
        shown = [str(r["conversation_display_id"]) for r in soonest[:MAX_LISTED]]
        if len(soonest) > MAX_LISTED:
            shown.append(f"… and {len(soonest) - MAX_LISTED} more")
        assert sorted(listed) == sorted(shown)
        told |= set(new)
    assert told, "the chosen instants have conversations about to breach"
    # a rerun at the last instant tells nobody again
    assert setup.notifier.run(instants[-1]).outcomes[0].status == "skipped"


@dataclass
class FactsOnly:
    """A stand-in core over hand-made conversation facts: the two things an SLA alert asks the core for."""

    rules_policy: Any
    frame: pl.LazyFrame

    def facts(self, bot_rule: str | None = None) -> pl.DataFrame:
        return self.frame.collect()

    def policy(self) -> Any:
        return self.rules_policy


def test_an_attainment_episode_fires_reminds_and_closes_when_attainment_recovers(
        smtp_server: SmtpServer, hooks: WebhookReceiver, tmp_path: Path) -> None:
    from tests.test_notify_sla_alerts import POLICY, ROLLING, facts, t

    smtp_server.recorder.clear()
    rules = """
email_from = "care@example.com"
[[sla_alerts]]
name = "frt"
kind = "attainment_below"
threshold_pct = 80
window = "6h"
min_decided = 5
backoff = "1h"
quiet_hours = { start = "22:00", end = "07:00", timezone = "UTC" }
email = ["lead@example.com"]
webhooks = ["care-leads"]
"""
    source = FactsOnly(POLICY, ROLLING)
    env = {"CARE_DASHBOARD_SMTP_URL": smtp_server.url(), **hook_env(hooks, care_leads="/alerts")}
    setup = make_notifier(rules, source, tmp_path / "store", env)

    def kinds() -> list[str]:
        return [p["blocks"][0]["text"]["text"] for p in hooks.at("/alerts")]

    assert setup.notifier.run(t("16:00")).outcomes[0].status == "sent"
    # window [10:00, 16:00): x0, a1-a3 achieved, b1, b2 breached, p1 pending (due 16:30)
    assert kinds()[-1] == "[warning] frt: first response attainment 66.7 % over the last 6 h (4 of 6 decided; " \
                          "threshold 80 %)"
    assert smtp_server.recorder.messages[-1]["Subject"] == kinds()[-1]
    assert setup.notifier.run(t("16:30")).outcomes[0].status == "skipped"  # within the back-off
    assert setup.notifier.run(t("17:00")).outcomes[0].status == "sent"
    # window [11:00, 17:00): p1 has breached too
    assert kinds()[-1].startswith("[warning] still firing since 2026-11-18 16:00 UTC: frt: first response "
                                  "attainment 57.1 %")
    # fast answers arrive: attainment recovers, the episode closes with a resolved message
    source.frame = pl.concat([ROLLING, facts([
        {"id": f"r{i}", "start": t("15:00") + timedelta(minutes=i), "response": t("15:10") + timedelta(minutes=i)}
        for i in range(20)
    ])])
    assert setup.notifier.run(t("17:10")).outcomes[0].status == "sent"
    assert kinds()[-1].startswith("[resolved] frt: first response attainment")
    assert len(kinds()) == 3 and len(smtp_server.recorder.messages) == 3
    assert setup.notifier.run(t("17:20")).outcomes[0].status == "skipped"
    state = read_state(state_folder(tmp_path / "store"))
    assert state.alerts["frt"]["episode"]["closed"] == "2026-11-18T17:10:00Z"
    # it fires again at night: held through the quiet hours, told when they end
    source.frame = ROLLING.with_columns(pl.col(c) + timedelta(hours=7) for c in (
        "created_time", "first_inbound_time", "clock_start", "first_response_time"))
    assert setup.notifier.run(t("23:00")).outcomes[0].detail.startswith("nothing new to announce (quiet hours)")
    assert len(kinds()) == 3


def _truth_attainment(world, at: datetime, window: timedelta) -> tuple[int, int]:
    """(achieved, breached) first responses of the world's conversations whose first inbound post is in
    ``[at - window, at)``, as of ``at``, under one calendar hour — from the world's own record, not our code."""
    slot = pl.lit(at).cast(pl.Datetime("ms", "UTC"))
    start = pl.when(pl.col("bot_first")).then(pl.col("handoff_time")).otherwise(pl.col("first_inbound_time"))
    stop, due = pl.col("first_human_response_time"), pl.col("_start") + pl.duration(hours=1)
    known = stop.is_not_null() & (stop <= slot)
    counted = (
        world.truth.filter((pl.col("first_inbound_time") >= at - window) & (pl.col("first_inbound_time") < at)
                           & ~pl.col("bot_contained"))
        .with_columns(_start=start).filter(pl.col("_start").is_not_null() & (pl.col("_start") <= slot))
        .select(achieved=(known & (stop <= due)).sum(),
                breached=((known & (stop > due)) | (~known & (slot > due))).sum())
    )
    return counted.row(0)


def test_an_attainment_episode_on_the_simulated_world_opens_below_the_threshold_and_closes_when_it_recovers(
        hooks: WebhookReceiver, world, tmp_path: Path) -> None:
    from tests.test_notify_content import CALENDAR_POLICY

    rules = """
[[sla_alerts]]
name = "frt-6h"
kind = "attainment_below"
threshold_pct = 30
window = "6h"
min_decided = 8
backoff = "3d"
webhooks = ["leads"]
"""
    core = Dashboard.from_tables(world.tables, now=END, policy=CALENDAR_POLICY)
    setup = make_notifier(rules, core, tmp_path / "store", hook_env(hooks, leads="/leads"))
    # Expected from the world's truth: an episode starts when judged attainment is below 30 %, ends (resolved)
    # when it is judged at or above; instants with fewer than 8 decided change nothing.
    expected, told, is_open = [], [], False
    for hours in range(48, 0, -1):
        at = END - timedelta(hours=hours)
        achieved, breached = _truth_attainment(world, at, timedelta(hours=6))
        if achieved + breached >= 8 and (100 * achieved / (achieved + breached) < 30) != is_open:
            is_open = not is_open
            expected.append((at, "firing" if is_open else "resolved"))
        before = len(hooks.at("/leads"))
        setup.notifier.run(at)
        for payload in hooks.at("/leads")[before:]:
            title = payload["blocks"][0]["text"]["text"]
            told.append((at, "resolved" if title.startswith("[resolved]") else "firing"))
    assert told == expected, told
    assert [k for _, k in told].count("resolved") >= 2 and [k for _, k in told].count("firing") >= 2
    state = read_state(state_folder(tmp_path / "store")).alerts["frt-6h"]["episode"]
    assert (state["closed"] is None) == is_open


# --------------------------------------------------------------------------------------------------------------
# The command line, against the demo store (as cron would run it)


@pytest.fixture
def cli_env(demo_core, demo_data_dir: Path, demo_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The pinned demo world's synced store, copied so this test's notification state stays its own."""
    import os
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(Path(demo_data_dir) / "store", data_dir / "store", ignore=shutil.ignore_patterns("_notify"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KHOROS_", "CARE_DASHBOARD_"))}
    env.update(demo_env)
    env["CARE_DASHBOARD_DATA_DIR"] = str(data_dir)
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path, **kwargs: Any):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "dashboard", "notify", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_two_concurrent_cli_runs_send_a_slot_once(smtp_server: SmtpServer, hooks: WebhookReceiver,
                                                   cli_env: dict[str, str], tmp_path: Path) -> None:
    smtp_server.recorder.clear()
    rules = tmp_path / "notify.toml"
    rules.write_text(RULES, encoding="utf-8")
    env = {**cli_env, "CARE_DASHBOARD_NOTIFY": str(rules), "CARE_DASHBOARD_SMTP_URL": smtp_server.url(),
           **hook_env(hooks, care_leads=f"/services/{HOOK_TOKEN}", teams_leads="/teams")}
    at = "2026-11-18T13:00:00Z"  # 08:00 in New York: the daily slot
    runs = [_cli(["run", "--at", at, "--no-charts"], env, tmp_path) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    said = sorted("sent" if "daily-care: sent" in out else "skipped" if "already handled" in out else out
                  for out, _ in outputs)
    assert said == ["sent", "skipped"]
    assert len(smtp_server.recorder.messages) == 1 and len(hooks.received) == 2
    for out, err in outputs:
        for secret in (SMTP_PASSWORD, HOOK_TOKEN):
            assert secret not in out and secret not in err


def test_cli_preview_check_status_and_errors(smtp_server: SmtpServer, cli_env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "notify.toml"
    rules.write_text(RULES, encoding="utf-8")
    env = {**cli_env, "CARE_DASHBOARD_NOTIFY": str(rules), "CARE_DASHBOARD_SMTP_URL": smtp_server.url()}

    out, err = (p := _cli(["preview", "daily-care", "--at", "2026-11-18T13:00:00Z", "--out", str(tmp_path / "pv")],
                          env, tmp_path)).communicate(timeout=300)
    assert p.returncode == 0, err
    assert "subject: Care digest daily-care: Tue 17 Nov 2026" in out
    payloads = json.loads(out[out.index("{"):])
    assert set(payloads) == {"slack", "teams"}
    eml = email.message_from_bytes((tmp_path / "pv" / "daily-care.eml").read_bytes(), policy=email.policy.default)
    assert len([p for p in eml.walk() if p.get_content_type() == "image/png"]) == 2
    assert "data:image/png;base64," in (tmp_path / "pv" / "daily-care.html").read_text()

    # check: the webhooks' settings are missing; it says which, and exits 2
    out, err = (p := _cli(["check"], env, tmp_path)).communicate(timeout=120)
    assert p.returncode == 2 and "CARE_DASHBOARD_WEBHOOK_CARE_LEADS is not set" in err
    assert SMTP_PASSWORD not in out + err

    # send --now delivers the e-mail and records the webhooks' failures; status shows them
    smtp_server.recorder.clear()
    out, err = (p := _cli(["send", "daily-care", "--now", "--at", "2026-11-18T15:00:00Z", "--no-charts"], env,
                          tmp_path)).communicate(timeout=300)
    assert p.returncode == 1 and "partial" in out and len(smtp_server.recorder.messages) == 1
    assert smtp_server.recorder.messages[0]["X-Care-Dashboard-Slot"] == "on-demand"
    out, err = (p := _cli(["status"], env, tmp_path)).communicate(timeout=120)
    assert p.returncode == 0 and "webhook:care-leads (digest (on demand)): webhook 'care-leads': " \
                                 "CARE_DASHBOARD_WEBHOOK_CARE_LEADS is not set" in out

    # a rules file that is wrong is rejected with its line, and nothing runs
    rules.write_text(RULES.replace('window = "yesterday"', 'window = "fortnight"'), encoding="utf-8")
    out, err = (p := _cli(["run"], env, tmp_path)).communicate(timeout=120)
    assert p.returncode == 2 and f"{rules} line 12: digests[1] 'daily-care': 'window' must be one of" in err


def test_an_alert_can_be_previewed_and_sent_as_a_test_without_touching_its_episode(
        hooks: WebhookReceiver, tmp_path: Path) -> None:
    from tests.test_notify_sla_alerts import POLICY, ROLLING, t

    rules = """
[[sla_alerts]]
name = "frt"
kind = "attainment_below"
threshold_pct = 80
window = "6h"
min_decided = 5
webhooks = ["care-leads"]
"""
    setup = make_notifier(rules, FactsOnly(POLICY, ROLLING), tmp_path / "store", hook_env(hooks, care_leads="/a"))
    preview = setup.notifier.preview("frt", t("16:00"), tmp_path / "pv")
    assert preview.subject.startswith("[test] frt: first response attainment 66.7 %")
    eml = email.message_from_bytes((tmp_path / "pv" / "frt.eml").read_bytes(), policy=email.policy.default)
    assert eml["Subject"] == preview.subject and "right now it holds" in eml.get_body(("plain",)).get_content()
    assert preview.payloads["slack"]["blocks"][0]["text"]["text"] == preview.subject
    assert hooks.received == []  # a preview sends nothing

    outcome = setup.notifier.send_now("frt", t("16:00"))
    assert outcome.status == "sent" and len(hooks.at("/a")) == 1
    assert read_state(state_folder(tmp_path / "store")).alerts == {}  # the test left the episodes alone
    # the scheduled run still announces the episode
    assert setup.notifier.run(t("16:00")).outcomes[0].status == "sent" and len(hooks.at("/a")) == 2


def test_notify_run_on_the_demo_store_uses_its_clock_and_says_what_report_and_the_live_queue_say(
        smtp_server: SmtpServer, hooks: WebhookReceiver, cli_env: dict[str, str], demo_core, tmp_path: Path) -> None:
    """``notify run`` as cron runs it, without --at, on the demo store: it evaluates at the demo world's pinned
    clock; the digest's tier lines are what the report command in its footer prints (``python -m dashboard report
    sla`` for the same window and filters), and the breach alert lists exactly the Live queue page's at-risk rows
    within its horizon."""
    import shlex
    import subprocess
    import sys

    smtp_server.recorder.clear()
    rules = tmp_path / "notify.toml"
    rules.write_text("""
email_from = "care@example.com"
[[digests]]
name = "morning"
schedule = "30 10 * * *"          # 15:30 UTC on 18 Nov: the demo world's clock
timezone = "America/New_York"
window = "yesterday"
email = ["lead@example.com"]
sections = ["kpis", "tiers"]
filters = { tier = ["Gold", "Silver"] }

[[sla_alerts]]
name = "about-to-breach"
kind = "breach_soon"
within = "2h"
webhooks = ["alerts"]
""", encoding="utf-8")
    env = {**cli_env, "CARE_DASHBOARD_NOTIFY": str(rules), "CARE_DASHBOARD_SMTP_URL": smtp_server.url(),
           **hook_env(hooks, alerts="/alerts")}
    out, err = (p := _cli(["run", "--no-charts"], env, tmp_path)).communicate(timeout=300)
    assert p.returncode == 0, err
    assert out.splitlines()[0] == "at 2026-11-18 15:30:00 UTC (the demo world's clock)"
    assert "digest morning: sent" in out and "sla_alert about-to-breach: sent" in out

    (message,) = smtp_server.recorder.messages
    text = message.get_body(("plain",)).get_content()
    # the e-mail's footer names the report command that prints its figures: run it as a reader would
    command = shlex.split(text.split("Same figures as: ", 1)[1].strip())
    assert command[:4] == ["python", "-m", "dashboard", "report"] and "tier=Gold,Silver" in command
    assert command[command.index("--start") + 1:command.index("--start") + 4] == ["2026-11-17", "--end", "2026-11-18"]
    printed = subprocess.run([sys.executable, *command[1:], "--format", "json"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300, check=True).stdout
    rows = json.loads(printed)
    assert sorted(r["tier"] for r in rows) == ["Gold", "Silver"]
    for row in rows:
        line = next(line for line in text.splitlines() if line.startswith(row["tier"] + " "))
        assert f"{100 * row['attainment']:.1f} %" in line
        assert f"{row['achieved']} / {row['achieved'] + row['breached']}" in line

    page = build_live_queue(demo_core, demo_core.default_filters(days=1))
    assert page.as_of == datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    risk = page.queue_rows.filter(pl.col("seconds_to_breach").is_between(0, 7200))  # at risk, not yet overdue
    (alert,) = hooks.at("/alerts")
    lines = next(b for b in alert["blocks"] if b["type"] == "section" and "text" in b)["text"]["text"]
    listed = sorted(line.removeprefix("• ").split(":")[0] for line in lines.splitlines())
    assert risk.height > 0 and listed == sorted(str(d) for d in risk["conversation_display_id"])

    # cron's next tick, at the same (pinned) clock: nothing is sent twice
    out, err = (p := _cli(["run", "--no-charts"], env, tmp_path)).communicate(timeout=300)
    assert p.returncode == 0, err
    assert "already handled" in out and "nothing new to announce" in out
    assert len(smtp_server.recorder.messages) == 1 and len(hooks.at("/alerts")) == 1
