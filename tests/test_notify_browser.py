"""A digest e-mail as a reader's mail client shows it: the HTML of ``notify preview`` rendered in Chromium, its
inline PNG charts decoded and laid out, its figures the report's; saved as ``test-artifacts/screenshots/
digest_email.png`` (the README's picture of a digest)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dashboard import report
from dashboard.notify import Channels, Notifier, parse_rules
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

RULES = """
dashboard_url = "https://care.example.com"
email_from = "Care dashboard <care@example.com>"

[[digests]]
name = "daily-care"
schedule = "0 8 * * *"
timezone = "America/New_York"
window = "yesterday"
email = ["care-lead@example.com"]
sections = ["kpis", "tiers", "queues", "incidents"]
"""
SLOT = datetime(2026, 11, 18, 13, 0, tzinfo=UTC)  # 08:00 in New York, on the demo world's last day


def test_the_digest_email_renders_in_chromium_with_its_charts(demo_core, browser, tmp_path: Path) -> None:
    rules = parse_rules(RULES, "rules.toml")
    notifier = Notifier(rules, demo_core, Channels({}), state_dir=tmp_path / "state")
    preview = notifier.preview("daily-care", SLOT, tmp_path / "preview")
    assert preview.html_path is not None and preview.subject == "Care digest daily-care: Tue 17 Nov 2026"
    printed = report.sla_report(demo_core, by=["tier"], start=date(2026, 11, 17), end=date(2026, 11, 18),
                                tz="America/New_York", as_of=SLOT)
    page = browser.new_page(viewport={"width": 820, "height": 900}, device_scale_factor=1)
    try:
        page.goto(preview.html_path.as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth])")
        assert [alt for alt, _, _ in images] == ["Attainment by tier", "Attainment of the worst queues"]
        assert all(done and width > 400 for _, done, width in images), images  # decoded PNGs, 2x scale
        body = page.inner_text("body")
        for row in printed.iter_rows(named=True):
            assert f"{100 * row['attainment']:.1f} %" in body, row["tier"]
        assert "Open in the dashboard" in body and "python -m dashboard report sla" in body
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "digest_email.png"), full_page=True)
    finally:
        page.close()
    assert (SCREENSHOTS / "digest_email.png").stat().st_size > 50_000
