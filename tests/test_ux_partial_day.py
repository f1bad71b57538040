"""Issue 17, item 6: today is partial — "Last 7 days" at 10:30 on a Wednesday holds six days and ten and a half
hours, so its change is measured against the same span of the week before (to Wednesday 10:30), not against seven
whole days; the sparklines end with the last complete day. Oracle: the world's own arrivals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from tests import _page_helpers as h
from tests.conftest import run_app

# whole pages, whole demo worlds or whole CLI runs: `make test` runs them, `make test-fast` leaves them out
pytestmark = pytest.mark.slow

NY = ZoneInfo("America/New_York")


@pytest.fixture
def core(app_env, demo_core):
    return demo_core


def arrivals(world, start: datetime, end: datetime) -> int:
    t = pl.col("first_inbound_time")
    return world.truth.filter((t >= start.astimezone(UTC)) & (t < end.astimezone(UTC))).height


def test_last_7_days_is_compared_with_the_same_span_before(core, demo_world):
    now = demo_world.now.astimezone(NY)
    assert (now.date(), now.hour, now.minute) == (date(2026, 11, 18), 10, 30)  # a Wednesday, 10:30
    start = datetime(2026, 11, 12, tzinfo=NY)
    current = arrivals(demo_world, start, now)
    same_span = arrivals(demo_world, datetime(2026, 11, 5, tzinfo=NY), datetime(2026, 11, 11, 10, 30, tzinfo=NY))
    whole_week = arrivals(demo_world, datetime(2026, 11, 5, tzinfo=NY), start)
    assert same_span < whole_week  # the difference the old comparison got wrong

    at = run_app(query={"range": "Last 7 days"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    card = next(m for m in at.metric if h.plain(m.label) == "Conversations")
    assert h.plain(card.value) == f"{current:,}"
    diff = current - same_span
    assert h.plain(card.delta) == f"{diff:+,} ({100 * diff / same_span:+.0f}%)"
    assert "Today is partial (to 10:30): changes compare with the previous 7 days up to the same time " \
           "(Wed 11 Nov 10:30)" in h.texts(at)


def test_the_sparklines_end_with_the_last_complete_day(core, demo_world):
    at = run_app(query={"range": "Last 7 days"})
    card = next(m for m in at.metric if h.plain(m.label) == "Conversations")
    points = [float(v) for v in card.proto.chart_data]
    days = [arrivals(demo_world, datetime(2026, 11, d, tzinfo=NY), datetime(2026, 11, d, tzinfo=NY)
                     + timedelta(days=1)) for d in range(12, 18)]  # Thursday 12 .. Tuesday 17, not today
    assert points == days
