"""Builders for the small hand-made worlds of the planning tests (reasons, occupancy, staffing, what-if).

A conversation is a dict: ``author`` (default "a-std", tier Standard), ``network`` (default "twitter"),
``priority``, ``posts`` (UTC "YYYY-MM-DD HH:MM" strings), ``responses`` ((time, agent_id or None for a bot,
public)), ``actions`` ((action, time, agent_id, from, to)), ``closed``, ``tags``, ``disposition``.
Times are UTC so that the hand-worked answers in the tests read directly.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import polars as pl

from dashboard.metrics import conversation_facts
from dashboard.metrics.policy import DEFAULT_POLICY_PATH
from dashboard.schema import EXPORTS

TIERS = {"a-plat": "Platinum", "a-gold": "Gold", "a-std": "Standard"}


def utc(text: str) -> datetime:
    """'2026-11-16 10:00' (or with seconds) as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _frame(export_id: str, rows: list[dict]) -> pl.LazyFrame:
    schema = EXPORTS[export_id].polars_schema
    if not rows:
        return pl.DataFrame(schema=schema).lazy()
    return pl.DataFrame(rows, schema=schema, orient="row").lazy()


def build_tables(conversations: dict[str, dict]) -> dict[str, pl.LazyFrame]:
    rows: dict[str, list[dict]] = {k: [] for k in ("conversation", "incoming_post", "response",
                                                   "conversation_history_action", "author")}
    for cid, c in conversations.items():
        closed = utc(c["closed"]) if c.get("closed") else None
        author = c.get("author", "a-std")
        network = c.get("network", "twitter")
        rows["conversation"].append(dict(
            conversation_id=cid, conversation_display_id=None, author_id=author, network=network,
            priority=c.get("priority", 2), work_queue_id=1, team_id=1, status="CLOSED" if closed else "OPEN",
            created_time=utc(c["posts"][0]), closed_time=closed, assigned_agent_id=c.get("assigned"),
            tags=c.get("tags", []), disposition=c.get("disposition"),
        ))
        for i, t in enumerate(c["posts"]):
            rows["incoming_post"].append(dict(
                post_id=f"{cid}-p{i}", conversation_id=cid, author_id=author, network=network,
                received_time=utc(t), priority=c.get("priority", 2), work_queue_id=1, is_public=True,
            ))
        for i, (t, agent, public) in enumerate(c.get("responses", [])):
            rows["response"].append(dict(
                response_id=f"{cid}-r{i}", conversation_id=cid, responder_type="AGENT" if agent else "BOT",
                agent_id=agent, bot_app_id=None if agent else "bot-1", published_time=utc(t),
                in_reply_to_post_id=None, is_public=public,
            ))
        for i, (action, t, agent, frm, to) in enumerate(c.get("actions", [])):
            rows["conversation_history_action"].append(dict(
                action_id=f"{cid}-a{i}", conversation_id=cid, action=action, action_time=utc(t), agent_id=agent,
                from_value=frm, to_value=to,
            ))
    for author_id, tier in TIERS.items():
        rows["author"].append(dict(author_id=author_id, network="twitter", handle=author_id,
                                   display_name=author_id, tier=tier, updated_time=utc("2020-01-01 00:00")))
    return {k: _frame(k, v) for k, v in rows.items()}


def facts_of(tables: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    return conversation_facts(tables["conversation"], tables["incoming_post"], tables["response"],
                              tables["conversation_history_action"], tables["author"])


def states_frame(rows: list[tuple[str, str, str, str | None]], team: dict[str, int] | None = None) -> pl.LazyFrame:
    """Agent state intervals: (agent_id, state, start, end or None while it lasts)."""
    team = team or {}
    return _frame("raw_agent_states", [
        dict(agent_id=a, agent_name=a.title(), team_id=team.get(a, 1), state=s, start_time=utc(t0),
             end_time=utc(t1) if t1 else None)
        for a, s, t0, t1 in rows
    ])


SIM_END = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)  # a Wednesday afternoon in New York


@functools.cache
def sim_world(days: int = 70, conversations_per_day: int = 300, seed: int = 5):
    """A simulator world (read-only use), its conversation facts (collected) and the default policy."""
    from dashboard.metrics import load_policy
    from dashboard.simulator.world import WorldConfig, generate_world

    world = generate_world(WorldConfig(seed=seed, days=days, conversations_per_day=conversations_per_day,
                                       end=SIM_END, timezone="America/New_York"))
    t = {k: v.lazy() for k, v in world.tables.items()}
    facts = conversation_facts(t["conversation"], t["incoming_post"], t["response"],
                               t["conversation_history_action"], t["author"]).collect().lazy()
    return world, facts, load_policy(DEFAULT_POLICY_PATH)
