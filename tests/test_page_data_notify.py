"""The Data page's digests-and-alerts section and connection check, through the entrypoint: the rules listed with
their last runs and failures from the notifier's state, a test sent from the page to a local webhook receiver
(and recorded), a bad rules file named with its line, no secret anywhere on the page, and ``doctor`` on demand."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.notify import read_state, state_folder
from dashboard.settings import load_settings
from dashboard.ui import loaders
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/data.py"
HOOK_TOKEN = "T0PAGE/B0PAGE/pageSecretHookToken"
RULES = """
[[digests]]
name = "daily-care"
schedule = "0 8 * * *"
timezone = "America/New_York"
window = "yesterday"
webhooks = ["care-leads"]
sections = ["kpis", "tiers"]

[[sla_alerts]]
name = "about-to-breach"
kind = "breach_soon"
within = "2h"
webhooks = ["care-leads", "night-shift"]
"""


def plain(text: str) -> str:
    """A message as the reader sees it (the page escapes Markdown in messages)."""
    return text.replace("\\", "")


@pytest.fixture
def notify_page(app_env, demo_core, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator:
    """The app with CARE_DASHBOARD_NOTIFY set: its core (a second core over the demo store, opened beforehand so
    the session's shared core stays in place) and a clean notification state."""

    def configure(rules: str, **env: str) -> Dashboard:
        path = tmp_path / "notify.toml"
        path.write_text(rules, encoding="utf-8")
        monkeypatch.setenv("CARE_DASHBOARD_NOTIFY", str(path))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        core = Dashboard.open(settings)
        opened.append((settings, core))
        loaders._CORES[settings] = core
        return core

    opened: list = []
    folder = state_folder(demo_core.store.root)
    shutil.rmtree(folder, ignore_errors=True)
    yield configure
    shutil.rmtree(folder, ignore_errors=True)
    for settings, core in opened:
        loaders._CORES.pop(settings, None)
        core.close()


def test_without_a_rules_file_the_section_says_how_to_set_one_up(app_env, demo_core) -> None:
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Point CARE_DASHBOARD_NOTIFY" in plain(i.value) for i in at.info)
    assert not [d for d in at.dataframe if "last run" in d.value.columns]


def test_a_rules_file_that_does_not_parse_is_named_with_its_line(notify_page) -> None:
    notify_page(RULES.replace('window = "yesterday"', 'window = "fortnight"'))
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = plain(h.texts(at))
    assert "line 6" in shown and "window" in shown and "fortnight" in shown


@pytest.mark.integration
def test_the_rules_are_listed_a_test_is_sent_and_recorded_and_no_secret_is_shown(notify_page) -> None:
    from tests.test_notify_integration import WebhookReceiver

    receiver = WebhookReceiver()
    try:
        url = receiver.url(f"/services/{HOOK_TOKEN}")
        core = notify_page(RULES, CARE_DASHBOARD_WEBHOOK_CARE_LEADS=url)
        at = run_app(PAGE)
        assert not at.exception and not at.error, [e.value for e in at.error]
        rules = h.frame_with(at, "rule", "last run", "last status")
        assert rules["rule"].to_list() == ["daily-care", "about-to-breach"]
        assert rules["last status"].to_list() == ["never ran", "never ran"]
        assert rules.filter(pl.col("rule") == "daily-care")["next slot"][0] == "2026-11-19 08:00"  # after "now"
        # the alert's second webhook has no URL: named (by its setting), before anything is sent
        assert any("CARE_DASHBOARD_WEBHOOK_NIGHT_SHIFT is not set" in plain(w.value) for w in at.warning)

        at.selectbox(key="data_notify_test_rule").set_value("daily-care")
        at.button(key="data_notify_send_test").click().run()
        assert not at.exception
        assert any(plain(s.value).startswith("Test sent:") for s in at.success), [e.value for e in at.error]
        (payload,) = receiver.at(f"/services/{HOOK_TOKEN}")
        assert payload["blocks"][0]["text"]["text"] == "Care digest daily-care: Tue 17 Nov 2026"

        # an alert test: one channel delivers, the other fails; both show, and the failure is recorded
        at.selectbox(key="data_notify_test_rule").set_value("about-to-breach")
        at.button(key="data_notify_send_test").click().run()
        assert any(plain(e.value).startswith("Test sent to some channels") for e in at.error)
        assert len(receiver.at(f"/services/{HOOK_TOKEN}")) == 2
        state = read_state(state_folder(core.store.root))
        assert [(r["trigger"], r["sent"], r["failed"]) for r in state.runs] == [
            ("send daily-care", 1, 0), ("send about-to-breach", 1, 1)]

        at = run_app(PAGE)  # what the page lists now: the last runs, the failure
        rules = h.frame_with(at, "rule", "last run", "last status")
        assert dict(rules.select("rule", "last status").iter_rows()) == {"daily-care": "sent",
                                                                          "about-to-breach": "partial"}
        assert set(rules["last run"]) == {"2026-11-18 10:30"}  # the demo world's clock, in the report zone
        failures = h.frame_with(at, "rule", "channel", "reason")
        assert failures.select("rule", "channel").rows() == [("about-to-breach", "webhook:night-shift")]
        assert "CARE_DASHBOARD_WEBHOOK_NIGHT_SHIFT is not set" in failures["reason"][0]
        shown = h.texts(at) + "".join(str(d.value.to_dict()) for d in at.dataframe) + "".join(
            t.value for t in at.text)
        assert HOOK_TOKEN not in shown and url not in shown
    finally:
        receiver.close()


def test_the_connection_check_runs_on_demand_and_lists_every_check(app_env, demo_core) -> None:
    at = run_app(PAGE)
    assert not [d for d in at.dataframe if "fix" in d.value.columns]  # nothing runs before the button
    at.button(key="data_doctor_run").click().run(timeout=300)
    assert not at.exception and not at.error, [e.value for e in at.error]
    (summary,) = [plain(s.value) for s in at.success if "checks at" in s.value]
    checks = h.frame_with(at, "check", "status", "detail", "fix")
    assert checks.height > 10 and set(checks["status"]) <= {"OK", "WARN"}
    assert f"{checks.height} checks" in summary and "0 FAIL" in summary
    assert {"data source", "clock"} <= set(checks["check"])
