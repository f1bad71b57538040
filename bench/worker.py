"""One engine (or one generator) in its own process, so that its time and peak memory are its own.

Run as ``python -m bench.worker SPEC.json``; the spec says what to do, the answer is written to
``spec["out"]`` as JSON. Metric answers are written as Parquet next to it for the agreement check (outside
the timed region).

Peak memory per metric: before each metric the kernel's high-water mark of this process is reset (writing
``5`` to ``/proc/self/clear_refs``), and ``VmHWM`` is read after it, so each figure is the peak resident set
while that metric ran (the loaded tables included, since they stay resident).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "peak_rss_mb", "reset_peak_rss", "rss_mb"]


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else None


def peak_rss_mb() -> float | None:
    kb = _status_kb("VmHWM")
    return kb / 1024 if kb is not None else None


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark (Linux >= 4.0); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _run_metrics(spec: dict) -> dict:
    from dashboard.metrics import load_policy

    engine = spec["engine"]
    folder = spec["world"]
    policy = load_policy(spec.get("policy"))
    as_of_ms, backlog_ms = int(spec["as_of_ms"]), int(spec["backlog_at_ms"])
    results_dir = Path(spec["results_dir"])
    results_dir.mkdir(parents=True, exist_ok=True)
    threads = spec.get("threads")

    t0 = time.perf_counter()
    if engine in ("ours", "ours_scan"):
        from bench import engine_ours as mod

        ctx = mod.load_tables(folder) if engine == "ours" else mod.scan_tables(folder)
        # Building the business clock tables is a once-per-process cost (cached); pay it before timing.
        from dashboard.metrics.business_hours import business_clock
        setup = time.perf_counter()
        for schedule in policy.schedules.values():
            business_clock(schedule)
        setup_s = time.perf_counter() - setup
    elif engine == "ours_kept":
        from bench import engine_kept as mod

        ctx = mod.open_kept(spec["kept_store"])
        setup = time.perf_counter()
        from dashboard.metrics.business_hours import business_clock
        for schedule in policy.schedules.values():
            business_clock(schedule)
        setup_s = time.perf_counter() - setup
    elif engine == "pandas":
        from bench import baseline_pandas as mod

        ctx = mod.load_tables(folder)
        setup_s = 0.0
    elif engine == "duckdb":
        from bench import baseline_duckdb as mod

        ctx = mod.connect(threads)
        mod.load_tables(ctx, folder)
        setup_s = 0.0
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    load_s = time.perf_counter() - t0 - setup_s
    warm = time.perf_counter()
    _warm_up(engine, mod, policy, as_of_ms, backlog_ms, threads)
    setup_s += time.perf_counter() - warm
    gc.collect()
    out: dict = {"engine": engine, "load_s": load_s, "setup_s": setup_s, "rss_after_load_mb": rss_mb(),
                 "peak_after_load_mb": peak_rss_mb(), "metrics": {}}

    calls = {
        "first_response": lambda: mod.first_response(ctx, policy, as_of_ms),
        "sla": lambda: mod.sla_by_tier_priority(ctx, policy, as_of_ms),
        "at_risk": lambda: mod.at_risk(ctx, policy, as_of_ms),
        "backlog": lambda: mod.backlog(ctx, backlog_ms),
    }
    for name in spec["metrics"]:
        times = []
        peaks = []
        answer = None
        for _ in range(int(spec.get("repeat", 1))):
            answer = None
            gc.collect()
            reset_ok = reset_peak_rss()
            start = time.perf_counter()
            answer = calls[name]()
            times.append(time.perf_counter() - start)
            peaks.append(peak_rss_mb() if reset_ok else None)
        _write_answer(answer, results_dir / f"{engine}_{name}.parquet")
        out["metrics"][name] = {"times_s": times, "peak_mb": max((p for p in peaks if p is not None), default=None),
                                "rows": len(answer)}
    # The process's peak: the high-water mark is reset before each metric, so take the largest of the marks
    # read after loading and after each metric (all from this process's own address space).
    marks = [out["peak_after_load_mb"], *(m["peak_mb"] for m in out["metrics"].values()), peak_rss_mb()]
    out["peak_mb"] = max((m for m in marks if m is not None), default=None)
    if engine == "ours":
        out["from_cached_facts"] = _from_cached_facts(ctx, policy, as_of_ms, backlog_ms, spec["metrics"])
    return out


def _from_cached_facts(tables, policy, as_of_ms: int, backlog_ms: int, metrics: list[str]) -> dict:
    """Backlog and at-risk list computed from conversation facts already in memory, as the pages compute
    them (their loader caches the facts): the cost of a rerun, where the timed metrics include the facts."""
    from bench import engine_ours
    from dashboard.metrics import backlog as backlog_metrics

    facts = engine_ours.facts_plan(tables).collect().lazy()
    out = {}
    if "backlog" in metrics:
        start = time.perf_counter()
        open_now = backlog_metrics.open_at(facts, engine_ours._as_of(backlog_ms))
        backlog_metrics.backlog_by_age(open_now, by=["work_queue_id"]).collect()
        out["backlog"] = time.perf_counter() - start
    if "at_risk" in metrics:
        start = time.perf_counter()
        backlog_metrics.at_risk(facts, policy, engine_ours._as_of(as_of_ms), metrics=("first_response",)).collect()
        out["at_risk"] = time.perf_counter() - start
    return out


def _warm_up(engine: str, mod, policy, as_of_ms: int, backlog_ms: int, threads) -> None:
    """Run every metric once on a tiny world, so first-call costs (imports, thread pools, query planning
    caches) are not charged to the first timed metric; the same for every engine."""
    from bench.synthetic import SyntheticConfig, generate

    tiny = generate(SyntheticConfig(n_conversations=500, n_authors=500, days=10, seed=1))
    if engine in ("ours", "ours_scan"):
        ctx = {name: frame.lazy() for name, frame in tiny.items()}
    elif engine == "ours_kept":
        from dashboard.core import Dashboard

        ctx = Dashboard.from_tables(tiny)
    elif engine == "pandas":
        ctx = {name: tiny[name].select(cols).to_pandas() for name, cols in mod.COLUMNS.items()}
    else:
        ctx = mod.connect(threads)
        mod.load_frames(ctx, tiny)
    mod.first_response(ctx, policy, as_of_ms)
    mod.sla_by_tier_priority(ctx, policy, as_of_ms)
    mod.at_risk(ctx, policy, as_of_ms)
    mod.backlog(ctx, backlog_ms)


def _write_answer(answer, path: Path) -> None:
    from bench.agreement import to_polars

    to_polars(answer).write_parquet(path)


def _run_generate(spec: dict) -> dict:
    from bench.synthetic import SyntheticConfig, generate, write_world

    start = time.perf_counter()
    config = SyntheticConfig(n_conversations=int(spec["n_conversations"]), n_authors=int(spec["n_authors"]),
                             days=int(spec["days"]), seed=int(spec["seed"]))
    tables = generate(config)
    generate_s = time.perf_counter() - start
    write_world(tables, Path(spec["world"]))
    return {"generate_s": generate_s, "write_s": time.perf_counter() - start - generate_s,
            "rows": {k: v.height for k, v in tables.items()}, "peak_mb": peak_rss_mb()}


def _run_stages(spec: dict) -> dict:
    """Our engine's SLA pipeline cut into stages, each timed on the materialised output of the previous one,
    plus the whole pipeline under Polars' default engine and the in-memory engine."""
    import polars as pl

    from bench import engine_ours
    from bench.agreement import compare_sla
    from dashboard.metrics import attainment_by, evaluate, load_policy
    from dashboard.metrics.business_hours import business_clock

    policy = load_policy(spec.get("policy"))
    as_of = engine_ours._as_of(int(spec["as_of_ms"]))
    tables = engine_ours.load_tables(spec["world"])
    for schedule in policy.schedules.values():
        business_clock(schedule)
    _warm_up("ours", engine_ours, policy, int(spec["as_of_ms"]), int(spec["as_of_ms"]), None)
    out: dict = {"stages": {}, "whole": {}}

    def timed(name: str, fn):
        gc.collect()
        reset_peak_rss()
        start = time.perf_counter()
        value = fn()
        out["stages"][name] = {"s": time.perf_counter() - start, "peak_mb": peak_rss_mb()}
        return value

    facts = timed("conversation_facts", lambda: engine_ours.facts_plan(tables).collect())
    evaluated = timed("evaluate (first_response)",
                      lambda: evaluate(facts.lazy(), policy, "first_response", as_of=as_of).collect())
    timed("attainment_by (tier, priority)", lambda: attainment_by(evaluated.lazy(), ["tier", "priority"]).collect())
    facts = evaluated = None  # free them before the whole-pipeline runs
    for engine in ("auto", "in-memory", "streaming"):
        gc.collect()
        reset_peak_rss()
        start = time.perf_counter()
        lazy = attainment_by(engine_ours._evaluated(tables, policy, int(spec["as_of_ms"])), ["tier", "priority"])
        lazy.collect(engine=engine)
        out["whole"][engine] = {"s": time.perf_counter() - start, "peak_mb": peak_rss_mb()}
    # Experiment: the same pipeline with the string keys (36-character UUIDs) replaced by 64-bit hashes, to
    # measure what string joins and group-bys cost (the answer is checked to be the same).
    hashed = {name: frame.with_columns([pl.col(c).hash() for c in ("conversation_id", "author_id")
                                        if c in frame.collect_schema().names()])
              for name, frame in tables.items()}
    reference = attainment_by(engine_ours._evaluated(tables, policy, int(spec["as_of_ms"])), ["tier", "priority"])
    reference = reference.collect(engine="in-memory")
    for engine in ("auto", "in-memory"):
        gc.collect()
        reset_peak_rss()
        start = time.perf_counter()
        try:
            lazy = attainment_by(engine_ours._evaluated(hashed, policy, int(spec["as_of_ms"])),
                                 ["tier", "priority"])
            answer = lazy.collect(engine=engine)
        except pl.exceptions.PolarsError as exc:  # the engine may insist on string ids
            out["integer_keys_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            break
        out["whole"][f"{engine}, UInt64 keys"] = {"s": time.perf_counter() - start, "peak_mb": peak_rss_mb(),
                                                  "same_answer": not compare_sla(answer, reference)}
    out["polars_version"] = pl.__version__
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.worker SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text())
    task = spec["task"]
    if task == "metrics":
        result = _run_metrics(spec)
    elif task == "generate":
        result = _run_generate(spec)
    elif task == "stages":
        result = _run_stages(spec)
    elif task == "pages":
        from bench.pages_bench import run_pages_worker

        result = run_pages_worker(spec)
    elif task == "facts":
        from bench.facts_bench import run_facts_worker

        result = run_facts_worker(spec)
    elif task == "kept":
        from bench.facts_bench import run_kept_worker

        result = run_kept_worker(spec)
    else:
        print(f"unknown task {task!r}", file=sys.stderr)
        return 2
    Path(spec["out"]).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
