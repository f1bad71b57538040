"""Authors: one row per version of their CRM attributes (tier, region, lifetime value, CRM id)."""

from __future__ import annotations

import numpy as np
import polars as pl

from dashboard.simulator.world.reference import LTV_BY_TIER, NETWORKS, REGIONS, TIERS
from dashboard.simulator.world.vectors import Ids, as_times, pick_names


def authors_table(draw, ids: Ids, a_network, a_tier0, a_tier1, a_first, a_change, now_ms, first_name, last_name):
    """``draw``: the authors' keyed draws (an author's CRM values are its own whatever the world's size)."""
    n = len(a_network)
    region = pick_names(REGIONS, draw.integers("author.region", 0, len(REGIONS)))
    ltv0 = (np.asarray(LTV_BY_TIER)[a_tier0] * draw.lognormal("author.value", 0.4)).round(2)
    ltv1 = (np.asarray(LTV_BY_TIER)[a_tier1] * draw.lognormal("author.value_changed", 0.4)).round(2)
    handle_no = draw.integers("author.handle", 1, 9999)
    base = pl.DataFrame(
        {
            "author_id": ids.author,
            "network": pick_names(NETWORKS, a_network),
            "handle": first_name.str.to_lowercase() + last_name.str.slice(0, 1).str.to_lowercase()
            + pl.Series(handle_no).cast(pl.String),
            "display_name": first_name + " " + last_name,
            "region": region,
            "crm_id": "CRM-" + pl.Series(np.arange(n, dtype=np.int64) + 700_000).cast(pl.String),
        }
    )
    v0 = base.with_columns(
        tier=pick_names(TIERS, a_tier0), updated_time=as_times(a_first),
        lifetime_value=pl.Series(ltv0).cast(pl.String),
    )
    changed = a_change < now_ms
    v1 = base.filter(pl.Series(changed)).with_columns(
        tier=pick_names(TIERS, a_tier1[changed]), updated_time=as_times(a_change[changed]),
        lifetime_value=pl.Series(ltv1[changed]).cast(pl.String),
    )
    cols = ["author_id", "network", "handle", "display_name", "tier", "updated_time", "region", "lifetime_value",
            "crm_id"]
    return pl.concat([v0.select(cols), v1.select(cols)]).sort("updated_time", "author_id")


