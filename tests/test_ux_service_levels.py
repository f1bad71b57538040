"""Issue 17, item 5: the Service levels headline says how many (n), against what (the target) and for everyone
(an all-tiers row); a tier × priority view shows what a tier's average hides (Platinum urgent, 15 minutes
calendar); durations read as durations on the charts too. Oracle: the report CLI's function on the same core,
and the shipped policy's targets."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.formats import DURATION_LABEL_EXPR
from dashboard.views import build_sla_breakdown
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/service_levels.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def test_the_headline_has_n_target_and_an_all_tiers_row(core):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    headline = {r["Tier"]: r for r in h.frame_with(at, "Tier", "FR n", "FR target").iter_rows(named=True)}
    by_tier = {r["tier"]: r for r in h.report(core, by=("tier",)).iter_rows(named=True)}
    for tier, row in by_tier.items():
        assert headline[tier]["FR n"] == row["achieved"] + row["breached"], tier
    everyone = h.report(core).row(0, named=True)
    assert headline["All tiers"]["FR n"] == everyone["achieved"] + everyone["breached"]
    assert headline["All tiers"]["First response SLA %"] == pytest.approx(100 * everyone["attainment"])
    assert headline["All tiers"]["FR pending"] == everyone["pending"]
    # the shipped policy: Platinum urgent 15 min calendar, other Platinum 30 min business; Standard 4 h
    assert headline["Platinum"]["FR target"] == "15m–30m" and headline["Standard"]["FR target"] == "4h 00m"
    low, high = (float(x) for x in headline["Platinum"]["FR 95% interval"].rstrip("%").split("–"))
    assert low <= headline["Platinum"]["First response SLA %"] <= high


def test_tier_by_priority_shows_what_the_tier_average_hides(core):
    at = run_app(PAGE)
    assert not at.exception and not at.error
    pairs = h.frame_with(at, "Tier", "Priority", "FR n", "FR target")
    report = h.report(core, by=("tier", "priority"))
    for row in report.filter(pl.col("achieved") + pl.col("breached") > 0).iter_rows(named=True):
        shown = pairs.filter((pl.col("Tier") == row["tier"]) & (pl.col("Priority") == str(row["priority"])))
        assert shown.height == 1, (row["tier"], row["priority"])
        assert shown.row(0, named=True)["First response SLA %"] == pytest.approx(100 * row["attainment"])
    urgent = pairs.filter((pl.col("Tier") == "Platinum") & pl.col("Priority").is_in(["4", "5"]))
    assert set(urgent.get_column("FR target")) == {"15m"}
    assert pairs.get_column("Tier").to_list()[0] == core.tier_order[0]  # the policy's order, best served first


def test_durations_read_as_durations_on_the_charts(core):
    breakdown = build_sla_breakdown(core, core.default_filters(), "first_response", "tier")
    axis = breakdown.duration_chart.to_dict()["encoding"]["x"]["axis"]
    assert axis["labelExpr"] == DURATION_LABEL_EXPR and "Minutes" not in str(axis.get("title"))
    layers = breakdown.distribution_chart.to_dict()
    hist = layers.get("layer", [layers])[0]
    assert hist["encoding"]["x"]["axis"]["labelExpr"] == DURATION_LABEL_EXPR
