"""Routing with agent capacity: a conversation is assigned to its agent only when the agent is available and has
fewer than ``capacity`` conversations in hand; otherwise the assignment waits for a free slot.

"In hand" is what the dashboard's occupancy metric reads from the exports (``dashboard.metrics.occupancy``), as
this module's own code: a conversation is in its agent's hands from the assignment to the first public reply,
from each customer follow-up (or reopening message) to the agent's reply, and from the agent's last reply to a
close the agent makes (wrap-up). A customer who writes back while the agent is full is not turned away (the
conversation is already the agent's), so the count can pass the capacity for a while; only new assignments wait.

A conversation's whole service depends on when it is assigned (the first reply follows the assignment; the
follow-ups follow the replies), and the slots it holds decide when the next conversations are assigned, so the
conversations are placed one at a time in the order of the instant they could be assigned (a heap): each is
placed at the first instant its agent has a free slot, given the conversations already placed, and its service
is then worked out to the end. Every random draw was made beforehand (keyed per conversation), so the loop only
does arithmetic on the calendar: the same seed gives the same world. The placing is causal — a conversation is
placed at an instant only after every conversation that could be assigned earlier — so a world ending later places
every assignment before the earlier end exactly as the shorter world does. A conversation is in hand until the
company closes it (``Draft.limit``) at the latest; one not assigned by then never is.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right

import numpy as np

from dashboard.simulator.calendar import BusinessCalendar
from dashboard.simulator.world.agents import Schedules
from dashboard.simulator.world.reference import MS

__all__ = ["ScalarCalendar", "ScalarShifts", "serve"]


class ScalarCalendar:
    """:meth:`BusinessCalendar.clock` and :meth:`BusinessCalendar.add` for one instant at a time (plain Python:
    a numpy call per instant would cost more than the arithmetic)."""

    def __init__(self, cal: BusinessCalendar) -> None:
        self.opens = cal.opens.tolist()
        self.closes = cal.closes.tolist()
        self.cum = cal.cum.tolist()
        self.cum_end = cal.cum_end.tolist()

    def clock(self, t: int) -> int:
        i = bisect_right(self.opens, t) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(max(t - self.opens[i], 0), self.closes[i] - self.opens[i])

    def add(self, t: int, business_ms: int) -> int:
        target = self.clock(t) + max(business_ms, 1)
        j = bisect_left(self.cum_end, target)
        if j >= len(self.opens):
            return self.closes[-1] + (target - self.cum_end[-1])
        return max(self.opens[j] + (target - self.cum[j]), t)


class ScalarShifts:
    """:meth:`Schedules.available_from` for one agent and instant."""

    def __init__(self, sched: Schedules, n_agents: int) -> None:
        starts = np.stack([sched.start, sched.brk_end, sched.lunch_end], axis=1).ravel()
        ends = np.stack([sched.brk, sched.lunch, sched.end], axis=1).ravel()
        owner = np.repeat(sched.agent, 3)
        self.starts: list[list[int]] = []
        self.ends: list[list[int]] = []
        for a in range(n_agents):
            mine = owner == a
            order = np.argsort(starts[mine], kind="stable")
            self.starts.append(starts[mine][order].tolist())
            self.ends.append(ends[mine][order].tolist())

    def available_from(self, agent: int, t: int) -> int:
        starts, ends = self.starts[agent], self.ends[agent]
        pos = bisect_right(starts, t) - 1
        if pos >= 0 and t < ends[pos]:
            return t
        if pos + 1 < len(starts):
            return starts[pos + 1]
        return t


def serve(d) -> None:
    """Place every human conversation of ``d`` (a :class:`~dashboard.simulator.world.service.Draft` whose draws
    are made) and work out its service: sets ``assign``, ``first_resp``, ``t_note``, ``follow_post`` /
    ``follow_post2`` / ``follow_reply`` (3 × n), ``last_agent``, ``close``, ``t_reopen``, ``t_reresp``,
    ``t_reclose`` and ``assign_wait`` (how long the assignment waited for a slot, ms)."""
    n, never = d.n, d.never
    cal = ScalarCalendar(d.cal)
    shifts = ScalarShifts(d.sched, len(d.capacity))
    capacity = d.capacity.tolist()
    agent = d.agent.tolist()
    wanted = d.assign_wanted.tolist()
    touch, note_after = d.touch_ms.tolist(), d.note_after_ms.tolist()
    n_follow = d.n_follow.tolist()
    gap, second, second_gap, nrt = (d.follow_gap.tolist(), d.follow_second.tolist(), d.follow_second_gap.tolist(),
                                    d.follow_nrt.tolist())
    agent_close, close_gap, auto_gap = d.agent_close.tolist(), d.close_gap.tolist(), d.auto_close_gap.tolist()
    stalled, reopen = d.stalled.tolist(), d.reopen.tolist()
    reopen_gap, reclose_gap, frt = d.reopen_gap.tolist(), d.reclose_gap.tolist(), d.frt_ms.tolist()
    limit = d.limit.tolist()

    out = {name: np.full(n, never, dtype=np.int64) for name in (
        "assign", "first_resp", "t_note", "last_agent", "close", "t_reopen", "t_reresp", "t_reclose")}
    follow = {name: np.full((3, n), never, dtype=np.int64) for name in ("follow_post", "follow_post2",
                                                                        "follow_reply")}
    wait = np.zeros(n, dtype=np.int64)
    in_hand: list[list[tuple[int, int]]] = [[] for _ in capacity]
    queue = [(wanted[i], i) for i in np.flatnonzero(d.human).tolist()]
    heapq.heapify(queue)
    while queue:
        t, i = heapq.heappop(queue)
        if t >= limit[i]:
            continue  # closed by the company before an agent was free: never assigned
        a = agent[i]
        ready = shifts.available_from(a, t)
        if ready != t:  # the agent is on a break, at lunch or off shift: routing waits for them
            heapq.heappush(queue, (ready, i))
            continue
        # t never decreases, so slots released before it are gone for good
        held = [s for s in in_hand[a] if s[1] > t]
        in_hand[a] = held
        busy = [e for s, e in held if s <= t]
        if len(busy) >= capacity[a]:
            heapq.heappush(queue, (min(busy), i))
            continue

        slots: list[tuple[int, int]] = []
        first = shifts.available_from(a, cal.add(t, touch[i]))
        slots.append((t, first))
        out["assign"][i], out["first_resp"][i] = t, first
        out["t_note"][i] = min(max(shifts.available_from(a, cal.add(t, note_after[i])), t + 1), first - 1)
        wait[i] = t - wanted[i]
        last = first
        for k in range(n_follow[i]):
            post = last + gap[k][i]
            end = post + second_gap[k][i] if second[k][i] else post
            reply = shifts.available_from(a, cal.add(min(end, never), max(nrt[k][i], 15 * MS)))
            follow["follow_post"][k, i], follow["follow_reply"][k, i] = post, reply
            if second[k][i]:
                follow["follow_post2"][k, i] = end
            slots.append((post, reply))
            last = reply
        out["last_agent"][i] = last
        if stalled[i]:
            close = never
        elif agent_close[i]:
            close = shifts.available_from(a, cal.add(last, close_gap[i]))
            if close <= limit[i]:  # a close the company makes first is no agent's work
                slots.append((last, close))
        else:
            close = last + auto_gap[i]  # pending conversations close by themselves after a day: no work
        out["close"][i] = close
        if reopen[i] and not stalled[i]:
            t_reopen = close + reopen_gap[i]
            t_reresp = shifts.available_from(a, cal.add(min(t_reopen, never), max(frt[i] // 2, 15 * MS)))
            t_reclose = shifts.available_from(a, cal.add(t_reresp, reclose_gap[i]))
            out["t_reopen"][i], out["t_reresp"][i], out["t_reclose"][i] = t_reopen, t_reresp, t_reclose
            slots.append((t_reopen, t_reresp))
            if t_reclose <= limit[i]:
                slots.append((t_reresp, t_reclose))
        in_hand[a].extend((s, min(e, limit[i])) for s, e in slots if min(e, limit[i]) > s)
    d.set(assign_wait=wait, **out, **follow)
