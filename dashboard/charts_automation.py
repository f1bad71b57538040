"""Pure Altair builders for the automation monitor: a frame in (from ``dashboard.metrics.automation``), an
``alt.Chart`` out; no Streamlit, no I/O. Each builder names the columns it reads; tests use ``to_dict()``.

A *scope* is an app id and origin ("sim-assist-bot · KHOROS"): health is computed per scope.
"""

from __future__ import annotations

import altair as alt
import polars as pl

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


def with_scope_label(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``scope`` = "app_id · origin" (or the app id alone when the frame has no origin)."""
    if "origin" in frame.columns:
        label = pl.concat_str([pl.col("app_id"), pl.col("origin")], separator=" · ")
    else:
        label = pl.col("app_id")
    return frame.with_columns(scope=label)


def create_health_timeline_chart(timeline: pl.DataFrame, *, title: str = "Health timeline") -> alt.Chart:
    """One lane per scope, coloured by state. Columns: ``app_id``, ``origin``, ``state``, ``start``, ``end``,
    ``duration_s``, ``peak_error_rate``."""
    data = with_scope_label(timeline).with_columns(duration_min=(pl.col("duration_s") / 60).round(1))
    return (
        alt.Chart(data, title=title)
        .mark_bar(height=16)
        .encode(
            x=alt.X("start:T", title=None, axis=alt.Axis(format="%d %b %H:%M")),
            x2="end:T",
            y=alt.Y("scope:N", title=None),
            color=alt.Color("state:N", title="Health", scale=HEALTH_COLORS),
            tooltip=[
                "scope:N",
                "state:N",
                alt.Tooltip("start:T", format="%a %d %b %H:%M:%S"),
                alt.Tooltip("end:T", format="%a %d %b %H:%M:%S"),
                alt.Tooltip("duration_min:Q", title="Minutes"),
                alt.Tooltip("peak_error_rate:Q", title="Peak error rate", format=".0%"),
            ],
        )
        .properties(height=alt.Step(28))
    )


def create_error_rate_chart(series: pl.DataFrame) -> alt.Chart:
    """Error rate per time bucket and scope. Columns: ``app_id``, ``origin``, ``bucket``, ``error_rate``,
    ``errors``, ``attempts``."""
    data = with_scope_label(series)
    return (
        alt.Chart(data, title="Error rate")
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=None, axis=alt.Axis(format="%d %b %H:%M")),
            y=alt.Y("error_rate:Q", title="Errors ÷ attempts", axis=alt.Axis(format="%")),
            color=alt.Color("scope:N", title="App · origin"),
            tooltip=["scope:N", alt.Tooltip("bucket:T", format="%a %d %b %H:%M"),
                     alt.Tooltip("error_rate:Q", format=".1%"), "errors:Q", "attempts:Q"],
        )
        .properties(height=240)
    )


def create_latency_chart(series: pl.DataFrame) -> alt.Chart:
    """Latency p50 (solid) and p95 (dashed) per time bucket and scope, in seconds. Columns: ``app_id``,
    ``origin``, ``bucket``, ``p50_latency_ms``, ``p95_latency_ms``."""
    data = (
        with_scope_label(series)
        .unpivot(index=["scope", "bucket"], on=["p50_latency_ms", "p95_latency_ms"], variable_name="percentile",
                 value_name="latency_ms")
        .with_columns(
            percentile=pl.col("percentile").str.replace("_latency_ms", ""),
            latency_s=pl.col("latency_ms") / 1000,
        )
    )
    return (
        alt.Chart(data, title="Latency (nearest-rank p50 and p95)")
        .mark_line()
        .encode(
            x=alt.X("bucket:T", title=None, axis=alt.Axis(format="%d %b %H:%M")),
            y=alt.Y("latency_s:Q", title="Seconds"),
            color=alt.Color("scope:N", title="App · origin"),
            strokeDash=alt.StrokeDash("percentile:N", title="Percentile", sort=["p50", "p95"]),
            tooltip=["scope:N", "percentile:N", alt.Tooltip("bucket:T", format="%a %d %b %H:%M"),
                     alt.Tooltip("latency_s:Q", title="Seconds", format=".2f")],
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
            x=alt.X("age_bucket:N", title="Age", sort=order),
            y=alt.Y("sum(pending):Q", title="Pending requests"),
            color=alt.Color("scope:N", title="App · origin"),
            tooltip=["scope:N", "age_bucket:N", "sum(pending):Q"],
        )
        .properties(height=220)
    )


def create_error_group_trend_chart(trend: pl.DataFrame, *, top: int = 6) -> alt.Chart:
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
    return (
        alt.Chart(data, title="Errors by group")
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=None, axis=alt.Axis(format="%d %b")),
            y=alt.Y("sum(count):Q", title="Errors"),
            color=alt.Color("group:N", title="Error group", legend=alt.Legend(orient="right", labelLimit=320)),
            tooltip=["group:N", alt.Tooltip("bucket:T", format="%a %d %b %H:%M"), "sum(count):Q"],
        )
        .properties(height=240)
    )
