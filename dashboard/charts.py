"""Pure Altair chart builders: a frame in, an ``alt.Chart`` out; no Streamlit, no I/O.

Each builder documents the columns it reads. Tests assert on ``chart.to_dict()`` (AppTest cannot see charts).

Two rules every chart follows:
- **Times on the report's clock, whatever the browser's zone.** A browser draws a time axis in its own zone; a
  builder that draws instants takes ``tz`` and hands Vega each instant as the report zone's wall clock stamped
  UTC (:func:`on_report_clock`), drawn on a UTC scale (:data:`REPORT_CLOCK`): every browser shows 10:30 for
  10:30 in the report zone. Tooltips show text made here, in :data:`dashboard.formats.TIME_FORMAT`.
- **Durations as durations**: seconds on the axis, ticks on whole minutes, hours or days, labelled like the
  tables ("1h 30m", :data:`dashboard.formats.DURATION_LABEL_EXPR`).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from dashboard.formats import DATE_FORMAT, DURATION_LABEL_EXPR, TIME_FORMAT, duration_ticks, format_duration

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
    "duration_axis",
    "on_report_clock",
]

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
STATUS_COLORS = alt.Scale(domain=["achieved", "breached", "pending"], range=["#2e7d32", "#c62828", "#9e9e9e"])
SELECTION_NAME = "group_pick"
REPORT_CLOCK = alt.Scale(type="utc")
"""The scale of every time axis: see the module's docstring."""
D3_DATE = "%d %b"


def on_report_clock(frame: pl.DataFrame, tz: str, columns: Sequence[str]) -> pl.DataFrame:
    """``columns`` (instants, or dates) as the wall clock of ``tz`` stamped UTC, for a :data:`REPORT_CLOCK` axis;
    adds ``<column>_text`` (the time as the tables write it) for tooltips."""
    present = [c for c in columns if c in frame.columns]
    texts = [pl.col(c).dt.convert_time_zone(tz).dt.strftime(TIME_FORMAT).alias(f"{c}_text")
             for c in present if isinstance(frame.schema[c], pl.Datetime)]
    shifted = [pl.col(c).dt.convert_time_zone(tz).dt.replace_time_zone("UTC") for c in present
               if isinstance(frame.schema[c], pl.Datetime)]
    return frame.with_columns(*texts).with_columns(*shifted)


def duration_axis(largest: float | None, title: str | None, **kwargs) -> alt.Axis:
    """An axis of seconds with ticks on whole durations, labelled like the tables ("1h 30m")."""
    _, ticks = duration_ticks(largest)
    return alt.Axis(values=ticks, labelExpr=DURATION_LABEL_EXPR, title=title, **kwargs)


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
    """Stacked daily bars. Columns: ``day`` (a local date of the report zone), ``by`` (e.g. network),
    ``conversations``."""
    data = daily.with_columns(day_text=pl.col("day").dt.strftime("%a " + DATE_FORMAT))
    return (
        alt.Chart(data, title="Conversations per day")
        .mark_bar()
        .encode(
            x=alt.X("day:T", title=None, scale=REPORT_CLOCK, axis=alt.Axis(format=D3_DATE)),
            y=alt.Y("sum(conversations):Q", title="Conversations"),
            color=alt.Color(f"{by}:N", title=by.replace("_", " ").capitalize()),
            tooltip=[alt.Tooltip("day_text:N", title="Day"), f"{by}:N", "sum(conversations):Q"],
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
    """Median and p90 per group, as durations. Columns: ``group``, ``median_seconds``, ``p90_seconds``."""
    values = groups.get_column(group).to_list() if groups.height else []
    long = groups.select(
        pl.col(group),
        pl.col("median_seconds").alias("median"),
        pl.col("p90_seconds").alias("p90"),
    ).unpivot(index=group, variable_name="statistic", value_name="seconds").with_columns(
        duration=pl.col("seconds").map_elements(format_duration, return_dtype=pl.String))
    largest = long.get_column("seconds").max() if long.height else None
    return (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{group}:N", sort=_sort_for(values, order), title=None),
            yOffset=alt.YOffset("statistic:N"),
            x=alt.X("seconds:Q", axis=duration_axis(largest, "Duration (clock of the matched target)"),
                    scale=alt.Scale(domainMin=0)),
            color=alt.Color("statistic:N", title=None, scale=alt.Scale(domain=["median", "p90"],
                                                                      range=["#1f5fbf", "#90a4c8"])),
            tooltip=[f"{group}:N", "statistic:N", alt.Tooltip("duration:N", title="Duration")],
        )
        .properties(height=max(120, 44 * max(len(values), 1)))
    )


def create_response_distribution_chart(rows: pl.DataFrame, *, targets: Sequence[tuple[str, float]] = (),
                                       unit: str = "Conversations") -> alt.Chart:
    """Histogram of elapsed time, coloured by SLA status, with a dashed rule at each target (label, seconds).
    Columns: ``elapsed_seconds``, ``status``. Bins are whole durations (1 min, 5 min, 1 h, ...); ``unit`` names
    what is counted (conversations, or replies for next response)."""
    data = rows.select(pl.col("elapsed_seconds").alias("seconds"), pl.col("status")).drop_nulls("seconds")
    largest = max([data.get_column("seconds").max() or 0.0, *(t for _, t in targets)]) if data.height or targets \
        else None
    step, _ = duration_ticks(largest, most=40)
    hist = (
        alt.Chart(data, title="Distribution of response times")
        .mark_bar()
        .encode(
            x=alt.X("seconds:Q", bin=alt.Bin(step=step), scale=alt.Scale(domainMin=0),
                    axis=duration_axis(largest, "Elapsed (clock of the matched target)")),
            y=alt.Y("count():Q", title=unit, stack=True),
            color=alt.Color("status:N", scale=STATUS_COLORS, title="Status"),
        )
    )
    if not targets:
        return hist.properties(height=260)
    lines = pl.DataFrame({"target": [float(t) for _, t in targets], "name": [n for n, _ in targets],
                          "duration": [format_duration(t) for _, t in targets]})
    rule = alt.Chart(lines).mark_rule(color="#1c2430", strokeDash=[4, 3], size=2).encode(
        x="target:Q", tooltip=[alt.Tooltip("name:N", title="Target"), alt.Tooltip("duration:N", title="Within")]
    )
    return alt.layer(hist, rule).properties(height=260)


def create_period_comparison_chart(comparison: pl.DataFrame, group: str, *, order: list | None = None,
                                   labels: dict[str, str] | None = None) -> alt.Chart:
    """Attainment this period vs previous. Columns: ``group``, ``period`` ("current"/"previous"), ``attainment``.
    ``labels`` names the periods in the legend (e.g. with their dates); the page's heading says what it is."""
    labels = {"previous": "previous", "current": "current", **(labels or {})}
    values = comparison.get_column(group).unique().to_list() if comparison.height else []
    data = comparison.with_columns(pl.col("period").replace_strict(labels, default=pl.col("period")).alias("shown"))
    legend = [labels["previous"], labels["current"]]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{group}:N", sort=_sort_for(values, order), title=None),
            yOffset=alt.YOffset("shown:N", sort=legend),
            x=alt.X("attainment:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="Attainment"),
            color=alt.Color("shown:N", sort=legend, scale=alt.Scale(domain=legend, range=["#b8c7e0", "#1f5fbf"]),
                            title=None, legend=alt.Legend(orient="bottom", labelLimit=0)),
            tooltip=[f"{group}:N", alt.Tooltip("shown:N", title="Period"),
                     alt.Tooltip("attainment:Q", format=".1%"), "achieved:Q", "breached:Q"],
        )
        .properties(height=max(120, 44 * max(len(values), 1)))
    )


def create_backlog_chart(backlog: pl.DataFrame, *, by: str = "work_queue", title: str | None = None) -> alt.Chart:
    """Open conversations by age bucket. Columns: ``age_bucket``, ``age_order`` (sort key), ``by``, ``open``;
    ``title`` names ``by`` in the legend."""
    order = (
        backlog.select("age_bucket", "age_order").unique().sort("age_order").get_column("age_bucket").to_list()
        if backlog.height
        else []
    )
    label = title or by.replace("_", " ").capitalize()
    return (
        alt.Chart(backlog, title="Open backlog by age")
        .mark_bar()
        .encode(
            x=alt.X("age_bucket:N", sort=order, title="Age", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(open):Q", title="Open conversations"),
            color=alt.Color(f"{by}:N", title=label, legend=alt.Legend(labelLimit=0)),
            tooltip=[alt.Tooltip("age_bucket:N", title="Age"), alt.Tooltip(f"{by}:N", title=label),
                     alt.Tooltip("sum(open):Q", title="Open")],
        )
        .properties(height=260)
    )


def create_breaches_due_chart(due: pl.DataFrame, *, tz: str = "UTC") -> alt.Chart:
    """Breaches due per coming hour. Columns: ``hour_start`` (datetime), ``breaches``, and optionally
    ``hour_label`` (the hour as the reader's clock shows it), which then labels the bars in order."""
    if "hour_label" in due.columns:
        order = due.sort("hour_start").get_column("hour_label").to_list()
        x = alt.X("hour_label:N", sort=order, title="Hour starting (report time zone)", axis=alt.Axis(labelAngle=0))
        tooltip: list = [alt.Tooltip("hour_label:N", title="Hour starting"), "breaches:Q"]
    else:
        due = on_report_clock(due, tz, ["hour_start"])
        x = alt.X("hour_start:T", title=None, scale=REPORT_CLOCK, axis=alt.Axis(format="%H:%M"))
        tooltip = [alt.Tooltip("hour_start_text:N", title="Hour starting"), "breaches:Q"]
    return (
        alt.Chart(due, title="Breaches due, next 8 hours")
        .mark_bar(color="#c62828")
        .encode(x=x, y=alt.Y("breaches:Q", title="Running clocks", axis=alt.Axis(tickMinStep=1)), tooltip=tooltip)
        .properties(height=220)
    )


def create_agent_timeline_chart(states: pl.DataFrame, *, tz: str = "UTC") -> alt.Chart:
    """Agent state intervals on the report zone's clock. Columns: ``agent_name``, ``state``, ``start_time``,
    ``end_time``."""
    data = on_report_clock(states, tz, ["start_time", "end_time"])
    return (
        alt.Chart(data, title="Agent states")
        .mark_bar()
        .encode(
            y=alt.Y("agent_name:N", title=None),
            x=alt.X("start_time:T", title=f"Time ({tz})", scale=REPORT_CLOCK, axis=alt.Axis(format="%a %H:%M")),
            x2="end_time:T",
            color=alt.Color("state:N", title="State"),
            tooltip=[alt.Tooltip("agent_name:N", title="Agent"), alt.Tooltip("state:N", title="State"),
                     alt.Tooltip("start_time_text:N", title="From"), alt.Tooltip("end_time_text:N", title="To")],
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
