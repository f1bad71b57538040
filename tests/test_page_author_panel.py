"""The author panel through the entrypoint in embed mode (AppTest): a valid payload shows that author only, with
the tier, conversations and open clocks the world's raw tables give."""

from __future__ import annotations

import time

import polars as pl
import pytest

from dashboard.embed import encode_payload
from dashboard.ui.embed_gate import EMBED_PAYLOAD_KEY
from tests import _page_helpers as h
from tests.conftest import DEMO_ENV, run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

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
def author_with_open_conversation(demo_world):
    world = demo_world
    conversations = world.tables["conversation"]
    open_now = conversations.filter(pl.col("closed_time").is_null() | (pl.col("closed_time") > world.now))
    author_id = (open_now.group_by("author_id").len().sort(["len", "author_id"], descending=True))["author_id"][0]
    conv = open_now.filter(pl.col("author_id") == author_id).row(0, named=True)
    author = world.tables["author"].filter(pl.col("author_id") == author_id).sort("updated_time").row(-1, named=True)
    return author, conv


def test_valid_payload_shows_that_authors_panel_only(app_env, demo_world, author_with_open_conversation) -> None:
    author, conv = author_with_open_conversation
    at = run_app(query={"payload": payload_for(author, conv["conversation_id"], conv["conversation_display_id"])})
    assert not at.exception, at.exception
    assert not at.error
    assert at.session_state[EMBED_PAYLOAD_KEY].author.id == author["author_id"]
    # No shared sidebar, no filters: the frame shows one page.
    assert not at.sidebar.selectbox and not at.sidebar.multiselect
    assert [h.plain(s.value) for s in at.subheader] == [author["display_name"]]

    metrics = h.metrics(at)
    assert metrics["Tier"] == (author["tier"] or "unknown")  # the author export's latest version
    tables = [df.value for df in at.dataframe]
    open_table = next(v for v in tables if "Overdue by / due in" in v.columns)
    assert int(metrics["Open conversations"]) == open_table["Conversation"].nunique() > 0
    assert bool(open_table["This one"].any())
    mine = demo_world.tables["conversation"].filter(pl.col("author_id") == author["author_id"])
    still_open = mine.filter(pl.col("closed_time").is_null() | (pl.col("closed_time") > demo_world.now))
    assert set(open_table["Conversation"]) <= set(still_open["conversation_display_id"])
    recent_table = next(v for v in tables if "First response time" in v.columns)
    latest = mine.filter(pl.col("created_time") <= demo_world.now).sort("created_time", descending=True).head(10)
    assert list(recent_table["Conversation"]) == latest["conversation_display_id"].to_list()


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
    assert [h.plain(s.value) for s in at.subheader] == [author["display_name"]]


def test_a_payload_with_only_the_promised_fields_names_nothing_as_none(app_env, author_with_open_conversation) -> None:
    """Khoros promises the viewing agent, the author, the channel, the conversation id and a timestamp: without
    the display id, the handle and the agent's name and email the caption says what it has, never "None"."""
    author, conv = author_with_open_conversation
    token = encode_payload({"agent": {"id": "agent-7"},
                            "author": {"id": author["author_id"], "network": author["network"]},
                            "conversationId": conv["conversation_id"], "channel": author["network"],
                            "timestamp": int(time.time())}, SECRET)  # seconds, as some senders do
    at = run_app(query={"payload": token})
    assert not at.exception and not at.error
    caption = " ".join(h.plain(c.value) for c in at.caption)
    assert f"conversation {conv['conversation_id']}" in caption and "for agent-7" in caption
    assert "None" not in caption
