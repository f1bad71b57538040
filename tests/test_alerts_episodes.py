"""Episodes across runs: fire once, remind after the back-off, resolve, hold in quiet hours, retry what was not
delivered, keep an episode open while the data cannot tell, and tell a conversation about once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.alerts.episodes import REMEMBER, Condition, commit, plan

T0 = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
HOLDS = [Condition("episode", "attainment 70 %")]


def step(state: dict, firing: list[Condition], at: datetime, *, delivered: bool = True, **options) -> list[str]:
    """One run: plan, 'deliver', commit; return the announced kinds."""
    again = options.pop("again_after_close", True)
    transitions = plan(state, firing, at, again_after_close=again, **options)
    commit(state, firing, transitions, at, delivered=delivered, again_after_close=again)
    return [t.kind for t in transitions if t.announced]


def test_an_episode_fires_once_reminds_after_the_backoff_and_resolves() -> None:
    state: dict = {}
    backoff = timedelta(hours=1)
    assert step(state, HOLDS, T0, backoff=backoff) == ["firing"]
    assert step(state, HOLDS, T0, backoff=backoff) == []  # the same instant again: nothing twice
    assert step(state, HOLDS, T0 + timedelta(minutes=59), backoff=backoff) == []
    assert step(state, HOLDS, T0 + timedelta(hours=1), backoff=backoff) == ["reminder"]
    assert step(state, HOLDS, T0 + timedelta(hours=1, minutes=5), backoff=backoff) == []
    assert step(state, [], T0 + timedelta(hours=2), backoff=backoff) == ["resolved"]
    assert step(state, [], T0 + timedelta(hours=3), backoff=backoff) == []
    # a new episode after the end is told again, with its own start
    assert step(state, HOLDS, T0 + timedelta(hours=4), backoff=backoff) == ["firing"]
    assert state["episode"]["since"] == "2026-11-18T18:00:00Z"


def test_quiet_hours_hold_messages_back_without_losing_them() -> None:
    state: dict = {}
    assert step(state, HOLDS, T0, backoff=None, quiet=True) == []
    assert state["episode"]["last_notified"] is None  # seen, not told
    assert step(state, HOLDS, T0 + timedelta(hours=1), backoff=None, quiet=False) == ["firing"]
    # it ends during quiet hours: the resolved message waits for them to end
    assert step(state, [], T0 + timedelta(hours=2), backoff=None, quiet=True) == []
    assert step(state, [], T0 + timedelta(hours=3), backoff=None, quiet=False) == ["resolved"]


def test_an_episode_that_began_and_ended_in_quiet_hours_is_never_announced() -> None:
    state: dict = {}
    assert step(state, HOLDS, T0, backoff=None, quiet=True) == []
    assert step(state, [], T0 + timedelta(hours=1), backoff=None, quiet=True) == []
    assert step(state, [], T0 + timedelta(hours=9), backoff=None, quiet=False) == []
    assert state["episode"]["closed"] is not None


def test_an_undelivered_announcement_is_planned_again() -> None:
    state: dict = {}
    assert step(state, HOLDS, T0, backoff=timedelta(hours=1), delivered=False) == ["firing"]
    assert step(state, HOLDS, T0 + timedelta(minutes=5), backoff=timedelta(hours=1)) == ["firing"]
    assert state["episode"]["since"] == "2026-11-18T14:00:00Z"  # the episode began at the first sight
    assert step(state, [], T0 + timedelta(minutes=10), backoff=None, delivered=False) == ["resolved"]
    assert step(state, [], T0 + timedelta(minutes=15), backoff=None) == ["resolved"]


def test_undecidable_data_keeps_an_episode_open() -> None:
    state: dict = {}
    step(state, HOLDS, T0, backoff=None)
    assert step(state, [], T0 + timedelta(hours=1), backoff=None, decidable=False) == []
    assert state["episode"]["closed"] is None
    assert step(state, [], T0 + timedelta(hours=2), backoff=None) == ["resolved"]


def test_a_conversation_is_told_about_once() -> None:
    state: dict = {}
    a, b = Condition("c1|first_response", "c1"), Condition("c2|first_response", "c2")
    options = {"backoff": None, "announce_resolved": False, "again_after_close": False}
    assert step(state, [a], T0, **options) == ["firing"]
    assert step(state, [a, b], T0 + timedelta(minutes=5), **options) == ["firing"]  # only b is new
    assert state["c1|first_response"]["last_notified"] == "2026-11-18T14:00:00Z"
    assert step(state, [b], T0 + timedelta(minutes=10), **options) == []  # a answered: closed, not announced
    assert state["c1|first_response"]["closed"] == "2026-11-18T14:10:00Z"
    assert step(state, [a], T0 + timedelta(minutes=15), **options) == []  # back again: still told about once
    # after REMEMBER the closed key is forgotten
    step(state, [], T0 + timedelta(minutes=20) + REMEMBER + timedelta(seconds=1), **options)
    assert "c1|first_response" not in state
