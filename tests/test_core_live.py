"""Live calls to Khoros (its bot health, token expiry, current TAR) never hold up the pages: they run outside the
core's lock, sessions asking for the same answer share one call, and on a tenant they give up soon when Khoros
is down (the sync client's patient retries are for syncs)."""

from __future__ import annotations

import threading
from datetime import timedelta

from dashboard.core import Dashboard
from dashboard.source import LIVE_RETRY, TenantSource
from tests._worlds import tenant_settings


def _core(tmp_path, **env) -> Dashboard:
    return Dashboard(TenantSource(tenant_settings(tmp_path / "data", **env)))


def test_a_live_call_waiting_on_khoros_does_not_hold_up_other_figures(tmp_path):
    core = _core(tmp_path)
    release, started = threading.Event(), threading.Event()

    def slow_call() -> str:
        started.set()
        release.wait(30)
        return "answer"

    caller = threading.Thread(target=core._expiring_value, args=(("live", 1), 60.0, slow_call))
    caller.start()
    try:
        assert started.wait(10)
        got: list[int] = []
        other = threading.Thread(target=lambda: got.append(core._cached(("another figure",), lambda: 42)))
        other.start()
        other.join(10)
        assert got == [42], "a figure of another session waited for the live call"
        assert core._expiring_value(("live", 2), 60.0, lambda: "other key") == "other key"
    finally:
        release.set()
        caller.join(10)


def test_sessions_asking_the_same_live_answer_at_once_share_one_call(tmp_path):
    core = _core(tmp_path)
    calls: list[int] = []
    release = threading.Event()

    def call() -> str:
        calls.append(1)
        release.wait(30)
        return "health"

    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(core._expiring_value(("health",), 60.0, call)))
               for _ in range(4)]
    for t in threads:
        t.start()
    while not calls:
        threading.Event().wait(0.01)
    release.set()
    for t in threads:
        t.join(10)
    assert answers == ["health"] * 4
    assert len(calls) == 1
    # kept for its time to live, then asked again
    assert core._expiring_value(("health",), 60.0, lambda: "new") == "health"
    assert core._expiring_value(("token",), -1.0, lambda: "expired at once") == "expired at once"
    assert core._expiring_value(("token",), 60.0, lambda: "asked again") == "asked again"


def test_live_calls_to_an_unreachable_tenant_give_up_after_the_live_retries(tmp_path):
    # Nothing listens on port 9: every connection is refused.
    core = _core(tmp_path, KHOROS_CARE_URL="http://127.0.0.1:9", KHOROS_BOT_API_URL="http://127.0.0.1:9")
    since = core.now() - timedelta(days=1)
    answer, why = core.current_tar(since)
    assert answer is None
    assert "127.0.0.1:9" in why or "connect" in why.lower(), why
    live = core.source.live_client
    # One try and one retry per currentTAR request (FIRST, then SUBSEQUENT is not asked once FIRST failed).
    assert live.stats.requests <= LIVE_RETRY["attempts"], live.stats
    assert live.stats.retries == LIVE_RETRY["attempts"] - 1
    # the sync client is another client, with its own patient retries (never made by a page's live call)
    assert core.source._client is None
    # the failure is the live answer until it expires: asking again sends nothing
    assert core.current_tar(since)[0] is None
    assert live.stats.requests <= LIVE_RETRY["attempts"]
