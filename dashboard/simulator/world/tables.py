"""The conversation exports built from the generated events: incoming posts, responses, history actions
(with the status changes they imply) and conversations."""

from __future__ import annotations

import numpy as np
import polars as pl

from dashboard.simulator.world.reference import (
    ACTION_NAMES,
    BOTS,
    DISPOSITIONS,
    NETWORKS,
    QUEUE_BOT,
    QUEUE_GENERAL,
    QUEUE_PREMIER,
    QUEUE_URGENT,
    STATUS,
    TOPIC_TAGS,
)
from dashboard.simulator.world.vectors import Ids, as_times, asof, event_key, last_per, pick_names, take


def incoming_posts(post_f, act_f, ids: Ids, network, conv_author, is_public, priority0, bot_first, route,
                    start_ms) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    conv, t = post_f["conv"], post_f["t"]
    k = event_key(conv, t, start_ms)
    # Priority and queue as they were when each post arrived (change actions are sorted by time already).
    pr = act_f["code"] == 3
    pr_keys = event_key(act_f["conv"][pr], act_f["t"][pr], start_ms)
    order = np.argsort(pr_keys, kind="stable")
    prio = asof(pr_keys[order], act_f["to"][pr][order], k, priority0[conv])
    qc = act_f["code"] == 1
    q_keys = event_key(act_f["conv"][qc], act_f["t"][qc], start_ms)
    order = np.argsort(q_keys, kind="stable")
    initial_queue = np.where(bot_first, QUEUE_BOT, route)
    queue = asof(q_keys[order], act_f["to"][qc][order], k, initial_queue[conv])
    post_no = 20_000_000 + np.arange(len(conv), dtype=np.int64)
    frame = pl.DataFrame(
        {
            "post_id": pl.Series(post_no).cast(pl.String),
            "conversation_id": take(ids.conv, conv),
            "author_id": take(ids.author, conv_author[conv]),
            "network": pick_names(NETWORKS, network[conv]),
            "received_time": as_times(t),
            "priority": prio,
            "work_queue_id": queue,
            "is_public": is_public[conv],
        }
    )
    order = np.argsort(k, kind="stable")
    return frame, {"key": k[order], "post_no": post_no[order]}


def responses_table(resp_f, post_keys, ids: Ids, agents: pl.DataFrame, start_ms: int) -> pl.DataFrame:
    conv, t = resp_f["conv"], resp_f["t"]
    reply_to = asof(post_keys["key"], post_keys["post_no"], event_key(conv, t, start_ms), np.full(len(conv), -1))
    is_agent = resp_f["rtype"] == 0
    return pl.DataFrame(
        {
            "response_id": (50_000_000 + np.arange(len(conv))).astype(str),
            "conversation_id": take(ids.conv, conv),
            "responder_type": pick_names(("AGENT", "BOT"), resp_f["rtype"]),
            "agent_id": take(agents["agent_id"], resp_f["agent"], is_agent),
            "bot_app_id": take([b["app_id"] for b in BOTS], resp_f["app"], ~is_agent),
            "published_time": as_times(t),
            "in_reply_to_post_id": pl.Series(reply_to).cast(pl.String).to_frame("r").select(
                pl.when(pl.lit(reply_to >= 0)).then(pl.col("r"))).to_series(),
            "is_public": resp_f["public"].astype(bool),
        }
    )



def history_actions(act_f, post_f, resp_f, ids: Ids, agents, n: int, start_ms: int):
    """All actions, plus STATUS_CHANGED derived from what happened: agent public reply -> PENDING, customer
    post -> OPEN, close -> CLOSED, reopen -> OPEN. Returns (table, status of each conversation at now)."""
    # Posts that reopen a closed conversation change nothing by themselves: their REOPENED action does.
    later_post = (post_f["kind"] != 0) & (post_f["kind"] != 3)
    agent_pub = (resp_f["rtype"] == 0) & resp_f["public"].astype(bool)
    closes = act_f["code"] == 5
    reopens = act_f["code"] == 6
    ev_conv = np.concatenate([post_f["conv"][later_post], resp_f["conv"][agent_pub], act_f["conv"][closes],
                              act_f["conv"][reopens]])
    ev_t = np.concatenate([post_f["t"][later_post], resp_f["t"][agent_pub], act_f["t"][closes],
                           act_f["t"][reopens]])
    ev_state = np.concatenate([np.zeros(later_post.sum(), np.int8), np.ones(agent_pub.sum(), np.int8),
                               np.full(closes.sum(), 2, np.int8), np.zeros(reopens.sum(), np.int8)])
    ev_agent = np.concatenate([np.full(later_post.sum(), -1), resp_f["agent"][agent_pub], act_f["agent"][closes],
                               np.full(reopens.sum(), -1)])
    order = np.lexsort((ev_t, ev_conv))
    ev_conv, ev_t, ev_state, ev_agent = ev_conv[order], ev_t[order], ev_state[order], ev_agent[order]
    # Each event sets the state outright, so the state before an event is the previous event's (OPEN first).
    same = np.concatenate([[False], ev_conv[1:] == ev_conv[:-1]])
    prev = np.where(same, np.concatenate([[0], ev_state[:-1]]), 0).astype(np.int8)
    change = ev_state != prev
    status_now = np.zeros(n, np.int8)
    status_now[ev_conv] = ev_state  # sorted by time within each conversation: the last one wins
    sc = dict(conv=ev_conv[change], t=ev_t[change], code=np.full(change.sum(), 2, np.int8),
              agent=ev_agent[change], frm=prev[change], to=ev_state[change])
    conv = np.concatenate([act_f["conv"], sc["conv"]])
    t = np.concatenate([act_f["t"], sc["t"]])
    code = np.concatenate([act_f["code"], sc["code"]])
    agent = np.concatenate([act_f["agent"], sc["agent"]])
    frm = np.concatenate([act_f["frm"], sc["frm"]])
    to = np.concatenate([act_f["to"], sc["to"]])
    # Status changes sort after the event that caused them at the same instant.
    order = np.lexsort((code == 2, conv, t))
    conv, t, code, agent, frm, to = conv[order], t[order], code[order], agent[order], frm[order], to[order]
    agent_ids = agents["agent_id"]
    app_ids = [b["app_id"] for b in BOTS]

    # from/to texts come from one vocabulary (numbers, statuses, agent ids, app ids): one gather per column.
    n_numbers = max(QUEUE_GENERAL, 5) + 1
    vocab = pl.concat([
        pl.Series([str(i) for i in range(n_numbers)], dtype=pl.String),
        pl.Series(list(STATUS), dtype=pl.String),
        agent_ids,
        pl.Series(app_ids, dtype=pl.String),
    ])
    offsets = {"status": n_numbers, "agent": n_numbers + len(STATUS), "app": n_numbers + len(STATUS) + len(agent_ids)}

    def text(values: np.ndarray) -> pl.Series:
        index = np.select(
            [np.isin(code, (1, 3)), code == 2, code == 0, np.isin(code, (4, 7))],
            [values, offsets["status"] + values, offsets["agent"] + values, offsets["app"] + values],
            -1,
        )
        return take(vocab, np.where(values >= 0, index, -1))

    frm = np.where(code == 0, -1, frm)  # an assignment has no "from" agent
    table = pl.DataFrame(
        {
            "action_id": pl.Series(80_000_000 + np.arange(len(conv), dtype=np.int64)).cast(pl.String),
            "conversation_id": take(ids.conv, conv),
            "action": pick_names(ACTION_NAMES, code),
            "action_time": as_times(t),
            "agent_id": take(agent_ids, agent),
            "from_value": text(frm),
            "to_value": text(to),
        }
    )
    return table, status_now



def conversation_tags(draw, handed, auto, contained, handoff, bot_close, now_ms) -> pl.Series:
    topic = pick_names(TOPIC_TAGS, draw.integers("conversation.topic", 0, len(TOPIC_TAGS)))
    frame = pl.DataFrame(
        {"topic": topic, "handoff": handed & (handoff < now_ms), "auto": auto & (handoff < now_ms),
         "contained": contained & (bot_close < now_ms)}
    )
    return frame.select(
        pl.concat_list(
            pl.col("topic"),
            pl.when(pl.col("handoff")).then(pl.lit("Bot Handoff")),
            pl.when(pl.col("auto")).then(pl.lit("Automatic Bot Handoff")),
            pl.when(pl.col("contained")).then(pl.lit("Bot Contained")),
        ).list.drop_nulls().alias("tags")
    ).to_series()


def conversations_table(draw, ids: Ids, agents: pl.DataFrame, created, conv_author, network, act_f, priority0,
                   bot_first, route, status_now, final_close, now_ms, tags_now, contained) -> pl.DataFrame:
    n = len(created)
    code = act_f["code"]
    pr = code == 3
    priority_now = last_per(act_f["conv"][pr], act_f["to"][pr], n, 0)
    has_pr = np.zeros(n, bool)
    has_pr[act_f["conv"][pr]] = True
    priority_now = np.where(has_pr, priority_now, priority0)
    qc = code == 1
    queue_now = np.where(bot_first, QUEUE_BOT, route)
    has_q = np.zeros(n, bool)
    has_q[act_f["conv"][qc]] = True
    queue_now = np.where(has_q, last_per(act_f["conv"][qc], act_f["to"][qc], n, 0), queue_now)
    team_of_queue = {QUEUE_PREMIER: 1, QUEUE_URGENT: 2, QUEUE_GENERAL: 3}
    team_now = np.select([queue_now == q for q in team_of_queue], list(team_of_queue.values()), -1)
    asg = code == 0
    assigned = last_per(act_f["conv"][asg], act_f["agent"][asg], n, -1)
    cl = code == 5
    last_close = last_per(act_f["conv"][cl], act_f["t"][cl], n, -1)
    closed = status_now == 2
    disposition = np.where(contained, len(DISPOSITIONS), draw.integers("conversation.disposition", 0,
                                                                       len(DISPOSITIONS)))
    return pl.DataFrame(
        {
            "conversation_id": ids.conv,
            "conversation_display_id": ids.display,
            "author_id": take(ids.author, conv_author),
            "network": pick_names(NETWORKS, network),
            "priority": priority_now,
            "work_queue_id": queue_now,
            "team_id": pl.Series(team_now).to_frame("t").select(pl.when(pl.col("t") > 0).then("t")).to_series(),
            "status": pick_names(STATUS, status_now),
            "created_time": as_times(created),
            "closed_time": as_times(np.where(closed, last_close, 0)).to_frame("t").select(
                pl.when(pl.lit(closed)).then(pl.col("t"))).to_series(),
            "assigned_agent_id": take(agents["agent_id"], assigned),
            "tags": tags_now,
            "disposition": take([*DISPOSITIONS, "Resolved by bot"], disposition, closed),
        }
    )


