"""Pure Altair builders for the planning views (contact reasons, occupancy, staffing, what-if targets): a frame in
(from ``dashboard.metrics.reasons`` / ``occupancy`` / ``staffing`` / ``whatif``), an ``alt.Chart`` out; no
Streamlit, no I/O. Each builder names the columns it reads; tests use ``to_dict()``.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts import WEEKDAYS

__all__ = [
    "create_forecast_backtest_chart",
    "create_occupancy_by_hour_chart",
    "create_occupancy_heatmap_chart",
    "create_reason_chart",
    "create_staffing_chart",
    "create_whatif_chart",
]


def create_reason_chart(reasons: pl.DataFrame, *, label: str = "Tag") -> alt.Chart:
    """Conversations per reason, largest first, coloured by first-response attainment. Columns: ``reason``,
    ``conversations``, ``share``, ``first_response_attainment``."""
    data = reasons.with_columns(
        share_pct=(pl.col("share") * 100).round(1),
        attainment_pct=(pl.col("first_response_attainment") * 100).round(1),
    )
    return (
        alt.Chart(data, title=f"Conversations by {label.lower()}")
        .mark_bar()
        .encode(
            y=alt.Y("reason:N", title=None, sort="-x"),
            x=alt.X("conversations:Q", title="Conversations"),
            color=alt.Color("attainment_pct:Q", title="First response SLA %",
                            scale=alt.Scale(scheme="redyellowgreen", domain=[50, 100], clamp=True)),
            tooltip=[alt.Tooltip("reason:N", title=label), "conversations:Q",
                     alt.Tooltip("share_pct:Q", title="Share %"),
                     alt.Tooltip("attainment_pct:Q", title="First response SLA %")],
        )
        .properties(height=max(120, 26 * data.height))
    )


def create_occupancy_by_hour_chart(by_hour: pl.DataFrame) -> alt.LayerChart:
    """Occupancy (bars, %) and concurrency (line) per local hour of the day. Columns: ``hour``, ``occupancy``,
    ``concurrency``, ``available_hours``."""
    data = by_hour.with_columns(occupancy_pct=(pl.col("occupancy") * 100).round(1),
                                concurrency=pl.col("concurrency").round(2),
                                available_hours=pl.col("available_hours").round(1))
    base = alt.Chart(data).encode(x=alt.X("hour:O", title="Hour of the day (report time zone)"))
    tooltip = ["hour:O", alt.Tooltip("occupancy_pct:Q", title="Occupancy %"), "concurrency:Q",
               alt.Tooltip("available_hours:Q", title="Available (h)")]
    bars = base.mark_bar(color="#5c6bc0", opacity=0.8).encode(
        y=alt.Y("occupancy_pct:Q", title="Occupancy %", scale=alt.Scale(domain=[0, 100])), tooltip=tooltip)
    line = base.mark_line(point=True, color="#ef6c00").encode(
        y=alt.Y("concurrency:Q", title="Concurrency (line)"), tooltip=tooltip)
    return alt.layer(bars, line).resolve_scale(y="independent").properties(
        title="Occupancy (bars) and concurrency (line) by hour", height=260)


def create_occupancy_heatmap_chart(cells: pl.DataFrame) -> alt.Chart:
    """Occupancy per weekday × hour. Columns: ``weekday`` (1 = Monday), ``hour``, ``occupancy``,
    ``available_hours``."""
    names = dict(enumerate(WEEKDAYS, start=1))
    data = cells.with_columns(
        weekday_name=pl.col("weekday").replace_strict(names, default=None, return_dtype=pl.String),
        occupancy_pct=(pl.col("occupancy") * 100).round(1),
        available_hours=pl.col("available_hours").round(1),
    )
    return (
        alt.Chart(data, title="Occupancy by weekday and hour")
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour (report time zone)"),
            y=alt.Y("weekday_name:N", title=None, sort=WEEKDAYS),
            color=alt.Color("occupancy_pct:Q", title="Occupancy %", scale=alt.Scale(scheme="blues", domain=[0, 100])),
            tooltip=[alt.Tooltip("weekday_name:N", title="Day"), "hour:O",
                     alt.Tooltip("occupancy_pct:Q", title="Occupancy %"),
                     alt.Tooltip("available_hours:Q", title="Available (h)")],
        )
        .properties(height=200)
    )


def create_staffing_chart(gap: pl.DataFrame) -> alt.Chart:
    """Agents needed and agents available per forecast hour (local time). Columns: ``local_start``,
    ``agents_needed``, ``available_agents``, ``short_by``, ``forecast``."""
    data = gap.select(
        "local_start",
        pl.col("forecast").round(1),
        pl.col("short_by").round(1),
        pl.col("agents_needed").cast(pl.Float64).alias("Agents needed"),
        pl.col("available_agents").round(1).alias("Available (recent weeks)"),
    ).unpivot(index=["local_start", "forecast", "short_by"], variable_name="series", value_name="agents")
    return (
        alt.Chart(data, title="Agents needed vs available, per hour (local time)")
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("local_start:T", title=None, axis=alt.Axis(format="%a %d %b %H:%M")),
            y=alt.Y("agents:Q", title="Agents"),
            color=alt.Color("series:N", title=None,
                            scale=alt.Scale(domain=["Agents needed", "Available (recent weeks)"],
                                            range=["#c62828", "#2e7d32"])),
            tooltip=[alt.Tooltip("local_start:T", title="Hour", format="%a %d %b %H:%M"), "series:N",
                     alt.Tooltip("agents:Q", format=".1f"), alt.Tooltip("forecast:Q", title="Forecast arrivals"),
                     alt.Tooltip("short_by:Q", title="Short by")],
        )
        .properties(height=280)
    )


def create_forecast_backtest_chart(backtest: pl.DataFrame) -> alt.Chart:
    """Arrivals per hour on the held-back weeks: what happened, the seasonal forecast and "same hour last week".
    Columns: ``local_start``, ``actual``, ``forecast``, ``naive_forecast`` (channel groups are added up)."""
    data = (
        backtest.group_by("local_start").agg(pl.col("actual", "forecast", "naive_forecast").sum())
        .sort("local_start")
        .select("local_start", pl.col("actual").alias("Arrived"), pl.col("forecast").round(2).alias("Forecast"),
                pl.col("naive_forecast").alias("Same hour last week"))
        .unpivot(index="local_start", variable_name="series", value_name="conversations")
    )
    return (
        alt.Chart(data, title="The forecast on the held-back weeks")
        .mark_line()
        .encode(
            x=alt.X("local_start:T", title=None, axis=alt.Axis(format="%a %d %b")),
            y=alt.Y("conversations:Q", title="Conversations per hour"),
            color=alt.Color("series:N", title=None,
                            scale=alt.Scale(domain=["Arrived", "Forecast", "Same hour last week"],
                                            range=["#424242", "#1565c0", "#bdbdbd"])),
            tooltip=[alt.Tooltip("local_start:T", title="Hour", format="%a %d %b %H:%M"), "series:N",
                     alt.Tooltip("conversations:Q", format=".2f")],
        )
        .properties(height=240)
    )


def create_whatif_chart(attainment: pl.DataFrame, group: str = "tier", *, order: list | None = None) -> alt.Chart:
    """Attainment per group under the real policy and the edited one. Columns: ``group``,
    ``attainment_before``, ``attainment_after``."""
    data = attainment.select(
        pl.col(group).cast(pl.String),
        (pl.col("attainment_before") * 100).round(1).alias("Real policy"),
        (pl.col("attainment_after") * 100).round(1).alias("Edited targets"),
    ).unpivot(index=group, variable_name="policy", value_name="attainment_pct")
    values = data.get_column(group).unique().drop_nulls().to_list()
    sort = [v for v in (order or []) if v in values] + sorted(v for v in values if v not in (order or []))
    return (
        alt.Chart(data, title="Attainment: real policy vs edited targets")
        .mark_bar()
        .encode(
            y=alt.Y(f"{group}:N", title=None, sort=sort),
            yOffset=alt.YOffset("policy:N", sort=["Real policy", "Edited targets"]),
            x=alt.X("attainment_pct:Q", title="Attainment %", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("policy:N", title=None, sort=["Real policy", "Edited targets"],
                            scale=alt.Scale(range=["#9e9e9e", "#1565c0"])),
            tooltip=[f"{group}:N", "policy:N", alt.Tooltip("attainment_pct:Q", title="Attainment %")],
        )
        .properties(height=max(120, 44 * len(values)))
    )
