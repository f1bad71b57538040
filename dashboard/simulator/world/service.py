"""How each conversation unfolds, stage by stage, as numpy arrays (one element per conversation).

A stage reads what the earlier ones drew from :class:`Draft` and adds its own arrays and events. Every random
value is a keyed draw (:mod:`.draws`): a function of the seed, the draw's name and the conversation's key (its
arrival hour and place in it), never of how many conversations the world holds — so a world ending later is the
same world up to the earlier end. The stages:

1. :func:`draw_authors` - who writes (authors, their network and tier, tier changes);
2. :func:`draw_priorities` - priority at creation, and the slow-down during arrival spikes;
3. :func:`bot_phase` - bot turns, containment or hand-off (automatic during a failing incident);
4. :func:`first_human_response` - routing, the agents, their shifts and capacity, how long each reply takes;
5. :func:`follow_ups` - customer follow-up bursts and the agents' next replies (draws);
6. :func:`closes` - priority changes, closes, reopens, stalls (draws);
7. :func:`dashboard.simulator.world.routing.serve` - the assignments, placed when the agent has a free slot, and
   every conversation's service worked out from them; :func:`record_service` - its events.

Times are epoch milliseconds; ``never`` (:data:`~.reference.NEVER`, the year 2200) marks what has not happened
and is cut away with everything else after ``now`` when the tables are built; so is whatever would happen more
than :data:`~.reference.LIFETIME` after a conversation started (the company closes it then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard.simulator.calendar import BusinessCalendar
from dashboard.simulator.world.agents import Schedules, agent_schedules
from dashboard.simulator.world.draws import Keyed
from dashboard.simulator.world.reference import (
    AGENT_CAPACITY,
    DAY,
    FRT_BASE_S,
    FRT_PRIORITY_FACTOR,
    HANDLE_MEDIAN_S,
    HOUR,
    LATE_SHIFT_OFFSET,
    LIFETIME,
    MINUTE,
    MS,
    NETWORK_APP,
    NETWORK_BOT_SHARE,
    NETWORK_PUBLIC_SHARE,
    NETWORK_WEIGHTS,
    NEW_AUTHOR_SHARE,
    PRIORITY_BY_TIER,
    QUEUE_BOT,
    QUEUE_GENERAL,
    QUEUE_HANDOFF,
    QUEUE_PREMIER,
    QUEUE_URGENT,
    SHIFT_LENGTH,
    TEAM_SHARE,
    TIER_CHANGE_SHARE,
    TIER_CHANGE_WITHIN,
    TIER_WEIGHTS,
    TIERS,
)
from dashboard.simulator.world.vectors import Events

__all__ = [
    "Draft",
    "bot_phase",
    "closes",
    "draw_authors",
    "draw_priorities",
    "first_human_response",
    "follow_ups",
    "record_service",
]


@dataclass
class Draft:
    """Everything drawn so far: per-conversation arrays (``n`` long), per-author arrays, and the events.

    Each stage sets the fields listed under its name (``None`` until it has run)."""

    draw: Keyed
    """The conversations' keyed draws (one key per conversation, in ``created`` order)."""
    cal: BusinessCalendar
    created: np.ndarray
    never: int
    conversations_per_day: int
    posts: Events = field(default_factory=Events)
    """Inbound posts: conv, t, kind (0 first, 1 to a bot, 2 follow-up, 3 reopen)."""
    responses: Events = field(default_factory=Events)
    """Responses: conv, t, rtype (0 agent, 1 bot), agent, app, public."""
    actions: Events = field(default_factory=Events)
    """History actions: conv, t, code (see ``ACTION_NAMES``), agent, frm, to."""
    # draw_authors
    conv_author: Any = None
    n_auth: int = 0
    author_draw: Any = None
    """The authors' keyed draws: an author's are those of the conversation it first wrote."""
    a_network: Any = None
    a_tier0: Any = None
    a_tier1: Any = None
    a_first: Any = None
    a_change: Any = None
    network: Any = None
    tier: Any = None
    is_public: Any = None
    # draw_priorities
    priority0: Any = None
    load: Any = None
    # bot_phase
    bot_first: Any = None
    app: Any = None
    auto: Any = None
    contained: Any = None
    bot_close: Any = None
    handed: Any = None
    handoff: Any = None
    priority: Any = None
    # first_human_response
    human: Any = None
    route: Any = None
    frt_ms: Any = None
    agent: Any = None
    agent_team: Any = None
    agent_shift: Any = None
    sched: Any = None
    capacity: Any = None
    assign_wanted: Any = None
    touch_ms: Any = None
    note: Any = None
    note_after_ms: Any = None
    # follow_ups (draws: 3 x n)
    n_follow: Any = None
    follow_gap: Any = None
    follow_second: Any = None
    follow_second_gap: Any = None
    follow_nrt: Any = None
    # closes (draws)
    p_change: Any = None
    p_new: Any = None
    p_change_after: Any = None
    agent_close: Any = None
    close_gap: Any = None
    auto_close_gap: Any = None
    stalled: Any = None
    reopen: Any = None
    reopen_gap: Any = None
    reclose_gap: Any = None
    # routing.serve
    assign: Any = None
    assign_wait: Any = None
    first_resp: Any = None
    t_note: Any = None
    follow_post: Any = None
    follow_post2: Any = None
    follow_reply: Any = None
    last_agent: Any = None
    close: Any = None
    t_reopen: Any = None
    t_reresp: Any = None
    t_reclose: Any = None
    # record_service
    final_close: Any = None

    @property
    def seed(self) -> int:
        return self.draw.seed

    @property
    def n(self) -> int:
        return len(self.created)

    @property
    def limit(self) -> np.ndarray:
        """When each conversation is closed by the company at the latest (:data:`~.reference.LIFETIME`)."""
        return self.created + LIFETIME

    @property
    def idx(self) -> np.ndarray:
        return np.arange(self.n)

    def set(self, **values: Any) -> None:
        for name, value in values.items():
            if not hasattr(self, name):
                raise AttributeError(f"Draft has no field {name!r}")
            setattr(self, name, value)


def draw_authors(d: Draft) -> None:
    """Authors write several conversations: a conversation is by a new author or by one seen before (any earlier
    one); ~10 % of authors change tier once (upgrades are the commoner change). Only earlier conversations count,
    so a longer world has the same authors up to the earlier end."""
    draw, created, never = d.draw, d.created, d.never
    is_new = draw.random("author.new") < NEW_AUTHOR_SHARE
    is_new[:1] = True  # the first conversation has no earlier author to come back
    seen = np.cumsum(is_new)  # authors so far, this conversation's included
    before = seen - is_new
    returning = np.floor(draw.random("author.pick") * np.maximum(before, 1)).astype(np.int64)
    conv_author = np.where(is_new, seen - 1, returning)
    first_conv = np.flatnonzero(is_new)
    n_auth = len(first_conv)
    ad = draw.subset(first_conv)
    a_network = ad.choice("author.network", NETWORK_WEIGHTS)
    a_tier0 = ad.choice("author.tier", TIER_WEIGHTS)
    a_first = created[first_conv]
    changes = ad.random("author.changes") < TIER_CHANGE_SHARE
    a_change = np.where(changes, a_first + HOUR + (ad.random("author.change_at") * TIER_CHANGE_WITHIN).astype(np.int64),
                        never)
    a_change = a_change.astype(np.int64) // MS * MS  # whole seconds, like every time an export carries
    step = np.where(ad.random("author.step") < 0.6, -1, 1)  # upgrades (towards Platinum = 0) are the commoner change
    a_tier1 = np.clip(a_tier0 + step, 0, len(TIERS) - 1)
    a_tier1 = np.where(a_tier1 == a_tier0, np.clip(a_tier0 - step, 0, len(TIERS) - 1), a_tier1)

    network = a_network[conv_author]
    tier = np.where(created >= a_change[conv_author], a_tier1[conv_author], a_tier0[conv_author])
    is_public = draw.random("conv.public") < NETWORK_PUBLIC_SHARE[network]
    d.set(conv_author=conv_author, n_auth=n_auth, author_draw=ad, a_network=a_network, a_tier0=a_tier0,
          a_tier1=a_tier1, a_first=a_first, a_change=a_change, network=network, tier=tier, is_public=is_public)


def draw_priorities(d: Draft, spikes: list) -> None:
    """Priority at creation by tier (a few urgent ones anywhere), and service slowed down during spikes."""
    draw, n = d.draw, d.n
    u = draw.random("priority")
    priority0 = (u[:, None] > PRIORITY_BY_TIER[d.tier]).sum(axis=1)
    priority0 = np.where(draw.random("priority.urgent") < 0.02, 5, priority0)
    load = np.ones(n)
    for s_start, s_end, _ in spikes:
        load = np.where((d.created >= s_start) & (d.created < s_end + 2 * HOUR), 2.2, load)
    d.set(priority0=priority0, load=load)


def bot_phase(d: Draft, incidents: list[dict[str, Any]]) -> None:
    """Bot turns for bot-first conversations, then containment or a hand-off to an agent; during a failing
    incident the hand-off is automatic, during a slow one the bot answers slowly."""
    draw, n, idx, created, never = d.draw, d.n, d.idx, d.created, d.never
    posts, responses, actions = d.posts, d.responses, d.actions
    bot_first = draw.random("bot.first") < NETWORK_BOT_SHARE[d.network]
    app = np.where(bot_first, NETWORK_APP[d.network], -1)
    auto = np.zeros(n, dtype=bool)
    slow = np.zeros(n, dtype=bool)
    for inc in incidents:
        inside = bot_first & (app == inc["app_index"]) & (created >= inc["start"]) & (created < inc["end"])
        if inc["kind"] == "slow":
            slow |= inside
        else:
            auto |= inside
    turns = np.where(bot_first & ~auto, 1 + draw.choice("bot.turns", [0.45, 0.35, 0.20]), 0)

    posts.add(conv=idx, t=created, kind=np.zeros(n, np.int8))
    # Customers who open with a burst send a second message a few seconds later.
    burst0 = draw.random("post.burst") < 0.25
    posts.add(burst0, conv=idx, t=created + draw.integers("post.burst.gap", 4 * MS, 90 * MS),
              kind=np.full(n, 2, np.int8))

    last_in = np.where(burst0, created + 90 * MS, created)
    last_bot = np.full(n, never, dtype=np.int64)
    for j in range(3):
        active = turns > j
        latency = np.where(slow, draw.uniform(f"bot.{j}.slow_latency", 6_000, 25_000),
                           draw.uniform(f"bot.{j}.latency", 400, 2_500)).astype(np.int64)
        t_bot = last_in + latency
        responses.add(active, conv=idx, t=t_bot, rtype=np.ones(n, np.int8), agent=np.full(n, -1),
                      app=app, public=np.ones(n, bool))
        last_bot = np.where(active, t_bot, last_bot)
        more = turns > j + 1
        t_reply = t_bot + draw.integers(f"bot.{j}.reply_gap", 15 * MS, 180 * MS)
        posts.add(more, conv=idx, t=t_reply, kind=np.ones(n, np.int8))
        last_in = np.where(more, t_reply, last_in)

    contained = bot_first & ~auto & (draw.random("bot.contained") < 0.42)
    bot_close = np.where(contained, last_bot + draw.integers("bot.close_gap", MINUTE, 15 * MINUTE), never)
    handed = bot_first & ~contained
    handoff = np.where(
        auto, created + draw.integers("bot.auto_handoff", 2 * MS, 20 * MS),
        np.where(handed, last_bot + draw.integers("bot.handoff_gap", 5 * MS, 90 * MS), never),
    )
    # The bot raises priority just before some hand-offs (PUT /priority), so for the human clock the
    # priority at its start (the hand-off) differs from the one at the first inbound post.
    priority0 = d.priority0
    bot_raise = handed & (draw.random("bot.raise") < 0.3) & (priority0 < 5)
    priority = np.where(bot_raise, priority0 + 1, priority0)
    # ...strictly between the first inbound post and the hand-off.
    t_raise = handoff - np.minimum(draw.integers("bot.raise_before", 1 * MS, 30 * MS),
                                   np.maximum((handoff - created) // 2, 1))
    actions.add(bot_raise, conv=idx, t=t_raise, code=np.full(n, 3, np.int8), agent=np.full(n, -1),
                frm=priority0, to=priority)
    d.set(bot_first=bot_first, app=app, auto=auto, contained=contained, bot_close=bot_close, handed=handed,
          handoff=handoff, priority=priority)


def first_human_response(d: Draft) -> None:
    """Route to a queue and to an agent of its team on shift, and draw how long the agent takes: the assignment
    is wanted part of the way to the drawn first-response delay (which depends on tier and priority, with noise,
    spikes and a few forgotten conversations), the reply follows it. Each agent gets a capacity (conversations
    in hand at once); :func:`~dashboard.simulator.world.routing.serve` places the assignments."""
    draw, cal, never = d.draw, d.cal, d.never
    tier, priority = d.tier, d.priority
    human = ~d.contained
    ready = np.where(d.bot_first, d.handoff, d.created)
    route = np.where(priority >= 4, QUEUE_URGENT, np.where(tier <= 1, QUEUE_PREMIER, QUEUE_GENERAL))
    team = np.select([route == QUEUE_PREMIER, route == QUEUE_URGENT], [0, 1], 2)
    frt_ms = FRT_BASE_S[tier] * FRT_PRIORITY_FACTOR[priority] * draw.lognormal("frt.noise", 0.6) * d.load * MS
    forgotten = draw.random("frt.forgotten") < 0.03
    frt_ms = np.where(forgotten, frt_ms * draw.uniform("frt.forgotten_factor", 4, 9), frt_ms)
    frt_ms = np.maximum(frt_ms, 20 * MS).astype(np.int64)
    ready_h = np.where(human, ready, d.created)  # placeholder for the bot-contained ones; masked out below
    # The drawn delay is mostly the wait for an agent (the queue); once assigned, the agent answers in minutes.
    assign_share = draw.uniform("assign.share", 0.6, 1.0)
    assign_wanted = np.where(human, cal.add(ready_h, (frt_ms * assign_share).astype(np.int64)), never)

    # Agents: two shifts inside opening hours; a conversation goes to an agent of its team on shift. The teams
    # are staffed for the share of conversations their queues route (a constant: not the world's own count).
    n_agents = int(np.clip(d.conversations_per_day // 14, 9, 600))
    team_size = np.maximum(2, np.round(TEAM_SHARE * n_agents)).astype(int)
    team_size += team_size % 2  # equal early and late shifts
    agent_team = np.repeat(np.arange(3), team_size)
    agent_shift = np.concatenate([np.arange(s) % 2 for s in team_size])  # 0 early, 1 late
    team_offset = np.concatenate([[0], np.cumsum(team_size)[:-1]])
    sched: Schedules = agent_schedules(d.seed, agent_shift, cal)
    # The agent is one on shift when the assignment is due; the assignment waits while that agent is on a break
    # or at lunch, and follow-ups wait for the same agent's next shift.
    ii = np.clip(cal.interval_index(assign_wanted), 0, len(cal.opens) - 1)
    minutes_open = (assign_wanted - cal.opens[ii]) / MINUTE
    shift_pick = np.where(minutes_open < LATE_SHIFT_OFFSET / MINUTE, 0,
                          np.where(minutes_open >= SHIFT_LENGTH / MINUTE - 5, 1, draw.integers("agent.shift", 0, 2)))
    agent = team_offset[team] + 2 * draw.integers("agent.pick", 0, team_size[team] // 2) + shift_pick
    agent = np.where(human, agent, -1)
    # (never longer than the rest of the drawn delay, so fast tiers stay fast)
    touch_ms = np.minimum(HANDLE_MEDIAN_S * draw.lognormal("touch.noise", 0.6) * MS, frt_ms * (1 - assign_share))
    touch_ms = np.maximum(touch_ms, 20 * MS).astype(np.int64)
    note = human & (draw.random("note") < 0.22)
    note_after_ms = (touch_ms * draw.uniform("note.after", 0.3, 0.9)).astype(np.int64)
    low, high = AGENT_CAPACITY[agent_team, 0], AGENT_CAPACITY[agent_team, 1]
    capacity = Keyed(d.seed, np.arange(len(agent_team))).integers("agent.capacity", low, high + 1)
    d.set(human=human, route=route, frt_ms=frt_ms, agent=agent, agent_team=agent_team, agent_shift=agent_shift,
          sched=sched, capacity=capacity, assign_wanted=assign_wanted, touch_ms=touch_ms, note=note,
          note_after_ms=note_after_ms)


def follow_ups(d: Draft) -> None:
    """Draw up to three customer follow-up bursts (sometimes two messages), each answered by the same agent."""
    draw, n = d.draw, d.n
    n_follow = np.where(d.human, draw.choice("follow.count", [0.42, 0.32, 0.17, 0.09]), 0)
    gap, second, second_gap, nrt = (np.zeros((3, n), np.int64) for _ in range(4))
    for k in range(3):
        gap[k] = np.minimum(35 * MINUTE * draw.lognormal(f"follow.{k}.gap", 1.3), 3 * DAY).astype(np.int64)
        second[k] = draw.random(f"follow.{k}.second") < 0.35
        second_gap[k] = draw.integers(f"follow.{k}.second_gap", 10 * MS, 120 * MS)
        nrt[k] = (d.frt_ms * 0.3 * draw.lognormal(f"follow.{k}.nrt", 0.5)).astype(np.int64)
    d.set(n_follow=n_follow, follow_gap=gap, follow_second=second.astype(bool), follow_second_gap=second_gap,
          follow_nrt=nrt)


def closes(d: Draft) -> None:
    """Draw priority changes after the first reply, closes by an agent or automatically after a pending day, a
    few reopens and stalls."""
    draw = d.draw
    human, priority = d.human, d.priority
    # Some priorities change after the first reply (escalations and de-escalations).
    p_change = human & (draw.random("close.priority_change") < 0.08)
    p_new = np.clip(priority + np.where(draw.random("close.priority_up") < 0.6, 1, -1), 0, 5)
    p_new = np.where(p_new == priority, np.where(priority == 5, 4, priority + 1), p_new)
    p_change_after = draw.integers("close.priority_after", MINUTE, 3 * HOUR)
    agent_close = draw.random("close.by_agent") < 0.55
    close_gap = draw.integers("close.gap", 2 * MINUTE, 30 * MINUTE)
    auto_close_gap = draw.integers("close.auto_gap", 20 * HOUR, 30 * HOUR)  # pending ones auto-close after a day
    stalled = human & (draw.random("close.stalled") < 0.004)
    reopen = human & ~stalled & (draw.random("close.reopen") < 0.04)
    reopen_gap = np.minimum(20 * HOUR * draw.lognormal("close.reopen_gap", 0.9), 10 * DAY).astype(np.int64)
    reclose_gap = draw.integers("close.reclose_gap", 5 * MINUTE, 60 * MINUTE)
    d.set(p_change=p_change, p_new=p_new, p_change_after=p_change_after, agent_close=agent_close,
          close_gap=close_gap, auto_close_gap=auto_close_gap, stalled=stalled, reopen=reopen, reopen_gap=reopen_gap,
          reclose_gap=reclose_gap)


def record_service(d: Draft) -> None:
    """The events of the human service :func:`~dashboard.simulator.world.routing.serve` worked out: queue moves,
    assignments, notes, replies, follow-ups, closes, reopens, priority changes, control back to the bot."""
    n, idx = d.n, d.idx
    human, handed, agent, assign, first_resp = d.human, d.handed, d.agent, d.assign, d.first_resp
    actions, responses, posts = d.actions, d.responses, d.posts
    if n:  # bot-first conversations move to the hand-off queue, then to their routed queue when assigned
        actions.add(handed, conv=idx, t=d.handoff, code=np.full(n, 4, np.int8), agent=np.full(n, -1),
                    frm=d.app, to=np.full(n, -1))
        actions.add(handed, conv=idx, t=d.handoff + 500, code=np.full(n, 1, np.int8), agent=np.full(n, -1),
                    frm=np.full(n, QUEUE_BOT), to=np.full(n, QUEUE_HANDOFF))
        # (at the assignment itself: an instant before it would depend on when a later world assigns it)
        actions.add(handed, conv=idx, t=assign, code=np.full(n, 1, np.int8), agent=np.full(n, -1),
                    frm=np.full(n, QUEUE_HANDOFF), to=d.route)
        actions.add(human, conv=idx, t=assign, code=np.zeros(n, np.int8), agent=agent,
                    frm=np.full(n, -1), to=agent)
    # a note is written after assignment, before replying
    responses.add(d.note & (d.t_note > assign), conv=idx, t=d.t_note, rtype=np.zeros(n, np.int8), agent=agent,
                  app=np.full(n, -1), public=np.zeros(n, bool))
    responses.add(human, conv=idx, t=first_resp, rtype=np.zeros(n, np.int8), agent=agent,
                  app=np.full(n, -1), public=np.ones(n, bool))
    for k in range(3):
        active = d.n_follow > k
        posts.add(active, conv=idx, t=d.follow_post[k], kind=np.full(n, 2, np.int8))
        posts.add(active & d.follow_second[k], conv=idx, t=d.follow_post2[k], kind=np.full(n, 2, np.int8))
        responses.add(active, conv=idx, t=d.follow_reply[k], rtype=np.zeros(n, np.int8), agent=agent,
                      app=np.full(n, -1), public=np.ones(n, bool))

    close, reopen, stalled = d.close, d.reopen, d.stalled
    closer = np.where(d.agent_close, agent, -1)
    posts.add(reopen, conv=idx, t=d.t_reopen, kind=np.full(n, 3, np.int8))
    actions.add(reopen, conv=idx, t=d.t_reopen + MS, code=np.full(n, 6, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=np.full(n, -1))
    responses.add(reopen, conv=idx, t=d.t_reresp, rtype=np.zeros(n, np.int8), agent=agent,
                  app=np.full(n, -1), public=np.ones(n, bool))
    actions.add(human & ~stalled, conv=idx, t=close, code=np.full(n, 5, np.int8), agent=closer,
                frm=np.full(n, -1), to=np.full(n, -1))
    actions.add(reopen, conv=idx, t=d.t_reclose, code=np.full(n, 5, np.int8), agent=agent,
                frm=np.full(n, -1), to=np.full(n, -1))
    actions.add(d.contained, conv=idx, t=d.bot_close, code=np.full(n, 5, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=np.full(n, -1))
    final_close = np.where(d.contained, d.bot_close, np.where(reopen, d.t_reclose, close))
    # A conversation still open a week after it started is closed by the company then (no agent); whatever would
    # have happened later is cut away with the events after now (generate.py).
    limit = d.limit
    by_company = final_close > limit
    actions.add(by_company, conv=idx, t=limit, code=np.full(n, 5, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=np.full(n, -1))
    final_close = np.where(by_company, limit, final_close)
    # A priority change lands between the first reply and the first close.
    p_change_at = first_resp + d.p_change_after
    p_change_at = np.where(p_change_at < close, p_change_at, first_resp + (close - first_resp) // 2)
    actions.add(d.p_change & (p_change_at > first_resp), conv=idx, t=p_change_at, code=np.full(n, 3, np.int8),
                agent=agent, frm=d.priority, to=d.p_new)
    # When a handed-off conversation closes, control returns to the bot (the owner resets to BOT).
    actions.add(handed, conv=idx, t=final_close + MS, code=np.full(n, 7, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=d.app)
    d.set(final_close=final_close)
