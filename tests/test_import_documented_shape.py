"""A file shaped like Khoros' documentation imports and reports like the same data in our own format.

Doc-shaped: CSV, every field a string, UPPER_SNAKE_CASE ids (``ASSIGNED_AGENT_DISPLAY_ID``), US-locale local
times in America/New_York, no ``ACTION_ID``, no ``UPDATED_TIME``. Our own format: JSON, our ids, epoch ms, an
``action_id`` and an ``updated_time`` per row. Both are written here from one simulated world (this file's own
writer, not the simulator's), imported with ``python -m dashboard import`` into separate stores, and must give
the same ``python -m dashboard report sla`` output. Without ``--time-format``/``--time-zone`` the doc-shaped
import stops, writes nothing and names both options.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard import schema
from dashboard.cli import main as cli_main
from dashboard.simulator.world import WorldConfig, generate_world

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
END = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # no daylight-saving change in the window
NEW_YORK = ZoneInfo("America/New_York")
US = "%m/%d/%Y %H:%M:%S"
EXPORTS = ("conversation", "incoming_post", "response", "conversation_history_action", "author")
REPORTS = (
    ["report", "sla", "--metric", "first_response", "--by", "tier,priority", "--start", "2026-10-08", "--end",
     "2026-10-20", "--tz", "America/New_York", "--as-of", "2026-10-20T12:00:00Z", "--format", "csv"],
    ["report", "sla", "--metric", "resolution", "--by", "channel", "--start", "2026-10-08", "--end", "2026-10-20",
     "--tz", "America/New_York", "--as-of", "2026-10-20T12:00:00Z", "--format", "csv"],
)
KHOROS_IDS = {("conversation", "assigned_agent_id"): "ASSIGNED_AGENT_DISPLAY_ID"}


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    world = generate_world(WorldConfig(seed=4, days=14, conversations_per_day=40, end=END))
    out = {e: world.tables[e] for e in EXPORTS}
    # One version per author, as an export without updated_time can only give: the current values, which
    # in our own format apply from the author's first version on (the same tiers for every conversation).
    authors = world.tables["author"].sort("updated_time")
    first_seen = authors.group_by("author_id").agg(pl.col("updated_time").min())
    out["author"] = (authors.group_by("author_id", maintain_order=True).last().drop("updated_time")
                     .join(first_seen, on="author_id"))
    return out


def write_our_format(tables: dict[str, pl.DataFrame], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for export_id, frame in tables.items():
        epoch = frame.with_columns(pl.col(c).dt.epoch("ms") for c, t in frame.schema.items()
                                   if isinstance(t, pl.Datetime))
        paths[export_id] = folder / f"{export_id}.json"
        paths[export_id].write_text(json.dumps(epoch.to_dicts()))
    return paths


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(NEW_YORK).strftime(US)
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def write_documented_shape(tables: dict[str, pl.DataFrame], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for export_id, frame in tables.items():
        frame = frame.drop([c for c in ("action_id", "updated_time") if c in frame.columns])
        header = [KHOROS_IDS.get((export_id, c), c.upper()) for c in frame.columns]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for row in frame.iter_rows():
            writer.writerow([_text(v) for v in row])
        paths[export_id] = folder / f"{export_id}.csv"
        paths[export_id].write_text(buffer.getvalue())
    return paths


def cli(args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    for name in [n for n in os.environ if n.startswith(("KHOROS_", "CARE_DASHBOARD_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CARE_DASHBOARD_DATA_DIR", str(data_dir))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(args)
    return code, out.getvalue(), err.getvalue()


def store_files(data_dir: Path) -> list[Path]:
    """What an import can write: export days, manifests, quarantine (not the demo world's record, which opening
    the no-tenant store writes)."""
    return sorted(p for p in (data_dir / "store").rglob("*")
                  if p.is_file() and not p.name.startswith(".") and p.name != "_demo_world.json")


def test_the_documented_shape_imports_and_reports_like_our_own_format(tables, tmp_path, monkeypatch):
    ours = write_our_format(tables, tmp_path / "ours")
    docs = write_documented_shape(tables, tmp_path / "docs")
    assert "ACTION_ID" not in docs["conversation_history_action"].read_text().splitlines()[0]
    assert "UPDATED_TIME" not in docs["author"].read_text().splitlines()[0]
    assert "ASSIGNED_AGENT_DISPLAY_ID" in docs["conversation"].read_text().splitlines()[0]

    # Without the options: stops, writes nothing, names both.
    code, _, err = cli(["import", "--export", "conversation", str(docs["conversation"])], tmp_path / "d", monkeypatch)
    assert code == 1 and "nothing was written" in err
    assert "--time-format" in err and "--time-zone" in err and "KHOROS_EXPORT_TIME_FORMAT" in err
    assert store_files(tmp_path / "d") == []

    for export_id in EXPORTS:
        code, out, err = cli(["import", "--export", export_id, str(ours[export_id])], tmp_path / "o", monkeypatch)
        assert code == 0, err
        code, out, err = cli(["import", "--export", export_id, str(docs[export_id]), "--time-format",
                              "%m/%d/%Y %H:%M:%S", "--time-zone", "America/New_York"], tmp_path / "d", monkeypatch)
        assert code == 0 and "0 quarantined" in out, out + err

    reports = []
    for data_dir in (tmp_path / "o", tmp_path / "d"):
        outputs = []
        for args in REPORTS:
            code, out, err = cli(args, data_dir, monkeypatch)
            assert code == 0, err
            outputs.append(out)
        reports.append(outputs)
    assert reports[0] == reports[1]
    assert reports[0][0].count("\n") > 5, "a real table, not an empty one"

    # Importing the same doc-shaped files again changes nothing (derived keys are stable).
    before = {p.relative_to(tmp_path): p.read_bytes() for p in store_files(tmp_path / "d") if p.suffix == ".parquet"}
    for export_id in EXPORTS:
        cli(["import", "--export", export_id, str(docs[export_id]), "--time-format", "MM/dd/yyyy HH:mm:ss",
             "--time-zone", "America/New_York"], tmp_path / "d", monkeypatch)
    from dashboard.store import Store

    stores = [Store(next((tmp_path / d / "store").iterdir())) for d in ("o", "d")]
    for export_id in EXPORTS:
        key = list(schema.EXPORTS[export_id].key)
        counts = [s.scan(export_id).select(pl.len()).collect().item() for s in stores]
        assert counts[0] == counts[1] == tables[export_id].height, export_id
        if export_id not in ("conversation_history_action", "author"):  # their keys are derived in one store
            a, b = (s.scan(export_id).collect().select(schema.EXPORTS[export_id].names).sort(key) for s in stores)
            assert a.equals(b), export_id
    after = {p.relative_to(tmp_path): p.read_bytes() for p in store_files(tmp_path / "d") if p.suffix == ".parquet"}
    assert set(after) == set(before)


@pytest.mark.integration
def test_the_literal_commands_in_subprocesses(tables, tmp_path):
    """The same, as a user types it: ``python -m dashboard import ...`` then ``report sla``."""
    docs = write_documented_shape({e: tables[e] for e in EXPORTS}, tmp_path / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KHOROS_", "CARE_DASHBOARD_"))}
    env["CARE_DASHBOARD_DATA_DIR"] = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    refused = run("import", "--export", "conversation", str(docs["conversation"]))
    assert refused.returncode == 1 and "--time-format" in refused.stderr and "--time-zone" in refused.stderr
    for export_id in EXPORTS:
        done = run("import", "--export", export_id, str(docs[export_id]), "--time-format", "%m/%d/%Y %H:%M:%S",
                   "--time-zone", "America/New_York")
        assert done.returncode == 0, done.stderr
    report = run(*REPORTS[0])
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines()[0].startswith("tier,priority")
