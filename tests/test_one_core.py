"""One core, one answer: with a CRM tier file, another bot rule or another time zone configured, the Service
levels page, the report CLI and notebook 01 give the same tier table (before the core, the pages and the
notebooks ignored ``KHOROS_TIER_FILE``: the tier table differed from the report's)."""

from __future__ import annotations

import argparse
import io
import json
import os
from contextlib import redirect_stdout
from pathlib import Path

import polars as pl
import pytest

from dashboard import report
from tests import _page_helpers as h
from tests.conftest import KHOROS_ENV_NAMES, ROOT, run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

CONFIGS = ["tier_file", "bot_rule", "time_zone"]
TIERS = ("Platinum", "Gold", "Silver", "Standard", "Bronze")


@pytest.fixture(scope="module")
def tier_file(demo_core, tmp_path_factory) -> Path:
    """Every author of the demo store with another tier than the author export's, one "Bronze" the policy does
    not name."""
    authors = sorted(demo_core.table("author").get_column("author_id").unique().to_list())
    path = tmp_path_factory.mktemp("crm") / "tiers.csv"
    path.write_text("author_id,tier\n" + "".join(f"{a},{TIERS[i % len(TIERS)]}\n" for i, a in enumerate(authors)))
    return path


@pytest.fixture(params=CONFIGS)
def configured(request, app_env, tier_file, monkeypatch) -> dict[str, str]:
    """The demo's environment plus one setting that changes the figures."""
    extra = {"tier_file": {"KHOROS_TIER_FILE": str(tier_file)}, "bot_rule": {"CARE_DASHBOARD_BOT_RULE": "any"},
             "time_zone": {"CARE_DASHBOARD_TIMEZONE": "Europe/Berlin"}}[request.param]
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    return {**app_env, **extra}


def report_tier_table(days: int = 28) -> list[dict]:
    """``python -m dashboard report sla --by tier`` for the last ``days`` local days (the sidebar's default: 28;
    the notebooks': 14), as JSON, every other choice (zone, bot rule, as-of, tier source) left to the settings —
    as a user runs it."""
    from dashboard.core import Dashboard

    filters = Dashboard.open(demo="read").default_filters(days)
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["sla", "--by", "tier", "--start", filters.start.isoformat(),
                              "--end", filters.end.isoformat(), "--format", "json"])
    out = io.StringIO()
    with redirect_stdout(out):
        assert report.run(args) == 0
    return json.loads(out.getvalue())


def test_the_page_and_the_report_give_the_same_tier_table(configured, demo_core):
    expected = {r["tier"]: r for r in report_tier_table()}
    at = run_app("pages/service_levels.py")
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = {r["Tier"]: r for r in h.frame_with(at, "Tier", "First response SLA %").iter_rows(named=True)
             if r["Tier"] != "All tiers"}
    assert set(shown) == set(expected)
    for tier, row in expected.items():
        assert shown[tier]["First response SLA %"] == pytest.approx(100 * row["attainment"], abs=1e-9), tier
        assert shown[tier]["FR pending"] == row["pending"], tier
    # ... and the setting took effect: the figures are not the default configuration's
    default = {r["tier"]: r for r in h.report(demo_core, by=("tier",)).iter_rows(named=True)}
    if "KHOROS_TIER_FILE" in configured:
        assert set(shown) == set(TIERS) and list(shown)[-1] == "Bronze"  # the policy's order, its unknown tier last
    elif "CARE_DASHBOARD_BOT_RULE" in configured:
        assert sum(r["bot_contained"] for r in expected.values()) == 0 < sum(r["bot_contained"]
                                                                             for r in default.values())
    else:  # the window is Berlin's days (the world starts inside the window: the same conversations here)
        assert any("(Europe/Berlin)" in h.plain(c.value) for c in at.caption)


@pytest.mark.slow
def test_notebook_01_gives_the_reports_tier_table(configured, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    for variable in KHOROS_ENV_NAMES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(ROOT / "notebooks" / "01_sla_by_tier.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        'print("TIER_TABLE" + comparison.filter(pl.col("metric") == "first_response")'
        '.select("tier", "achieved", "breached", "pending", "attainment", "median_seconds").write_json())'))
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.output_type == "stream")
    mine = {r["tier"]: r for r in json.loads(printed.split("TIER_TABLE", 1)[1])}
    expected = {r["tier"]: r for r in report_tier_table(days=14)}
    assert mine.keys() == expected.keys()
    for tier, row in expected.items():
        assert {k: mine[tier][k] for k in ("achieved", "breached", "pending", "attainment", "median_seconds")} == {
            k: row[k] for k in ("achieved", "breached", "pending", "attainment", "median_seconds")}, tier
    assert pl.DataFrame(list(mine.values())).height == len(expected)
