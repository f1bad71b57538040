"""Issue 17, item 1: overdue work first — on the Live queue, in the author panel and in the CLI.

The oracle is the simulated world's own record: conversations still open at its "now", never answered by a human,
whose first inbound post came before Monday 00:00 (New York) while "now" is Wednesday 10:30. Whatever their tier
and priority, their first-response clock has run at least two business days (Monday and Tuesday, 09:00–17:00):
past every first-response target of the policy (8 business hours at most). They must lead the list, as overdue.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.embed import encode_payload
from tests import _page_helpers as h
from tests.conftest import DEMO_ENV, run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/live_queue.py"
NY = ZoneInfo("America/New_York")


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


@pytest.fixture(scope="module")
def long_unanswered(demo_world) -> pl.DataFrame:
    """Open, human-first, never answered by a human, arrived before Tuesday 17 Nov 00:00 New York: by Wednesday
    10:30 at least 9 h 30 m of business time (Tuesday 9-17, Wednesday 9-10:30) have passed, more than the
    longest first-response target of the default policy (8 h business), so each one is overdue."""
    now = demo_world.now
    assert now == datetime(2026, 11, 18, 15, 30, tzinfo=ZoneInfo("UTC"))  # Wednesday 10:30 in New York
    cutoff = datetime(2026, 11, 17, tzinfo=NY).astimezone(ZoneInfo("UTC"))
    truth = demo_world.truth.filter(
        (pl.col("status") != "CLOSED") & ~pl.col("bot_first")
        & (pl.col("first_human_response_time").is_null() | (pl.col("first_human_response_time") > now))
        & (pl.col("first_inbound_time") < cutoff))
    display = demo_world.tables["conversation"].select("conversation_id", "conversation_display_id")
    found = truth.join(display, on="conversation_id")
    assert found.height > 0, "the pinned demo world has long-unanswered open conversations"
    return found


def seconds(text: str) -> float:
    """A duration as the tables write it ("7d 21h", "22h 25m", "45m", "30s") back in seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return float(sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", text)))


def test_the_live_queue_leads_with_overdue_work(core, long_unanswered):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = h.frame_with(at, "State", "Overdue by / due in", "Conversation", "Clock")
    states = table.get_column("State").to_list()
    overdue = table.filter(pl.col("State") == "Overdue")
    # overdue rows first, the most overdue on top, then the running ones by time to breach
    assert states == sorted(states, key=lambda s: s != "Overdue") and overdue.height > 0
    late = [seconds(t) for t in overdue.get_column("Overdue by / due in")]
    assert late == sorted(late, reverse=True) and all(s > 0 for s in late)
    ahead = [seconds(t) for t in table.filter(pl.col("State") == "At risk").get_column("Overdue by / due in")]
    assert ahead == sorted(ahead)
    assert table.schema["Breach at"].time_zone == "America/New_York"  # the report zone's clock
    # every long-unanswered conversation of the world is there, its first response overdue
    first = set(overdue.filter(pl.col("Clock") == "First response").get_column("Conversation"))
    assert set(long_unanswered.get_column("conversation_display_id")) <= first
    # the KPI counts conversations (not clocks), and "within 1 h" no longer hides them
    shown = h.metrics(at)
    assert int(shown["Overdue"].replace(",", "")) == overdue.get_column("Conversation").n_unique()
    soon = [s for s in ahead if s < 3600]
    assert shown["Breach within 1 h"] == f"{len(soon):,}"
    help_text = h.plain(next(m.help for m in at.metric if h.plain(m.label) == "Overdue"))
    assert f"{len(first):,} of these conversations still have no first response" in help_text


def test_the_cli_lists_the_same_queue(core, long_unanswered, capsys):
    assert main(["report", "queue", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    states = [r["state"] for r in rows]
    assert states == sorted(states, key=lambda s: s != "Overdue") and "At risk" in states
    first_overdue = {r["conversation_display_id"] for r in rows
                     if r["state"] == "Overdue" and r["metric"] == "first_response"}
    assert set(long_unanswered.get_column("conversation_display_id")) <= first_overdue
    # names beside the ids, times in the report zone
    assert all(r["agent_name"] for r in rows if r["agent_id"])
    assert all(r["breach_at"].endswith(("-05:00", "-0500")) for r in rows)
    assert main(["report", "queue"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["state", "overdue_by", "due_in"] and table[2].startswith("Overdue")


def test_the_author_panel_puts_an_overdue_conversation_first(app_env, demo_world, long_unanswered):
    target = long_unanswered.sort("first_inbound_time").row(0, named=True)
    author = demo_world.tables["author"].filter(pl.col("author_id") == target["author_id"]).sort(
        "updated_time").row(-1, named=True)
    token = encode_payload({
        "agent": {"id": "agent-7"},
        "author": {"id": author["author_id"], "network": author["network"], "handle": author["handle"]},
        "conversationId": target["conversation_id"], "network": author["network"], "timestamp": int(time.time()),
    }, DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"])
    at = run_app(query={"payload": token})
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = h.frame_with(at, "State", "Overdue by / due in", "Clock")
    assert table.row(0, named=True)["State"] == "Overdue"
    mine = table.filter((pl.col("Conversation") == target["conversation_display_id"])
                        & (pl.col("Clock") == "First response"))
    assert mine.get_column("State").to_list() == ["Overdue"]
    assert int(h.metrics(at)["Overdue"]) >= 1
