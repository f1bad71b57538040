"""Expected values for the page tests, computed with the metric engine and the report CLI's function on the same
store the app reads — never copied from the page."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import polars as pl

FACT_EXPORTS = ("conversation", "incoming_post", "response", "conversation_history_action", "author")


def default_window(source) -> tuple[date, date, str]:
    """The sidebar's default ("Last 28 days", ending with today) in the configured zone."""
    tz = source.settings.timezone
    today = source.now().astimezone(ZoneInfo(tz)).date()
    end = today + timedelta(days=1)
    return end - timedelta(days=28), end, tz


def facts(source, bot_rule: str = "human") -> pl.DataFrame:
    from dashboard.metrics import conversation_facts

    t = {e: source.scan(e) for e in FACT_EXPORTS}
    return conversation_facts(t["conversation"], t["incoming_post"], t["response"], t["conversation_history_action"],
                              t["author"], bot_rule=bot_rule, tier_attribute=source.settings.tier_attribute).collect()


def report(source, *, metric: str = "first_response", by: tuple[str, ...] = ()) -> pl.DataFrame:
    """``python -m dashboard report sla`` as a function call, for the default window."""
    from dashboard.metrics import load_policy
    from dashboard.report import sla_report

    start, end, tz = default_window(source)
    return sla_report({e: source.scan(e) for e in FACT_EXPORTS}, load_policy(source.settings.policy_path),
                      metric=metric, by=by, start=start, end=end, tz=tz, as_of=source.now(),
                      tier_attribute=source.settings.tier_attribute)


def empty_filter(all_facts: pl.DataFrame) -> dict[str, str]:
    """Query parameters of a tier × priority filter whose values each exist but never together."""
    tiers = all_facts.get_column("tier").unique().sort().to_list()
    priorities = all_facts.get_column("priority").drop_nulls().unique().sort().to_list()
    present = set(all_facts.select("tier", "priority").unique().iter_rows())
    for tier in tiers:
        for priority in priorities:
            if (tier, priority) not in present:
                return {"tier": tier, "priority": str(priority)}
    raise AssertionError("every tier × priority combination occurs in the demo world; pick another empty filter")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at) -> str:
    """Every message, caption and markdown on the page, as one string."""
    parts = [e.value for kind in ("warning", "info", "error", "success", "caption", "markdown")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def frame_with(at, *columns: str) -> pl.DataFrame:
    """The (first) dataframe on the page that has all ``columns``."""
    for element in at.dataframe:
        frame = pl.from_pandas(element.value)
        if all(c in frame.columns for c in columns):
            return frame
    raise AssertionError(f"no dataframe with columns {columns}; shown: {[list(d.value.columns) for d in at.dataframe]}")
