"""The audit log: append-only records under names no other process uses, read back by listing the folder;
records say what and never hold data; a download is refused when its record cannot be written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard import audit as audit_module
from dashboard.audit import AuditError, AuditLog, audit_log, audited
from dashboard.settings import load_settings
from tests.conftest import ROOT


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def test_records_are_read_back_newest_first_with_who_what_and_when(tmp_path):
    clock = Clock(datetime(2026, 11, 30, 23, 57, tzinfo=UTC))
    log = AuditLog(tmp_path / "_audit", tenant="emea", clock=clock)
    log.record("ada@example.com", "sign_in", subject="ada", roles=["every tenant: admin"])
    log.record("ada@example.com", "sync", days=2, exports=["conversation", "response"], ok=True)
    log.record("lee@example.com", "download", file="sla_rows.csv", rows=12, columns=9)  # 00:00 the next day
    log.record("system", "policy_changed", file="policy.toml", sha256="abc", previous=None)
    latest = log.latest(10)
    assert [(e.user, e.action) for e in latest] == [("system", "policy_changed"), ("lee@example.com", "download"),
                                                   ("ada@example.com", "sync"), ("ada@example.com", "sign_in")]
    assert latest[1].at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC) and latest[1].tenant == "emea"
    assert latest[2].describe() == "days: 2; exports: conversation, response; ok: True"
    assert latest[0].describe() == "file: policy.toml; sha256: abc"  # an empty value is left out
    assert [e.action for e in log.latest(1)] == ["policy_changed"]
    assert [e.action for e in log.latest(5, actions=["sync", "sign_in"])] == ["sync", "sign_in"]
    # one file per process and day, under the day's folder
    days = sorted(p.name for p in (tmp_path / "_audit").iterdir())
    assert days == ["day=2026-11-30", "day=2026-12-01"]
    assert all(len(list((tmp_path / "_audit" / d).glob("*.jsonl"))) == 1 for d in days)


def test_a_record_is_only_ever_appended(tmp_path):
    log = AuditLog(tmp_path, clock=lambda: datetime(2026, 11, 30, 12, tzinfo=UTC))
    log.record("a", "sign_in")
    (path,) = tmp_path.rglob("*.jsonl")
    before = path.read_bytes()
    log.record("b", "sign_out")
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    assert json.loads(after.splitlines()[1]) == {"v": 1, "at": "2026-11-30T12:00:00.000+00:00", "user": "b",
                                                 "action": "sign_out", "tenant": "", "what": {}}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.integration  # a second process
def test_two_processes_write_beside_each_other_and_a_reader_sees_both(tmp_path):
    folder = tmp_path / "_audit"
    AuditLog(folder).record("here", "sign_in")
    code = ("import sys; from dashboard.audit import AuditLog; "
            "AuditLog(sys.argv[1]).record('there', 'sync', days=1)")
    subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, check=True, timeout=60)
    files = list(folder.rglob("*.jsonl"))
    assert len(files) == 2 and len({f.name for f in files}) == 2  # each process its own file
    assert {e.user for e in AuditLog(folder).latest(10)} == {"here", "there"}


def test_a_cut_or_foreign_line_is_skipped_and_the_rest_is_read(tmp_path, caplog):
    log = AuditLog(tmp_path, clock=lambda: datetime(2026, 11, 30, 12, tzinfo=UTC))
    log.record("a", "sign_in")
    (path,) = tmp_path.rglob("*.jsonl")
    with path.open("ab") as fh:
        fh.write(b'{"v":1,"at":"2026-11-30T12:00:01+00:00","user":"b","act')  # a writer killed mid-line
    (path.parent / "other.jsonl").write_text('["not", "a", "record"]\n')
    assert [e.user for e in log.latest(10)] == ["a"]
    assert "does not read" in caplog.text


def test_a_record_holds_descriptions_never_data(tmp_path):
    log = AuditLog(tmp_path)
    with pytest.raises(TypeError, match="must be text, a number or a list"):
        log.record("a", "download", rows=pl.DataFrame({"x": [1]}))
    with pytest.raises(TypeError):
        log.record("a", "download", body=b"bytes of a file")
    with pytest.raises(ValueError, match="unknown audit action"):
        log.record("a", "read_everything")
    event = log.record("a", "import", files=["x" * 1000])
    assert len(event.what["files"][0]) == audit_module.MAX_TEXT


def test_an_unwritable_audit_is_an_audit_error_and_a_download_is_refused(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the audit folder should be")
    log = AuditLog(blocked / "_audit")
    with pytest.raises(AuditError, match="the audit could not be written"):
        log.record("a", "sign_in")
    made = []
    download = audited(lambda: made.append(1) or b"rows", lambda: log.record("lee", "download", file="x.csv"))
    with pytest.raises(AuditError):
        download()
    assert made == []  # no record, no bytes

    ok = AuditLog(tmp_path / "_audit")
    download = audited(lambda: b"rows", lambda: ok.record("lee", "download", file="x.csv", rows=1))
    assert download() == b"rows"
    assert [(e.user, e.what["file"]) for e in ok.latest(5)] == [("lee", "x.csv")]


def test_the_tenant_audit_lives_in_its_store(tmp_path):
    settings = load_settings(env={"CARE_DASHBOARD_DATA_DIR": str(tmp_path)})
    log = audit_log(settings)
    from dashboard.store import store_root

    assert log.folder == store_root(settings) / "_audit" and log.tenant == "demo"


def test_a_forked_child_writes_its_own_file(tmp_path, monkeypatch):
    log = AuditLog(tmp_path, clock=lambda: datetime(2026, 11, 30, 12, tzinfo=UTC))
    log.record("parent", "sign_in")
    real = os.getpid()
    monkeypatch.setattr(audit_module.os, "getpid", lambda: real + 1)  # what a forked worker sees
    log.record("child", "sign_in")
    assert len(list(tmp_path.rglob("*.jsonl"))) == 2
    assert {e.user for e in log.latest(5)} == {"parent", "child"}
