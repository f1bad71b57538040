"""Chart builders are pure: assert on the Vega-Lite spec they produce."""

from datetime import UTC, date, datetime

import polars as pl

from dashboard import charts


def _spec_layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_volume_chart_stacks_channels_per_day():
    daily = pl.DataFrame({"day": [date(2026, 11, 2)] * 2, "network": ["twitter", "facebook"],
                          "conversations": [5, 7]})
    spec = charts.create_volume_chart(daily).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["color"]["field"] == "network"
    assert spec["encoding"]["y"]["aggregate"] == "sum"
    (rows,) = spec["datasets"].values()
    assert sorted(r["conversations"] for r in rows) == [5, 7]


def test_heatmap_names_weekdays_in_order():
    heat = pl.DataFrame({"weekday": [1, 7], "hour": [9, 23], "conversations": [3, 1]})
    spec = charts.create_arrivals_heatmap_chart(heat).to_dict()
    (rows,) = spec["datasets"].values()
    assert {r["weekday_name"] for r in rows} == {"Mon", "Sun"}
    assert spec["encoding"]["y"]["sort"] == charts.WEEKDAYS


ORDER = ["Platinum", "Gold", "Silver", "Standard", "unknown"]  # as a policy names them (Policy.tier_order)


def test_attainment_chart_orders_groups_as_told_and_offers_a_click_selection():
    groups = pl.DataFrame({
        "tier": ["Standard", "Platinum", "Gold", "Empty"],
        "attainment": [0.7, 0.95, 0.9, None],
        "attainment_low": [0.6, 0.9, 0.8, None], "attainment_high": [0.8, 0.99, 0.95, None],
        "achieved": [70, 95, 90, 0], "breached": [30, 5, 10, 0], "pending": [1, 0, 0, 3],
    })
    spec = charts.create_attainment_chart(groups, "tier", target=0.9, order=ORDER).to_dict()
    bars, ci, goal = spec["layer"]
    assert goal["encoding"]["x"]["field"] == "goal"
    assert bars["encoding"]["y"]["sort"] == ["Platinum", "Gold", "Standard"]
    assert charts.create_attainment_chart(groups, "tier").to_dict()["layer"][0]["encoding"]["y"]["sort"] == "ascending"
    assert spec["params"][0]["name"] == charts.SELECTION_NAME  # layered: params hoisted to the top
    assert ci["mark"]["type"] == "rule"
    data = [r for rows in spec["datasets"].values() for r in rows if "tier" in r]
    assert {r["tier"] for r in data} == {"Platinum", "Gold", "Standard"}  # no attainment -> not drawn


def test_duration_chart_draws_durations_as_the_tables_write_them():
    groups = pl.DataFrame({"priority": [1, 5], "median_seconds": [600.0, 120.0], "p90_seconds": [5400.0, None]})
    spec = charts.create_duration_by_group_chart(groups, "priority", title="FRT").to_dict()
    (rows,) = spec["datasets"].values()
    assert {r["priority"]: r["duration"] for r in rows if r["statistic"] == "median"} == {1: "10m", 5: "2m"}
    axis = spec["encoding"]["x"]["axis"]
    # ticks on whole quarter hours up to the longest (1h 30m), labelled like format_duration
    assert axis["values"] == [i * 900.0 for i in range(7)] and axis["labelExpr"] == charts.DURATION_LABEL_EXPR


def test_distribution_chart_bins_whole_durations_and_draws_every_target():
    rows = pl.DataFrame({"elapsed_seconds": [60.0, 3600.0, None], "status": ["achieved", "breached", "pending"]})
    spec = charts.create_response_distribution_chart(rows, targets=[("urgent (15m)", 900.0), ("other (1h)", 3600.0)],
                                                     unit="Replies").to_dict()
    hist, rule = spec["layer"]
    assert hist["encoding"]["x"]["bin"] == {"step": 120.0}  # 2-minute bins: at most 40 up to an hour
    assert hist["encoding"]["y"]["title"] == "Replies"
    assert rule["mark"]["type"] == "rule"
    lines = next(rows for rows in spec["datasets"].values() if rows and "target" in rows[0])
    assert [(r["name"], r["target"], r["duration"]) for r in lines] == [("urgent (15m)", 900.0, "15m"),
                                                                         ("other (1h)", 3600.0, "1h 00m")]


def test_backlog_and_breaches_due_and_timeline_read_their_columns():
    backlog = pl.DataFrame({"age_bucket": ["<1h", "1-4h"], "age_order": [0, 1], "work_queue": ["A", "B"],
                            "open": [3, 4]})
    spec = charts.create_backlog_chart(backlog).to_dict()
    assert spec["encoding"]["x"]["sort"] == ["<1h", "1-4h"]
    due = pl.DataFrame({"hour_start": [datetime(2026, 11, 2, 10, tzinfo=UTC)], "breaches": [2]})
    assert charts.create_breaches_due_chart(due).to_dict()["encoding"]["y"]["field"] == "breaches"
    states = pl.DataFrame({"agent_name": ["Ann"], "state": ["AVAILABLE"],
                           "start_time": [datetime(2026, 11, 2, 9, tzinfo=UTC)],
                           "end_time": [datetime(2026, 11, 2, 12, tzinfo=UTC)]})
    spec = charts.create_agent_timeline_chart(states).to_dict()
    assert spec["encoding"]["x2"]["field"] == "end_time"


def test_agent_states_now_chart_counts_agents_per_state():
    now = pl.DataFrame({"state": ["Available", "Lunch"], "agents": [5, 2]})
    spec = charts.create_agent_states_now_chart(now).to_dict()
    assert spec["encoding"]["x"]["field"] == "agents"
    assert spec["encoding"]["y"]["sort"] == "-x"
    (rows,) = spec["datasets"].values()
    assert {r["state"]: r["agents"] for r in rows} == {"Available": 5, "Lunch": 2}


def test_tier_comparison_chart_draws_intervals_per_metric_in_tier_order():
    comparison = pl.DataFrame({
        "tier": ["Standard", "Platinum", "Platinum", "Gold"],
        "metric": ["first_response", "first_response", "resolution", "resolution"],
        "attainment": [0.7, 0.95, 0.8, None],
        "attainment_low": [0.6, 0.9, 0.7, None], "attainment_high": [0.8, 0.99, 0.9, None],
        "achieved": [70, 95, 8, 0], "breached": [30, 5, 2, 0],
    })
    spec = charts.create_tier_comparison_chart(comparison, order=ORDER).to_dict()
    whiskers, points = spec["layer"]
    assert whiskers["encoding"]["x2"]["field"] == "attainment_high"
    assert points["encoding"]["y"]["sort"] == ["Platinum", "Standard"]  # Gold has no attainment: not drawn
    assert points["encoding"]["yOffset"]["field"] == "metric"
    data = [r for rows in spec["datasets"].values() for r in rows]
    assert len(data) == 3


def test_breaches_due_chart_labels_hours_in_order_when_given():
    due = pl.DataFrame({"hour_start": [datetime(2026, 11, 2, 15, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC)],
                        "hour_label": ["10:00", "11:00"], "breaches": [1, 0]})
    spec = charts.create_breaches_due_chart(due).to_dict()
    assert spec["encoding"]["x"]["field"] == "hour_label"
    assert spec["encoding"]["x"]["sort"] == ["10:00", "11:00"]


def test_display_height_leaves_room_for_title_and_axes():
    chart = charts.create_agent_states_now_chart(pl.DataFrame({"state": ["Available"], "agents": [1]}))
    assert charts.display_height(chart) == 120 + charts.CHROME_PX
    import altair as alt

    assert charts.display_height(alt.Chart(pl.DataFrame({"a": [1]})).mark_bar()) == "content"
