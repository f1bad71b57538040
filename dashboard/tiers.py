"""Customer tier sources other than the author export: a CRM file (``KHOROS_TIER_FILE``).

The core (:meth:`dashboard.core.Dashboard.tier_versions`) decides which source applies; this module only
reads the file. Tier is taken as of the start of the clock, so a file may carry when each tier took effect.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dashboard.errors import SettingsError

__all__ = ["load_tier_file"]


def load_tier_file(path: Path) -> pl.DataFrame:
    """A CRM tier file: CSV or Parquet with ``author_id``, ``tier`` and optionally ``updated_time`` (ISO-8601 or
    epoch ms; a row without one applies from the beginning of time) -> the ``tier_table`` of
    ``conversation_facts``. A missing, unreadable or incomplete file is a :class:`SettingsError` naming it."""
    if not path.is_file():
        raise SettingsError(f"tier file {path} not found (KHOROS_TIER_FILE)")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as e:
        raise SettingsError(f"tier file {path}: cannot read it ({str(e).splitlines()[0]})") from None
    missing = [c for c in ("author_id", "tier") if c not in frame.columns]
    if missing:
        raise SettingsError(f"tier file {path}: missing column(s) {', '.join(missing)} "
                            f"(has: {', '.join(frame.columns)})")
    if "updated_time" in frame.columns and frame.schema["updated_time"] == pl.String:
        text = pl.col("updated_time").str.strip_chars()
        frame = frame.with_columns(updated_time=pl.coalesce(
            text.cast(pl.Int64, strict=False).cast(pl.Datetime("ms", "UTC")),
            text.str.to_datetime(time_unit="ms", time_zone="UTC", strict=False),
        ))
    return frame
