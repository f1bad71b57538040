"""The bench's own arithmetic and bookkeeping: rate-limit bound, growth exponent, targets, generator, timing."""

from __future__ import annotations

import math

import polars as pl
import pytest

from bench.metrics_bench import growth_exponent
from bench.proc import run_worker
from bench.report import render_markdown, targets
from bench.sync_bench import lower_bound_s
from bench.synthetic import SyntheticConfig, generate
from dashboard.schema import EXPORTS


def test_lower_bound_counts_whole_windows_after_the_first():
    assert lower_bound_s(0, 20, 60) == 0
    assert lower_bound_s(20, 20, 60) == 0  # the first 20 go at once
    assert lower_bound_s(21, 20, 60) == 60
    assert lower_bound_s(63, 20, 10) == 30  # 21 jobs x 3 requests at 20 per 10 s


def test_growth_exponent():
    assert growth_exponent(1.0, 10.0, 100, 1000) == pytest.approx(1.0)
    assert growth_exponent(1.0, 100.0, 100, 1000) == pytest.approx(2.0)
    assert growth_exponent(None, 1.0, 1, 10) is None


def test_synthetic_world_has_the_schema_columns_and_is_deterministic():
    config = SyntheticConfig(n_conversations=500, n_authors=800, days=10, seed=4)
    first, second = generate(config), generate(config)
    for name, frame in first.items():
        assert frame.schema == EXPORTS[name].polars_schema, name
        assert frame.equals(second[name]), name
    assert first["conversation"].height == 500
    assert first["conversation"]["conversation_id"].n_unique() == 500
    # several versions for some authors: tier history exists
    assert first["author"].group_by("author_id").len()["len"].max() == 2
    end_ms = int(config.end.timestamp() * 1000)
    for name, frame in first.items():
        time_col = EXPORTS[name].time_column
        assert frame[time_col].dt.epoch("ms").max() < end_ms, f"{name} has rows after the world's end"


def _results(pandas_s: float, ours_s: float, duck_s: float, peak_mb: float, agree: bool, kept_s: float = 0.3
             ) -> dict:
    def engine(t: float, peak: float) -> dict:
        return {"ok": True, "metrics": {"sla": {"times_s": [t], "peak_mb": peak, "rows": 30}}, "load_s": 1.0,
                "rss_after_load_mb": 100.0, "max_rss_mb": peak, "wall_s": t + 2}

    problems = [] if agree else ["attainment: 1 rows differ"]
    return {
        "machine": {"cpu": "x", "cores": 2, "ram_gib": 24.0, "kernel": "k", "python": "3.11",
                    "versions": {p: "1" for p in ("polars", "pandas", "duckdb", "numpy", "pyarrow", "streamlit")},
                    "commit": "abc", "load_average": (0.5, 0.5, 0.5), "when": "now"},
        "metrics": {"n_authors": 10, "days": 90, "as_of": "t", "backlog_at": "t", "sizes": {"5000000": {
            "world": {"rows": {t: 1 for t in ("conversation", "incoming_post", "response",
                                              "conversation_history_action", "author")}},
            "engines": {"ours": engine(ours_s, peak_mb), "pandas": engine(pandas_s, 5000),
                        "duckdb": engine(duck_s, 3000), "ours_kept": engine(kept_s, 300)},
            "agreement": {"sla:pandas": problems, "sla:duckdb": [], "sla:ours_kept": []}}}},
        "sync": {"ok": True, "efficiency": 0.95, "http_429": 0},
        "facts": {"ok": True, "share": 0.08, "conversations": 1_000_000, "days": 90,
                  "full": {"keep_s": 20.0, "conversations": 1_000_000, "days": 90, "peak_mb": 1800},
                  "update": {"keep_s": 1.6, "conversations": 15_000, "days": 12, "peak_mb": 1200,
                             "same_as_raw": True}},
        "viewers": {"ok": True, "viewers": 20, "conversations": 1_000_000, "errors": [], "server_peak_mb": 2500,
                    "wall_s": 30.0, "server_rss_idle_mb": 60, "rss_max_sampled_mb": 2400,
                    "steps": {s: {"n": 20, "p50": 1.0, "p95": 2.0, "max": 2.5}
                              for s in ("overview", "filter", "service_levels", "drill_down")}},
    }


def test_targets_report_met_and_missed_from_the_figures():
    met = {t: s for t, _, s in targets(_results(pandas_s=100, ours_s=5, duck_s=8, peak_mb=3000, agree=True))}
    assert [s for t, s in met.items() if "pandas" in t] == ["met"]
    assert [s for t, s in met.items() if "DuckDB" in t] == ["met"]
    assert [s for t, s in met.items() if "kept facts" in t] == ["met"]
    assert [s for t, s in met.items() if "one-day sync" in t] == ["met"]
    assert [s for t, s in met.items() if "viewers at once" in t] == ["met"]
    missed = {t: s for t, _, s in targets(_results(pandas_s=20, ours_s=5, duck_s=6, peak_mb=5000, agree=True,
                                                   kept_s=0.9))}
    assert [s for t, s in missed.items() if "pandas" in t] == ["missed"]
    assert [s for t, s in missed.items() if "DuckDB" in t] == ["missed"]  # 1.2x faster is short of 1.5x
    assert [s for t, s in missed.items() if "kept facts" in t] == ["missed"]
    # a ratio between engines that disagree is never "met"
    disagree = {t: s for t, _, s in targets(_results(pandas_s=100, ours_s=5, duck_s=8, peak_mb=3000, agree=False))}
    assert [s for t, s in disagree.items() if "pandas" in t] == ["missed"]
    assert any("Service levels" in t and s == "not measured" for t, s in disagree.items())
    assert any("5M, pages in use" in t and s == "not measured" for t, s in disagree.items())


def test_markdown_shows_command_machine_and_every_engine():
    results = _results(100, 5, 4, 3000, True)
    del results["sync"]
    text = render_markdown(results, "python -m bench --only metrics", [])
    assert "python -m bench --only metrics" in text
    assert "2 cores" in text
    assert "| 5,000,000 | sla | 5.00 s | 100 s | 4.00 s | 20.00x | 1.25x |" in text
    assert "0.30 s, 300 MiB" in text  # the kept-facts engine's column


@pytest.mark.integration  # a child process
def test_worker_process_reports_its_own_time_and_memory(tmp_path):
    config = SyntheticConfig(n_conversations=300, n_authors=300, days=5, seed=2)
    world = tmp_path / "world"
    run = run_worker({"task": "generate", "n_conversations": config.n_conversations,
                      "n_authors": config.n_authors, "days": config.days, "seed": config.seed,
                      "world": str(world)}, timeout_s=120)
    assert run.ok, run.error
    assert run.result["rows"]["conversation"] == 300
    assert pl.read_parquet(world / "conversation.parquet").height == 300
    assert run.max_rss_mb > 20 and math.isfinite(run.wall_s)
    failed = run_worker({"task": "no-such-task"}, timeout_s=60)
    assert not failed.ok and "unknown task" in failed.error


@pytest.mark.slow
def test_quick_bench_runs_metrics_and_parse_and_writes_results(tmp_path):
    import subprocess
    import sys

    from bench.proc import REPO

    results = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "metrics,parse", "--sizes", "3000", "--authors", "3000",
         "--cache-dir", str(tmp_path / "out"), "--results", str(results)],
        cwd=REPO, capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    text = results.read_text()
    assert "| 3,000 | sla |" in text
    assert "all comparisons agree" in text
    assert "## 4. Parse" in text
