"""The Live queue page through the entrypoint: open backlog and agents available as the simulated world says
at its "now", the at-risk list ordered by time to breach, filters from the URL, a message when nothing is open."""

from __future__ import annotations

import polars as pl
import pytest

from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

PAGE = "pages/live_queue.py"


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def available_at(states: pl.DataFrame, now) -> int:
    """Agents whose state interval covering ``now`` is "Available" — worked out row by row from the raw table."""
    latest: dict[str, tuple] = {}
    for row in states.iter_rows(named=True):
        covers = row["start_time"] <= now and (row["end_time"] is None or row["end_time"] > now)
        if covers and (row["agent_id"] not in latest or row["start_time"] > latest[row["agent_id"]][0]):
            latest[row["agent_id"]] = (row["start_time"], row["state"])
    return sum(1 for _, state in latest.values() if state == "Available")


def test_open_backlog_at_risk_list_and_agents_for_now(core, demo_world):
    at = run_app(PAGE)
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = h.metrics(at)
    still_open = demo_world.truth.filter(pl.col("status") != "CLOSED")
    assert shown["Open now"] == f"{still_open.height:,}"
    table = h.frame_with(at, "State", "Overdue by / due in", "Breach at")
    assert table.height > 0
    assert set(table.get_column("Conversation")) <= set(
        demo_world.tables["conversation"].filter(pl.col("conversation_id").is_in(still_open["conversation_id"].to_list()))
        .get_column("conversation_display_id"))
    assert table.get_column("Breach at").is_sorted()  # the most overdue first, then the soonest to breach
    expected = available_at(demo_world.tables["raw_agent_states"], demo_world.now)
    assert expected > 0
    assert shown["Agents available"] == f"{expected:,}"
    assert any("refreshed" in c.value for c in at.caption)


def test_filters_from_the_url_narrow_the_queue(core, demo_world):
    still_open = demo_world.truth.filter(pl.col("status") != "CLOSED")
    busiest = still_open.group_by("priority_at_start").len().sort("len", descending=True).row(0, named=True)
    at = run_app(PAGE, query={"priority": str(busiest["priority_at_start"])})
    assert not at.exception and not at.error
    assert h.metrics(at)["Open now"] == f"{busiest['len']:,}"


def test_nothing_open_gets_a_message(core):
    at = run_app(PAGE, query=h.empty_filter(core.facts()))
    assert not at.exception and not at.error
    assert any("Nothing is open" in w.value for w in at.warning)
    assert h.metrics(at)["Open now"] == "0"
