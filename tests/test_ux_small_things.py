"""Issue 17, item 8: the smaller defects a care leader trips over, one test each (the chart-only ones — automation
legends cut short, a dozen latency lines, an outage invisible on 28 days — are in ``test_automation_charts.py``;
the framed author panel and the favicon in ``test_browser_ux.py``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from dashboard.cli import main
from dashboard.core import Dashboard
from dashboard.embed import encode_payload
from dashboard.filters import Filters
from dashboard.metrics import sla
from dashboard.simulator.world import WorldConfig, generate_world
from dashboard.views import build_agent_timeline, build_agents, build_automation, build_drilldown, build_sla_breakdown
from tests import _page_helpers as h
from tests.conftest import DEMO_ENV, run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def _datasets(chart) -> list[list[dict]]:
    return list(chart.to_dict()["datasets"].values())


# --- Service levels ------------------------------------------------------------------------------------------------


def test_running_clocks_are_not_drawn_as_response_times(core):
    breakdown = build_sla_breakdown(core, core.default_filters(), "first_response", "tier")
    drawn = {row["status"] for rows in _datasets(breakdown.distribution_chart) for row in rows if "status" in row}
    assert drawn <= {"achieved", "breached"} and drawn
    pending = breakdown.evaluated.filter(pl.col("status") == "pending").height
    assert pending > 0 and f"{pending:,} still running (pending) are not drawn" in breakdown.distribution_note


def test_the_drill_down_histogram_draws_each_target_of_the_group(core):
    breakdown = build_sla_breakdown(core, core.default_filters(), "first_response", "tier")
    drill = build_drilldown(breakdown, "Platinum")  # urgent 15 min calendar, the rest 30 min business
    lines = next(rows for rows in _datasets(drill.distribution_chart) if rows and "target" in rows[0])
    assert sorted(r["target"] for r in lines) == [900.0, 1800.0]


def test_wording_articles_headings_and_units(core):
    filters = core.default_filters()
    by_agent = build_sla_breakdown(core, filters, "first_response", "agent")
    assert by_agent.picker_label == "Conversations of one agent (or click a bar)"  # never "behind a agent"
    assert "title" not in by_agent.period_chart.to_dict()  # the page's heading says it once
    replies = build_sla_breakdown(core, filters, "next_response", "tier")
    hist = replies.distribution_chart.to_dict()
    assert hist.get("layer", [hist])[0]["encoding"]["y"]["title"] == "Replies"  # next response counts replies
    drill = build_drilldown(replies, replies.options[0])
    assert drill.distribution_chart.to_dict()["layer"][0]["encoding"]["y"]["title"] == "Replies"


def test_the_metric_grouping_and_drill_down_come_from_the_url(core):
    at = run_app("pages/service_levels.py",
                 query={"sla_metric": "Resolution", "sla_group_by": "channel", "sla_pick": "twitter"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    report = h.report(core, metric="resolution", by=("channel",)).filter(pl.col("network") == "twitter").row(
        0, named=True)
    assert f"with channel = twitter (resolution, {report['breached']:,} breached)" in h.texts(at)


def test_invalid_link_values_are_named_not_dropped_in_silence(core):
    at = run_app(query={"tier": ["Diamond", "Gold"], "tz": "EST", "range": "Last 3 days"})
    assert not at.exception and not at.error
    warned = " ".join(h.plain(w.value) for w in at.warning)
    assert "'Diamond' matches nothing" in warned and "'Gold'" not in warned
    assert "'EST' is a fixed offset or a legacy abbreviation" in warned and "Showing America/New_York" in warned
    assert "'Last 3 days' matches nothing" in warned
    at = run_app("pages/service_levels.py", query={"sla_metric": "Speed", "sla_pick": "Diamond"})
    assert not at.exception and not at.error
    warned = " ".join(h.plain(w.value) for w in at.warning)
    assert "The link's metric 'Speed' matches nothing" in warned and "customer tier 'Diamond'" in warned


# --- Agents ------------------------------------------------------------------------------------------------------


def test_a_mondays_default_timeline_reaches_back_to_working_days():
    end = datetime(2026, 11, 16, 11, 23, tzinfo=UTC)  # Monday 06:23 in New York
    world = generate_world(WorldConfig(seed=3, days=10, conversations_per_day=30, end=end,
                                       timezone="America/New_York"))
    monday = Dashboard.from_tables(world.tables, now=end)
    filters = Filters.last_days(end, "America/New_York", 28)
    view = build_agents(monday, filters)
    weekend = build_agent_timeline(monday, filters, view.agent_options[:8], 2)
    assert set(weekend.states) == {"Offline"}  # what the old default showed: a weekend of "Offline"
    assert view.default_days == 5 and "Thu 12 Nov, Fri 13 Nov" in view.timeline_note
    default = build_agent_timeline(monday, filters, view.agent_options[:8], view.default_days)
    assert default.hours.get_column("Available").sum() > 0


# --- Automation ----------------------------------------------------------------------------------------------------


def test_error_groups_follow_the_chosen_window(core, demo_world):
    at = run_app("pages/automation.py", query={"automation_window": "Last 6 hours"})
    assert not at.exception and not at.error
    records = demo_world.tables["bot_request"]
    recent = records.filter((pl.col("state") == "ERROR") & (pl.col("created_time") <= demo_world.now)
                            & (pl.col("created_time") >= demo_world.now - timedelta(hours=6))).height
    assert recent < records.filter(pl.col("state") == "ERROR").height
    groups = [df.value for df in at.dataframe if "Errors in window" in df.value.columns]
    if recent:
        assert int(groups[0]["Errors in window"].sum()) == recent
    else:
        assert not groups and "No errors in this window." in h.texts(at)


def test_incident_impact_is_in_view_and_in_the_download(core):
    view = build_automation(core, core.default_filters(), window="Last 28 days")
    assert view.incidents is not None
    assert view.incidents.columns.index("Auto hand-offs") < 8  # before the technical detail, on screen
    assert {"affected", "p50_first_response_s", "baseline_p50_first_response_s", "handed_off_p50"} <= set(
        view.incident_rows.columns)


# --- Data page ------------------------------------------------------------------------------------------------------


def test_targets_read_as_durations(core):
    at = run_app("pages/data.py")
    assert not at.exception and not at.error
    targets = h.frame_with(at, "Metric", "Target", "Clock")
    assert all(re.fullmatch(r"\d+(s|m|h \d\dm|d \d+h)", t) for t in targets.get_column("Target")), targets
    assert "15m" in targets.get_column("Target").to_list()


def test_conversations_without_inbound_posts_are_called_out(core):
    header = "Conversation ID,Author ID,Network,Status,Created Time,Closed Time\n"
    body = (header + "ux-orphan-1,author-x,twitter,CLOSED,2001-02-01T10:00:00Z,2001-02-01T11:00:00Z\n").encode()
    at = run_app("pages/data.py")
    at.selectbox(key="data_import_export").set_value("conversation")
    at.file_uploader(key="data_import_files").upload("orphans.csv", body, "text/csv").run()
    at.button(key="data_import").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "import the incoming_post export for the same days too" in h.texts(at)
    at = run_app("pages/data.py")
    assert re.search(r"\d+ stored conversation\(s\) have no inbound post, so they count in no figure", h.texts(at))


# --- Author panel ----------------------------------------------------------------------------------------------------


def test_a_running_first_response_reads_running_not_0s(app_env, demo_core, demo_world):
    running_now = sla.evaluate(demo_core.facts_lazy(), demo_core.policy(), "first_response",
                               as_of=demo_world.now).filter(pl.col("status") == "pending").collect()
    assert running_now.height, "the pinned demo world has first responses still running at its now"
    conversation = running_now.sort("first_inbound_time", descending=True).row(0, named=True)
    author = demo_world.tables["author"].filter(pl.col("author_id") == conversation["author_id"]).row(0, named=True)
    token = encode_payload({"agent": {"id": "agent-7"}, "author": {"id": author["author_id"],
                                                                   "network": author["network"]},
                            "conversationId": conversation["conversation_id"], "network": author["network"],
                            "timestamp": int(time.time())}, DEMO_ENV["CARE_DASHBOARD_IFRAME_SECRET"])
    at = run_app(query={"payload": token})
    assert not at.exception and not at.error
    recent = h.frame_with(at, "Conversation", "First response", "First response time")
    running = recent.filter(pl.col("First response") == "running")
    assert running.height and set(running.get_column("First response time")) == {"running"}


# --- report CLI ------------------------------------------------------------------------------------------------------


def test_report_help_describes_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    top = capsys.readouterr().out
    assert "sla" in top and "queue" in top and "examples:" in top
    with pytest.raises(SystemExit):
        main(["report", "sla", "--help"])
    sla = capsys.readouterr().out
    for option in ("--metric", "--by", "--start", "--end", "--tz", "--as-of", "--bot-rule", "--policy", "--clock",
                   "--exclude-pending", "--compare", "--format"):
        described = re.search(rf"^\s+{option}[^\n]*\n?(\s+\S[^\n]*)?", sla, re.MULTILINE)
        assert described and len(described.group(0).split()) > 3, option


def test_report_refuses_a_fixed_offset_time_zone(core, capsys):
    argv = ["report", "sla", "--start", "2026-11-01", "--end", "2026-11-18"]
    assert main([*argv, "--tz", "EST"]) == 2
    assert "'EST' is a fixed offset or a legacy abbreviation" in capsys.readouterr().err
    assert main([*argv, "--tz", "Etc/GMT+5"]) == 2
    capsys.readouterr()
    assert main([*argv, "--tz", "America/New_York"]) == 0
