"""The layers, checked on the code itself (imports parsed with ``ast``): data flows one way.

- pages and ``app.py`` import only Streamlit, ``dashboard.ui``, ``dashboard.views`` and ``dashboard.charts*``;
- ``dashboard/metrics/`` imports nothing of ours above ``dashboard.schema`` (no store, settings, core, UI);
- only the data-source module (``dashboard/source.py``) imports the simulator;
- only ``dashboard/ui/`` imports Streamlit, and only ``dashboard/khoros/_http.py`` imports httpx.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

DASHBOARD = ROOT / "dashboard"


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Every module a file imports, at any depth (inside functions too); relative imports resolved against
    ``package`` (default: the file's own)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.add(base)
            # `from dashboard import ui` imports the module dashboard.ui
            found.update(f"{base}.{alias.name}" for alias in node.names if base == "dashboard")
    return found


def python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py")))


def ours(module: str) -> bool:
    return module == "dashboard" or module.startswith("dashboard.")


def under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_parser_sees_nested_relative_and_package_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from dashboard import ui, views\nfrom .loaders import get_core\nfrom .. import core\n\n\n"
                      "def f():\n    import polars\n")
    assert imported_modules(sample, "dashboard.ui") == {"dashboard", "dashboard.ui", "dashboard.views",
                                                        "dashboard.ui.loaders", "dashboard.core", "polars"}


@pytest.mark.parametrize("path", python_files(ROOT / "pages", ROOT / "app.py"), ids=rel)
def test_pages_import_only_the_ui_the_views_and_the_charts(path):
    allowed = ("streamlit", "dashboard.ui", "dashboard.views", "dashboard.charts", "dashboard.charts_automation",
               "__future__")
    wrong = {m for m in imported_modules(path) if not under(m, *allowed) and m != "dashboard"}
    assert not wrong, f"{rel(path)} imports {sorted(wrong)}: pages lay out what a view built"


@pytest.mark.parametrize("path", python_files(DASHBOARD / "metrics"), ids=rel)
def test_metrics_import_nothing_above_the_schema(path):
    wrong = {m for m in imported_modules(path)
             if ours(m) and not under(m, "dashboard.metrics", "dashboard.schema", "dashboard.errors")}
    assert not wrong, f"{rel(path)} imports {sorted(wrong)}: metrics are pure functions over frames"
    assert not {m for m in imported_modules(path) if under(m, "streamlit", "httpx")}


def test_only_the_data_source_module_imports_the_simulator():
    importers = [rel(p) for p in python_files(DASHBOARD, ROOT / "pages", ROOT / "app.py")
                 if not p.is_relative_to(DASHBOARD / "simulator")
                 and any(under(m, "dashboard.simulator") for m in imported_modules(p))]
    assert importers == ["dashboard/source.py"]


def test_only_the_ui_imports_streamlit_and_only_the_transport_imports_httpx():
    files = python_files(DASHBOARD)
    streamlit = [rel(p) for p in files if any(under(m, "streamlit") for m in imported_modules(p))]
    assert streamlit and all(f.startswith("dashboard/ui/") for f in streamlit), streamlit
    httpx = [rel(p) for p in files if any(under(m, "httpx") for m in imported_modules(p))]
    assert httpx == ["dashboard/khoros/_http.py"]


def test_pages_stay_short():
    long = {rel(p): n for p in python_files(ROOT / "pages") if (n := len(p.read_text().splitlines())) > 120}
    assert not long, f"pages over 120 lines: {long}"
