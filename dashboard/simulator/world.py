"""One seeded, deterministic Khoros Care world: every export and API answer of the simulator is a view of it.

The world covers ``[end - days, end)``. Conversations are generated stage by stage as numpy arrays (one
element per conversation; a stage is a bot turn, an assignment, a customer follow-up burst, a close...), so
the default world (90 days x 400 conversations a day) builds in a second or two and 5,000 a day stays
practical. Events are generated as they *would* happen and then cut at ``now``: whatever lies after ``now``
has not happened yet, which is what leaves a realistic open backlog.

How service behaves (so the dashboard has something true to find):
- agents work weekday business hours (``calendar.py``, 09:00-17:00 in the world's zone, US holidays off), in
  an early and a late shift; work that arrives out of hours waits until opening;
- the first human response takes a business-time delay that depends on tier and priority (Platinum
  fastest, Standard slowest; priority 5 fastest), with log-normal noise, slow-downs during arrival spikes
  and a few forgotten conversations that breach badly;
- bot-first conversations (messaging networks mostly) get bot responses, then are either contained (closed
  by the bot) or handed off to an agent; during a failing automation incident the hand-off is automatic.

Ground truth (``World.truth``) is written from the generating arrays, not recomputed from the tables, so a
metric engine that reads the exports can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl
import pyarrow as pa

from dashboard.schema import EXPORTS, TIME
from dashboard.simulator.calendar import BusinessCalendar, build_calendar

__all__ = ["TIERS", "World", "WorldConfig", "generate_world"]

MS = 1000
MINUTE = 60 * MS
HOUR = 60 * MINUTE
DAY = 24 * HOUR

TIERS = ("Platinum", "Gold", "Silver", "Standard")
TIER_WEIGHTS = np.array([0.06, 0.16, 0.26, 0.52])
# First-response target behaviour in business seconds (median before noise), per tier; then per priority.
FRT_BASE_S = np.array([9 * 60, 22 * 60, 55 * 60, 120 * 60], dtype=float)
FRT_PRIORITY_FACTOR = np.array([1.5, 1.25, 1.0, 0.85, 0.65, 0.45])
# Priority at creation by tier: cumulative probabilities for priorities 0..5.
PRIORITY_BY_TIER = np.array(
    [
        [0.00, 0.00, 0.10, 0.35, 0.75, 1.00],  # Platinum
        [0.00, 0.05, 0.30, 0.70, 0.93, 1.00],  # Gold
        [0.05, 0.30, 0.75, 0.93, 0.99, 1.00],  # Silver
        [0.25, 0.65, 0.90, 0.97, 0.995, 1.00],  # Standard
    ]
)

NETWORKS = ("twitter", "facebook", "instagram", "whatsapp", "apple_messages", "brand_messenger")
NETWORK_WEIGHTS = np.array([0.18, 0.24, 0.10, 0.22, 0.10, 0.16])
NETWORK_PUBLIC_SHARE = np.array([0.45, 0.30, 0.35, 0.0, 0.0, 0.0])
NETWORK_BOT_SHARE = np.array([0.10, 0.70, 0.15, 0.80, 0.75, 0.85])
# Which bot app serves each network (index into BOTS).
NETWORK_APP = np.array([2, 2, 2, 1, 0, 0])

BOTS = (
    {"app_id": "sim-assist-bot", "name": "Assist (owned chat and Apple Messages)", "network_key": "brand_messenger",
     "external_id": "brand-chat-01", "callback_url": "https://assist.bots.example.com/khoros/webhook"},
    {"app_id": "sim-whatsapp-concierge", "name": "WhatsApp Concierge", "network_key": "whatsapp",
     "external_id": "wa-15550100", "callback_url": "https://concierge.example.net/hooks/khoros"},
    {"app_id": "sim-social-dm-bot", "name": "Social DM triage", "network_key": "facebook",
     "external_id": "fb-page-4471", "callback_url": "https://triage.example.org/api/khoros/events"},
)

# Work queues: 1-2 are automation queues, 10-12 human queues routed by priority and tier.
QUEUE_BOT, QUEUE_HANDOFF, QUEUE_PREMIER, QUEUE_URGENT, QUEUE_GENERAL = 1, 2, 10, 11, 12
WORK_QUEUES = (
    (QUEUE_BOT, "Bot – automation only", "bot", None),
    (QUEUE_HANDOFF, "Bot handoff", "bot_handoff", None),
    (QUEUE_PREMIER, "Premier (Platinum and Gold)", "human", 1),
    (QUEUE_URGENT, "Urgent (priority 4–5)", "human", 2),
    (QUEUE_GENERAL, "General care", "human", 3),
)
TEAMS = ((1, "Premier Care"), (2, "Priority Desk"), (3, "General Care"))
TOPIC_TAGS = ("Billing", "Delivery", "Returns", "Technical issue", "Account access", "Complaint")
SYSTEM_TAGS = ("Bot Handoff", "Automatic Bot Handoff", "Bot Contained")
DISPOSITIONS = ("Resolved", "Resolved", "Resolved", "Information provided", "Escalated", "Duplicate")
AGENT_STATE_TYPES = (
    ("Available", "AVAILABLE"),
    ("Lunch", "CUSTOM"),
    ("Break", "CUSTOM"),
    ("Training", "CUSTOM"),
    ("Offline", "OFFLINE"),
)
REGIONS = ("Northeast", "Southeast", "Midwest", "West", "Canada", "UK")
LTV_BY_TIER = (25000, 9000, 2500, 300)

FIRST_NAMES = (
    "Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Sofia", "Ethan", "Amara", "Yuki", "Mateo", "Zara", "Omar",
    "Chloe", "Ivan", "Priya", "Diego", "Hana", "Kofi", "Lena", "Arjun", "Grace", "Tariq", "Nora", "Felix",
    "Leila", "Marco", "Ingrid", "Samir", "Julia",
)
LAST_NAMES = (
    "Smith", "Garcia", "Okafor", "Chen", "Novak", "Rossi", "Kim", "Silva", "Haddad", "Muller", "Patel", "Brown",
    "Nguyen", "Kowalski", "Johansson", "Dubois", "Tanaka", "Murphy", "Costa", "Levi",
)
CUSTOMER_TEXTS = (
    "Hi, my order still has not arrived",
    "I was charged twice this month",
    "How do I reset my password",
    "The app crashes when I open my account",
    "I want to return a damaged item",
    "Can someone call me back please",
    "Where is my refund",
    "Your delivery driver left the parcel outside",
)
INCIDENT_KINDS = ("token_expired", "bad_deploy_4xx", "endpoint_down", "slow")

SHIFT_LENGTH = 420 * MINUTE
LATE_SHIFT_OFFSET = 60 * MINUTE  # the late shift starts an hour after opening and works until closing

HOUR_PROFILE = np.array(
    [0.14, 0.09, 0.07, 0.06, 0.07, 0.14, 0.32, 0.58, 0.90, 1.10, 1.20, 1.20,
     1.15, 1.12, 1.10, 1.05, 1.00, 0.95, 0.92, 0.97, 1.00, 0.85, 0.58, 0.30]
)
WEEKDAY_PROFILE = np.array([1.12, 1.06, 1.0, 1.0, 0.95, 0.58, 0.48])  # Monday..Sunday


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    days: int = 90
    conversations_per_day: int = 400
    end: datetime | None = None
    """The world's "now" (UTC); None = the current time floored to the minute."""
    timezone: str = "America/New_York"

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"WorldConfig.seed must be a non-negative integer, got {self.seed!r}")
        if not 1 <= self.days <= 730:
            raise ValueError(f"WorldConfig.days must be between 1 and 730, got {self.days}")
        if not 1 <= self.conversations_per_day <= 50_000:
            raise ValueError(
                f"WorldConfig.conversations_per_day must be between 1 and 50000, got {self.conversations_per_day}")
        if self.end is not None and self.end.tzinfo is None:
            raise ValueError(f"WorldConfig.end must be timezone-aware (UTC), got naive {self.end.isoformat()}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"WorldConfig.timezone {self.timezone!r} is not an IANA time zone name") from None

    def resolved_end(self) -> datetime:
        end = self.end or datetime.now(UTC).replace(second=0, microsecond=0)
        return end.astimezone(UTC)


@dataclass
class World:
    config: WorldConfig
    now: datetime
    start: datetime
    tables: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    incidents: list[dict[str, Any]]
    work_queues: pl.DataFrame
    teams: pl.DataFrame
    agents: pl.DataFrame
    bots: pl.DataFrame
    tags: pl.DataFrame
    agent_state_types: pl.DataFrame
    schedule: dict[str, Any] = field(default_factory=dict)
    """The agents' business hours (zone, weekly hours, holidays in the period)."""
    calendar: BusinessCalendar | None = None
    """The same hours as opening intervals with a business clock (for the exports' business-hour filter)."""

    @property
    def now_ms(self) -> int:
        return _ms(self.now)

    @property
    def start_ms(self) -> int:
        return _ms(self.start)

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.config.seed,
            "days": self.config.days,
            "conversations_per_day": self.config.conversations_per_day,
            "timezone": self.config.timezone,
            "start": self.start.isoformat(),
            "now": self.now.isoformat(),
            "rows": {k: v.height for k, v in self.tables.items()},
        }


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


# --------------------------------------------------------------------------------------------------------------
# small vectorised helpers


def _hex_matrix(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """``n`` rows of ``2 * nbytes`` random lowercase hex characters, as an (n, 2*nbytes) ASCII byte matrix."""
    return np.frombuffer(rng.bytes(nbytes * n).hex().encode(), dtype=np.uint8).reshape(n, 2 * nbytes)


def _ascii_rows(matrix: np.ndarray) -> pl.Series:
    """One string per row of an ASCII byte matrix (through an Arrow fixed-size binary buffer: no Python loop)."""
    n, width = matrix.shape
    if n == 0:
        return pl.Series([], dtype=pl.String)
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(matrix.tobytes())])
    return pl.Series(pl.from_arrow(fixed.cast(pa.binary()))).cast(pl.String)


def _hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> pl.Series:
    """``n`` random lowercase hex strings of ``2 * nbytes`` characters."""
    return _ascii_rows(_hex_matrix(rng, n, nbytes))


_VARIANT = np.frombuffer(b"89ab", dtype=np.uint8)


def _uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """Random version-4 UUID strings (RFC 4122 variant), built as ASCII bytes."""
    h = _hex_matrix(rng, n, 16)
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8] = h[:, 0:8]
    out[:, 9:13] = h[:, 8:12]
    out[:, 14] = ord("4")
    out[:, 15:18] = h[:, 13:16]
    nibble = np.where(h[:, 16] >= ord("a"), h[:, 16] - ord("a") + 10, h[:, 16] - ord("0"))
    out[:, 19] = _VARIANT[nibble % 4]
    out[:, 20:23] = h[:, 17:20]
    out[:, 24:36] = h[:, 20:32]
    return _ascii_rows(out)


def _names(values: tuple[str, ...] | list[str] | np.ndarray, idx: np.ndarray) -> pl.Series:
    """``values[idx]`` as a polars string Series (numpy unicode arrays are slow to convert)."""
    return pl.Series([str(v) for v in values], dtype=pl.String).gather(np.asarray(idx, dtype=np.int64))


def _lognormal(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    return rng.lognormal(0.0, sigma, n)


def _uniform(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    return low + (high - low) * rng.random(n)


def _take(values: pl.Series | tuple | list, idx: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """``values[idx]`` as a string Series, null where ``idx < 0`` or ``valid`` is false."""
    s = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
    idx = np.asarray(idx, dtype=np.int64)
    ok = idx >= 0 if valid is None else (np.asarray(valid, dtype=bool) & (idx >= 0))
    gathered = s.gather(np.where(ok, idx, 0)) if len(s) else pl.Series([None] * len(idx), dtype=pl.String)
    return pl.DataFrame({"v": gathered, "ok": ok}).select(pl.when("ok").then("v")).to_series()


def _times(ms: np.ndarray) -> pl.Series:
    return pl.Series(ms.astype(np.int64)).cast(TIME)


@dataclass
class _Events:
    """Columns of one kind of event, appended stage by stage, concatenated once."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, mask: np.ndarray | None = None, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.parts.setdefault(k, []).append(v if mask is None else v[mask])

    def frame(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.parts.items()}


# --------------------------------------------------------------------------------------------------------------
# arrivals


def _arrivals(rng: np.random.Generator, cfg: WorldConfig, start_ms: int, now_ms: int) -> tuple[np.ndarray, list]:
    """Arrival instants with daily/weekly seasonality and a few spikes; returns (sorted times, spikes)."""
    first_hour = start_ms // HOUR * HOUR
    hours = np.arange(first_hour, now_ms, HOUR, dtype=np.int64)
    local = pl.Series(hours).cast(TIME).dt.convert_time_zone(cfg.timezone)
    local_hour = local.dt.hour().to_numpy().astype(int)
    weekday = local.dt.weekday().to_numpy().astype(int) - 1  # polars: Monday = 1
    weight = HOUR_PROFILE[local_hour] * WEEKDAY_PROFILE[weekday] * rng.lognormal(0, 0.12, len(hours))
    n_spikes = 1 if cfg.days < 7 else 3
    spikes: list[tuple[int, int, float]] = []
    base = weight.mean()
    for _ in range(n_spikes):
        # A spike is a few hours of 3-4x traffic (an outage, a viral post), inside the period, not at its very end.
        lo = max(0, len(hours) // 10)
        hi = max(lo + 1, len(hours) - 30)
        at = int(rng.integers(lo, hi))
        length = int(rng.integers(3, 7))
        factor = float(rng.uniform(3.0, 4.0))
        weight[at:at + length] += base * factor * HOUR_PROFILE.max()
        spikes.append((int(hours[at]), int(hours[min(at + length, len(hours) - 1)]), factor))
    expected = weight / weight.sum() * cfg.conversations_per_day * cfg.days
    counts = rng.poisson(expected)
    times = np.repeat(hours, counts) + rng.integers(0, HOUR, counts.sum())
    times = np.sort(times[(times >= start_ms) & (times < now_ms)])
    return times, spikes


def _place_incidents(rng: np.random.Generator, start_ms: int, now_ms: int) -> list[dict[str, Any]]:
    """Four scripted automation incidents at fixed fractions of the last four weeks (weekday afternoons, UTC).

    The last four weeks, not the whole period: Bot API v3 lists request records of the last 31 days at most,
    so an incident older than that could never reach a freshly synced dashboard.
    """
    start_ms = max(start_ms, now_ms - 28 * DAY)
    span = now_ms - start_ms
    plan = [  # kind, app index, fraction of period from the start, duration, UTC hour
        ("token_expired", 1, 0.20, 3 * HOUR, 14),
        ("bad_deploy_4xx", 2, 0.45, 40 * MINUTE, 16),
        ("endpoint_down", 0, 0.70, 1 * HOUR, 15),
        ("slow", 0, 0.88, 2 * HOUR, 18),
    ]
    incidents = []
    for kind, app, frac, duration, hour in plan:
        t = start_ms + int(span * frac)
        day_start = t // DAY * DAY
        # Prefer a weekday so the hand-offs land on staffed hours.
        for _ in range(3):
            if datetime.fromtimestamp(day_start / 1000, UTC).weekday() < 5:
                break
            day_start += DAY
        begin = day_start + hour * HOUR
        if begin < start_ms or begin + duration > now_ms - HOUR:
            begin = (start_ms + int(span * frac)) // MINUTE * MINUTE
            duration = min(duration, max(10 * MINUTE, (now_ms - begin) // 4))
        incidents.append({"kind": kind, "app_index": app, "start": begin, "end": begin + duration})
    return incidents


# --------------------------------------------------------------------------------------------------------------


def generate_world(config: WorldConfig | None = None) -> World:
    """Build the world for ``config``; same config (including ``end``) => identical tables."""
    cfg = config or WorldConfig()
    rng = np.random.default_rng(cfg.seed)
    now = cfg.resolved_end()
    start = now - timedelta(days=cfg.days)
    now_ms, start_ms = _ms(now), _ms(start)
    zone = ZoneInfo(cfg.timezone)
    cal = build_calendar(
        cfg.timezone,
        start.astimezone(zone).date() - timedelta(days=2),
        now.astimezone(zone).date() + timedelta(days=60),
        (start.astimezone(zone).date(), now.astimezone(zone).date()),
    )
    never = now_ms + 3650 * DAY  # "has not happened": any instant beyond now is cut away at the end

    created, spikes = _arrivals(rng, cfg, start_ms, now_ms)
    n = len(created)
    incidents = _place_incidents(rng, start_ms, now_ms)

    # ---- authors ------------------------------------------------------------------------------------------
    pool = max(10, int(n * 0.72))
    author_of = rng.integers(0, pool, n)
    used, first_conv, conv_author = np.unique(author_of, return_index=True, return_inverse=True)
    n_auth = len(used)
    a_network = rng.choice(len(NETWORKS), n_auth, p=NETWORK_WEIGHTS)
    a_tier0 = rng.choice(len(TIERS), n_auth, p=TIER_WEIGHTS)
    a_first = created[first_conv]  # conversations are sorted by time, so the first index is the first post
    changes = (rng.random(n_auth) < 0.10) & (a_first < now_ms - 2 * DAY)
    a_change = np.where(changes, a_first + HOUR + (rng.random(n_auth) * (now_ms - a_first - 2 * HOUR)), never)
    a_change = a_change.astype(np.int64)
    step = np.where(rng.random(n_auth) < 0.6, -1, 1)  # upgrades (towards Platinum = 0) are the commoner change
    a_tier1 = np.clip(a_tier0 + step, 0, len(TIERS) - 1)
    a_tier1 = np.where(a_tier1 == a_tier0, np.clip(a_tier0 - step, 0, len(TIERS) - 1), a_tier1)

    network = a_network[conv_author]
    tier = np.where(created >= a_change[conv_author], a_tier1[conv_author], a_tier0[conv_author])
    is_public = rng.random(n) < NETWORK_PUBLIC_SHARE[network]

    # ---- priority at creation -----------------------------------------------------------------------------
    u = rng.random(n)
    priority0 = (u[:, None] > PRIORITY_BY_TIER[tier]).sum(axis=1)
    priority0 = np.where(rng.random(n) < 0.02, 5, priority0)

    # ---- spikes slow service down -------------------------------------------------------------------------
    load = np.ones(n)
    for s_start, s_end, _ in spikes:
        load = np.where((created >= s_start) & (created < s_end + 2 * HOUR), 2.2, load)

    # ---- bot phase ----------------------------------------------------------------------------------------
    bot_first = rng.random(n) < NETWORK_BOT_SHARE[network]
    app = np.where(bot_first, NETWORK_APP[network], -1)
    auto = np.zeros(n, dtype=bool)
    slow = np.zeros(n, dtype=bool)
    for inc in incidents:
        inside = bot_first & (app == inc["app_index"]) & (created >= inc["start"]) & (created < inc["end"])
        if inc["kind"] == "slow":
            slow |= inside
        else:
            auto |= inside
    turns = np.where(bot_first & ~auto, rng.choice([1, 2, 3], n, p=[0.45, 0.35, 0.20]), 0)

    posts = _Events()  # inbound posts: conv, time, kind (0 first, 1 to bot, 2 follow-up, 3 reopen)
    responses = _Events()  # conv, time, type (0 agent, 1 bot), agent, app, public
    actions = _Events()  # conv, time, action code, agent, from, to (codes resolved later)
    idx = np.arange(n)
    posts.add(conv=idx, t=created, kind=np.zeros(n, np.int8))
    # Customers who open with a burst send a second message a few seconds later.
    burst0 = rng.random(n) < 0.25
    posts.add(burst0, conv=idx, t=created + rng.integers(4 * MS, 90 * MS, n), kind=np.full(n, 2, np.int8))

    last_in = np.where(burst0, created + 90 * MS, created)
    last_bot = np.full(n, never, dtype=np.int64)
    for j in range(3):
        active = turns > j
        latency = np.where(slow, _uniform(rng, n, 6_000, 25_000), _uniform(rng, n, 400, 2_500)).astype(np.int64)
        t_bot = last_in + latency
        responses.add(active, conv=idx, t=t_bot, rtype=np.ones(n, np.int8), agent=np.full(n, -1),
                      app=app, public=np.ones(n, bool))
        last_bot = np.where(active, t_bot, last_bot)
        more = turns > j + 1
        t_reply = t_bot + rng.integers(15 * MS, 180 * MS, n)
        posts.add(more, conv=idx, t=t_reply, kind=np.ones(n, np.int8))
        last_in = np.where(more, t_reply, last_in)

    contained = bot_first & ~auto & (rng.random(n) < 0.42)
    bot_close = np.where(contained, last_bot + rng.integers(MINUTE, 15 * MINUTE, n), never)
    handed = bot_first & ~contained
    handoff = np.where(
        auto, created + rng.integers(2 * MS, 20 * MS, n),
        np.where(handed, last_bot + rng.integers(5 * MS, 90 * MS, n), never),
    )
    # The bot raises priority just before some hand-offs (PUT /priority), so for the human clock the
    # priority at its start (the hand-off) differs from the one at the first inbound post.
    bot_raise = handed & (rng.random(n) < 0.3) & (priority0 < 5)
    priority = np.where(bot_raise, priority0 + 1, priority0)
    # ...strictly between the first inbound post and the hand-off.
    t_raise = handoff - np.minimum(rng.integers(1 * MS, 30 * MS, n), np.maximum((handoff - created) // 2, 1))
    actions.add(bot_raise, conv=idx, t=t_raise, code=np.full(n, 3, np.int8), agent=np.full(n, -1),
                frm=priority0, to=priority)

    # ---- routing and the first human response -------------------------------------------------------------
    human = ~contained
    ready = np.where(bot_first, handoff, created)
    route = np.where(priority >= 4, QUEUE_URGENT, np.where(tier <= 1, QUEUE_PREMIER, QUEUE_GENERAL))
    team = np.select([route == QUEUE_PREMIER, route == QUEUE_URGENT], [0, 1], 2)
    frt_ms = FRT_BASE_S[tier] * FRT_PRIORITY_FACTOR[priority] * _lognormal(rng, n, 0.6) * load * MS
    forgotten = rng.random(n) < 0.03
    frt_ms = np.where(forgotten, frt_ms * _uniform(rng, n, 4, 9), frt_ms)
    frt_ms = np.maximum(frt_ms, 20 * MS).astype(np.int64)
    ready_h = np.where(human, ready, now_ms)  # placeholder for the bot-contained ones; masked out below
    assign = np.where(human, cal.add(ready_h, (frt_ms * _uniform(rng, n, 0.25, 0.75)).astype(np.int64)), never)
    first_resp = np.where(human, cal.add(ready_h, frt_ms), never)

    # Agents: two shifts inside opening hours; a conversation goes to an agent of its team on shift.
    n_agents = int(np.clip(cfg.conversations_per_day // 14, 9, 600))
    team_share = np.array([(team == k).mean() for k in range(3)]) if n else np.ones(3) / 3
    team_size = np.maximum(2, np.round(team_share * n_agents)).astype(int)
    team_size += team_size % 2  # equal early and late shifts
    agent_team = np.repeat(np.arange(3), team_size)
    agent_shift = np.concatenate([np.arange(s) % 2 for s in team_size])  # 0 early, 1 late
    team_offset = np.concatenate([[0], np.cumsum(team_size)[:-1]])
    sched = _agent_schedules(rng, agent_shift, cal)
    # The agent is one on shift when the reply is due; replies wait while that agent is on a break or at lunch,
    # and follow-ups wait for the same agent's next shift.
    ii = np.clip(cal.interval_index(first_resp), 0, len(cal.opens) - 1)
    minutes_open = (first_resp - cal.opens[ii]) / MINUTE
    shift_pick = np.where(minutes_open < LATE_SHIFT_OFFSET / MINUTE, 0,
                          np.where(minutes_open >= SHIFT_LENGTH / MINUTE - 5, 1, rng.integers(0, 2, n)))
    agent = team_offset[team] + 2 * rng.integers(0, team_size[team] // 2, n) + shift_pick
    agent = np.where(human, agent, -1)
    first_resp = np.where(human, sched.available_from(agent, first_resp), never)

    if n:  # bot-first conversations move to the hand-off queue, then to their routed queue when assigned
        actions.add(handed, conv=idx, t=handoff, code=np.full(n, 4, np.int8), agent=np.full(n, -1),
                    frm=app, to=np.full(n, -1))
        actions.add(handed, conv=idx, t=handoff + 500, code=np.full(n, 1, np.int8), agent=np.full(n, -1),
                    frm=np.full(n, QUEUE_BOT), to=np.full(n, QUEUE_HANDOFF))
        actions.add(handed, conv=idx, t=assign - 500, code=np.full(n, 1, np.int8), agent=np.full(n, -1),
                    frm=np.full(n, QUEUE_HANDOFF), to=route)
        actions.add(human, conv=idx, t=assign, code=np.zeros(n, np.int8), agent=agent,
                    frm=np.full(n, -1), to=agent)
    note = human & (rng.random(n) < 0.22)
    t_note = sched.available_from(agent, cal.add(ready_h, (frt_ms * _uniform(rng, n, 0.8, 0.97)).astype(np.int64)))
    t_note = np.clip(t_note, assign + 1, first_resp - 1)  # a note is written after assignment, before replying
    responses.add(note & (t_note > assign), conv=idx, t=t_note, rtype=np.zeros(n, np.int8), agent=agent,
                  app=np.full(n, -1), public=np.zeros(n, bool))
    responses.add(human, conv=idx, t=first_resp, rtype=np.zeros(n, np.int8), agent=agent,
                  app=np.full(n, -1), public=np.ones(n, bool))

    # ---- customer follow-ups and next responses -----------------------------------------------------------
    n_follow = np.where(human, rng.choice([0, 1, 2, 3], n, p=[0.42, 0.32, 0.17, 0.09]), 0)
    last_agent = first_resp
    for k in range(3):
        active = n_follow > k
        reply = last_agent + np.minimum(35 * MINUTE * _lognormal(rng, n, 1.3), 3 * DAY).astype(np.int64)
        posts.add(active, conv=idx, t=reply, kind=np.full(n, 2, np.int8))
        second = active & (rng.random(n) < 0.35)
        reply2 = reply + rng.integers(10 * MS, 120 * MS, n)
        posts.add(second, conv=idx, t=reply2, kind=np.full(n, 2, np.int8))
        burst_end = np.where(second, reply2, reply)
        nrt_ms = (frt_ms * 0.6 * _lognormal(rng, n, 0.5)).astype(np.int64)
        t_next = sched.available_from(agent, cal.add(np.minimum(burst_end, never), np.maximum(nrt_ms, 15 * MS)))
        responses.add(active, conv=idx, t=t_next, rtype=np.zeros(n, np.int8), agent=agent,
                      app=np.full(n, -1), public=np.ones(n, bool))
        last_agent = np.where(active, t_next, last_agent)

    # Some priorities change after the first reply (escalations and de-escalations).
    p_change = human & (rng.random(n) < 0.08)
    p_new = np.clip(priority + np.where(rng.random(n) < 0.6, 1, -1), 0, 5)
    p_new = np.where(p_new == priority, np.where(priority == 5, 4, priority + 1), p_new)
    p_change_at = first_resp + rng.integers(MINUTE, 3 * HOUR, n)

    # ---- closes, reopens, stalls ----------------------------------------------------------------------------
    agent_close = rng.random(n) < 0.55
    close = np.where(
        agent_close, sched.available_from(agent, cal.add(last_agent, rng.integers(2 * MINUTE, 30 * MINUTE, n))),
        last_agent + rng.integers(20 * HOUR, 30 * HOUR, n),  # pending conversations auto-close after a day
    )
    stalled = human & (rng.random(n) < 0.004)
    close = np.where(human & ~stalled, close, never)
    closer = np.where(agent_close, agent, -1)
    reopen = human & ~stalled & (rng.random(n) < 0.04)
    t_reopen = close + np.minimum(20 * HOUR * _lognormal(rng, n, 0.9), 10 * DAY).astype(np.int64)
    t_reresp = sched.available_from(agent, cal.add(np.minimum(t_reopen, never), np.maximum(frt_ms // 2, 15 * MS)))
    t_reclose = sched.available_from(agent, cal.add(t_reresp, rng.integers(5 * MINUTE, 60 * MINUTE, n)))
    posts.add(reopen, conv=idx, t=t_reopen, kind=np.full(n, 3, np.int8))
    actions.add(reopen, conv=idx, t=t_reopen + MS, code=np.full(n, 6, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=np.full(n, -1))
    responses.add(reopen, conv=idx, t=t_reresp, rtype=np.zeros(n, np.int8), agent=agent,
                  app=np.full(n, -1), public=np.ones(n, bool))
    actions.add(human, conv=idx, t=close, code=np.full(n, 5, np.int8), agent=closer,
                frm=np.full(n, -1), to=np.full(n, -1))
    actions.add(reopen, conv=idx, t=t_reclose, code=np.full(n, 5, np.int8), agent=agent,
                frm=np.full(n, -1), to=np.full(n, -1))
    actions.add(contained, conv=idx, t=bot_close, code=np.full(n, 5, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=np.full(n, -1))
    final_close = np.where(contained, bot_close, np.where(reopen, t_reclose, close))
    # A priority change lands between the first reply and the first close.
    p_change_at = np.where(p_change_at < close, p_change_at, first_resp + (close - first_resp) // 2)
    actions.add(p_change & (p_change_at > first_resp), conv=idx, t=p_change_at, code=np.full(n, 3, np.int8),
                agent=agent, frm=priority, to=p_new)
    # When a handed-off conversation closes, control returns to the bot (the owner resets to BOT).
    actions.add(handed, conv=idx, t=final_close + MS, code=np.full(n, 7, np.int8), agent=np.full(n, -1),
                frm=np.full(n, -1), to=app)

    # ---- cut at now and build the tables ------------------------------------------------------------------
    ids = _Ids(rng, n, n_auth, cfg)
    agents = _agents_frame(rng, agent_team, agent_shift, cfg.seed)
    first_name = _names(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n_auth))
    last_name = _names(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n_auth))
    post_f = _cut(posts.frame(), now_ms)
    resp_f = _cut(responses.frame(), now_ms)
    act_f = _cut(actions.frame(), now_ms)
    del posts, responses, actions  # the uncut stages: large worlds need the memory for the tables
    tags_now = _conversation_tags(rng, n, handed, auto, contained, handoff, bot_close, now_ms)

    tables: dict[str, pl.DataFrame] = {}
    tables["incoming_post"], post_keys = _incoming_posts(post_f, act_f, ids, network, conv_author, is_public,
                                                         priority0, bot_first, route, start_ms)
    tables["response"] = _responses(resp_f, post_keys, ids, agents, start_ms)
    actions_table, status_now = _history_actions(act_f, post_f, resp_f, ids, agents, n, start_ms)
    tables["conversation_history_action"] = actions_table
    tables["conversation"] = _conversations(
        rng, ids, agents, created, conv_author, network, act_f, priority0, bot_first, route, status_now,
        final_close, now_ms, tags_now, contained,
    )
    tables["author"] = _authors(rng, ids, a_network, a_tier0, a_tier1, a_first, a_change, now_ms,
                                first_name, last_name)
    states = _agent_states(agents, sched, start_ms, now_ms)
    tables["raw_agent_states"] = states
    tables["team_performance"] = _team_performance(agents, states, tables["response"], actions_table, cfg.timezone,
                                                    now_ms)
    placed = _incident_records(incidents, now_ms)
    tables["bot_request"] = _bot_requests(
        rng, ids, post_f, resp_f, act_f, created, bot_first, app, auto, contained, handoff, bot_close,
        final_close, network, conv_author, placed, now_ms,
        first_name + " " + last_name,
    )

    # ---- ground truth -------------------------------------------------------------------------------------
    first_human = np.where(first_resp < now_ms, first_resp, -1)
    pub = resp_f["public"].astype(bool)
    first_any = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_any, resp_f["conv"][pub], resp_f["t"][pub])
    truth = pl.DataFrame(
        {
            "conversation_id": ids.conv,
            "author_id": _take(ids.author, conv_author),
            "network": _names(NETWORKS, network),
            "tier_at_start": _names(TIERS, tier),
            "priority_at_first_inbound": priority0,
            "priority_at_start": priority,
            "first_inbound_time": _times(created),
            "bot_first": bot_first,
            "bot_app_id": _take([b["app_id"] for b in BOTS], app),
            "automatic_handoff": auto & (handoff < now_ms),
            "handoff_time": _times(handoff).to_frame("h").select(
                pl.when(pl.lit(handoff < now_ms)).then(pl.col("h"))).to_series(),
            "bot_contained": contained & (bot_close < now_ms),
            "first_human_response_time": _times(first_human).to_frame("h").select(
                pl.when(pl.lit(first_human >= 0)).then(pl.col("h"))).to_series(),
            "first_any_response_time": _times(np.minimum(first_any, never)).to_frame("h").select(
                pl.when(pl.lit(first_any < now_ms)).then(pl.col("h"))).to_series(),
            "closed_time": tables["conversation"]["closed_time"],
            "status": tables["conversation"]["status"],
        }
    )
    # Every table: exactly the schema's columns and dtypes (author: plus its CRM attribute columns).
    for export_id, frame in tables.items():
        schema = EXPORTS[export_id].polars_schema
        extra = [c for c in frame.columns if c not in schema] if EXPORTS[export_id].extra_attributes else []
        tables[export_id] = frame.select(
            [pl.col(c).cast(dt) for c, dt in schema.items()] + [pl.col(c).cast(pl.String) for c in extra]
        )

    return World(
        config=cfg,
        now=now,
        start=start,
        tables=tables,
        truth=truth,
        incidents=[{k: v for k, v in inc.items() if k not in ("app_index", "start_ms", "end_ms")} for inc in placed],
        work_queues=pl.DataFrame(
            {"id": [q[0] for q in WORK_QUEUES], "name": [q[1] for q in WORK_QUEUES],
             "kind": [q[2] for q in WORK_QUEUES], "team_id": [q[3] for q in WORK_QUEUES]},
            schema={"id": pl.Int64, "name": pl.String, "kind": pl.String, "team_id": pl.Int64},
        ),
        teams=pl.DataFrame({"team_id": [t[0] for t in TEAMS], "name": [t[1] for t in TEAMS]}),
        agents=agents.select("agent_id", "agent_name", "agent_email", "team_id"),
        bots=pl.DataFrame({k: [b[k] for b in BOTS] for k in ("app_id", "name", "network_key")}),
        tags=pl.DataFrame({"tag_id": list(range(101, 101 + len(TOPIC_TAGS) + len(SYSTEM_TAGS))),
                           "name": list(TOPIC_TAGS) + list(SYSTEM_TAGS)}),
        agent_state_types=pl.DataFrame(
            {"id": [str(_stable_uuid(cfg.seed, "state", i)) for i in range(len(AGENT_STATE_TYPES))],
             "name": [s[0] for s in AGENT_STATE_TYPES], "type": [s[1] for s in AGENT_STATE_TYPES]}
        ),
        schedule=cal.describe(),
        calendar=cal,
    )


def _stable_uuid(seed: int, kind: str, i: int) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/{seed}/{kind}/{i}"))


def _cut(cols: dict[str, np.ndarray], now_ms: int) -> dict[str, np.ndarray]:
    """Keep what has happened by ``now``, in time order (ties: by conversation, then generation order)."""
    keep = cols["t"] < now_ms
    cut = {k: v[keep] for k, v in cols.items()}
    order = np.lexsort((cut["conv"], cut["t"]))
    return {k: v[order] for k, v in cut.items()}


class _Ids:
    """Identifiers: UUIDs for conversations and authors, numeric strings for posts, responses, actions."""

    def __init__(self, rng: np.random.Generator, n_conv: int, n_auth: int, cfg: WorldConfig) -> None:
        self.conv = _uuids(rng, n_conv)
        self.author = _uuids(rng, n_auth)
        self.display = np.arange(n_conv, dtype=np.int64) + 100_001
        self.seed = cfg.seed


CONV_SHIFT = 41  # 2**41 ms is about 70 years: room for any world's span below the conversation number


def _asof(keys_sorted: np.ndarray, values: np.ndarray, query: np.ndarray, default: np.ndarray) -> np.ndarray:
    """For each query key, the value of the last sorted key <= it (``default`` where there is none)."""
    pos = np.searchsorted(keys_sorted, query, side="right") - 1
    safe = np.clip(pos, 0, max(len(values) - 1, 0))
    if not len(values):
        return default
    # Only a key of the same conversation (the high bits) counts.
    same = (keys_sorted[safe] >> CONV_SHIFT) == (query >> CONV_SHIFT)
    return np.where((pos >= 0) & same, values[safe], default)


def _key(conv: np.ndarray, t: np.ndarray, start_ms: int) -> np.ndarray:
    """One sortable int64 for (conversation, instant): conversation in the high bits."""
    return (conv.astype(np.int64) << CONV_SHIFT) + (t - (start_ms - DAY))


def _incoming_posts(post_f, act_f, ids: _Ids, network, conv_author, is_public, priority0, bot_first, route,
                    start_ms) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    conv, t = post_f["conv"], post_f["t"]
    k = _key(conv, t, start_ms)
    # Priority and queue as they were when each post arrived (change actions are sorted by time already).
    pr = act_f["code"] == 3
    pr_keys = _key(act_f["conv"][pr], act_f["t"][pr], start_ms)
    order = np.argsort(pr_keys, kind="stable")
    prio = _asof(pr_keys[order], act_f["to"][pr][order], k, priority0[conv])
    qc = act_f["code"] == 1
    q_keys = _key(act_f["conv"][qc], act_f["t"][qc], start_ms)
    order = np.argsort(q_keys, kind="stable")
    initial_queue = np.where(bot_first, QUEUE_BOT, route)
    queue = _asof(q_keys[order], act_f["to"][qc][order], k, initial_queue[conv])
    post_no = 20_000_000 + np.arange(len(conv), dtype=np.int64)
    frame = pl.DataFrame(
        {
            "post_id": pl.Series(post_no).cast(pl.String),
            "conversation_id": _take(ids.conv, conv),
            "author_id": _take(ids.author, conv_author[conv]),
            "network": _names(NETWORKS, network[conv]),
            "received_time": _times(t),
            "priority": prio,
            "work_queue_id": queue,
            "is_public": is_public[conv],
        }
    )
    order = np.argsort(k, kind="stable")
    return frame, {"key": k[order], "post_no": post_no[order]}


def _responses(resp_f, post_keys, ids: _Ids, agents: pl.DataFrame, start_ms: int) -> pl.DataFrame:
    conv, t = resp_f["conv"], resp_f["t"]
    reply_to = _asof(post_keys["key"], post_keys["post_no"], _key(conv, t, start_ms), np.full(len(conv), -1))
    is_agent = resp_f["rtype"] == 0
    return pl.DataFrame(
        {
            "response_id": (50_000_000 + np.arange(len(conv))).astype(str),
            "conversation_id": _take(ids.conv, conv),
            "responder_type": _names(("AGENT", "BOT"), resp_f["rtype"]),
            "agent_id": _take(agents["agent_id"], resp_f["agent"], is_agent),
            "bot_app_id": _take([b["app_id"] for b in BOTS], resp_f["app"], ~is_agent),
            "published_time": _times(t),
            "in_reply_to_post_id": pl.Series(reply_to).cast(pl.String).to_frame("r").select(
                pl.when(pl.lit(reply_to >= 0)).then(pl.col("r"))).to_series(),
            "is_public": resp_f["public"].astype(bool),
        }
    )


ACTION_NAMES = np.asarray(
    ["ASSIGNED", "QUEUE_CHANGED", "STATUS_CHANGED", "PRIORITY_CHANGED", "HANDOFF_TO_AGENT", "CLOSED", "REOPENED",
     "CONTROL_TO_BOT"]
)
STATUS = np.asarray(["OPEN", "PENDING", "CLOSED"])


def _history_actions(act_f, post_f, resp_f, ids: _Ids, agents, n: int, start_ms: int):
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
        return _take(vocab, np.where(values >= 0, index, -1))

    frm = np.where(code == 0, -1, frm)  # an assignment has no "from" agent
    table = pl.DataFrame(
        {
            "action_id": pl.Series(80_000_000 + np.arange(len(conv), dtype=np.int64)).cast(pl.String),
            "conversation_id": _take(ids.conv, conv),
            "action": _names(ACTION_NAMES, code),
            "action_time": _times(t),
            "agent_id": _take(agent_ids, agent),
            "from_value": text(frm),
            "to_value": text(to),
        }
    )
    return table, status_now


def _last(conv: np.ndarray, values: np.ndarray, n: int, default: Any) -> np.ndarray:
    """Per conversation, the last value in time order (``conv`` sorted by time within each conversation)."""
    out = np.full(n, default, dtype=values.dtype if len(values) else np.asarray(default).dtype)
    if len(conv):
        uniq, first = np.unique(conv[::-1], return_index=True)
        out[uniq] = values[::-1][first]
    return out


def _conversation_tags(rng, n, handed, auto, contained, handoff, bot_close, now_ms) -> pl.Series:
    topic = _names(TOPIC_TAGS, rng.integers(0, len(TOPIC_TAGS), n))
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


def _conversations(rng, ids: _Ids, agents: pl.DataFrame, created, conv_author, network, act_f, priority0,
                   bot_first, route, status_now, final_close, now_ms, tags_now, contained) -> pl.DataFrame:
    n = len(created)
    code = act_f["code"]
    pr = code == 3
    priority_now = _last(act_f["conv"][pr], act_f["to"][pr], n, 0)
    has_pr = np.zeros(n, bool)
    has_pr[act_f["conv"][pr]] = True
    priority_now = np.where(has_pr, priority_now, priority0)
    qc = code == 1
    queue_now = np.where(bot_first, QUEUE_BOT, route)
    has_q = np.zeros(n, bool)
    has_q[act_f["conv"][qc]] = True
    queue_now = np.where(has_q, _last(act_f["conv"][qc], act_f["to"][qc], n, 0), queue_now)
    team_of_queue = {QUEUE_PREMIER: 1, QUEUE_URGENT: 2, QUEUE_GENERAL: 3}
    team_now = np.select([queue_now == q for q in team_of_queue], list(team_of_queue.values()), -1)
    asg = code == 0
    assigned = _last(act_f["conv"][asg], act_f["agent"][asg], n, -1)
    cl = code == 5
    last_close = _last(act_f["conv"][cl], act_f["t"][cl], n, -1)
    closed = status_now == 2
    disposition = np.where(contained, len(DISPOSITIONS), rng.integers(0, len(DISPOSITIONS), n))
    return pl.DataFrame(
        {
            "conversation_id": ids.conv,
            "conversation_display_id": ids.display,
            "author_id": _take(ids.author, conv_author),
            "network": _names(NETWORKS, network),
            "priority": priority_now,
            "work_queue_id": queue_now,
            "team_id": pl.Series(team_now).to_frame("t").select(pl.when(pl.col("t") > 0).then("t")).to_series(),
            "status": _names(STATUS, status_now),
            "created_time": _times(created),
            "closed_time": _times(np.where(closed, last_close, 0)).to_frame("t").select(
                pl.when(pl.lit(closed)).then(pl.col("t"))).to_series(),
            "assigned_agent_id": _take(agents["agent_id"], assigned),
            "tags": tags_now,
            "disposition": _take([*DISPOSITIONS, "Resolved by bot"], disposition, closed),
        }
    )


def _agent_id(seed: int, i: int) -> str:
    return _stable_uuid(seed, "agent", i)


def _agents_frame(rng, agent_team: np.ndarray, agent_shift: np.ndarray, seed: int = 0) -> pl.DataFrame:
    n = len(agent_team)
    first = np.asarray(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.asarray(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    return pl.DataFrame(
        {
            "agent_id": [_agent_id(seed, i) for i in range(n)],
            "agent_name": [f"{a} {b}" for a, b in zip(first, last, strict=True)],
            "agent_email": [f"{a.lower()}.{b.lower()}{i}@care.example.com" for i, (a, b) in
                            enumerate(zip(first, last, strict=True))],
            "team_id": (agent_team + 1).astype(np.int64),
            "shift": np.where(agent_shift == 0, "early", "late"),
        }
    )


def _authors(rng, ids: _Ids, a_network, a_tier0, a_tier1, a_first, a_change, now_ms, first_name, last_name):
    n = len(a_network)
    region = _names(REGIONS, rng.integers(0, len(REGIONS), n))
    ltv0 = (np.asarray(LTV_BY_TIER)[a_tier0] * _lognormal(rng, n, 0.4)).round(2)
    ltv1 = (np.asarray(LTV_BY_TIER)[a_tier1] * _lognormal(rng, n, 0.4)).round(2)
    handle_no = rng.integers(1, 9999, n)
    base = pl.DataFrame(
        {
            "author_id": ids.author,
            "network": _names(NETWORKS, a_network),
            "handle": first_name.str.to_lowercase() + last_name.str.slice(0, 1).str.to_lowercase()
            + pl.Series(handle_no).cast(pl.String),
            "display_name": first_name + " " + last_name,
            "region": region,
            "crm_id": "CRM-" + pl.Series(np.arange(n, dtype=np.int64) + 700_000).cast(pl.String),
        }
    )
    v0 = base.with_columns(
        tier=_names(TIERS, a_tier0), updated_time=_times(a_first),
        lifetime_value=pl.Series(ltv0).cast(pl.String),
    )
    changed = a_change < now_ms
    v1 = base.filter(pl.Series(changed)).with_columns(
        tier=_names(TIERS, a_tier1[changed]), updated_time=_times(a_change[changed]),
        lifetime_value=pl.Series(ltv1[changed]).cast(pl.String),
    )
    cols = ["author_id", "network", "handle", "display_name", "tier", "updated_time", "region", "lifetime_value",
            "crm_id"]
    return pl.concat([v0.select(cols), v1.select(cols)]).sort("updated_time", "author_id")


@dataclass
class _Schedules:
    """Every agent's working days: shift start and end, a break and a lunch (epoch ms, agent-major order)."""

    agent: np.ndarray
    start: np.ndarray
    brk: np.ndarray
    brk_end: np.ndarray
    lunch: np.ndarray
    lunch_end: np.ndarray
    end: np.ndarray
    base_ms: int

    def _keys(self, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (agent.astype(np.int64) << CONV_SHIFT) + (t - self.base_ms)

    def available_from(self, agent: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The first instant at or after ``t`` when ``agent`` is on shift and not on a break or at lunch."""
        # Available intervals per agent-day: [start, brk), [brk_end, lunch), [lunch_end, end).
        starts = np.stack([self.start, self.brk_end, self.lunch_end], axis=1).ravel()
        ends = np.stack([self.brk, self.lunch, self.end], axis=1).ravel()
        owner = np.repeat(self.agent, 3)
        order = np.argsort(self._keys(owner, starts), kind="stable")
        starts, ends, owner = starts[order], ends[order], owner[order]
        start_keys = self._keys(owner, starts)
        if not len(starts):
            return t
        ok = agent >= 0
        safe_agent = np.where(ok, agent, 0)
        safe_t = np.clip(t, self.base_ms, self.base_ms + (1 << CONV_SHIFT) - 1)
        key = self._keys(safe_agent, safe_t)
        pos = np.searchsorted(start_keys, key, side="right") - 1
        prev = np.clip(pos, 0, len(starts) - 1)
        inside = (pos >= 0) & (owner[prev] == safe_agent) & (safe_t < ends[prev])
        nxt = np.clip(pos + 1, 0, len(starts) - 1)
        has_next = (pos + 1 < len(starts)) & (owner[nxt] == safe_agent) & (starts[nxt] > safe_t)
        moved = np.where(inside, t, np.where(has_next, starts[nxt], t))
        return np.where(ok, moved, t)


def _agent_schedules(rng, agent_shift: np.ndarray, cal: BusinessCalendar) -> _Schedules:
    """Early shift from opening (about 09:00-16:00), late shift to closing (about 10:00-17:00), every open day."""
    n_ag, n_d = len(agent_shift), len(cal.opens)
    opens = np.tile(cal.opens, n_ag)
    ag = np.repeat(np.arange(n_ag), n_d)
    m = n_ag * n_d
    s = opens + np.where(agent_shift[ag] == 0, 0, LATE_SHIFT_OFFSET) + rng.integers(-12 * MINUTE, 6 * MINUTE, m)
    e = s + SHIFT_LENGTH + rng.integers(-5 * MINUTE, 15 * MINUTE, m)
    # Log-ins wobble, but nobody answers customers outside opening hours.
    s = np.maximum(s, opens)
    e = np.minimum(e, np.tile(cal.closes, n_ag))
    b = s + rng.integers(75 * MINUTE, 120 * MINUTE, m)
    b_end = b + rng.integers(10 * MINUTE, 20 * MINUTE, m)
    lunch = s + rng.integers(190 * MINUTE, 250 * MINUTE, m)
    lunch_end = lunch + rng.integers(30 * MINUTE, 50 * MINUTE, m)
    base = int(cal.opens[0]) - DAY if n_d else 0
    return _Schedules(ag, s, b, b_end, lunch, lunch_end, e, base)


def _agent_states(agents: pl.DataFrame, sched: _Schedules, start_ms: int, now_ms: int) -> pl.DataFrame:
    if not len(sched.agent):
        return pl.DataFrame(schema=EXPORTS["raw_agent_states"].polars_schema)
    ag, s, e = sched.agent, sched.start, sched.end
    m = len(ag)
    next_s = np.concatenate([s[1:], [0]])
    last_of_agent = np.concatenate([ag[1:] != ag[:-1], [True]])
    offline_end = np.where(last_of_agent, -1, next_s)
    names = ("Available", "Break", "Available", "Lunch", "Available", "Offline")
    starts = np.stack([s, sched.brk, sched.brk_end, sched.lunch, sched.lunch_end, e], axis=1)
    ends = np.stack([sched.brk, sched.brk_end, sched.lunch, sched.lunch_end, e, offline_end], axis=1)
    frame = pl.DataFrame(
        {
            "agent_idx": np.repeat(ag, 6),
            "state": _names(names, np.tile(np.arange(6), m)),
            "start_ms": starts.ravel(),
            "end_ms": ends.ravel(),
        }
    ).filter((pl.col("start_ms") >= start_ms) & (pl.col("start_ms") < now_ms))
    end = pl.col("end_ms")
    info = agents.with_row_index("agent_idx").with_columns(pl.col("agent_idx").cast(pl.Int64))
    return (
        frame.join(info, on="agent_idx", how="left")
        .with_columns(
            start_time=pl.col("start_ms").cast(TIME),
            end_time=pl.when((end >= 0) & (end < now_ms)).then(end).otherwise(None).cast(TIME),
        )
        .sort("start_time", "agent_idx")
        .select("agent_id", "agent_name", "team_id", "state", "start_time", "end_time")
    )


def _team_performance(agents, states: pl.DataFrame, responses: pl.DataFrame, actions: pl.DataFrame,
                      tz: str, now_ms: int) -> pl.DataFrame:
    def local_day(col: str) -> pl.Expr:
        return pl.col(col).dt.convert_time_zone(tz).dt.truncate("1d").dt.convert_time_zone("UTC").alias(
            "window_start")

    now_fill = pl.lit(now_ms).cast(TIME)  # a state still lasting counts until now
    logged = (
        states.filter(pl.col("state") != "Offline")
        .with_columns(local_day("start_time"))
        .group_by("agent_id", "window_start")
        .agg(((pl.col("end_time").fill_null(now_fill) - pl.col("start_time")).dt.total_seconds())
             .sum().cast(pl.Int64).alias("logged_in_seconds"))
    )
    resp = (
        responses.filter((pl.col("responder_type") == "AGENT") & pl.col("is_public"))
        .with_columns(local_day("published_time"))
        .group_by("agent_id", "window_start").agg(pl.len().cast(pl.Int64).alias("responses"))
    )
    closed = (
        actions.filter((pl.col("action") == "CLOSED") & pl.col("agent_id").is_not_null())
        .with_columns(local_day("action_time"))
        .group_by("agent_id", "window_start").agg(pl.len().cast(pl.Int64).alias("conversations_closed"))
    )
    return (
        logged.join(resp, on=["agent_id", "window_start"], how="full", coalesce=True)
        .join(closed, on=["agent_id", "window_start"], how="full", coalesce=True)
        .join(agents.select("agent_id", "agent_name", "team_id"), on="agent_id", how="left")
        .with_columns(pl.col("responses", "conversations_closed", "logged_in_seconds").fill_null(0))
        .sort("window_start", "agent_id")
        .select("agent_id", "agent_name", "team_id", "window_start", "responses", "conversations_closed",
                "logged_in_seconds")
    )


INCIDENT_SPECS = {
    "token_expired": {"origin": "BOT", "http_code": 401,
                      "message": "401 Unauthorized: JWT expired at <time> for appId <app>"},
    "bad_deploy_4xx": {"origin": "BOT", "http_code": 400,
                       "message": "400 Bad Request: field 'coordinate.messageId' must not be null "
                                  "(conversation <n>, request <id>)"},
    "endpoint_down": {"origin": "KHOROS", "http_code": 503,
                      "message": "POST <url> returned 503 Service Unavailable after <n> ms (delivery <id>)"},
    "slow": {"origin": "KHOROS", "http_code": 504,
             "message": "504 Gateway Timeout: no answer from <url> within 10000 ms (delivery <id>)"},
}


def _incident_records(incidents: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
    out = []
    for inc in incidents:
        spec = INCIDENT_SPECS[inc["kind"]]
        bot = BOTS[inc["app_index"]]
        out.append({
            "app_id": bot["app_id"],
            "kind": inc["kind"],
            "start": datetime.fromtimestamp(inc["start"] / 1000, UTC),
            "end": datetime.fromtimestamp(inc["end"] / 1000, UTC),
            "origin": spec["origin"],
            "http_code": spec["http_code"],
            "message": spec["message"],
            "app_index": inc["app_index"],
            "start_ms": inc["start"],
            "end_ms": inc["end"],
        })
    return out


EVENT_TYPES = np.asarray(["CREATED", "message", "respond", "control", "resolve", "AGENT_RESPONSE", "CLOSED",
                          "update"])
REQUEST_KINDS = ("", *INCIDENT_KINDS, "bg_500", "bg_429", "bg_408")
ORIGIN_OF_EVENT = np.asarray(["KHOROS", "KHOROS", "BOT", "BOT", "BOT", "KHOROS", "KHOROS", "KHOROS"])


def _bot_requests(rng, ids: _Ids, post_f, resp_f, act_f, created, bot_first, app, auto, contained, handoff,
                  bot_close, final_close, network, conv_author, incidents, now_ms, author_names) -> pl.DataFrame:
    """Automation Framework request records: deliveries to the bots (KHOROS) and the bots' calls (BOT)."""
    n = len(created)
    ev = _Events()
    bf = np.nonzero(bot_first)[0]
    ev.add(conv=bf, t=created[bf] + 40, etype=np.zeros(len(bf), np.int8), post=np.full(len(bf), -1))
    owned_until = np.minimum(handoff, bot_close)
    pc = post_f["conv"]
    to_bot = bot_first[pc] & (post_f["t"] < owned_until[pc])
    pidx = np.arange(len(pc))
    ev.add(to_bot, conv=pc, t=post_f["t"] + 60, etype=np.ones(len(pc), np.int8), post=pidx)
    rc = resp_f["conv"]
    bot_resp = resp_f["rtype"] == 1
    ev.add(bot_resp, conv=rc, t=resp_f["t"] - 150, etype=np.full(len(rc), 2, np.int8), post=np.full(len(rc), -1))
    agent_to_bot = (resp_f["rtype"] == 0) & resp_f["public"].astype(bool) & bot_first[rc]
    ev.add(agent_to_bot, conv=rc, t=resp_f["t"] + 80, etype=np.full(len(rc), 5, np.int8),
           post=np.full(len(rc), -1))
    handed_manual = bot_first & ~contained & ~auto
    ev.add(handed_manual, conv=np.arange(n), t=handoff - 120, etype=np.full(n, 3, np.int8), post=np.full(n, -1))
    ev.add(contained, conv=np.arange(n), t=bot_close - 100, etype=np.full(n, 4, np.int8), post=np.full(n, -1))
    ev.add(bot_first, conv=np.arange(n), t=final_close + 200, etype=np.full(n, 6, np.int8), post=np.full(n, -1))
    # A bot that cannot answer during a BOT-side incident still tries once before Khoros hands off.
    for inc in incidents:
        if inc["origin"] != "BOT":
            continue
        hit = auto & (app == inc["app_index"]) & (created >= inc["start_ms"]) & (created < inc["end_ms"])
        ev.add(hit, conv=np.arange(n), t=created + rng.integers(1500, 5000, n), etype=np.full(n, 2, np.int8),
               post=np.full(n, -1))
    cols = ev.frame()
    conv, t, etype, post = cols["conv"], cols["t"], cols["etype"], cols["post"]
    rec_app = app[conv]
    # Incident traffic not tied to one conversation: retries and delivery probes, typing updates. It is
    # regular (a fixed step with jitter), so every 2-minute health window inside an incident sees it.
    extra_t, extra_app, extra_type = [], [], []

    def every(start: int, end: int, step: int) -> np.ndarray:
        ticks = np.arange(start, end, step, dtype=np.int64)
        return np.sort(ticks + rng.integers(0, step // 2, len(ticks)))

    for inc in incidents:
        begin, end = inc["start_ms"], inc["end_ms"]
        if inc["kind"] == "endpoint_down":
            # Retries pile up for ten minutes, then Khoros probes every two minutes while the bot is DOWN.
            burst = every(begin, min(end, begin + 10 * MINUTE), 10 * MS)
            probes = np.arange(begin + 10 * MINUTE, end, 2 * MINUTE, dtype=np.int64)
            times, etypes = np.concatenate([burst, probes]), 1
        elif inc["kind"] == "bad_deploy_4xx":
            times, etypes = every(begin, end, 8 * MS), 2  # the bad build calls /respond and fails
        elif inc["kind"] == "token_expired":
            times, etypes = every(begin, end, 20 * MS), 2  # the bot keeps calling with its expired token
        else:
            times, etypes = every(begin, end, 20 * MS), 7  # slow typing/read updates
        extra_t.append(times)
        extra_app.append(np.full(len(times), inc["app_index"]))
        extra_type.append(np.full(len(times), etypes, np.int8))
    if extra_t:
        m = sum(len(x) for x in extra_t)
        conv = np.concatenate([conv, np.full(m, -1)])
        t = np.concatenate([t, *extra_t])
        etype = np.concatenate([etype, *extra_type])
        post = np.concatenate([post, np.full(m, -1)])
        rec_app = np.concatenate([rec_app, *extra_app])
    keep = t < now_ms
    order = np.lexsort((etype[keep], conv[keep], t[keep]))
    conv, t, etype, post, rec_app = (a[keep][order] for a in (conv, t, etype, post, rec_app))
    m = len(t)
    origin = ORIGIN_OF_EVENT[etype]

    # Outcome of each request: incident rules first, then rare background errors; latency decides PENDING.
    state = np.zeros(m, np.int8)  # 0 SUCCESS, 1 PENDING, 2 ERROR
    code = np.where(origin == "KHOROS", 202, 200)
    kind = np.zeros(m, np.int8)  # index into REQUEST_KINDS
    latency = (320 * _lognormal(rng, m, 0.5)).astype(np.int64)
    for inc in incidents:
        inside = (rec_app == inc["app_index"]) & (t >= inc["start_ms"]) & (t < inc["end_ms"])
        if inc["kind"] == "slow":
            # The bot's endpoint answers in ~8.5 s (median); deliveries that take over Khoros' 10 s time out.
            delivered = inside & (origin == "KHOROS")
            slow_latency = (8_500 * _lognormal(rng, m, 0.5)).astype(np.int64)
            latency = np.where(delivered, np.minimum(slow_latency, 10_000), latency)
            timeout = delivered & (slow_latency > 10_000)
            state, code = np.where(timeout, 2, state), np.where(timeout, 504, code)
            kind = np.where(timeout, REQUEST_KINDS.index(inc["kind"]), kind)
        else:
            hit = inside & (origin == inc["origin"])
            state, code = np.where(hit, 2, state), np.where(hit, inc["http_code"], code)
            kind = np.where(hit, REQUEST_KINDS.index(inc["kind"]), kind)
            if inc["kind"] == "endpoint_down":
                latency = np.where(hit, 10_000 + rng.integers(0, 400, m), latency)
    background = (state == 0) & (rng.random(m) < 0.004)
    bg_code = np.asarray([500, 429, 408])[rng.integers(0, 3, m)]
    state, code = np.where(background, 2, state), np.where(background, bg_code, code)
    kind = np.where(background, np.select([bg_code == 500, bg_code == 429], [5, 6], 7), kind)
    completed = t + latency
    pending = completed >= now_ms
    state = np.where(pending, 1, state)

    has_conv = conv >= 0
    # Records without a conversation (incident retries) index a dummy element appended at position n.
    safe_conv = np.where(has_conv, conv, n)
    bot_network = np.asarray([NETWORKS.index(b["network_key"]) for b in BOTS])
    net = np.where(has_conv, np.append(network, 0)[safe_conv], bot_network[rec_app])
    author = np.where(has_conv, np.append(conv_author, -1)[safe_conv], -1)
    display = np.where(has_conv, np.append(ids.display, 0)[safe_conv], 0)
    app_ids = [b["app_id"] for b in BOTS]
    # Texts are built per kind on just the rows of that kind (a when/then chain would build every branch for
    # every row), with only the columns that kind needs: the largest worlds have millions of records.
    payload_kind = np.where(etype == 1, 0, np.where(origin == "BOT", 1, 2))

    def subset(mask: np.ndarray, needed: tuple[str, ...]) -> pl.DataFrame:
        """The rows of ``mask`` with just the ``needed`` helper columns (built only when asked for)."""
        rows = np.nonzero(mask)[0]
        k = len(rows)
        makers = {
            "network_key": lambda: _names(NETWORKS, net[rows]),
            "external_id": lambda: _names([b["external_id"] for b in BOTS], rec_app[rows]),
            "app_id": lambda: _names(app_ids, rec_app[rows]),
            "url": lambda: _names([b["callback_url"] for b in BOTS], rec_app[rows]),
            "message_id": lambda: _take(pl.Series(20_000_000 + post[rows]).cast(pl.String), np.arange(k),
                                        post[rows] >= 0),
            "author_id": lambda: _take(ids.author, author[rows]),
            "author_name": lambda: _take(author_names, author[rows]),
            "event_type": lambda: _names(EVENT_TYPES, etype[rows]),
            "display_id": lambda: display[rows],
            "kind": lambda: _names(REQUEST_KINDS, kind[rows]),
            "latency": lambda: latency[rows],
            "created_ms": lambda: t[rows],
            "text": lambda: _names(CUSTOMER_TEXTS, rng.integers(0, len(CUSTOMER_TEXTS), k)),
            "delivery": lambda: _hex_ids(rng, k, 6),
            "secret": lambda: _hex_ids(rng, k, 12),
        }
        return pl.DataFrame({"row": rows, **{name: makers[name]() for name in needed}})

    coordinate_cols = ("network_key", "external_id", "message_id")
    needs = (
        (*coordinate_cols, "author_id", "author_name", "text", "created_ms", "secret"),
        (*coordinate_cols, "author_name", "secret"),
        (*coordinate_cols, "event_type", "display_id", "app_id"),
    )
    iso = pl.col("created_ms").cast(TIME).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    error_message = (
        pl.when(pl.col("kind") == "token_expired").then(
            pl.concat_str(pl.lit("401 Unauthorized: JWT expired at "), iso, pl.lit(" for appId "), pl.col("app_id")))
        .when(pl.col("kind") == "bad_deploy_4xx").then(
            pl.concat_str(pl.lit("400 Bad Request: field 'coordinate.messageId' must not be null (conversation "),
                          pl.col("display_id").cast(pl.String), pl.lit(", request "), pl.col("delivery"),
                          pl.lit(")")))
        .when(pl.col("kind") == "endpoint_down").then(
            pl.concat_str(pl.lit("POST "), pl.col("url"), pl.lit(" returned 503 Service Unavailable after "),
                          pl.col("latency").cast(pl.String), pl.lit(" ms (delivery "), pl.col("delivery"),
                          pl.lit(")")))
        .when(pl.col("kind") == "slow").then(
            pl.concat_str(pl.lit("504 Gateway Timeout: no answer from "), pl.col("url"),
                          pl.lit(" within 10000 ms (delivery "), pl.col("delivery"), pl.lit(")")))
        .when(pl.col("kind") == "bg_500").then(
            pl.concat_str(pl.lit("500 Internal Server Error from "), pl.col("url"), pl.lit(" (trace "),
                          pl.col("delivery"), pl.lit(")")))
        .when(pl.col("kind") == "bg_429").then(
            pl.concat_str(pl.lit("429 Too Many Requests: retry after "), (pl.col("latency") % 60 + 1).cast(pl.String),
                          pl.lit(" s (delivery "), pl.col("delivery"), pl.lit(")")))
        .when(pl.col("kind") == "bg_408").then(
            pl.concat_str(pl.lit("408 Request Timeout after "), pl.col("latency").cast(pl.String),
                          pl.lit(" ms (delivery "), pl.col("delivery"), pl.lit(")")))
    )
    q = pl.lit('"')
    coordinate = pl.concat_str(
        pl.lit('{"companyKey":"sim-company","networkKey":"'), pl.col("network_key"), pl.lit('","externalId":"'),
        pl.col("external_id"), pl.lit('","messageId":'),
        pl.when(pl.col("message_id").is_null()).then(pl.lit("null")).otherwise(
            pl.concat_str(q, pl.col("message_id"), q)),
        pl.lit(',"scope":"PRIVATE"}'),
    )
    payloads = (
        pl.concat_str(  # a customer message delivered to the bot: personal data and a session secret
            pl.lit('{"type":"message","coordinate":'), coordinate, pl.lit(',"author":{"id":"'), pl.col("author_id"),
            pl.lit('","fullName":"'), pl.col("author_name"), pl.lit('"},"text":"'), pl.col("text"),
            pl.lit('","receivedTS":'), pl.col("created_ms").cast(pl.String),
            pl.lit(',"properties":{"sessionToken":"sk_live_'), pl.col("secret"), pl.lit('"}}'),
        ),
        pl.concat_str(  # the bot's own call, with the bearer token it sent
            pl.lit('{"coordinate":'), coordinate, pl.lit(',"text":"Thanks '), pl.col("author_name").fill_null("there"),
            pl.lit(', let me look into that.","authorization":"Bearer eyJhbGciOiJIUzUxMiJ9.'), pl.col("secret"),
            pl.lit('"}'),
        ),
        pl.concat_str(  # a conversation update delivered to the bot
            pl.lit('{"type":"update","event":"'), pl.col("event_type"), pl.lit('","coordinate":'), coordinate,
            pl.lit(',"conversationDisplayId":'), pl.col("display_id").cast(pl.String),
            pl.lit(',"owner":{"type":"BOT","appId":"'), pl.col("app_id"), pl.lit('"}}'),
        ),
    )
    texts = [subset(payload_kind == k, needs[k]).select("row", payload=expr) for k, expr in enumerate(payloads)]
    payload = pl.concat(texts).sort("row")["payload"]
    del texts
    errors = subset(state == 2, ("kind", "app_id", "display_id", "delivery", "url", "latency", "created_ms")).select(
        "row", message=error_message)
    message = (
        pl.concat([errors, pl.DataFrame({"row": np.nonzero(state != 2)[0]}).with_columns(
            message=pl.lit(None, pl.String))])
        .sort("row")["message"]
    )
    done = state != 1
    accepted = np.where(origin == "KHOROS", 0, 1)
    return pl.DataFrame({
        "request_id": _uuids(rng, m),
        "app_id": _names(app_ids, rec_app),
        "origin": _names(("KHOROS", "BOT"), (origin == "BOT").astype(np.int64)),
        "state": _names(("SUCCESS", "PENDING", "ERROR"), state),
        "http_code": pl.Series(code).to_frame("c").select(pl.when(pl.lit(done)).then("c")).to_series(),
        "message": pl.DataFrame({"m": message, "ok": _names(("Accepted", "OK"), accepted), "s": state}).select(
            pl.when(pl.col("s") == 0).then("ok").otherwise("m")).to_series(),
        "event_type": _names(EVENT_TYPES, etype),
        "network_key": _names(NETWORKS, net),
        "external_id": _names([b["external_id"] for b in BOTS], rec_app),
        "conversation_id": _take(ids.conv, conv),
        "payload": payload,
        "created_time": _times(t),
        "completed_time": _times(completed).to_frame("c").select(pl.when(pl.lit(done)).then("c")).to_series(),
        "last_updated_time": _times(np.where(done, completed, t)),
    }).select(EXPORTS["bot_request"].names)
