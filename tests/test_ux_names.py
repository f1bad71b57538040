"""Issue 17, item 3: names, not ids, wherever a person reads — the sidebar's agent filter, the queue tables, the
groups of Service levels — with human column headers and no "None"; downloads and the CLI keep the ids beside the
names. Oracle: the simulated world's own agent table (``world.agents``: id, name). Work queues and teams have no
stored reference data yet: they read "Work queue 12" / "Team 3", never a bare number."""

from __future__ import annotations

import json
import re

import pytest

from dashboard.cli import main
from dashboard.views import build_drilldown, build_sla_breakdown
from tests import _page_helpers as h
from tests.conftest import run_app

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-")


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


@pytest.fixture(scope="module")
def agent_names(demo_world) -> dict[str, str]:
    return dict(demo_world.agents.select("agent_id", "agent_name").iter_rows())


def test_the_sidebar_lists_agents_queues_and_teams_by_name(core, agent_names):
    at = run_app()  # the Overview, the default page
    assert not at.exception and not at.error
    agents = at.multiselect(key="agent").options
    in_facts = core.facts().get_column("agent_id").drop_nulls().unique().to_list()
    assert sorted(agents) == sorted(agent_names[a] for a in in_facts)
    assert agents == sorted(agents, key=str.lower) and not [a for a in agents if UUID.match(a)]
    assert all(re.fullmatch(r"Work queue \d+", q) for q in at.multiselect(key="queue").options)
    assert all(re.fullmatch(r"Team \d+", t) for t in at.multiselect(key="team").options)
    # a link naming an agent by id still works, and the caption names the agent
    some_id = sorted(in_facts)[0]
    at = run_app(query={"agent": some_id})
    assert not at.exception and not at.error
    assert at.multiselect(key="agent").value == [some_id]
    assert f"Agent: {agent_names[some_id]}" in h.texts(at) and some_id not in h.texts(at)


def test_queue_tables_have_human_headers_names_and_no_none(core, agent_names):
    at = run_app("pages/live_queue.py")
    assert not at.exception and not at.error
    table = h.frame_with(at, "State", "Conversation", "Work queue", "Team", "Agent")
    assert not [c for c in table.columns if "_" in c]  # no raw column names
    for column in ("Tier", "Channel", "Work queue", "Team", "Agent", "Clock", "Target"):
        values = table.get_column(column).to_list()
        assert None not in values and "None" not in values, column
    assert set(table.get_column("Agent")) <= {*agent_names.values(), "unassigned"}
    assert all(re.fullmatch(r"Work queue \d+|—", q) for q in table.get_column("Work queue"))


def test_groups_and_the_rows_behind_them_carry_names_and_ids(core, agent_names):
    filters = core.default_filters()
    by_agent = build_sla_breakdown(core, filters, "first_response", "agent")
    assert set(by_agent.options) <= set(agent_names.values()) and by_agent.options
    drill = build_drilldown(by_agent, by_agent.options[0])
    rows = drill.rows  # the download: ids beside names
    assert {"agent_id", "agent_name", "work_queue_id", "work_queue_name", "team_id", "team_name"} <= set(rows.columns)
    assert all(agent_names[i] == n for i, n in rows.select("agent_id", "agent_name").iter_rows())
    assert set(drill.table.get_column("Agent")) == {by_agent.options[0]}  # as shown: the name only
    by_queue = build_sla_breakdown(core, filters, "first_response", "queue")
    assert all(re.fullmatch(r"Work queue \d+", q) for q in by_queue.options)


def test_report_by_agent_names_each_agent_beside_its_id(core, agent_names, capsys):
    filters = core.default_filters()
    assert main(["report", "sla", "--by", "agent", "--start", str(filters.start), "--end", str(filters.end),
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["agent_name"] == agent_names[r["agent_id"]] for r in rows if r["agent_id"])
    assert list(rows[0])[:2] == ["agent_id", "agent_name"]
    assert main(["report", "sla", "--by", "queue", "--start", str(filters.start), "--end", str(filters.end),
                 "--format", "json"]) == 0
    queues = json.loads(capsys.readouterr().out)
    assert all(r["work_queue_name"] == f"Work queue {r['work_queue_id']}" for r in queues if r["work_queue_id"])
