"""The embed gate in app.py: only a valid, fresh payload opens the author panel; all else gets one message."""

import logging
import time

import pytest

from dashboard.embed import encode_payload
from dashboard.ui.embed_gate import INVALID_LINK_MESSAGE
from tests.conftest import DEMO_ENV, run_app

SECRET = DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"]


def _payload(**changes):
    doc = {
        "agent": {"id": "agent-1", "email": "ann@example.com", "name": "Ann"},
        "author": {"id": "author-1", "network": "twitter", "handle": "@someone"},
        "conversationId": "conv-1",
        "conversationDisplayId": 1234,
        "network": "twitter",
        "timestamp": int(time.time() * 1000),
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("garbage", "not-a-token"),
        ("wrong secret", encode_payload(_payload(), "another-secret")),
        ("expired", encode_payload(_payload(timestamp=int(time.time() * 1000) - 3_600_000), SECRET)),
        ("missing field", encode_payload({k: v for k, v in _payload().items() if k != "author"}, SECRET)),
        ("empty", ""),
    ],
)
def test_invalid_payload_gets_only_the_generic_page(app_env, caplog, name, token):
    with caplog.at_level(logging.WARNING, logger="dashboard.embed"):
        at = run_app(query={"payload": token})
    assert not at.exception
    assert [e.value for e in at.error] == [INVALID_LINK_MESSAGE]
    assert not at.sidebar.multiselect  # no filters: the shared frame never ran
    assert not at.metric
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "payload rejected" in logged
    if token:
        assert token not in logged
    assert SECRET not in logged


def test_missing_secret_setting_rejects_every_payload(app_env, monkeypatch):
    monkeypatch.delenv("CARE_DASHBOARD_IFRAME_SECRET")
    at = run_app(query={"payload": encode_payload(_payload(), SECRET)})
    assert [e.value for e in at.error] == [INVALID_LINK_MESSAGE]
