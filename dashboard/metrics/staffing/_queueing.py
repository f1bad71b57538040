"""Erlang C and the Poisson quantile: the queueing arithmetic of the staffing models."""

from __future__ import annotations

import math

import numpy as np

from dashboard.metrics._planning import PlanningError, check_probability


def _erlang_b(agents: int, traffic: float) -> float:
    # The stable recursion B(n) = A·B(n−1) / (n + A·B(n−1)); no factorials, no overflow.
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that an arriving conversation waits (Erlang C), ``agents`` servers, ``traffic`` Erlangs;
    1.0 when ``agents <= traffic`` (the queue grows without bound)."""
    if traffic < 0 or agents < 0:
        raise PlanningError(f"Erlang C needs agents >= 0 and traffic >= 0, got {agents}, {traffic}")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = _erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1 - b))


def erlang_c_service_level(agents: int, traffic: float, handle_seconds: float, answer_seconds: float) -> float:
    """Share of conversations taken within ``answer_seconds``: ``1 − C(N, A) · exp(−(N − A) · t / h)``."""
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return 1.0 - erlang_c(agents, traffic) * math.exp(-(agents - traffic) * answer_seconds / handle_seconds)


def _erlang_c_agents_array(traffic: np.ndarray, handle_seconds: float, answer_seconds: float,
                           attainment: float) -> np.ndarray:
    """Smallest agents per element of ``traffic`` meeting the attainment (vectorised over the hours)."""
    need = np.zeros(len(traffic), dtype=np.int64)
    todo = traffic > 0
    b = np.ones(len(traffic))
    n = 0
    while todo.any():
        n += 1
        b = np.where(todo, traffic * b / (n + traffic * b), b)
        stable = todo & (n > traffic)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = n * b / (n - traffic * (1 - b))
            # only stable hours (n > traffic) are read; the clip keeps the others from overflowing
            level = 1.0 - c * np.exp(-np.clip(n - traffic, 0, None) * answer_seconds / handle_seconds)
        done = stable & (level >= attainment)
        need[done] = n
        todo &= ~done
    return need


def erlang_c_agents(traffic: float, handle_seconds: float, answer_seconds: float, attainment: float) -> int:
    """The fewest agents for which at least ``attainment`` of conversations wait at most ``answer_seconds``."""
    check_probability("attainment", attainment)
    if handle_seconds <= 0 or answer_seconds < 0 or traffic < 0:
        raise PlanningError(f"Erlang C needs handle > 0, answer time >= 0, traffic >= 0 (got {handle_seconds}, "
                            f"{answer_seconds}, {traffic})")
    return int(_erlang_c_agents_array(np.array([float(traffic)]), handle_seconds, answer_seconds, attainment)[0])


def poisson_quantile(mean: float, p: float) -> int:
    """The smallest k with P(X <= k) >= p for X ~ Poisson(mean) (exact sum, in log space)."""
    check_probability("p", p)
    if mean < 0:
        raise PlanningError(f"a Poisson mean cannot be negative, got {mean}")
    if mean == 0:
        return 0
    # Below mean − 12·sqrt(mean) the mass is < 1e-30: start there so large means stay cheap.
    k = max(0, int(mean - 12 * math.sqrt(mean)))
    log_mean = math.log(mean)
    total = 0.0
    while True:
        total += math.exp(-mean + k * log_mean - math.lgamma(k + 1))
        if total >= p:
            return k
        k += 1
