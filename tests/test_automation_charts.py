"""Automation chart builders, fed by the real metric outputs: assert on the Vega-Lite spec."""

from __future__ import annotations

import polars as pl

from dashboard import charts_automation as C
from dashboard.metrics import automation as A
from tests.test_automation import at, frame, rec


def _rows(spec: dict) -> list[dict]:
    (rows,) = spec["datasets"].values()
    return rows


def _records() -> pl.LazyFrame:
    rows = [rec(0), rec(60, "ERROR"), rec(90, "ERROR", origin="BOT", code=401, message="401 expired 1"),
            rec(100, latency_ms=900), rec(4000, latency_ms=2000), rec(4100, "PENDING")]  # fmt: skip
    return frame(rows)


def test_health_timeline_colours_states_per_scope_lane() -> None:
    timeline = A.health_timeline(_records(), at(7200)).collect()
    spec = C.create_health_timeline_chart(timeline).to_dict()
    lanes, markers = spec["layer"]
    assert lanes["mark"]["type"] == "bar" and lanes["encoding"]["x2"]["field"] == "end"
    assert lanes["encoding"]["y"]["field"] == "scope"
    assert lanes["encoding"]["color"]["scale"]["domain"] == ["HEALTHY", "DEGRADED", "DOWN"]
    # every non-healthy interval also gets a marker: a 2-hour outage stays visible on a 28-day axis
    assert markers["mark"]["type"] == "point" and markers["transform"] == [{"filter": "(datum.state !== 'HEALTHY')"}]
    rows = _rows(spec)
    assert {r["scope"] for r in rows} == {"app-1 · KHOROS", "app-1 · BOT"}
    assert [r["state"] for r in rows if r["scope"] == "app-1 · KHOROS"] == ["HEALTHY", "DEGRADED", "HEALTHY"]


def test_error_rate_and_latency_charts_read_the_series() -> None:
    series = A.request_timeseries(_records(), every="1h").collect()
    rate = C.create_error_rate_chart(series).to_dict()
    assert rate["encoding"]["y"]["field"] == "error_rate"
    assert rate["encoding"]["y"]["axis"]["format"] == ".0%"
    khoros_first_hour = next(r for r in _rows(rate) if r["scope"] == "app-1 · KHOROS" and r["attempts"] == 3)
    assert khoros_first_hour["error_rate"] == 1 / 3
    latency = C.create_latency_chart(series).to_dict()
    # one line per scope (p95); p50 in the tooltip, not a second line per scope
    assert latency["encoding"]["y"]["field"] == "p95_s" and "strokeDash" not in latency["encoding"]
    assert "p50_s" in {t["field"] for t in latency["encoding"]["tooltip"]}
    rows = _rows(latency)
    second_hour = [r for r in rows if r["p95_s"] == 2.0]
    assert len(second_hour) == 1 and second_hour[0]["p50_s"] == 2.0  # one request: p50 = p95 = 2 s
    assert latency["encoding"]["color"]["legend"]["labelLimit"] == 0  # scopes are never cut short


def test_pending_chart_keeps_bucket_order() -> None:
    rows = [rec(-30, "PENDING"), rec(-20_000, "PENDING"), rec(-200, "PENDING", origin="BOT")]
    pending = A.pending_by_age(frame(rows), at(0)).collect()
    spec = C.create_pending_age_chart(pending).to_dict()
    assert spec["encoding"]["x"]["sort"] == ["< 1 min", "1–5 min", "≥ 4 h"]
    assert sum(r["pending"] for r in _rows(spec)) == 3


def test_error_group_trend_keeps_the_top_groups_and_folds_the_rest() -> None:
    rows = [rec(i, "ERROR", code=500 + i, message=f"boom kind {chr(97 + i)}") for i in range(4)]
    rows += [rec(10, "ERROR", code=500, message="boom kind a")]
    trend = A.error_group_trend(frame(rows), every="1d").collect()
    spec = C.create_error_group_trend_chart(trend, top=2).to_dict()
    groups = {r["group"]: r["count"] for r in _rows(spec)}
    assert groups["other"] == 2
    assert sum(groups.values()) == 5
    assert any(g.endswith("boom kind a") for g in groups)
