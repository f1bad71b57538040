"""The Data page through the entrypoint: freshness from the store, sync now with progress, import of an
uploaded file with its bad rows quarantined, the policy in view, and clear messages instead of tracebacks."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.metrics import load_policy
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/data.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def test_freshness_and_policy_come_from_the_store_and_the_policy_file(core):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    freshness = h.frame_with(at, "Export", "Last sync", "Rows")
    expected = core.store.freshness()
    shown = dict(freshness.drop_nulls("Rows").select("Export", "Rows").iter_rows())
    assert shown == dict(expected.select("export", "rows").iter_rows())
    targets = h.frame_with(at, "Metric", "Clock", "Schedule")
    assert targets.height == len(load_policy().targets)
    assert any("[[targets]]" in c.value for c in at.code)


def test_sync_now_reports_its_summary(core):
    at = run_app(PAGE)
    at.multiselect(key="data_sync_exports").set_value(["conversation", "response"])
    at.number_input(key="data_sync_days").set_value(1)
    at.button(key="data_sync").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("Sync complete") for s in at.success)


def test_a_failed_sync_is_a_message_not_a_traceback(core, monkeypatch):
    from dashboard.khoros import KhorosError
    from dashboard.store import sync as sync_module

    def refuse(*args, **kwargs):
        raise KhorosError("Analytics API answered 401: check KHOROS_USERNAME / KHOROS_PASSWORD")

    monkeypatch.setattr(sync_module, "sync", refuse)
    at = run_app(PAGE)
    at.multiselect(key="data_sync_exports").set_value(["conversation"])
    at.button(key="data_sync").click().run()
    assert not at.exception
    assert any("Sync failed" in e.value and "401" in e.value for e in at.error)


def test_import_of_an_uploaded_file_quarantines_bad_rows(core, tmp_path):
    # New, closed, long-past conversations: the shared demo store keeps every figure other tests check.
    header = "Conversation ID,Author ID,Network,Status,Created Time,Closed Time\n"
    lines = [f"imported-test-{i},author-x,twitter,CLOSED,2001-01-0{i}T10:00:00Z,2001-01-0{i}T11:00:00Z"
             for i in (1, 2)]
    body = (header + "\n".join(lines) + "\nbroken-row,,twitter,OPEN,not-a-time,\n").encode()
    at = run_app(PAGE)
    at.selectbox(key="data_import_export").set_value("conversation")
    at.file_uploader(key="data_import_files").upload("conversations_export.csv", body, "text/csv").run()
    at.button(key="data_import").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    # part of the file was quarantined: a warning that says how much, never a green success box
    assert not at.success
    assert any("Imported 2 of 3 rows; 1 did not parse" in h.plain(w.value) for w in at.warning)
    quarantine = core.store.quarantine().filter(pl.col("source").str.contains("conversations_export.csv"))
    assert quarantine.height == 1
    at = run_app(PAGE)  # the quarantine section lists the rejected row with its reason, under the file's name
    reasons = h.frame_with(at, "Export", "Reason", "Rows")
    assert reasons.filter(pl.col("Export") == "conversation").height >= 1
    rows = h.frame_with(at, "Source", "Line", "Raw row")
    assert "conversations_export.csv" in rows.get_column("Source").to_list()
    assert not rows.filter(pl.col("Source").str.contains("care-import-")).height  # no server temp path


def test_an_unreadable_upload_is_a_message_not_a_traceback(core):
    at = run_app(PAGE)
    at.selectbox(key="data_import_export").set_value("response")
    at.file_uploader(key="data_import_files").upload("wrong.csv", b"just,some,columns\n1,2,3\n", "text/csv").run()
    at.button(key="data_import").click().run()
    assert not at.exception
    assert any("Import failed, nothing was written" in e.value for e in at.error)
