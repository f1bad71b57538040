"""Pure Altair builders for the automation monitor: a frame in (from ``dashboard.metrics.automation``), an
``alt.Chart`` out; no Streamlit, no I/O. Each builder names the columns it reads; tests use ``to_dict()``.

A *scope* is an app id and origin ("sim-assist-bot · KHOROS"): health is computed per scope. Times are drawn on
the report zone's clock in any browser (``tz``; see ``dashboard.charts``), and legends show scopes whole.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts import REPORT_CLOCK, on_report_clock

__all__ = [
    "HEALTH_COLORS",
    "create_error_group_trend_chart",
    "create_error_rate_chart",
    "create_health_timeline_chart",
    "create_latency_chart",
    "create_pending_age_chart",
    "with_scope_label",
]

HEALTH_COLORS = alt.Scale(domain=["HEALTHY", "DEGRADED", "DOWN"], range=["#2e7d32", "#f9a825", "#c62828"])
SCOPE_LEGEND = alt.Legend(orient="bottom", columns=2, labelLimit=0, title="App · origin")
"""Scopes share long prefixes ("sim-order-status-bot · ..."): a truncated label would make two series read alike."""
AXIS_TIME = "%d %b %H:%M"


def with_scope_label(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``scope`` = "app_id · origin" (or the app id alone when the frame has no origin)."""
    if "origin" in frame.columns:
        label = pl.concat_str([pl.col("app_id"), pl.col("origin")], separator=" · ")
    else:
        label = pl.col("app_id")
    return frame.with_columns(scope=label)


def create_health_timeline_chart(timeline: pl.DataFrame, *, title: str = "Health timeline",
                                 tz: str = "UTC") -> alt.Chart:
    """One lane per scope, coloured by state; every non-healthy interval also gets a marker at its start, so a
    2-hour outage stays visible on a 28-day axis. Columns: ``app_id``, ``origin``, ``state``, ``start``, ``end``,
    ``duration_s``, ``peak_error_rate``."""
    data = on_report_clock(with_scope_label(timeline), tz, ["start", "end"]).with_columns(
        duration_min=(pl.col("duration_s") / 60).round(1))
    tooltip = [
        alt.Tooltip("scope:N", title="App · origin"),
        alt.Tooltip("state:N", title="State"),
        alt.Tooltip("start_text:N", title="From"),
        alt.Tooltip("end_text:N", title="To"),
        alt.Tooltip("duration_min:Q", title="Minutes"),
        alt.Tooltip("peak_error_rate:Q", title="Peak error rate", format=".0%"),
    ]
    base = alt.Chart(data, title=title).encode(
        x=alt.X("start:T", title=f"Time ({tz})", scale=REPORT_CLOCK, axis=alt.Axis(format=AXIS_TIME)),
        y=alt.Y("scope:N", title=None, axis=alt.Axis(labelLimit=0)),
        color=alt.Color("state:N", title="Health", scale=HEALTH_COLORS),
        tooltip=tooltip,
    )
    lanes = base.mark_bar(height=16).encode(x2="end:T")
    markers = base.transform_filter(alt.datum.state != "HEALTHY").mark_point(
        shape="triangle-down", filled=True, size=90, yOffset=-11, opacity=1)
    return alt.layer(lanes, markers).properties(height=alt.Step(34))


def create_error_rate_chart(series: pl.DataFrame, *, tz: str = "UTC") -> alt.Chart:
    """Error rate per time bucket and scope. Columns: ``app_id``, ``origin``, ``bucket``, ``error_rate``,
    ``errors``, ``attempts``."""
    data = on_report_clock(with_scope_label(series), tz, ["bucket"])
    return (
        alt.Chart(data, title="Error rate")
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=f"Time ({tz})", scale=REPORT_CLOCK, axis=alt.Axis(format=AXIS_TIME)),
            # At least 0–5 %: a quiet window's axis is not a stack of "0.000000%" labels.
            y=alt.Y("error_rate:Q", title="Errors ÷ attempts", axis=alt.Axis(format=".0%"),
                    scale=alt.Scale(domain=[0, max(0.05, float(series.get_column("error_rate").max() or 0.0))])),
            color=alt.Color("scope:N", legend=SCOPE_LEGEND),
            tooltip=[alt.Tooltip("scope:N", title="App · origin"), alt.Tooltip("bucket_text:N", title="From"),
                     alt.Tooltip("error_rate:Q", format=".1%"), "errors:Q", "attempts:Q"],
        )
        .properties(height=240)
    )


def create_latency_chart(series: pl.DataFrame, *, tz: str = "UTC") -> alt.Chart:
    """Latency p95 per time bucket and scope, in seconds, one line per scope (p50 in the tooltip: two lines per
    scope would be a dozen overlapping lines). Columns: ``app_id``, ``origin``, ``bucket``, ``p50_latency_ms``,
    ``p95_latency_ms``."""
    data = on_report_clock(with_scope_label(series), tz, ["bucket"]).with_columns(
        p50_s=pl.col("p50_latency_ms") / 1000, p95_s=pl.col("p95_latency_ms") / 1000)
    return (
        alt.Chart(data, title="Latency p95 (nearest rank; p50 in the tooltip)")
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=f"Time ({tz})", scale=REPORT_CLOCK, axis=alt.Axis(format=AXIS_TIME)),
            y=alt.Y("p95_s:Q", title="Seconds"),
            color=alt.Color("scope:N", legend=SCOPE_LEGEND),
            tooltip=[alt.Tooltip("scope:N", title="App · origin"), alt.Tooltip("bucket_text:N", title="From"),
                     alt.Tooltip("p50_s:Q", title="p50 (s)", format=".2f"),
                     alt.Tooltip("p95_s:Q", title="p95 (s)", format=".2f")],
        )
        .properties(height=240)
    )


def create_pending_age_chart(pending: pl.DataFrame) -> alt.Chart:
    """Pending requests per age bucket (in bucket order), stacked by scope. Columns: ``app_id``, ``origin``,
    ``age_bucket``, ``bucket_order``, ``pending``."""
    data = with_scope_label(pending)
    order = data.sort("bucket_order")["age_bucket"].unique(maintain_order=True).to_list()
    return (
        alt.Chart(data, title="Pending requests by age")
        .mark_bar()
        .encode(
            x=alt.X("age_bucket:N", title="Age", sort=order, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(pending):Q", title="Pending requests"),
            color=alt.Color("scope:N", legend=SCOPE_LEGEND),
            tooltip=["scope:N", "age_bucket:N", "sum(pending):Q"],
        )
        .properties(height=220)
    )


def create_error_group_trend_chart(trend: pl.DataFrame, *, top: int = 6, tz: str = "UTC") -> alt.Chart:
    """Errors per bucket, stacked by error group (the ``top`` largest groups; the rest as "other").
    Columns: ``group_id``, ``message``, ``bucket``, ``count``."""
    totals = trend.group_by("group_id").agg(pl.col("count").sum().alias("total")).sort("total", descending=True)
    keep = totals.head(top)["group_id"].to_list()
    data = (
        trend.with_columns(
            group=pl.when(pl.col("group_id").is_in(keep))
            .then(pl.concat_str([pl.col("group_id").str.slice(0, 6), pl.col("message").str.slice(0, 60)],
                                separator=" "))
            .otherwise(pl.lit("other"))
        )
        .group_by("bucket", "group")
        .agg(pl.col("count").sum())
    )
    data = on_report_clock(data, tz, ["bucket"])
    return (
        alt.Chart(data, title="Errors by group")
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=f"Time ({tz})", scale=REPORT_CLOCK, axis=alt.Axis(format="%d %b")),
            y=alt.Y("sum(count):Q", title="Errors"),
            color=alt.Color("group:N", title="Error group", legend=alt.Legend(orient="bottom", columns=1,
                                                                               labelLimit=0)),
            tooltip=[alt.Tooltip("group:N", title="Error group"), alt.Tooltip("bucket_text:N", title="From"),
                     alt.Tooltip("sum(count):Q", title="Errors")],
        )
        .properties(height=240)
    )
