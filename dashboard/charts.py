"""Pure Altair chart builders: a frame in, an ``alt.Chart`` out; no Streamlit, no I/O.

Each builder documents the columns it reads. Tests assert on ``chart.to_dict()`` (AppTest cannot see charts).
Durations arrive in seconds and are shown in minutes or hours, labelled as such.
"""

from __future__ import annotations

import altair as alt
import polars as pl

__all__ = [
    "SELECTION_NAME",
    "create_agent_states_now_chart",
    "create_agent_timeline_chart",
    "create_arrivals_heatmap_chart",
    "create_attainment_chart",
    "create_backlog_chart",
    "create_breaches_due_chart",
    "create_duration_by_group_chart",
    "create_period_comparison_chart",
    "create_response_distribution_chart",
    "create_tier_comparison_chart",
    "create_volume_chart",
    "display_height",
]

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
STATUS_COLORS = alt.Scale(domain=["achieved", "breached", "pending"], range=["#2e7d32", "#c62828", "#9e9e9e"])
SELECTION_NAME = "group_pick"


CHROME_PX = 120
"""Room for the title, the x axis and its label around a chart's plot area."""


def display_height(chart: alt.TopLevelMixin) -> int | str:
    """The element height to give ``st.altair_chart`` so the plot area gets the chart's own ``height``.

    Streamlit (1.5x+) fits the whole chart — title and axes included — into the chart's ``height`` when the
    element height is "content", which squeezes the plot; an explicit element height avoids that.
    """
    height = getattr(chart, "height", alt.Undefined)
    return int(height) + CHROME_PX if isinstance(height, int | float) else "content"


def _sort_for(values: list, order: list | None) -> list | str:
    """The axis order: ``order`` (e.g. the policy's tiers, best served first) for the values it names, then the
    rest ascending; without one, ascending."""
    if order is None:
        return "ascending"
    return [v for v in order if v in values] + sorted(v for v in values if v not in order)


def create_volume_chart(daily: pl.DataFrame, *, by: str = "network") -> alt.Chart:
    """Stacked daily bars. Columns: ``day`` (date), ``by`` (e.g. network), ``conversations``."""
    return (
        alt.Chart(daily, title="Conversations per day")
        .mark_bar()
        .encode(
            x=alt.X("day:T", title=None, axis=alt.Axis(format="%d %b")),
            y=alt.Y("sum(conversations):Q", title="Conversations"),
            color=alt.Color(f"{by}:N", title=by.replace("_", " ").capitalize()),
            tooltip=[alt.Tooltip("day:T", format="%a %d %b %Y"), f"{by}:N", "sum(conversations):Q"],
        )
        .properties(height=280)
    )


def create_arrivals_heatmap_chart(heat: pl.DataFrame) -> alt.Chart:
    """Hour x weekday heatmap. Columns: ``weekday`` (1 = Monday .. 7), ``hour`` (0-23), ``conversations``."""
    names = dict(enumerate(WEEKDAYS, start=1))
    data = heat.with_columns(
        pl.col("weekday").replace_strict(names, default=None, return_dtype=pl.String).alias("weekday_name")
    )
    return (
        alt.Chart(data, title="Arrivals by hour and weekday")
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour (report time zone)"),
            y=alt.Y("weekday_name:N", sort=WEEKDAYS, title=None),
            color=alt.Color("conversations:Q", scale=alt.Scale(scheme="blues"), title="Conversations"),
            tooltip=["weekday_name:N", "hour:O", "conversations:Q"],
        )
        .properties(height=220)
    )


def create_attainment_chart(groups: pl.DataFrame, group: str, *, target: float | None = None,
                            order: list | None = None) -> alt.Chart:
    """Attainment per group with its Wilson interval; click a bar to select the group (groups in ``order``).

    Columns: ``group``, ``attainment`` (0-1, may be null), ``attainment_low``, ``attainment_high``, ``achieved``,
    ``breached``, ``pending``. The selection is named ``group_pick`` (``st.altair_chart(on_select="rerun")``).
    """
    data = groups.filter(pl.col("attainment").is_not_null())
    values = data.get_column(group).to_list() if data.height else []
    pick = alt.selection_point(name=SELECTION_NAME, fields=[group])
    base = alt.Chart(data, title=f"SLA attainment by {group.replace('_', ' ')}").encode(
        y=alt.Y(f"{group}:N", sort=_sort_for(values, order), title=None)
    )
    bars = base.mark_bar().encode(
        x=alt.X("attainment:Q", title="Attainment", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.condition(pick, alt.value("#1f5fbf"), alt.value("#b8c7e0")),
        tooltip=[
            f"{group}:N",
            alt.Tooltip("attainment:Q", format=".1%"),
            alt.Tooltip("attainment_low:Q", format=".1%", title="95% CI low"),
            alt.Tooltip("attainment_high:Q", format=".1%", title="95% CI high"),
            "achieved:Q",
            "breached:Q",
            "pending:Q",
        ],
    ).add_params(pick)
    ci = base.mark_rule(color="#1c2430").encode(x="attainment_low:Q", x2="attainment_high:Q")
    layers: list[alt.Chart] = [bars, ci]
    if target is not None:
        layers.append(
            alt.Chart(pl.DataFrame({"goal": [target]})).mark_rule(color="#c62828", strokeDash=[4, 3]).encode(x="goal:Q")
        )
    return alt.layer(*layers).properties(height=max(120, 34 * max(len(values), 1)))


def create_duration_by_group_chart(groups: pl.DataFrame, group: str, *, title: str,
                                   order: list | None = None) -> alt.Chart:
    """Median and p90 (in minutes) per group. Columns: ``group``, ``median_seconds``, ``p90_seconds``."""
    values = groups.get_column(group).to_list() if groups.height else []
    long = groups.select(
        pl.col(group),
        (pl.col("median_seconds") / 60).alias("median"),
        (pl.col("p90_seconds") / 60).alias("p90"),
    ).unpivot(index=group, variable_name="statistic", value_name="minutes")
    return (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{group}:N", sort=_sort_for(values, order), title=None),
            yOffset=alt.YOffset("statistic:N"),
            x=alt.X("minutes:Q", title="Minutes"),
            color=alt.Color("statistic:N", title=None, scale=alt.Scale(domain=["median", "p90"],
                                                                      range=["#1f5fbf", "#90a4c8"])),
            tooltip=[f"{group}:N", "statistic:N", alt.Tooltip("minutes:Q", format=",.1f")],
        )
        .properties(height=max(120, 44 * max(len(values), 1)))
    )


def create_response_distribution_chart(rows: pl.DataFrame, *, target_minutes: float | None = None) -> alt.Chart:
    """Histogram of elapsed minutes, coloured by SLA status. Columns: ``elapsed_seconds``, ``status``."""
    data = rows.select((pl.col("elapsed_seconds") / 60).alias("minutes"), pl.col("status")).drop_nulls("minutes")
    hist = (
        alt.Chart(data, title="Distribution of response times")
        .mark_bar()
        .encode(
            x=alt.X("minutes:Q", bin=alt.Bin(maxbins=40), title="Minutes (clock of the matched target)"),
            y=alt.Y("count():Q", title="Conversations", stack=True),
            color=alt.Color("status:N", scale=STATUS_COLORS, title="Status"),
        )
    )
    if target_minutes is None:
        return hist.properties(height=260)
    rule = alt.Chart(pl.DataFrame({"target": [target_minutes]})).mark_rule(color="#1c2430", strokeDash=[4, 3]).encode(
        x="target:Q", tooltip=[alt.Tooltip("target:Q", title="target (min)")]
    )
    return alt.layer(hist, rule).properties(height=260)


def create_period_comparison_chart(comparison: pl.DataFrame, group: str, *, order: list | None = None) -> alt.Chart:
    """Attainment this period vs previous. Columns: ``group``, ``period`` ("current"/"previous"), ``attainment``."""
    values = comparison.get_column(group).unique().to_list() if comparison.height else []
    return (
        alt.Chart(comparison, title="This period vs the previous one")
        .mark_bar()
        .encode(
            y=alt.Y(f"{group}:N", sort=_sort_for(values, order), title=None),
            yOffset=alt.YOffset("period:N", sort=["previous", "current"]),
            x=alt.X("attainment:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="Attainment"),
            color=alt.Color("period:N", sort=["previous", "current"],
                            scale=alt.Scale(range=["#b8c7e0", "#1f5fbf"]), title=None),
            tooltip=[f"{group}:N", "period:N", alt.Tooltip("attainment:Q", format=".1%")],
        )
        .properties(height=max(120, 44 * max(len(values), 1)))
    )


def create_backlog_chart(backlog: pl.DataFrame, *, by: str = "work_queue") -> alt.Chart:
    """Open conversations by age bucket. Columns: ``age_bucket``, ``age_order`` (sort key), ``by``, ``open``."""
    order = (
        backlog.select("age_bucket", "age_order").unique().sort("age_order").get_column("age_bucket").to_list()
        if backlog.height
        else []
    )
    return (
        alt.Chart(backlog, title="Open backlog by age")
        .mark_bar()
        .encode(
            x=alt.X("age_bucket:N", sort=order, title="Age"),
            y=alt.Y("sum(open):Q", title="Open conversations"),
            color=alt.Color(f"{by}:N", title=by.replace("_", " ").capitalize()),
            tooltip=["age_bucket:N", f"{by}:N", "sum(open):Q"],
        )
        .properties(height=260)
    )


def create_breaches_due_chart(due: pl.DataFrame) -> alt.Chart:
    """Breaches due per coming hour. Columns: ``hour_start`` (datetime), ``breaches``, and optionally
    ``hour_label`` (the hour as the reader's clock shows it), which then labels the bars in order."""
    if "hour_label" in due.columns:
        order = due.sort("hour_start").get_column("hour_label").to_list()
        x = alt.X("hour_label:N", sort=order, title="Hour starting (report time zone)", axis=alt.Axis(labelAngle=0))
        tooltip: list = ["hour_label:N", "breaches:Q"]
    else:
        x = alt.X("hour_start:T", title=None, axis=alt.Axis(format="%H:%M"))
        tooltip = [alt.Tooltip("hour_start:T", format="%a %H:%M"), "breaches:Q"]
    return (
        alt.Chart(due, title="Breaches due, next 8 hours")
        .mark_bar(color="#c62828")
        .encode(x=x, y=alt.Y("breaches:Q", title="Conversations", axis=alt.Axis(tickMinStep=1)), tooltip=tooltip)
        .properties(height=220)
    )


def create_agent_timeline_chart(states: pl.DataFrame) -> alt.Chart:
    """Agent state intervals. Columns: ``agent_name``, ``state``, ``start_time``, ``end_time``."""
    return (
        alt.Chart(states, title="Agent states")
        .mark_bar()
        .encode(
            y=alt.Y("agent_name:N", title=None),
            x=alt.X("start_time:T", title=None),
            x2="end_time:T",
            color=alt.Color("state:N", title="State"),
            tooltip=["agent_name:N", "state:N", alt.Tooltip("start_time:T", format="%a %H:%M"),
                     alt.Tooltip("end_time:T", format="%a %H:%M")],
        )
        .properties(height=max(160, 26 * max(states.get_column("agent_name").n_unique() if states.height else 1, 1)))
    )


def create_agent_states_now_chart(states_now: pl.DataFrame) -> alt.Chart:
    """How many agents are in each state right now. Columns: ``state``, ``agents``."""
    return (
        alt.Chart(states_now, title="Agents by current state")
        .mark_bar()
        .encode(
            y=alt.Y("state:N", sort="-x", title=None),
            x=alt.X("agents:Q", title="Agents", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("state:N", legend=None),
            tooltip=["state:N", "agents:Q"],
        )
        .properties(height=max(120, 30 * max(states_now.height, 1)))
    )


def create_tier_comparison_chart(comparison: pl.DataFrame, *, order: list | None = None) -> alt.Chart:
    """Attainment per tier for each SLA metric, with 95% Wilson intervals, side by side (tiers in ``order``).

    Columns: ``tier``, ``metric`` (e.g. first_response, resolution), ``attainment`` (0-1, may be null),
    ``attainment_low``, ``attainment_high``, ``achieved``, ``breached``. Rows without attainment are not drawn.
    """
    data = comparison.filter(pl.col("attainment").is_not_null())
    tiers = data.get_column("tier").unique().to_list() if data.height else []
    base = alt.Chart(data, title="Tier comparison (95% Wilson intervals)").encode(
        y=alt.Y("tier:N", sort=_sort_for(tiers, order), title=None),
        yOffset=alt.YOffset("metric:N"),
    )
    points = base.mark_point(filled=True, size=70).encode(
        x=alt.X("attainment:Q", title="Attainment", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("metric:N", title="Metric"),
        tooltip=[
            "tier:N",
            "metric:N",
            alt.Tooltip("attainment:Q", format=".1%"),
            alt.Tooltip("attainment_low:Q", format=".1%", title="95% CI low"),
            alt.Tooltip("attainment_high:Q", format=".1%", title="95% CI high"),
            "achieved:Q",
            "breached:Q",
        ],
    )
    whiskers = base.mark_rule().encode(x="attainment_low:Q", x2="attainment_high:Q", color=alt.Color("metric:N"))
    return alt.layer(whiskers, points).properties(height=max(140, 56 * max(len(tiers), 1)))
