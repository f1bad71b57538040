"""Run a bench worker in a child process and measure it: wall time, and ``ru_maxrss`` as a fallback.

Peak memory figures come from the child itself (``VmHWM`` of its own address space, see ``bench.worker``):
Linux carries ``ru_maxrss`` across ``fork`` + ``exec``, so the ``os.wait4`` figure of a child includes the
parent's resident set at the fork and overstates a small child forked from a large parent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WorkerRun", "run_worker"]

REPO = Path(__file__).resolve().parent.parent


@dataclass
class WorkerRun:
    result: dict | None
    wall_s: float
    max_rss_mb: float
    returncode: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.returncode == 0


def run_worker(spec: dict, *, timeout_s: float, env: dict | None = None) -> WorkerRun:
    """Run ``python -m bench.worker`` on ``spec``; kill it after ``timeout_s`` (the result is then None)."""
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        spec = dict(spec, out=str(Path(tmp) / "result.json"))
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        err_path = Path(tmp) / "stderr.txt"
        child_env = dict(os.environ, **(env or {}))
        child_env["PYTHONPATH"] = str(REPO) + os.pathsep + child_env.get("PYTHONPATH", "")
        start = time.perf_counter()
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "bench.worker", str(spec_path)], cwd=REPO,
                                    stdout=subprocess.DEVNULL, stderr=err, env=child_env,
                                    start_new_session=True)
            timed_out = False
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - start > timeout_s:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        error = err_path.read_text(errors="replace")[-2000:]
        if timed_out:
            error = f"timed out after {timeout_s:.0f} s\n" + error
        out = Path(spec["out"])
        result = json.loads(out.read_text()) if out.exists() and proc.returncode == 0 else None
        return WorkerRun(result, wall, usage.ru_maxrss / 1024, proc.returncode, error)
