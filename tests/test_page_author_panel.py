"""The author panel through the entrypoint in embed mode (AppTest): a valid payload shows that author only."""

from __future__ import annotations

import time

import polars as pl
import pytest

from dashboard.embed import encode_payload
from dashboard.metrics import load_policy
from dashboard.metrics.author_panel import author_conversations, author_open_conversations, find_author
from dashboard.ui.embed_gate import EMBED_PAYLOAD_KEY
from tests.conftest import DEMO_ENV, run_app

SECRET = DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"]


def payload_for(author: dict, conversation_id: str, display_id: int) -> str:
    return encode_payload(
        {
            "agent": {"id": "agent-7", "email": "ann@example.com", "name": "Ann Agent"},
            "author": {"id": author["author_id"], "network": author["network"], "handle": author["handle"]},
            "conversationId": conversation_id,
            "conversationDisplayId": display_id,
            "network": author["network"],
            "timestamp": int(time.time() * 1000),
        },
        SECRET,
    )


@pytest.fixture(scope="module")
def author_with_open_conversation(demo_source):
    source = demo_source
    facts = source.scan("conversation").collect()
    as_of = source.now()
    open_now = facts.filter(pl.col("closed_time").is_null() | (pl.col("closed_time") > as_of))
    author_id = (open_now.group_by("author_id").len().sort(["len", "author_id"], descending=True))["author_id"][0]
    conv = open_now.filter(pl.col("author_id") == author_id).row(0, named=True)
    author = source.scan("author").filter(pl.col("author_id") == author_id).collect().sort("updated_time").row(
        -1, named=True
    )
    return author, conv


def test_valid_payload_shows_that_authors_panel_only(app_env, demo_source, author_with_open_conversation) -> None:
    from dashboard.metrics import conversation_facts

    author, conv = author_with_open_conversation
    at = run_app(query={"payload": payload_for(author, conv["conversation_id"], conv["conversation_display_id"])})
    assert not at.exception, at.exception
    assert not at.error
    assert at.session_state[EMBED_PAYLOAD_KEY].author.id == author["author_id"]
    # No shared sidebar, no filters: the frame shows one page.
    assert not at.sidebar.selectbox and not at.sidebar.multiselect
    assert [s.value for s in at.subheader] == [author["display_name"]]

    source = demo_source
    as_of = source.now()
    profile = find_author(source.scan("author"), as_of, author["author_id"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tier"] == (profile.tier or "unknown")
    t = {e: source.scan(e) for e in ("conversation", "incoming_post", "response", "conversation_history_action",
                                     "author")}  # fmt: skip
    facts = conversation_facts(t["conversation"], t["incoming_post"], t["response"],
                               t["conversation_history_action"], t["author"]).collect()  # fmt: skip
    policy = load_policy(source.settings.policy_path)
    clocks = author_open_conversations(facts, policy, author["author_id"], as_of)
    recent = author_conversations(facts, policy, author["author_id"], as_of, limit=10)
    assert metrics["Open conversations"] == str(clocks["conversation_id"].n_unique())
    tables = [df.value for df in at.dataframe]
    open_table = next(v for v in tables if "breaches_in" in v.columns)
    assert len(open_table) == clocks.height
    assert bool(open_table["this_one"].any()) == (conv["conversation_id"] in set(clocks["conversation_id"]))
    recent_table = next(v for v in tables if "first_response_status" in v.columns)
    assert list(recent_table["conversation_display_id"]) == recent["conversation_display_id"].to_list()


def test_the_panel_cannot_switch_to_another_page(app_env, author_with_open_conversation) -> None:
    author, conv = author_with_open_conversation
    at = run_app(query={"payload": payload_for(author, conv["conversation_id"], conv["conversation_display_id"])})
    assert not at.exception
    try:
        at.switch_page("pages/overview.py")
        at.run()
    except Exception:  # refused outright: fine
        return
    # Or it ran the only page the embedded navigation holds: still this author's panel, no overview content.
    assert "Overview" not in [t.value for t in at.title]
    assert [s.value for s in at.subheader] == [author["display_name"]]
