"""Facts kept with the data: a full rebuild vs keeping them current after a one-day incremental sync, and the SLA
by tier x priority answered from the kept facts.

A 90-day store is filled from a synthetic world as it stood one day before the world's end (rows of the last day
left out; conversations closed on that day still open), and its facts are kept (the full build). Then the last
day arrives as a sync would bring it: every export's last day, and the conversation days whose rows changed
(those closed on the last day) — and the facts are kept current (the update). Both run in a child process each
(``bench.worker`` task ``facts``), with the peak memory of each; the update's answer is checked against the
facts computed from the raw tables before its time is reported.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import polars as pl

from bench.proc import run_worker
from bench.synthetic import TABLES, SyntheticConfig, load_world

__all__ = ["ensure_kept_store", "facts_markdown", "fill_store_until", "run_facts", "run_facts_worker",
           "run_kept_worker"]

TIMEZONE = "America/New_York"


def _days(export_id: str, frame: pl.DataFrame) -> dict:
    from dashboard.schema import EXPORTS

    frame = frame.with_columns(pl.col(EXPORTS[export_id].time_column).dt.date().alias("__day"))
    return {key[0]: part.drop("__day") for key, part in frame.partition_by("__day", as_dict=True).items()}


def fill_store_until(world_dir: Path, root: Path, cut) -> None:
    """A store (one commit per export) holding the world as it stood at ``cut``: rows before it, conversations
    closed after it still open."""
    from dashboard.schema import EXPORTS
    from dashboard.store import Store

    store = Store(root)
    for export_id in TABLES:
        frame = pl.read_parquet(world_dir / f"{export_id}.parquet")
        if cut is not None:
            frame = frame.filter(pl.col(EXPORTS[export_id].time_column) < cut)
            if export_id == "conversation":
                later = pl.col("closed_time") >= cut
                frame = frame.with_columns(
                    pl.when(later).then(None).otherwise(pl.col("closed_time")).alias("closed_time"),
                    pl.when(later).then(pl.lit("OPEN")).otherwise(pl.col("status")).alias("status"))
        days = _days(export_id, frame)
        meta = {"source": "sync bench world", **({"as_of": cut.isoformat()} if cut is not None else {})}
        store.commit(export_id, days=days, meta={d: dict(meta) for d in days})


def _sync_last_day(world_dir: Path, root: Path, cut) -> dict:
    """Bring the store to the world's end as a sync would: the days whose rows differ from the stored ones."""
    from dashboard.store import Store

    store = Store(root)
    written = {}
    for export_id in TABLES:
        frame = pl.read_parquet(world_dir / f"{export_id}.parquet")
        days = _days(export_id, frame)
        wanted = {d for d in days if d >= cut.date()}
        if export_id == "conversation":  # rows closed since the cut changed on their creation day
            wanted |= set(frame.filter(pl.col("closed_time") >= cut).get_column("created_time").dt.date().to_list())
        changed = {d: days[d] for d in sorted(wanted)}
        store.commit(export_id, days=changed, meta={d: {"source": "sync bench world"} for d in changed})
        written[export_id] = len(changed)
    return written


def run_facts_worker(spec: dict) -> dict:
    """In the child: ``step`` = ``full`` (fill at the cut, keep) or ``update`` (the last day, keep again, check)."""
    from bench.worker import peak_rss_mb, reset_peak_rss
    from dashboard.core import Dashboard
    from dashboard.settings import Settings

    root, world = Path(spec["store"]), Path(spec["world"])
    cut = pl.Series([spec["cut"]]).str.to_datetime(time_zone="UTC").item()
    out: dict = {}
    if spec["step"] == "full":
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        fill_store_until(world, root, cut)
        out["fill_s"] = time.perf_counter() - start
    else:
        out["synced_days"] = _sync_last_day(world, root, cut)
    settings = Settings().with_overrides(timezone=TIMEZONE)
    core = Dashboard.for_store(root, settings=settings)
    reset_peak_rss()
    start = time.perf_counter()
    reports = core.keep_facts()
    out["keep_s"] = time.perf_counter() - start
    out["peak_mb"] = peak_rss_mb()
    out["report"] = [str(r) for r in reports]
    out["conversations"] = sum(r.conversations for r in reports)
    out["days"] = sum(r.days for r in reports)
    if spec.get("check"):
        from dashboard.metrics import FACT_EXPORTS, conversation_facts

        raw = conversation_facts(*(core.scan(e) for e in FACT_EXPORTS)).collect()
        kept = core.facts()
        out["same_as_raw"] = kept.sort("conversation_id").equals(raw.select(kept.columns).sort("conversation_id"))
    return out


def run_kept_worker(spec: dict) -> dict:
    """In the child: a store holding the whole world (filled once), its facts kept current (the metrics
    section's kept engine): after a change of the facts' or the evaluation's code this computes them again."""
    from bench.engine_kept import KEPT_SETTINGS
    from bench.worker import peak_rss_mb
    from dashboard.core import Dashboard

    root, world = Path(spec["store"]), Path(spec["world"])
    marker = root / ".bench-filled"
    out: dict = {}
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        fill_store_until(world, root, None)
        out["fill_s"] = time.perf_counter() - start
        marker.write_text("filled by bench.facts_bench\n")
    start = time.perf_counter()
    out["report"] = [str(r) for r in Dashboard.for_store(root, settings=KEPT_SETTINGS).keep_facts()]
    out.update(keep_s=time.perf_counter() - start, peak_mb=peak_rss_mb())
    return out


def ensure_kept_store(cache_dir: Path, world: Path, name: str, timeout_s: float,
                      log: Callable[[str], None] = print) -> dict:
    """The world's store with its facts kept current (filled once; kept in a child process)."""
    root = cache_dir / "kept" / name
    log(f"  keeping the facts of {name} current in its store ...")
    run = run_worker({"task": "kept", "store": str(root), "world": str(world)}, timeout_s=timeout_s,
                     env={"POLARS_MAX_THREADS": "2"})
    if not run.ok:
        raise RuntimeError(f"keeping the facts of {name} failed: {run.error.strip()[-500:]}")
    log(f"    {'; '.join(run.result['report'])}")
    return {"store": str(root), **run.result}


def run_facts(cache_dir: Path, n: int, n_authors: int, timeout_s: float, log: Callable[[str], None] = print) -> dict:
    config = SyntheticConfig(n_conversations=n, n_authors=n_authors)
    world = load_world(cache_dir, config)
    cut = config.end - timedelta(days=1)
    root = cache_dir / "facts" / config.name
    out: dict = {"conversations": n, "days": config.days, "ok": False}
    env = {"POLARS_MAX_THREADS": "2"}
    for step in ("full", "update"):
        run = run_worker({"task": "facts", "step": step, "store": str(root), "world": str(world),
                          "cut": cut.isoformat(), "check": step == "update"}, timeout_s=timeout_s, env=env)
        if not run.ok:
            out["error"] = f"{step}: {run.error.strip()[-500:]}"
            log(f"  facts {step}: FAILED {out['error']}")
            return out
        out[step] = run.result
        log(f"  facts {step:7s} {run.result['keep_s']:7.2f} s  peak {run.result['peak_mb'] or 0:7.0f} MB  "
            f"{run.result['conversations']:,} conversations, {run.result['days']} days")
    out["ok"] = bool(out["update"].get("same_as_raw"))
    out["share"] = out["update"]["keep_s"] / out["full"]["keep_s"]
    return out


def facts_markdown(f: dict) -> list[str]:
    lines = ["## Facts kept with the data", ""]
    if not f.get("full"):
        return [*lines, f"Not measured: {f.get('error')}"]
    full, update = f["full"], f["update"]
    lines += [
        f"A {f['days']}-day store of {f['conversations']:,} conversations (synthetic world), filled as it stood one "
        "day before its end; then the last day arrives as a sync brings it (every export's last day, and the "
        "conversation days whose rows changed). Each step in its own process; the update's facts are checked "
        "against the facts computed from the raw tables.", "",
        "| step | time | conversations computed | days written | peak RSS | same as from the raw tables |",
        "|---|---:|---:|---:|---:|---|",
        f"| full build | {full['keep_s']:.2f} s | {full['conversations']:,} | {full['days']} | "
        f"{(full['peak_mb'] or 0) / 1024:.2f} GiB | — |",
        f"| one-day update | {update['keep_s']:.2f} s | {update['conversations']:,} | {update['days']} | "
        f"{(update['peak_mb'] or 0) / 1024:.2f} GiB | {'yes' if update.get('same_as_raw') else 'NO'} |",
        "", f"The update takes {f['share'] * 100:.1f} % of the full build's time.",
    ]
    return lines
