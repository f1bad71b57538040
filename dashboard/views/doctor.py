"""Check the connection, on the Data page: ``python -m dashboard doctor``'s checks for the core's settings.

Each API family's credentials and permissions, the rate limits seen, a one-hour export of each type (columns
and time format), the bot token's expiry and the clock skew (:func:`dashboard.doctor.run_doctor`) — one row per
check with OK / WARN / FAIL and what to change. It calls Khoros (or the demo's simulator, in process), so the
page runs it on demand; it takes a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from dashboard.doctor import FAIL, WARN, checks_frame, run_doctor

__all__ = ["ConnectionCheck", "check_connection"]


@dataclass(frozen=True)
class ConnectionCheck:
    checks: pl.DataFrame
    """``check``, ``status`` (OK | WARN | FAIL), ``detail``, ``fix`` — as text."""
    failed: int
    warned: int
    summary: str

    @property
    def ok(self) -> bool:
        return self.failed == 0


def check_connection(core) -> ConnectionCheck:
    """Run every check of ``doctor`` against the core's data source (its settings: a tenant, or the demo)."""
    checks = run_doctor(core.settings)
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    summary = (f"{len(checks)} checks at {datetime.now(UTC):%H:%M:%S} UTC: {len(checks) - failed - warned} OK, "
               f"{warned} WARN, {failed} FAIL" + (" — the rows marked FAIL say what to change." if failed else "."))
    return ConnectionCheck(checks_frame(checks), failed, warned, summary)
