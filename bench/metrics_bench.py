"""Metrics at scale: our engine vs plain pandas vs DuckDB SQL on synthetic worlds of growing size.

For each size the world is generated once (in a child process, cached as Parquet under the cache folder).
Each engine then runs in its own child process: it loads the tables into memory, and times each metric
(best of ``repeat``), with the peak RSS while that metric ran. The answers are compared (``bench.agreement``)
before any ratio is reported: a ratio between engines that disagree would mean nothing, so disagreements
are printed and flagged next to the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import polars as pl

from bench.agreement import COMPARE
from bench.proc import run_worker
from bench.synthetic import DEFAULT_END, TABLES, SyntheticConfig, world_path

__all__ = ["ENGINES", "METRICS", "MetricsPlan", "run_metrics"]

ENGINES = ("ours", "ours_scan", "ours_kept", "duckdb", "pandas")
"""``ours``: the engine on tables held in memory (as the pages' loaders held them before facts were kept);
``ours_scan``: the engine on lazy Parquet scans of the raw tables (only the needed columns are read, inside the
timed region); ``ours_kept``: the engine on the facts kept in a store (``dashboard.store.facts``: the facts and
their evaluation under the policy were kept when the data was written; reading the needed columns of the kept
files is inside the timed region, as for the report CLI); the baselines on tables loaded in memory."""
METRICS = {
    "first_response": "business-hours first response, every conversation",
    "sla": "SLA attainment by tier x priority",
    "backlog": "backlog at an instant by age bucket",
    "at_risk": "at-risk list (open, pending, by breach_at)",
}
AS_OF = DEFAULT_END
BACKLOG_AT = DEFAULT_END - timedelta(hours=36)


@dataclass
class MetricsPlan:
    sizes: list[int]
    n_authors: int = 300_000
    days: int = 90
    seed: int = 11
    engines: tuple[str, ...] = ENGINES
    metrics: tuple[str, ...] = tuple(METRICS)
    repeat_small: int = 3
    """Repeats at sizes up to 100k (best of); larger sizes run once."""
    timeout_s: float = 900.0
    threads: int = 2
    skip: dict[tuple[int, str], tuple[str, ...]] = field(default_factory=dict)
    """(size, engine) -> metrics to leave out (to keep a full run within its time budget)."""


def _ensure_world(cache_dir: Path, config: SyntheticConfig, log: Callable[[str], None]) -> dict:
    path = world_path(cache_dir, config)
    info: dict = {"path": str(path), "cached": True}
    if not all((path / f"{t}.parquet").exists() for t in TABLES):
        log(f"  generating {config.n_conversations:,} conversations ...")
        run = run_worker({"task": "generate", "n_conversations": config.n_conversations,
                          "n_authors": config.n_authors, "days": config.days, "seed": config.seed,
                          "world": str(path)}, timeout_s=1800)
        if not run.ok:
            raise RuntimeError(f"generating the {config.n_conversations:,} world failed: {run.error}")
        info.update(cached=False, generate_s=run.result["generate_s"], write_s=run.result["write_s"],
                    generate_peak_mb=run.max_rss_mb)
    info["rows"] = {t: pl.scan_parquet(path / f"{t}.parquet").select(pl.len()).collect().item() for t in TABLES}
    info["parquet_mb"] = sum((path / f"{t}.parquet").stat().st_size for t in TABLES) / 2**20
    return info


def run_metrics(cache_dir: Path, plan: MetricsPlan, log: Callable[[str], None] = print) -> dict:
    """Run the plan; returns every figure (JSON-able) for the report."""
    out: dict = {"sizes": {}, "as_of": AS_OF.isoformat(), "backlog_at": BACKLOG_AT.isoformat(),
                 "n_authors": plan.n_authors, "days": plan.days}
    as_of_ms = int(AS_OF.timestamp() * 1000)
    backlog_ms = int(BACKLOG_AT.timestamp() * 1000)
    for n in plan.sizes:
        config = SyntheticConfig(n_conversations=n, n_authors=plan.n_authors, days=plan.days, seed=plan.seed)
        log(f"metrics: {n:,} conversations")
        world = _ensure_world(cache_dir, config, log)
        results_dir = cache_dir / "answers" / config.name
        size: dict = {"world": world, "engines": {}, "agreement": {}}
        repeat = plan.repeat_small if n <= 100_000 else 1
        for engine in plan.engines:
            skipped = plan.skip.get((n, engine), ("first_response", "backlog", "at_risk") if engine == "ours_scan"
                                    else ())
            kept_store = None
            if engine == "ours_kept":
                from bench.facts_bench import ensure_kept_store

                size["kept"] = ensure_kept_store(cache_dir, Path(world["path"]), config.name, plan.timeout_s, log)
                kept_store = size["kept"]["store"]
            metrics = [m for m in plan.metrics if m not in skipped]
            if not metrics:
                continue
            for m in metrics:  # stale answers from an earlier run must not be compared
                (results_dir / f"{engine}_{m}.parquet").unlink(missing_ok=True)
            log(f"  {engine}: {', '.join(metrics)} (x{repeat})")
            run = run_worker({"task": "metrics", "engine": engine, "world": world["path"],
                              "metrics": metrics, "as_of_ms": as_of_ms, "backlog_at_ms": backlog_ms,
                              "results_dir": str(results_dir), "repeat": repeat, "threads": plan.threads,
                              "kept_store": kept_store},
                             timeout_s=plan.timeout_s, env={"POLARS_MAX_THREADS": str(plan.threads)})
            entry = {"ok": run.ok, "wall_s": run.wall_s, "max_rss_mb": run.max_rss_mb}
            if run.ok:
                entry.update(run.result)
                entry["max_rss_mb"] = run.result.get("peak_mb") or run.max_rss_mb
                for m, fig in run.result["metrics"].items():
                    log(f"    {m:15s} {min(fig['times_s']):8.3f} s  peak {fig['peak_mb'] or 0:8.0f} MB")
            else:
                entry["error"] = run.error
                log(f"    FAILED: {run.error.strip().splitlines()[-1] if run.error.strip() else run.returncode}")
            size["engines"][engine] = entry
        for m in plan.metrics:
            ours_file = results_dir / f"ours_{m}.parquet"
            for engine in plan.engines:
                if engine == "ours":
                    continue
                other_file = results_dir / f"{engine}_{m}.parquet"
                if not (ours_file.exists() and other_file.exists()):
                    continue
                problems = COMPARE[m](pl.read_parquet(ours_file), pl.read_parquet(other_file))
                size["agreement"][f"{m}:{engine}"] = problems
                if problems:
                    log(f"  DISAGREE {m} ours vs {engine}: {problems[0]}")
        agreed = [k for k, v in size["agreement"].items() if not v]
        log(f"  agreement: {len(agreed)}/{len(size['agreement'])} comparisons agree")
        out["sizes"][str(n)] = size
    return out


def best(entry: dict, metric: str) -> float | None:
    fig = entry.get("metrics", {}).get(metric) if entry.get("ok") else None
    return min(fig["times_s"]) if fig else None


def growth_exponent(t_small: float | None, t_large: float | None, n_small: int, n_large: int) -> float | None:
    """k in time ~ n^k between two sizes (1 = linear)."""
    if not t_small or not t_large or n_small == n_large:
        return None
    return math.log(t_large / t_small) / math.log(n_large / n_small)
