"""The frames the notifier reads: conversation facts (per bot rule), the SLA policy, Bot API request records.

:class:`FramesData` builds facts from export tables with :func:`conversation_facts`, exactly as the report
CLI does, and keeps them per bot rule for the length of a run. :func:`open_store_data` opens the configured
tenant's store the way ``python -m dashboard report`` finds it. (When the core object lands, both give way to
it: it owns the store, tiers, policy and facts for every consumer.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dashboard.metrics.conversations import conversation_facts
from dashboard.metrics.policy import Policy, load_policy
from dashboard.notify.errors import NotifyError

__all__ = ["FramesData", "open_store_data"]

FACT_EXPORTS = ("conversation", "incoming_post", "response", "conversation_history_action", "author")


@dataclass
class FramesData:
    tables: Mapping[str, pl.LazyFrame]
    policy: Policy
    tier_attribute: str = "tier"
    tier_table: pl.LazyFrame | None = None
    store_root: Path | None = None
    _facts: dict[str, pl.LazyFrame] = field(default_factory=dict, repr=False)

    def facts(self, bot_rule: str = "human") -> pl.LazyFrame:
        """Conversation facts with ``bot_rule``, computed once per data object (collected, then lazy again)."""
        if bot_rule not in self._facts:
            missing = [e for e in FACT_EXPORTS if e not in self.tables]
            if missing:
                raise NotifyError(f"the notifier needs export(s) {', '.join(missing)}")
            t = self.tables
            self._facts[bot_rule] = conversation_facts(
                t["conversation"], t["incoming_post"], t["response"], t["conversation_history_action"], t["author"],
                bot_rule=bot_rule, tier_attribute=self.tier_attribute, tier_table=self.tier_table,
            ).collect().lazy()
        return self._facts[bot_rule]

    def bot_requests(self) -> pl.LazyFrame | None:
        return self.tables.get("bot_request")


def open_store_data(settings: Any, *, policy_path: Path | None = None) -> FramesData:
    """The configured tenant's store (found as ``report`` finds it), its tables, the policy and the tier file."""
    from dashboard.report import REPORT_EXPORTS, _find_store, load_tier_file

    store = _find_store(settings)
    tables = {e: store.scan(e) for e in (*REPORT_EXPORTS, "bot_request")}
    if tables["conversation"].select(pl.len()).collect().item() == 0:
        raise NotifyError(f"the store at {store.root} holds no conversations; run `python -m dashboard sync` or "
                          "`python -m dashboard import FILES` first")
    return FramesData(
        tables=tables,
        policy=load_policy(policy_path or settings.policy_path),
        tier_attribute=settings.tier_attribute,
        tier_table=load_tier_file(settings.tier_file) if settings.tier_file else None,
        store_root=store.local_dir,
    )
