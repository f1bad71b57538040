"""A fast, vectorised synthetic world for the benchmarks: the metric inputs at 100k to 5M conversations.

The simulator's world generator (``dashboard.simulator.world``) builds a coherent tenant with agents' shifts,
bots and incidents; it is too slow for millions of conversations. This generator makes only what the metric
benchmarks read, in exactly the columns of ``dashboard/schema.py``, with numpy (no Python loop per row):

- ``conversation``, ``incoming_post``, ``response``, ``conversation_history_action`` for ``n_conversations``
  conversations over ``days`` days ending at ``end``;
- ``author``: ``n_authors`` authors (300k by default, independent of the number of conversations), one row
  per author *version*: most authors have a first version before the window, some only inside it (their
  earlier conversations have no tier: the ``unknown`` group), 15 % change tier inside the window, 2 % have
  no tier at all.

The mix exercises every rule of the first-response definition: bot-first conversations that are contained,
handed off after a bot reply, or handed off automatically before any bot reply; private notes before the
first public answer; unanswered conversations (pending or breached at ``end``); priority changes before
and after the clock start; tier changes; reopened conversations; responses outside business hours.
Identifiers look like Khoros': UUIDs for conversations and authors, numeric strings for posts, responses
and actions. Same arguments => the same world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from dashboard.schema import EXPORTS, TIME

__all__ = ["DEFAULT_END", "SyntheticConfig", "generate", "load_world", "world_path", "write_world"]

DEFAULT_END = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # midnight in New York
MS = 1000
MINUTE = 60 * MS
HOUR = 60 * MINUTE
DAY = 24 * HOUR

TIERS = np.array(["Platinum", "Gold", "Silver", "Standard"])
TIER_WEIGHTS = np.array([0.06, 0.16, 0.26, 0.52])
NETWORKS = np.array(["twitter", "facebook", "instagram", "whatsapp", "apple_messages", "brand_messenger"])
NETWORK_WEIGHTS = np.array([0.18, 0.24, 0.10, 0.22, 0.10, 0.16])
NETWORK_BOT_SHARE = np.array([0.10, 0.70, 0.15, 0.80, 0.75, 0.85])
BOT_APPS = np.array(["sim-social-dm-bot", "sim-social-dm-bot", "sim-social-dm-bot", "sim-whatsapp-concierge",
                     "sim-assist-bot", "sim-assist-bot"])
PRIORITY_WEIGHTS = np.array([0.05, 0.25, 0.35, 0.20, 0.10, 0.05])
# Arrivals per UTC hour of day: a New York working day (UTC-5) peaks at 14:00-21:00 UTC.
HOURLY = np.array([3, 2, 2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 8, 10, 10, 10, 9, 9, 9, 8, 6, 5, 4], dtype=float)
N_AGENTS = 400
GENERATOR_VERSION = 2
"""Part of each cached world's folder name: bump it when the generator's output changes."""
TABLES = ("conversation", "incoming_post", "response", "conversation_history_action", "author")


@dataclass(frozen=True)
class SyntheticConfig:
    n_conversations: int = 100_000
    n_authors: int = 300_000
    days: int = 90
    seed: int = 11
    end: datetime = DEFAULT_END

    @property
    def name(self) -> str:
        return (f"v{GENERATOR_VERSION}_c{self.n_conversations}_a{self.n_authors}_d{self.days}_s{self.seed}"
                f"_e{self.end:%Y%m%d%H}")


def _uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """n random UUID-shaped strings (lower-case hex, 8-4-4-4-12), built as bytes in numpy."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty((n, 32), np.uint8)
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 15]
    out = np.full((n, 36), ord("-"), np.uint8)
    for at, (lo, hi) in zip((0, 9, 14, 19, 24), ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)), strict=True):
        out[:, at:at + hi - lo] = hexed[:, lo:hi]
    return pl.Series(np.ascontiguousarray(out).view("S36").ravel()).cast(pl.String)


def _numeric_ids(first: int, n: int) -> pl.Series:
    return pl.Series(np.arange(first, first + n, dtype=np.int64)).cast(pl.String)


def _times(ms: np.ndarray) -> pl.Series:
    return pl.Series(ms.astype(np.int64)).cast(TIME)


def _lognormal(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> np.ndarray:
    return (median_ms * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def _within_group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (groups are consecutive runs of ``counts`` rows)."""
    total = np.cumsum(values)
    ends = np.cumsum(counts)
    before = np.concatenate([[0], total[ends[:-1] - 1]]) if len(counts) else np.zeros(0, total.dtype)
    return total - np.repeat(before, counts)


def _office_hours():
    """New York weekdays 09:00-17:00 with no holidays, as a business interval table (for answer times)."""
    from datetime import date

    from bench.definitions import interval_table
    from dashboard.metrics.business_hours import make_schedule

    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    schedule = make_schedule("America/New_York", {d: [("09:00", "17:00")] for d in weekdays})
    return interval_table(schedule, date(2024, 1, 1), date(2029, 1, 1))


def generate(config: SyntheticConfig) -> dict[str, pl.DataFrame]:
    """The five input tables for ``config`` (columns and dtypes exactly as in ``dashboard.schema``)."""
    rng = np.random.default_rng(config.seed)
    n = config.n_conversations
    end_ms = int(config.end.timestamp() * MS)
    start_ms = end_ms - config.days * DAY

    # ---- authors and their tier versions -------------------------------------------------------------------
    n_auth = config.n_authors
    author_ids = _uuids(rng, n_auth)
    a_network = rng.choice(len(NETWORKS), n_auth, p=NETWORK_WEIGHTS)
    tier0 = rng.choice(len(TIERS), n_auth, p=TIER_WEIGHTS)
    late_first = rng.random(n_auth) < 0.05
    first_version = np.where(late_first, start_ms + (rng.random(n_auth) * config.days * DAY).astype(np.int64),
                             start_ms - (rng.random(n_auth) * 400 * DAY).astype(np.int64) - MINUTE)
    changes = rng.random(n_auth) < 0.15
    change_at = first_version + MINUTE + (rng.random(n_auth) * (end_ms - np.maximum(first_version, start_ms))
                                          ).astype(np.int64)
    changes &= change_at < end_ms
    step = rng.choice([-1, 1], n_auth)
    tier1 = np.clip(tier0 + step, 0, len(TIERS) - 1)
    tier1 = np.where(tier1 == tier0, np.clip(tier0 - step, 0, len(TIERS) - 1), tier1)
    no_tier = rng.random(n_auth) < 0.02
    v_author = np.concatenate([np.arange(n_auth), np.flatnonzero(changes)])
    v_time = np.concatenate([first_version, change_at[changes]])
    v_tier = np.concatenate([tier0, tier1[changes]])
    v_no_tier = np.concatenate([no_tier, no_tier[changes]])
    tier_names = pl.Series(TIERS[v_tier]).set(pl.Series(v_no_tier), None)
    author = pl.DataFrame(
        {
            "author_id": author_ids.gather(v_author),
            "network": NETWORKS[a_network[v_author]],
            "handle": "user" + pl.Series(v_author).cast(pl.String),
            "display_name": None,
            "tier": tier_names,
            "updated_time": _times(v_time),
        }
    )

    # ---- conversations -------------------------------------------------------------------------------------
    day = rng.integers(0, config.days, n)
    hour = rng.choice(24, n, p=HOURLY / HOURLY.sum())
    created = start_ms + day * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    conv_author = np.minimum((n_auth * rng.random(n) ** 1.5).astype(np.int64), n_auth - 1)
    network = a_network[conv_author]
    priority0 = rng.choice(6, n, p=PRIORITY_WEIGHTS)

    bot_first = rng.random(n) < NETWORK_BOT_SHARE[network]
    contained = bot_first & (rng.random(n) < 0.35)
    auto_handoff = bot_first & ~contained & (rng.random(n) < 0.10)  # handed off before the bot said anything
    bot_replies = bot_first & ~auto_handoff
    bot_reply_at = created + rng.integers(3 * MS, 40 * MS, n)
    handed = bot_first & ~contained
    handoff_at = np.where(auto_handoff, created + rng.integers(1 * MS, 5 * MS, n),
                          created + rng.integers(MINUTE, 15 * MINUTE, n))
    clock_start = np.where(handed, handoff_at, created)

    needs_human = ~contained
    unanswered = needs_human & (rng.random(n) < 0.03)
    # Agents answer in business time (New York office hours) mostly; some answers come out of hours.
    office = _office_hours()
    business_delay = _lognormal(rng, 45 * MINUTE, 1.2, n) + rng.integers(20 * MS, 120 * MS, n)
    in_hours = office.add(clock_start, business_delay)
    out_of_hours = clock_start + _lognormal(rng, 2 * HOUR, 1.0, n)
    first_human = np.where(rng.random(n) < 0.85, in_hours, out_of_hours)
    human_delay = first_human - clock_start
    answered = needs_human & ~unanswered
    answered &= first_human < end_ms
    agent_of = rng.integers(0, N_AGENTS, n)
    private_note = answered & (rng.random(n) < 0.10)

    # priority changes: some before the clock start (the bot raising it), some later
    prio_change = rng.random(n) < 0.08
    early = rng.random(n) < 0.5
    prio_change_at = np.where(early, created + (rng.random(n) * np.maximum(clock_start - created, MS)).astype(np.int64),
                              clock_start + rng.integers(MINUTE, 6 * HOUR, n))
    prio_change &= prio_change_at < end_ms
    p_step = np.where(rng.random(n) < 0.6, 1, -1)
    priority1 = np.clip(priority0 + p_step, 0, 5)
    priority1 = np.where(priority1 == priority0, np.where(priority0 == 5, 4, priority0 + 1), priority1)
    priority_now = np.where(prio_change, priority1, priority0)

    # ---- later customer posts and their answers -----------------------------------------------------------
    extra = np.where(contained, 0, np.minimum(rng.poisson(0.9, n), 4))
    extra_conv = np.repeat(np.arange(n), extra)
    gaps = _lognormal(rng, 3 * HOUR, 1.0, len(extra_conv)) + MINUTE
    base = np.where(answered, first_human, clock_start + HOUR)
    extra_at = base[extra_conv] + _within_group_cumsum(gaps, extra[extra > 0])
    extra_answer_at = office.add(extra_at, _lognormal(rng, 40 * MINUTE, 1.2, len(extra_conv)) + 30 * MS)
    extra_answered = (rng.random(len(extra_conv)) < 0.9) & (extra_answer_at < end_ms)
    extra_keep = extra_at < end_ms

    # ---- closes and reopens --------------------------------------------------------------------------------
    last_event = np.where(answered, first_human, np.where(contained, bot_reply_at + MINUTE, clock_start))
    if len(extra_conv):
        last_extra = np.zeros(n, np.int64)
        extra_last = np.where(extra_answered, extra_answer_at, extra_at)
        np.maximum.at(last_extra, extra_conv[extra_keep], extra_last[extra_keep])
        last_event = np.maximum(last_event, last_extra)
    first_close = last_event + _lognormal(rng, 6 * HOUR, 1.0, n)
    closes = (first_close < end_ms) & (answered | contained) & (rng.random(n) < 0.97)
    reopened = closes & (rng.random(n) < 0.03)
    reopen_at = first_close + rng.integers(HOUR, 2 * DAY, n)
    reopened &= reopen_at < end_ms
    final_close = reopen_at + rng.integers(HOUR, DAY, n)
    final_closes = reopened & (final_close < end_ms)
    closed_time = np.where(reopened, np.where(final_closes, final_close, -1), np.where(closes, first_close, -1))
    is_closed = closed_time >= 0

    conv_ids = _uuids(rng, n)
    queue = np.where(priority_now >= 4, 12, np.where(np.isin(network, [3, 4, 5]) & bot_first & contained, 1, 10))
    tags = pl.Series([[], ["Bot Handoff"], ["Bot Handoff", "Automatic Bot Handoff"]], dtype=pl.List(pl.String))
    tag_kind = np.where(auto_handoff, 2, np.where(handed, 1, 0))
    agent_ids = pl.Series([f"agent-{i:04d}" for i in range(N_AGENTS)])
    conversation = pl.DataFrame(
        {
            "conversation_id": conv_ids,
            "conversation_display_id": np.arange(n, dtype=np.int64) + 100_001,
            "author_id": author_ids.gather(conv_author),
            "network": NETWORKS[network],
            "priority": priority_now.astype(np.int64),
            "work_queue_id": queue.astype(np.int64),
            "team_id": (agent_of % 3 + 1).astype(np.int64),
            "status": np.where(is_closed, "CLOSED", "OPEN"),
            "created_time": _times(created),
            "closed_time": _times(closed_time).set(pl.Series(~is_closed), None),
            "assigned_agent_id": agent_ids.gather(agent_of).set(pl.Series(contained), None),
            "tags": tags.gather(tag_kind),
            "disposition": pl.Series(np.where(is_closed, "resolved", "")).replace("", None),
        }
    )

    # ---- incoming posts: the first one at creation, then the later ones ------------------------------------
    post_conv = np.concatenate([np.arange(n), extra_conv[extra_keep]])
    post_time = np.concatenate([created, extra_at[extra_keep]])
    # the conversation's priority when each post arrived
    post_prio = np.where(prio_change[post_conv] & (prio_change_at[post_conv] <= post_time), priority1[post_conv],
                         priority0[post_conv])
    post_order = np.argsort(post_time, kind="stable")
    post_conv, post_time, post_prio = post_conv[post_order], post_time[post_order], post_prio[post_order]
    incoming_post = pl.DataFrame(
        {
            "post_id": _numeric_ids(10_000_000_000, len(post_conv)),
            "conversation_id": conv_ids.gather(post_conv),
            "author_id": author_ids.gather(conv_author[post_conv]),
            "network": NETWORKS[network[post_conv]],
            "received_time": _times(post_time),
            "priority": post_prio.astype(np.int64),
            "work_queue_id": queue[post_conv].astype(np.int64),
            "is_public": np.isin(network[post_conv], [0, 1, 2]) & (rng.random(len(post_conv)) < 0.4),
        }
    )

    # ---- responses: bot replies, private notes, first human answers, answers to later posts ---------------
    second_bot = bot_replies & (rng.random(n) < 0.5)
    parts = [
        # (conversation index, time, responder is bot, public)
        (np.flatnonzero(bot_replies), bot_reply_at[bot_replies], True, True),
        (np.flatnonzero(second_bot), bot_reply_at[second_bot] + rng.integers(5 * MS, 30 * MS, second_bot.sum()),
         True, True),
        (np.flatnonzero(private_note), (clock_start + human_delay // 2)[private_note], False, False),
        (np.flatnonzero(answered), first_human[answered], False, True),
        (extra_conv[extra_answered & extra_keep], extra_answer_at[extra_answered & extra_keep], False, True),
    ]
    r_conv = np.concatenate([p[0] for p in parts])
    r_time = np.concatenate([p[1] for p in parts])
    r_bot = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    r_public = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    keep = r_time < end_ms
    order = np.argsort(r_time[keep], kind="stable")
    r_conv, r_time = r_conv[keep][order], r_time[keep][order]
    r_bot, r_public = r_bot[keep][order], r_public[keep][order]
    response = pl.DataFrame(
        {
            "response_id": _numeric_ids(20_000_000_000, len(r_conv)),
            "conversation_id": conv_ids.gather(r_conv),
            "responder_type": np.where(r_bot, "BOT", "AGENT"),
            "agent_id": agent_ids.gather(agent_of[r_conv]).set(pl.Series(r_bot), None),
            "bot_app_id": pl.Series(BOT_APPS[network[r_conv]]).set(pl.Series(~r_bot), None),
            "published_time": _times(r_time),
            "in_reply_to_post_id": pl.Series([None] * len(r_conv), dtype=pl.String),
            "is_public": r_public,
        }
    )

    # ---- actions -------------------------------------------------------------------------------------------
    assign_at = clock_start + np.minimum(human_delay // 3, rng.integers(10 * MS, 10 * MINUTE, n))
    assigned = needs_human & (assign_at < end_ms)
    a_parts = [
        # (conversation index, time, action, from, to)
        (np.flatnonzero(handed), handoff_at[handed], "HANDOFF_TO_AGENT", None, None),
        (np.flatnonzero(assigned), assign_at[assigned], "ASSIGNED", None, "agent"),
        (np.flatnonzero(prio_change), prio_change_at[prio_change], "PRIORITY_CHANGED", priority0, priority1),
        (np.flatnonzero(closes), first_close[closes], "CLOSED", None, None),
        (np.flatnonzero(reopened), reopen_at[reopened], "REOPENED", None, None),
        (np.flatnonzero(final_closes), final_close[final_closes], "CLOSED", None, None),
    ]
    act_conv = np.concatenate([p[0] for p in a_parts])
    act_time = np.concatenate([p[1] for p in a_parts])
    act_kind = np.concatenate([np.full(len(p[0]), p[2]) for p in a_parts])
    from_value = pl.concat([
        pl.Series(p[3][p[0]]).cast(pl.String) if p[3] is not None else pl.Series([None] * len(p[0]), dtype=pl.String)
        for p in a_parts])
    to_value = pl.concat([
        (agent_ids.gather(agent_of[p[0]]) if isinstance(p[4], str) else pl.Series(p[4][p[0]]).cast(pl.String))
        if p[4] is not None else pl.Series([None] * len(p[0]), dtype=pl.String)
        for p in a_parts])
    act_order = np.argsort(act_time, kind="stable")
    act_order = act_order[act_time[act_order] < end_ms]  # nothing from after the world's end
    is_agent_action = np.isin(act_kind, ["ASSIGNED", "PRIORITY_CHANGED", "CLOSED", "REOPENED"])
    actions = pl.DataFrame(
        {
            "action_id": _numeric_ids(30_000_000_000, len(act_order)),
            "conversation_id": conv_ids.gather(act_conv[act_order]),
            "action": act_kind[act_order],
            "action_time": _times(act_time[act_order]),
            "agent_id": agent_ids.gather(agent_of[act_conv[act_order]]).set(pl.Series(~is_agent_action[act_order]),
                                                                             None),
            "from_value": from_value.gather(act_order),
            "to_value": to_value.gather(act_order),
        }
    )
    tables = {
        "conversation": conversation,
        "incoming_post": incoming_post,
        "response": response,
        "conversation_history_action": actions,
        "author": author,
    }
    return {name: _conform(name, frame) for name, frame in tables.items()}


def _conform(export_id: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Columns in schema order with the schema's dtypes (a mismatch here is a bug in this generator)."""
    schema = EXPORTS[export_id].polars_schema
    return frame.select([pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items()])


def world_path(cache_dir: Path, config: SyntheticConfig) -> Path:
    return cache_dir / "worlds" / config.name


def write_world(tables: dict[str, pl.DataFrame], path: Path) -> None:
    """One Parquet file per table (zstd), written atomically per file."""
    path.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        tmp = path / f".{name}.parquet.tmp"
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        tmp.replace(path / f"{name}.parquet")


def load_world(cache_dir: Path, config: SyntheticConfig) -> Path:
    """The folder holding ``config``'s world as Parquet, generated on first use."""
    path = world_path(cache_dir, config)
    if not all((path / f"{t}.parquet").exists() for t in TABLES):
        write_world(generate(config), path)
    return path
