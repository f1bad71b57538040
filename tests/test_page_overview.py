"""The Overview page, run through the entrypoint: its KPIs equal the report CLI's numbers and the simulated
world's own record of what happened."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard.views import format_duration, format_value
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/overview.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def arrived(world, core, tier: str | None = None) -> pl.DataFrame:
    """The world's conversations whose first inbound post is in the sidebar's default window (28 local days)."""
    tz = core.settings.timezone
    today = world.now.astimezone(ZoneInfo(tz)).date()
    local_day = pl.col("first_inbound_time").dt.convert_time_zone(tz).dt.date()
    truth = world.truth.filter(local_day.is_between(today - timedelta(days=27), today, closed="both"))
    return truth if tier is None else truth.filter(pl.col("tier_at_start") == tier)


def test_kpis_equal_the_report_cli_and_the_worlds_truth(core, demo_world):
    at = run_app(PAGE)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    shown = h.metrics(at)
    overall = h.report(core).row(0, named=True)
    assert shown["FRT SLA"] == format_value(overall["attainment"], "ratio")
    assert shown["Median FRT"] == format_duration(overall["median_seconds"])
    assert shown["p90 FRT"] == format_duration(overall["p90_seconds"])
    assert shown["Conversations"] == f"{arrived(demo_world, core).height:,}"
    assert shown["Backlog now"] == f"{demo_world.truth.filter(pl.col('status') != 'CLOSED').height:,}"
    records = demo_world.tables["bot_request"].filter(pl.col("state").is_in(["SUCCESS", "ERROR"]))
    assert shown["Bot success"] != "—" and records.height > 0
    assert any("Demo data" in i.value for i in at.info)


def test_filters_come_from_the_url(core, demo_world):
    at = run_app(PAGE, query={"tier": "Platinum"})
    assert not at.exception and not at.error
    shown = h.metrics(at)
    platinum = h.report(core, by=("tier",)).filter(pl.col("tier") == "Platinum").row(0, named=True)
    assert shown["FRT SLA"] == format_value(platinum["attainment"], "ratio")
    assert shown["Median FRT"] == format_duration(platinum["median_seconds"])
    assert shown["Conversations"] == f"{arrived(demo_world, core, 'Platinum').height:,}"


def test_a_filter_that_matches_nothing_says_so(core):
    at = run_app(PAGE, query=h.empty_filter(core.facts()))
    assert not at.exception and not at.error
    assert any("No conversations arrived" in w.value for w in at.warning)
    assert h.metrics(at)["Conversations"] == "0"
    assert h.metrics(at)["FRT SLA"] == "—"
