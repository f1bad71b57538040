"""Properties of SLA evaluation on random conversations: the status follows breach_at, breach_at is the
target in the target's clock, elapsed is BH(start, stop) — for every schedule of the policy at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.metrics import attainment_by, business_seconds, evaluate, parse_policy

POLICY = parse_policy("""
[schedules.default]
timezone = "America/New_York"
monday = [["09:00", "17:00"]]
tuesday = [["09:00", "17:00"]]
wednesday = [["09:00", "12:00"], ["13:00", "17:00"]]
thursday = [["09:00", "17:00"]]
friday = [["09:00", "17:00"]]
holidays = ["2026-11-26", "2026-12-25"]

[schedules.london]
timezone = "Europe/London"
monday = [["08:00", "20:00"]]
tuesday = [["08:00", "20:00"]]
saturday = [["10:00", "14:00"]]
sunday = [["00:00", "24:00"]]

[[targets]]
metric = "first_response"
priority = 5
target = "20m"
clock = "calendar"

[[targets]]
metric = "first_response"
tier = "Platinum"
target = "45m"
schedule = "london"

[[targets]]
metric = "first_response"
tier = ["Gold", "Silver"]
target = "2h30m"

[[targets]]
metric = "first_response"
target = "1d"
schedule = "london"
""")
SCHEDULES = POLICY.schedules
AS_OF = datetime(2027, 1, 15, tzinfo=UTC)
START_MS = int(datetime(2026, 10, 20, tzinfo=UTC).timestamp() * 1000)
SPAN_MS = 60 * 86400 * 1000

conversation = st.tuples(
    st.integers(0, SPAN_MS),  # start offset
    st.one_of(st.none(), st.integers(0, 6 * 86400 * 1000)),  # response delay (None: unanswered)
    st.sampled_from(["Platinum", "Gold", "Silver", "Standard", "unknown"]),
    st.integers(0, 5),
)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(conversation, min_size=1, max_size=30), as_of_offset=st.integers(0, SPAN_MS + 7 * 86400000))
def test_evaluation_invariants(rows, as_of_offset) -> None:
    as_of = datetime.fromtimestamp((START_MS + as_of_offset) / 1000, UTC)
    facts = pl.DataFrame(
        {
            "conversation_id": [f"c{i}" for i in range(len(rows))],
            "clock_start": [START_MS + r[0] for r in rows],
            "first_response_time": [None if r[1] is None else START_MS + r[0] + r[1] for r in rows],
            "tier": [r[2] for r in rows],
            "priority": [r[3] for r in rows],
            "network": "twitter",
            "bot_contained": False,
        },
        schema_overrides={"first_response_time": pl.Int64},
    ).with_columns(pl.col("clock_start", "first_response_time").cast(pl.Datetime("ms", "UTC"))).lazy()
    out = evaluate(facts, POLICY, "first_response", as_of=as_of).collect()
    # BH(start, breach_at) under each row's schedule, one vectorised probe per schedule
    probes = out.select(
        "conversation_id",
        *[business_seconds(pl.col("start_time"), pl.col("breach_at"), schedule).alias(name)
          for name, schedule in SCHEDULES.items()],
    )
    probe = {r["conversation_id"]: r for r in probes.iter_rows(named=True)}
    for row in out.iter_rows(named=True):
        start, stop, breach_at = row["start_time"], row["stop_time"], row["breach_at"]
        if start > as_of:
            assert row["status"] == "not_started"
            continue
        assert row["status"] in {"achieved", "breached", "pending"}
        # breach_at is the target, counted in the target's clock, from the start
        if row["clock"] == "calendar":
            assert (breach_at - start) // timedelta(milliseconds=1) == row["target_seconds"] * 1000
        else:
            assert probe[row["conversation_id"]][row["schedule"]] == row["target_seconds"]
            assert breach_at >= start
        # the status follows breach_at, events after as_of are unknown
        if stop is not None:
            assert stop <= as_of
            assert row["status"] == ("achieved" if stop <= breach_at else "breached")
            assert row["response_seconds"] == row["elapsed_seconds"]
        else:
            assert row["status"] == ("breached" if as_of > breach_at else "pending")
            assert row["response_seconds"] is None
        # elapsed in both clocks, and the severity of a breach is positive in the target's clock or a tie
        end = stop or as_of
        assert round(row["elapsed_calendar_seconds"] * 1000) == (end - start) // timedelta(milliseconds=1)
        if row["status"] == "breached":
            assert row["breach_severity_seconds"] >= 0
    table = attainment_by(out.lazy(), ["tier"]).collect()
    decided = out.filter(pl.col("status").is_in(["achieved", "breached", "pending"])).height
    assert table["total"].sum() == decided
    assert (table["total"] == table["achieved"] + table["breached"] + table["pending"]).all()
