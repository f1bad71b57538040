"""Where our engine's time goes: the SLA pipeline in stages, and under each Polars engine.

Issue 8 asks, where a target is missed, to say where the time goes. Polars does its work in Rust, so a
Python profiler (py-spy, pyinstrument) sees one long ``collect()``; the useful cut is by pipeline stage,
each collected on its own from the previous stage's materialised output: ``conversation_facts`` (joins and
group-bys over posts, responses, actions, tier as-of), ``evaluate`` (rule matching, business clock,
``breach_at``), ``attainment_by`` (group-by with nearest-rank percentiles). The whole pipeline is also run
under Polars' default engine ("auto", streaming in Polars 2) and the in-memory engine, since the choice
changes both time and peak memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.metrics_bench import AS_OF, _ensure_world
from bench.proc import run_worker
from bench.synthetic import SyntheticConfig

__all__ = ["run_stages", "stages_notes"]


def run_stages(cache_dir: Path, n: int, n_authors: int, timeout_s: float,
               log: Callable[[str], None] = print) -> dict:
    config = SyntheticConfig(n_conversations=n, n_authors=n_authors)
    world = _ensure_world(cache_dir, config, log)
    run = run_worker({"task": "stages", "world": world["path"], "as_of_ms": int(AS_OF.timestamp() * 1000)},
                     timeout_s=timeout_s, env={"POLARS_MAX_THREADS": "2"})
    out = {"conversations": n, "ok": run.ok, "max_rss_mb": run.max_rss_mb}
    if run.ok:
        out.update(run.result)
        for name, fig in {**run.result["stages"], **{f"whole, {k}": v for k, v in run.result["whole"].items()}
                          }.items():
            log(f"  {name:32s} {fig['s']:8.2f} s  peak {fig['peak_mb'] or 0:8.0f} MB")
    else:
        out["error"] = run.error
        log(f"  FAILED: {run.error.strip()[-300:]}")
    return out


def stages_notes(stages: dict) -> list[str]:
    if not stages.get("ok"):
        return [f"- Stage breakdown failed: {stages.get('error', '?')[-300:]}"]
    n = stages["conversations"]
    total = sum(f["s"] for f in stages["stages"].values())
    lines = ["Method: a Python profiler cannot see inside Polars (py-spy 0.4.3 with `--native` was tried on "
             "`conversation_facts` at 1M: every sample of the main thread waits in the Polars runtime, "
             "tokio `park` or a rayon latch; the work runs on Rust threads py-spy does not sample), so the "
             "pipeline is cut into stages and variants instead.", "",
             f"Our SLA pipeline at {n:,} conversations, stage by stage (each from the previous stage's "
             "materialised output; peak RSS of the process during the stage):", "",
             "| stage | time | share | peak RSS |", "|---|---:|---:|---:|"]
    for name, fig in stages["stages"].items():
        lines.append(f"| {name} | {fig['s']:.2f} s | {fig['s'] / total * 100:.0f} % | "
                     f"{(fig['peak_mb'] or 0) / 1024:.2f} GiB |")
    lines += ["", "The whole pipeline (lazy, one `collect`) under each Polars engine, and with the UUID string keys "
              "(`conversation_id`, `author_id`) replaced by their 64-bit hashes (same answer checked):", "",
              "| variant | time | peak RSS |", "|---|---:|---:|"]
    for engine, fig in stages["whole"].items():
        same = "" if "same_answer" not in fig else (" (same answer)" if fig["same_answer"] else " (ANSWER DIFFERS)")
        lines.append(f"| {engine}{same} | {fig['s']:.2f} s | {(fig['peak_mb'] or 0) / 1024:.2f} GiB |")
    lines.append("")
    stage = stages["stages"]
    facts = stage.get("conversation_facts", {}).get("s")
    whole = stages["whole"]
    if facts and total:
        lines.append(f"- `conversation_facts` takes {facts / total * 100:.0f} % of the pipeline: it hashes each "
                     "table's text ids once and joins and groups five tables on a dense integer key (posts, public "
                     "responses, actions, the stopping response after the clock start, priority changes, status "
                     "events with a window over the conversation), and does an as-of join per author for the "
                     "tier. Business hours (`evaluate`) are "
                     f"{stage.get('evaluate (first_response)', {}).get('s', 0) / total * 100:.0f} %.")
    auto, mem = whole.get("auto", {}).get("s"), whole.get("in-memory", {}).get("s")
    if auto and mem:
        lines.append(f"- Polars' default engine (auto) takes {auto:.2f} s, the in-memory engine {mem:.2f} s "
                     f"({(auto - mem) / auto * 100:.0f} % less time if the engine collected with "
                     "`engine=\"in-memory\"`).")
    hashed = whole.get("auto, UInt64 keys", {}).get("s")
    if auto and hashed:
        lines.append(f"- With the 36-character UUID ids given as 64-bit integers already (the experiment of issue 8, "
                     "whose lever `conversation_facts` now pulls itself: it keys the text ids once, two "
                     f"independent hashes each) the pipeline takes {hashed:.2f} s instead of {auto:.2f} s "
                     f"({(auto - hashed) / auto * 100:.0f} % less), same answer: what is left of the text ids' "
                     "cost (hashing them once, the author ids of the tier as-of join, carrying them to the "
                     "output).")
    if stages.get("integer_keys_error"):
        lines.append("- The run with 64-bit integer keys could not be made: the engine rejected them "
                     f"({stages['integer_keys_error']}).")
    return [*lines, ""]
