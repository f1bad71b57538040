"""``generate_world``: the stages of :mod:`.service` in order, then the tables, the truth and the reference
frames."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.schema import EXPORTS, TIME
from dashboard.simulator.calendar import build_calendar
from dashboard.simulator.world.agents import agent_states_table, agents_frame, team_performance_table
from dashboard.simulator.world.arrivals import arrivals, place_incidents
from dashboard.simulator.world.authors import authors_table
from dashboard.simulator.world.automation import bot_requests_table, incident_records
from dashboard.simulator.world.draws import Keyed
from dashboard.simulator.world.model import World, WorldConfig, epoch_ms
from dashboard.simulator.world.reference import (
    AGENT_STATE_TYPES,
    BOTS,
    FIRST_NAMES,
    LAST_NAMES,
    NEVER,
    SYSTEM_TAGS,
    TEAMS,
    TOPIC_TAGS,
    WORK_QUEUES,
)
from dashboard.simulator.world.routing import serve
from dashboard.simulator.world.service import (
    Draft,
    bot_phase,
    closes,
    draw_authors,
    draw_priorities,
    first_human_response,
    follow_ups,
    record_service,
)
from dashboard.simulator.world.tables import (
    conversation_tags,
    conversations_table,
    history_actions,
    incoming_posts,
    responses_table,
)
from dashboard.simulator.world.truth import truth_frame
from dashboard.simulator.world.vectors import Ids, cut_events, pick_names, stable_uuid

__all__ = ["generate_world"]


def _seconds(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1s")


def generate_world(config: WorldConfig | None = None) -> World:
    """Build the world for ``config``; same config (including ``end``) => identical tables, and a config with a
    later end (same seed, size, zone and start) => the same world up to the earlier end (:mod:`.draws`)."""
    cfg = config or WorldConfig()
    seed = cfg.seed
    now = cfg.resolved_end()
    start = cfg.resolved_start(now)
    now_ms, start_ms = epoch_ms(now), epoch_ms(start)
    zone = ZoneInfo(cfg.timezone)
    cal = build_calendar(
        cfg.timezone,
        start.astimezone(zone).date() - timedelta(days=2),
        now.astimezone(zone).date() + timedelta(days=60),
        (start.astimezone(zone).date(), now.astimezone(zone).date()),
    )

    created, keys, spikes = arrivals(seed, cfg.timezone, cfg.conversations_per_day, start_ms, now_ms)
    incidents = place_incidents(seed, start_ms, now_ms)
    d = Draft(Keyed(seed, keys), cal, created, NEVER, cfg.conversations_per_day)
    draw_authors(d)
    draw_priorities(d, spikes)
    bot_phase(d, incidents)
    first_human_response(d)
    follow_ups(d)
    closes(d)
    serve(d)
    record_service(d)
    n = d.n

    # ---- cut at now (and a week after each conversation started) and build the tables -------------------------
    ids = Ids(d.draw, d.author_draw, cfg)
    agents = agents_frame(seed, d.agent_team, d.agent_shift, d.capacity)
    first_name = pick_names(FIRST_NAMES, d.author_draw.integers("author.first_name", 0, len(FIRST_NAMES)))
    last_name = pick_names(LAST_NAMES, d.author_draw.integers("author.last_name", 0, len(LAST_NAMES)))
    limit = d.limit
    post_f = cut_events(d.posts.frame(), now_ms, limit)
    resp_f = cut_events(d.responses.frame(), now_ms, limit)
    act_f = cut_events(d.actions.frame(), now_ms, limit)
    d.posts = d.responses = d.actions = None  # type: ignore[assignment]  # large worlds need the memory
    tags_now = conversation_tags(d.draw, d.handed, d.auto, d.contained, d.handoff, d.bot_close, now_ms)

    tables: dict[str, pl.DataFrame] = {}
    tables["incoming_post"], post_keys = incoming_posts(post_f, act_f, ids, d.network, d.conv_author, d.is_public,
                                                        d.priority0, d.bot_first, d.route, start_ms)
    tables["response"] = responses_table(resp_f, post_keys, ids, agents, start_ms)
    actions_table, status_now = history_actions(act_f, post_f, resp_f, ids, agents, n, start_ms)
    tables["conversation_history_action"] = actions_table
    tables["conversation"] = conversations_table(
        d.draw, ids, agents, created, d.conv_author, d.network, act_f, d.priority0, d.bot_first, d.route,
        status_now, d.final_close, now_ms, tags_now, d.contained,
    )
    tables["author"] = authors_table(d.author_draw, ids, d.a_network, d.a_tier0, d.a_tier1, d.a_first, d.a_change,
                                     now_ms, first_name, last_name)
    states = agent_states_table(agents, d.sched, start_ms, now_ms)
    tables["raw_agent_states"] = states
    tables["team_performance"] = team_performance_table(agents, states, tables["response"], actions_table,
                                                        cfg.timezone, now_ms)
    placed = incident_records(incidents, now_ms)
    tables["bot_request"] = bot_requests_table(
        d.draw, ids, post_f, resp_f, act_f, created, d.bot_first, d.app, d.auto, d.contained, d.handoff,
        d.bot_close, d.final_close, d.network, d.conv_author, placed, now_ms,
        first_name + " " + last_name,
    )
    truth = truth_frame(d, ids, resp_f, tables["conversation"], now_ms)
    # Every table: exactly the schema's columns and dtypes (author: plus its CRM attribute columns). Khoros'
    # exports write times to the second, so export times (and the truth) are whole seconds: what a client
    # reads back is exactly the world. Bot API v3 records keep their milliseconds (they are epoch ms).
    for export_id, frame in tables.items():
        schema = EXPORTS[export_id].polars_schema
        extra = [c for c in frame.columns if c not in schema] if EXPORTS[export_id].extra_attributes else []
        whole = export_id != "bot_request"
        tables[export_id] = frame.select(
            [_seconds(pl.col(c).cast(dt)) if whole and dt == TIME else pl.col(c).cast(dt) for c, dt in schema.items()]
            + [pl.col(c).cast(pl.String) for c in extra]
        )
    truth = truth.with_columns(_seconds(pl.col(c)) for c, dt in truth.schema.items() if dt == TIME)

    return World(
        config=cfg,
        now=now,
        start=start,
        tables=tables,
        truth=truth,
        # the scripted incidents that are over (one still going on is in the records, not yet in the truth)
        incidents=[{k: v for k, v in inc.items() if k not in ("app_index", "start_ms", "end_ms")} for inc in placed
                   if inc["end_ms"] <= now_ms],
        work_queues=pl.DataFrame(
            {"id": [q[0] for q in WORK_QUEUES], "name": [q[1] for q in WORK_QUEUES],
             "kind": [q[2] for q in WORK_QUEUES], "team_id": [q[3] for q in WORK_QUEUES]},
            schema={"id": pl.Int64, "name": pl.String, "kind": pl.String, "team_id": pl.Int64},
        ),
        teams=pl.DataFrame({"team_id": [t[0] for t in TEAMS], "name": [t[1] for t in TEAMS]}),
        agents=agents.select("agent_id", "agent_name", "agent_email", "team_id", "capacity"),
        bots=pl.DataFrame({k: [b[k] for b in BOTS] for k in ("app_id", "name", "network_key")}),
        tags=pl.DataFrame({"tag_id": list(range(101, 101 + len(TOPIC_TAGS) + len(SYSTEM_TAGS))),
                           "name": list(TOPIC_TAGS) + list(SYSTEM_TAGS)}),
        agent_state_types=pl.DataFrame(
            {"id": [str(stable_uuid(cfg.seed, "state", i)) for i in range(len(AGENT_STATE_TYPES))],
             "name": [s[0] for s in AGENT_STATE_TYPES], "type": [s[1] for s in AGENT_STATE_TYPES]}
        ),
        schedule=cal.describe(),
        calendar=cal,
    )
