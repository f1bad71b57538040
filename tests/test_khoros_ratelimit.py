"""The shared file-backed rate limiter: sliding window, latency margin, 429 blocks, threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.khoros.ratelimit import Limit, SharedRateLimiter


class FakeClock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def limiter(tmp_path: Path, clock: FakeClock, calls: int = 20, window: float = 60.0) -> SharedRateLimiter:
    return SharedRateLimiter(tmp_path / "rl.json", {"analytics": Limit(calls, window), "author": Limit(60, 60)},
                             clock=clock, sleep=clock.sleep, margin_s=0.0)


def test_twenty_calls_pass_then_the_21st_waits_for_the_window(tmp_path):
    clock = FakeClock()
    rl = limiter(tmp_path, clock)
    start = clock.t
    for _ in range(20):
        rl.complete("analytics", rl.acquire("analytics"))
        clock.t += 0.5
    assert clock.slept == []
    rl.acquire("analytics")
    assert clock.t == pytest.approx(start + 60.0)  # the first call leaves the window


def test_families_are_counted_separately_and_unknown_ones_are_free(tmp_path):
    clock = FakeClock()
    rl = limiter(tmp_path, clock, calls=1)
    rl.acquire("analytics")
    assert rl.acquire("author") is not None and rl.acquire(None) is None and rl.acquire("bot") is None
    assert clock.slept == []


def test_a_call_counts_from_when_its_answer_arrived(tmp_path):
    clock = FakeClock()
    rl = limiter(tmp_path, clock, calls=1, window=10.0)
    slot = rl.acquire("analytics")
    clock.t += 4.0  # a slow answer: the server may have seen the call as late as now
    rl.complete("analytics", slot)
    t_done = clock.t
    rl.acquire("analytics")
    assert clock.t == pytest.approx(t_done + 10.0)


def test_a_429_blocks_the_family_for_retry_after(tmp_path):
    clock = FakeClock()
    rl = limiter(tmp_path, clock)
    rl.block("analytics", 30.0)
    t0 = clock.t
    rl.acquire("analytics")
    assert clock.t == pytest.approx(t0 + 30.0)
    rl.acquire("author")  # other families are not blocked
    assert clock.t == pytest.approx(t0 + 30.0)


def test_a_corrupt_state_file_is_treated_as_empty(tmp_path):
    clock = FakeClock()
    rl = limiter(tmp_path, clock, calls=2)
    (tmp_path / "rl.json").write_text("{not json")
    rl.acquire("analytics")
    rl.acquire("analytics")
    assert clock.slept == []


def test_eta_lower_bound(tmp_path):
    clock = FakeClock()
    rl = limiter(tmp_path, clock)
    assert rl.seconds_for("analytics", 20) == 0.0
    assert rl.seconds_for("analytics", 21) == 60.0
    assert rl.seconds_for("analytics", 61) == 180.0


def _sends_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_threads_share_the_quota(tmp_path):
    rl = SharedRateLimiter(tmp_path / "rl.json", {"analytics": Limit(5, 0.6)}, margin_s=0.0)
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            slot = rl.acquire("analytics")
            with lock:
                sent.append(time.time())
            rl.complete("analytics", slot)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 12
    assert _sends_in_any_window(sent, 0.6) <= 5


def _process_worker(path: str, out: multiprocessing.Queue) -> None:
    rl = SharedRateLimiter(Path(path), {"analytics": Limit(4, 0.8)}, margin_s=0.0)
    for _ in range(4):
        slot = rl.acquire("analytics")
        out.put(time.time())
        rl.complete("analytics", slot)


def test_processes_share_the_quota(tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(str(tmp_path / "rl.json"), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    sent = [queue.get(timeout=5) for _ in range(8)]
    assert _sends_in_any_window(sent, 0.8) <= 4
    assert max(sent) - min(sent) >= 0.8  # 8 calls at 4 per window cannot all fit in one window


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="at least 1 call"):
        Limit(0)
    with pytest.raises(ValueError, match="window must be positive"):
        Limit(5, 0)


@settings(max_examples=40, deadline=None)
@given(calls=st.integers(2, 6), window=st.floats(1.0, 100.0),
       steps=st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 5.0)), min_size=1, max_size=40))
def test_no_window_ever_holds_more_calls_than_the_limit(tmp_path_factory, calls, window, steps):
    """Whatever the gaps between calls and the answer latencies, the server never sees more than the limit in any
    window, counting each call at the latest instant the server may have seen it (its answer)."""
    clock = FakeClock()
    rl = SharedRateLimiter(tmp_path_factory.mktemp("rl") / "rl.json", {"analytics": Limit(calls, window)},
                           clock=clock, sleep=clock.sleep, margin_s=0.0)
    sent: list[tuple[float, float]] = []
    for gap, latency in steps:
        clock.t += gap
        slot = rl.acquire("analytics")
        began = clock.t
        clock.t += latency
        rl.complete("analytics", slot)
        sent.append((began, clock.t))
    # the server saw call i somewhere in [began_i, done_i]; the worst case packs later calls early, earlier
    # ones late: for every call, the calls whose answer came less than a window before it was sent
    for began, _ in sent:
        in_window = [1 for b, d in sent if b <= began and d > began - window]
        assert len(in_window) <= calls


def test_very_high_limits_are_not_tracked(tmp_path):
    clock = FakeClock()
    rl = SharedRateLimiter(tmp_path / "rl.json", {"analytics": Limit(100_000)}, clock=clock, sleep=clock.sleep)
    assert rl.acquire("analytics") is None
    assert not (tmp_path / "rl.json").exists()
