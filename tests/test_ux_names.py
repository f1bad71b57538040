"""Issue 17, item 3: names, not ids, wherever a person reads — the sidebar's agent filter, the queue tables, the
groups of Service levels — with human column headers and no "None"; downloads and the CLI keep the ids beside the
names. Oracle: the simulated world's own reference tables (``world.agents``, ``world.work_queues``, ``world.teams``:
id, name); the demo's sync stores the work queue and team listings (dashboard/store/reference.py)."""

from __future__ import annotations

import json
import re

import pytest

from dashboard.cli import main
from dashboard.views import build_drilldown, build_sla_breakdown
from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-")


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


@pytest.fixture(scope="module")
def agent_names(demo_world) -> dict[str, str]:
    return dict(demo_world.agents.select("agent_id", "agent_name").iter_rows())


@pytest.fixture(scope="module")
def queue_names(demo_world) -> dict[int, str]:
    return dict(demo_world.work_queues.select("id", "name").iter_rows())


@pytest.fixture(scope="module")
def team_names(demo_world) -> dict[int, str]:
    return dict(demo_world.teams.select("team_id", "name").iter_rows())


def test_the_sidebar_lists_agents_queues_and_teams_by_name(core, agent_names, queue_names, team_names):
    at = run_app()  # the Overview, the default page
    assert not at.exception and not at.error
    agents = at.multiselect(key="agent").options
    in_facts = core.facts().get_column("agent_id").drop_nulls().unique().to_list()
    assert sorted(agents) == sorted(agent_names[a] for a in in_facts)
    assert agents == sorted(agents, key=str.lower) and not [a for a in agents if UUID.match(a)]
    facts = core.facts()
    queues_in_facts = facts.get_column("work_queue_id").drop_nulls().unique().to_list()
    teams_in_facts = facts.get_column("team_id").drop_nulls().unique().to_list()
    assert sorted(at.multiselect(key="queue").options) == sorted(queue_names[q] for q in queues_in_facts)
    assert sorted(at.multiselect(key="team").options) == sorted(team_names[t] for t in teams_in_facts)
    # a link naming an agent by id still works, and the caption names the agent
    some_id = sorted(in_facts)[0]
    at = run_app(query={"agent": some_id})
    assert not at.exception and not at.error
    assert at.multiselect(key="agent").value == [some_id]
    assert f"Agent: {agent_names[some_id]}" in h.texts(at) and some_id not in h.texts(at)


def test_queue_tables_have_human_headers_names_and_no_none(core, agent_names, queue_names, team_names):
    at = run_app("pages/live_queue.py")
    assert not at.exception and not at.error
    table = h.frame_with(at, "State", "Conversation", "Work queue", "Team", "Agent")
    assert not [c for c in table.columns if "_" in c]  # no raw column names
    for column in ("Tier", "Channel", "Work queue", "Team", "Agent", "Clock", "Target"):
        values = table.get_column(column).to_list()
        assert None not in values and "None" not in values, column
    assert set(table.get_column("Agent")) <= {*agent_names.values(), "unassigned"}
    assert set(table.get_column("Work queue")) <= {*queue_names.values(), "—"}
    assert set(table.get_column("Team")) <= {*team_names.values(), "—"}
    assert set(table.get_column("Work queue")) & set(queue_names.values())


def test_groups_and_the_rows_behind_them_carry_names_and_ids(core, agent_names, queue_names, team_names):
    filters = core.default_filters()
    by_agent = build_sla_breakdown(core, filters, "first_response", "agent")
    assert set(by_agent.options) <= set(agent_names.values()) and by_agent.options
    drill = build_drilldown(by_agent, by_agent.options[0])
    rows = drill.rows  # the download: ids beside names
    assert {"agent_id", "agent_name", "work_queue_id", "work_queue_name", "team_id", "team_name"} <= set(rows.columns)
    assert all(agent_names[i] == n for i, n in rows.select("agent_id", "agent_name").iter_rows())
    assert set(drill.table.get_column("Agent")) == {by_agent.options[0]}  # as shown: the name only
    assert all(queue_names[i] == n for i, n in rows.select("work_queue_id", "work_queue_name").iter_rows() if i)
    assert all(team_names[i] == n for i, n in rows.select("team_id", "team_name").iter_rows() if i)
    by_queue = build_sla_breakdown(core, filters, "first_response", "queue")
    assert by_queue.options and set(by_queue.options) <= set(queue_names.values())
    by_team = build_sla_breakdown(core, filters, "first_response", "team")
    assert by_team.options and set(by_team.options) <= set(team_names.values())


def test_report_names_agents_and_queues_beside_their_ids(core, agent_names, queue_names, team_names, capsys):
    filters = core.default_filters()
    assert main(["report", "sla", "--by", "agent", "--start", str(filters.start), "--end", str(filters.end),
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["agent_name"] == agent_names[r["agent_id"]] for r in rows if r["agent_id"])
    assert list(rows[0])[:2] == ["agent_id", "agent_name"]
    assert main(["report", "sla", "--by", "queue", "--start", str(filters.start), "--end", str(filters.end),
                 "--format", "json"]) == 0
    queues = json.loads(capsys.readouterr().out)
    assert queues and all(r["work_queue_name"] == queue_names[r["work_queue_id"]] for r in queues
                          if r["work_queue_id"])
    # the Live queue's list: every work queue and team by the world's name beside its id
    assert main(["report", "queue", "--format", "json"]) == 0
    clocks = json.loads(capsys.readouterr().out)
    assert clocks and all(r["work_queue_name"] == queue_names[r["work_queue_id"]] for r in clocks
                          if r["work_queue_id"] is not None)
    assert all(r["team_name"] == team_names[r["team_id"]] for r in clocks if r["team_id"] is not None)
