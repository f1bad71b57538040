"""Measure world generation: ``python -m dashboard.simulator.bench [--conversations-per-day N ...]``.

Each size runs in a fresh child process, so the peak resident set size (``ru_maxrss``) belongs to that
world alone (imports included). Prints one line per size: wall and CPU seconds to generate (CPU time is the
steadier figure on a shared machine; polars uses several threads, so it can exceed wall time), peak RSS,
rows, table memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
from datetime import datetime
from dashboard.simulator.world import WorldConfig, generate_world
cfg = WorldConfig(seed=int(sys.argv[1]), days=int(sys.argv[2]), conversations_per_day=int(sys.argv[3]),
                  end=datetime.fromisoformat(sys.argv[4]))
t, cpu = time.perf_counter(), time.process_time()
world = generate_world(cfg)
seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - cpu
print(json.dumps({
    "seconds": round(seconds, 2),
    "cpu_seconds": round(cpu_seconds, 2),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    "rows": sum(f.height for f in world.tables.values()),
    "conversations": world.tables["conversation"].height,
    "table_mb": sum(f.estimated_size() for f in world.tables.values()) // 2**20,
}))
"""


def measure(seed: int, days: int, conversations_per_day: int, end: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(seed), str(days), str(conversations_per_day), end],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.simulator.bench", description=__doc__)
    parser.add_argument("--conversations-per-day", type=int, nargs="+", default=[400, 5000])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", default="2026-11-24T15:00:00+00:00")
    args = parser.parse_args(argv)
    for cpd in args.conversations_per_day:
        result = measure(args.seed, args.days, cpd, args.end)
        print(f"{args.days} days x {cpd}/day: {result['seconds']:.2f} s wall ({result['cpu_seconds']:.2f} s CPU), "
              f"peak RSS {result['peak_rss_mb']} MB, "
              f"{result['conversations']:,} conversations, {result['rows']:,} rows, tables {result['table_mb']} MB",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
