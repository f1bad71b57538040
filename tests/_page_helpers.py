"""Expected values for the page tests: the report CLI's function on the same core the app reads, the world's
truth, and small readers of what AppTest shows — never a copy of a page's code."""

from __future__ import annotations

import re

import polars as pl

from dashboard.report import sla_report


def report(core, *, metric: str = "first_response", by: tuple[str, ...] = (), **kwargs) -> pl.DataFrame:
    """``python -m dashboard report sla`` as a function call, for the sidebar's default window."""
    filters = core.default_filters()
    return sla_report(core, metric=metric, by=by, start=filters.start, end=filters.end, tz=filters.tz, **kwargs)


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


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~$:=^&@/])")


def plain(text: str) -> str:
    """What a reader sees of a Markdown string the UI escaped (customer data is shown as text): the backslashes
    before punctuation and the invisible word joiners that keep URLs from being linked removed."""
    return _ESCAPED.sub(r"\1", str(text)).replace("\u2060", "")


def metrics(at) -> dict[str, str]:
    return {plain(m.label): plain(m.value) for m in at.metric}


def texts(at) -> str:
    """Every message, caption and markdown on the page, as one string (as a reader sees it)."""
    parts = [e.value for kind in ("warning", "info", "error", "success", "caption", "markdown")
             for e in getattr(at, kind)]
    return "\n".join(plain(p) for p in parts)


def frame_with(at, *columns: str) -> pl.DataFrame:
    """The (first) dataframe on the page that has all ``columns``."""
    for element in at.dataframe:
        frame = pl.from_pandas(element.value)
        if all(c in frame.columns for c in columns):
            return frame
    raise AssertionError(f"no dataframe with columns {columns}; shown: {[list(d.value.columns) for d in at.dataframe]}")
