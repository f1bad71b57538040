"""Argument types the commands share (``report``, ``sync``): one reading of a day, one range of sane days."""

from __future__ import annotations

import argparse
from datetime import date

FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2099, 12, 31)
"""The days a command accepts: those the exports' times may fall on (``dashboard.schema`` refuses times outside)."""


def day_argument(text: str) -> date:
    """``YYYY-MM-DD`` between :data:`FIRST_DAY` and :data:`LAST_DAY`, else an argparse error naming the text."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD (like 2026-11-01)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{text!r} is not between {FIRST_DAY} and {LAST_DAY}")
    return day
