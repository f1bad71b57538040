"""The analyst notebooks run top to bottom, offline, on the small pinned demo world.

Each notebook opens the data the way the app does (``Dashboard.open()``: the core) and asserts, in a cell, that one
of its figures equals the report CLI's; executing it is the test. They are stored without outputs
so diffs stay readable and no customer data is ever committed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import KHOROS_ENV_NAMES, ROOT

NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_NAMES = [
    "01_sla_by_tier.ipynb",
    "02_agent_performance.ipynb",
    "03_automation_errors.ipynb",
    "04_warehouse_export.ipynb",
    "05_planning.ipynb",
    "06_read_the_store_with_duckdb.ipynb",
]


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_is_stored_without_outputs(name: str):
    notebook = json.loads((NOTEBOOKS / name).read_text())
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code_cells, f"{name} has no code"
    assert all(c.get("outputs") == [] and c.get("execution_count") is None for c in code_cells), (
        f"{name} is stored with outputs; clear them before committing"
    )
    sources = "".join("".join(c["source"]) for c in code_cells)
    assert "Dashboard.open()" in sources and "import dashboard" in sources
    # notebooks import metrics and views, not a module named after pages
    assert "pages_support" not in sources and "conversation_facts(" not in sources


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_executes_offline_on_the_demo_world(name: str, demo_env: dict[str, str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]):
    import nbformat
    from nbclient import NotebookClient

    for variable in KHOROS_ENV_NAMES:
        monkeypatch.delenv(variable, raising=False)
    # The kernel inherits this environment: the pinned demo world, and a place for the warehouse export.
    for variable, value in {**demo_env, "CARE_DASHBOARD_EXPORT_DIR": str(tmp_path / "warehouse"),
                            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
                            }.items():
        monkeypatch.setenv(variable, value)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    if name == "04_warehouse_export.ipynb":
        written = sorted(p.name for p in (tmp_path / "warehouse").rglob("*.parquet"))
        assert "conversation.parquet" in written
    if name == "06_read_the_store_with_duckdb.ipynb":
        _check_duckdb_answer(tmp_path / "warehouse" / "attainment_by_tier_duckdb.json", capsys)


def _check_duckdb_answer(written: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The attainment by tier the notebook computed in SQL (from the store's files, picked through the manifests)
    equals ``python -m dashboard report sla`` for the same window, run here, for every metric the facts carry."""
    from dashboard.cli import main

    answer = json.loads(written.read_text())
    window = answer["window"]
    by_metric: dict[str, dict[str, dict]] = {}
    for row in answer["by_tier"]:
        by_metric.setdefault(row["metric"], {})[row["tier"]] = row
    assert set(by_metric) == {"first_response", "time_to_assign", "resolution"}
    for metric, mine in by_metric.items():
        capsys.readouterr()
        assert main(["report", "sla", "--metric", metric, "--by", "tier", "--start", window["start"],
                     "--end", window["end"], "--tz", window["tz"], "--as-of", window["as_of"],
                     "--bot-rule", window["bot_rule"], "--format", "json"]) == 0
        report = {row["tier"]: row for row in json.loads(capsys.readouterr().out)}
        assert set(mine) == set(report) and len(report) >= 3, (metric, sorted(mine), sorted(report))
        for tier, row in mine.items():
            assert (row["achieved"], row["breached"], row["pending"]) == (
                report[tier]["achieved"], report[tier]["breached"], report[tier]["pending"]), (metric, tier)
            assert row["attainment"] == pytest.approx(report[tier]["attainment"], abs=1e-12), (metric, tier)
        # not vacuous: every tier has decided clocks in this window
        assert all(r["achieved"] + r["breached"] > 0 for r in mine.values()), (metric, mine)
