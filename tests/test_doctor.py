"""``python -m dashboard doctor``: all OK on the simulator; each problem of a faulty one named with its fix.

Most tests point tenant settings at a simulator app in this process (the client's transport); the no-tenant path
(the demo simulator started the way the app starts it) and the literal commands run real servers and
subprocesses (``integration``)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard import doctor
from dashboard.cli import main as cli_main
from dashboard.khoros import PollPolicy
from dashboard.khoros._http import InProcessASGITransport
from dashboard.settings import Settings
from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.world import WorldConfig, generate_world

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
SIM = "http://simulator.test"
FAST_POLL = PollPolicy(first_delay_s=0.01, factor=2.0, max_delay_s=0.1, timeout_s=30.0)


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(seed=11, days=7, conversations_per_day=80, end=END))


def tenant(tmp_path: Path, **over) -> Settings:
    base = dict(analytics_url=SIM, care_url=SIM, bot_api_url=SIM, company_key="demo", username="demo",
                password="demo", bot_app_id="sim-assist-bot", data_dir=tmp_path, rate_analytics_per_min=10_000,
                rate_care_per_min=10_000, export_time_format="MM/dd/yyyy HH:mm:ss", export_timezone="America/New_York")
    return Settings(**{**base, **over})


def checks_of(world, tmp_path: Path, options: SimulatorOptions | None = None, **settings) -> dict[str, doctor.Check]:
    transport = InProcessASGITransport(create_app(world, options or SimulatorOptions(
        analytics_per_min=10_000, care_per_min=10_000)))
    try:
        found = doctor.run_doctor(tenant(tmp_path, **settings), transport=transport, now=END, poll=FAST_POLL)
    finally:
        transport.close()
    names = [c.name for c in found]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in found}


def statuses(checks: dict[str, doctor.Check]) -> dict[str, str]:
    return {name: c.status for name, c in checks.items()}


def test_a_healthy_tenant_is_all_ok(world, tmp_path):
    checks = checks_of(world, tmp_path)
    assert set(statuses(checks).values()) == {"OK"}, [c.line() for c in checks.values() if c.status != "OK"]
    expected = {"data source", "analytics", "care", "author", "conversation", "bot", "bot token", "time zones",
                "time format", "time zone", "rate limits", "clock"} | {f"export {e}" for e in doctor.EXPORT_IDS}
    assert expected == set(checks)
    assert "13 of 13 columns" in checks["export conversation"].detail
    assert "ASSIGNED_AGENT_DISPLAY_ID -> assigned_agent_id" in checks["export conversation"].detail
    assert "MM/dd/yyyy HH:mm:ss reads all" in checks["time format"].detail
    assert re.search(r"expires \d{4}-\d\d-\d\d \d\d:\d\d UTC, in 8\d days", checks["bot token"].detail)


def test_wrong_credentials_fail_every_family_and_say_what_to_change(world, tmp_path):
    checks = checks_of(world, tmp_path, password="not-the-password", bot_password="nope", bot_username="x")
    for family in ("analytics", "care", "author", "conversation", "bot"):
        assert checks[family].status == "FAIL", family
        assert "401" in checks[family].detail, checks[family].line()
    assert "KHOROS_USERNAME / KHOROS_PASSWORD" in checks["analytics"].fix
    assert "KHOROS_COMPANY_KEY" in checks["analytics"].fix
    assert "KHOROS_BOT_USERNAME" in checks["bot"].fix
    assert checks["exports"].status == "FAIL"
    assert "not-the-password" not in " ".join(c.line() for c in checks.values())


def test_permissions_columns_token_and_clock_problems_are_each_named(world, tmp_path):
    options = SimulatorOptions(analytics_per_min=10_000, care_per_min=10_000, forbidden_families=("author",),
                               drop_export_columns=("conversation:STATUS", "response:IN_REPLY_TO_POST_ID"),
                               token_ttl_s=3 * 86400, clock_skew_s=120)
    checks = checks_of(world, tmp_path, options)
    assert statuses(checks)["author"] == "FAIL" and "403" in checks["author"].detail
    assert "ask Khoros Support to enable the Author API" in checks["author"].fix
    conversation = checks["export conversation"]
    assert conversation.status == "FAIL" and "required column(s) missing: status" in conversation.detail
    assert "aliases in dashboard/schema.py" in conversation.fix
    response = checks["export response"]
    assert response.status == "WARN" and "missing (left empty): in_reply_to_post_id" in response.detail
    assert checks["bot token"].status == "WARN" and "in 3 days" in checks["bot token"].detail  # 3 days + 120 s
    assert checks["clock"].status == "FAIL"  # the Date header has whole seconds: 120 s, give or take one
    assert re.search(r"(119|120|121) s ahead of", checks["clock"].detail)
    assert "NTP" in checks["clock"].fix
    assert checks["care"].status == "OK" and checks["analytics"].status == "OK"


def test_the_time_format_is_detected_and_a_missing_or_wrong_setting_fails(world, tmp_path):
    unset = checks_of(world, tmp_path, export_time_format=None)
    assert unset["time format"].status == "FAIL" and "KHOROS_EXPORT_TIME_FORMAT" in unset["time format"].fix
    assert "MM/dd/yyyy" in unset["time format"].detail  # the format the values fit
    day_first = WorldConfig(seed=11, days=7, conversations_per_day=80, end=END,
                            company_time_format="dd/MM/yyyy HH:mm:ss")
    wrong = checks_of(generate_world(day_first), tmp_path / "b")  # configured MM/dd, the tenant writes dd/MM
    assert wrong["time format"].status == "FAIL"
    assert "does not read" in wrong["time format"].detail and "dd/MM/yyyy" in wrong["time format"].detail


def test_rate_limits_seen_are_reported(world, tmp_path):
    options = SimulatorOptions(analytics_per_min=8, care_per_min=10_000, rate_window_s=0.5)
    checks = checks_of(world, tmp_path, options)
    assert checks["rate limits"].status == "WARN" and "429" in checks["rate limits"].detail
    assert "KHOROS_RATE_" in checks["rate limits"].fix


def test_missing_tenant_settings_fail_at_once(tmp_path):
    found = doctor.run_doctor(Settings(analytics_url="https://x.example", data_dir=tmp_path))
    assert [(c.name, c.status) for c in found] == [("settings", "FAIL")]
    assert "KHOROS_COMPANY_KEY" in found[0].detail and "KHOROS_USERNAME" in found[0].detail


def test_checks_as_a_table_for_a_page(world, tmp_path):
    table = doctor.checks_frame(list(checks_of(world, tmp_path).values()))
    assert table.columns == ["check", "status", "detail", "fix"] and table.height >= 18


SMALL_DEMO = {"CARE_DASHBOARD_SIMULATOR_SEED": "11", "CARE_DASHBOARD_SIMULATOR_DAYS": "7",
              "CARE_DASHBOARD_SIMULATOR_CPD": "60", "CARE_DASHBOARD_SIMULATOR_END": "2026-11-18T15:30:00+00:00"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KHOROS_", "CARE_DASHBOARD_"))}
    return {**env, **extra}


@pytest.mark.integration
def test_doctor_on_the_bundled_simulator_prints_all_ok(tmp_path, monkeypatch):
    for name, value in clean_env(CARE_DASHBOARD_DATA_DIR=str(tmp_path), **SMALL_DEMO).items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith("KHOROS_")]:
        monkeypatch.delenv(name)
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli_main(["doctor"])
    lines = out.getvalue().splitlines()
    assert code == 0, out.getvalue()
    assert lines[0].startswith("OK    data source: the bundled simulator")
    assert all(line.startswith("OK ") for line in lines[:-1]), out.getvalue()
    assert re.fullmatch(r"(\d+) checks: \1 OK, 0 WARN, 0 FAIL", lines[-1])


@pytest.mark.integration
def test_doctor_against_a_faulty_simulator_names_each_problem_and_exits_1(tmp_path):
    simulator = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "simulator", "--port", "0", "--days", "7", "--conversations-per-day",
         "60", "--seed", "11", "--end", "2026-11-18T15:30:00Z", "--job-seconds", "0", "--password", "s3cret",
         "--forbid", "author", "--drop-column", "conversation:STATUS", "--clock-skew-seconds", "300",
         "--analytics-per-min", "1000"],
        cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = None
        deadline = time.monotonic() + 60
        assert simulator.stdout is not None
        while base is None and time.monotonic() < deadline:
            line = simulator.stdout.readline()
            if "listening on" in line:
                base = line.rsplit(" ", 1)[-1].strip()
        assert base, "the simulator printed its address"
        env = clean_env(KHOROS_ANALYTICS_URL=base, KHOROS_CARE_URL=base, KHOROS_BOT_API_URL=base,
                        KHOROS_COMPANY_KEY="demo", KHOROS_USERNAME="demo", KHOROS_PASSWORD="s3cret",
                        KHOROS_BOT_APP_ID="sim-assist-bot", KHOROS_EXPORT_TIME_FORMAT="MM/dd/yyyy HH:mm:ss",
                        KHOROS_RATE_ANALYTICS_PER_MIN="1000", CARE_DASHBOARD_DATA_DIR=str(tmp_path))
        result = subprocess.run([sys.executable, "-m", "dashboard", "doctor"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=180)
        wrong = subprocess.run([sys.executable, "-m", "dashboard", "doctor", "--quiet"], cwd=ROOT,
                               env={**env, "KHOROS_PASSWORD": "guess"}, capture_output=True, text=True, timeout=180)
    finally:
        simulator.terminate()
        simulator.wait(15)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"^FAIL  author: .*403", out, re.MULTILINE)
    assert re.search(r"^FAIL  export conversation: .*required column\(s\) missing: status", out, re.MULTILINE)
    assert re.search(r"^FAIL  clock: the server's clock is (299|300|301) s ahead", out, re.MULTILINE)
    assert re.search(r"^OK    analytics: ", out, re.MULTILINE)
    assert wrong.returncode == 1 and "FAIL  analytics: " in wrong.stdout and "OK " not in wrong.stdout
    assert "s3cret" not in out and "guess" not in wrong.stdout
