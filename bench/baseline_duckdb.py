# ruff: noqa: S608 - the SQL is assembled from this module's constants, integers and quoted policy names
"""The metric definitions written in DuckDB SQL.

One SQL text per metric, built from the policy's rules (a ``CASE`` for "first matching target wins") and a
business interval table per schedule (``F(t)`` through an ``ASOF JOIN``; its inverse, for ``breach_at``,
through an ``ASOF JOIN`` on the cumulative ends). Percentiles are nearest-rank with ``row_number()``.
Tables are loaded once into an in-memory database (``load_tables``); each metric is one query.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from bench.definitions import AGE_BUCKET_UPPER, first_response_rules, interval_table
from dashboard.metrics.policy import Policy

__all__ = ["at_risk", "backlog", "connect", "first_response", "load_tables", "sla_by_tier_priority"]

COLUMNS = {
    "conversation": ["conversation_id", "author_id", "network", "priority", "work_queue_id", "created_time",
                     "closed_time"],
    "incoming_post": ["conversation_id", "received_time", "priority"],
    "response": ["conversation_id", "responder_type", "published_time", "is_public"],
    "conversation_history_action": ["conversation_id", "action", "action_time", "from_value", "to_value"],
    "author": ["author_id", "tier", "updated_time"],
}


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def load_tables(con: duckdb.DuckDBPyConnection, folder) -> None:
    """Copy the needed columns of each export's Parquet file into an in-memory table."""
    for name, cols in COLUMNS.items():
        path = f"{folder}/{name}.parquet".replace("'", "''")
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {', '.join(cols)} FROM read_parquet('{path}')")


def load_frames(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    """Load in-memory Polars frames (used by the small agreement tests)."""
    for name, cols in COLUMNS.items():
        frame = tables[name].select(cols).to_arrow()  # noqa: F841 - read by DuckDB's replacement scan
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")


def _register_policy(con: duckdb.DuckDBPyConnection, policy: Policy) -> tuple[str, str]:
    """Create the ``fr_rules`` and ``business_clock`` tables; return (the SQL CASE picking a rule id, the
    name of the schedule used when no rule matches)."""
    rules = first_response_rules(policy)
    con.execute("CREATE OR REPLACE TABLE fr_rules (rule_id INTEGER, target_ms BIGINT, business BOOLEAN, "
                "schedule VARCHAR)")
    if rules:
        con.executemany("INSERT INTO fr_rules VALUES (?, ?, ?, ?)",
                        [(i, r.target_ms, r.business, r.schedule) for i, r in enumerate(rules)])
    parts = []
    for name, schedule in policy.schedules.items():
        table = interval_table(schedule, date(2024, 1, 1), date(2029, 1, 1))
        parts.append(pl.DataFrame({
            "schedule": [name] * len(table.opens), "opens": table.opens, "closes": table.closes,
            "cum_before": table.cum_before, "cum_end": table.cum_end,
        }, schema={"schedule": pl.String, "opens": pl.Int64, "closes": pl.Int64, "cum_before": pl.Int64,
                   "cum_end": pl.Int64}))
    clock = pl.concat(parts).to_arrow()  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE OR REPLACE TABLE business_clock AS SELECT * FROM clock ORDER BY schedule, opens")

    def quote(values) -> str:
        return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)

    whens = []
    for i, r in enumerate(rules):
        conds = ["TRUE"]
        if r.tiers is not None:
            conds.append(f"tier IN ({quote(r.tiers)})")
        if r.priorities is not None:
            conds.append(f"coalesce(priority IN ({', '.join(str(int(p)) for p in r.priorities)}), FALSE)")
        if r.channels is not None:
            conds.append(f"lower(network) IN ({quote(r.channels)})")
        whens.append(f"WHEN {' AND '.join(conds)} THEN {i}")
    default = "default" if "default" in policy.schedules else next(iter(policy.schedules))
    return ("CASE " + " ".join(whens) + " ELSE NULL END" if whens else "NULL"), default


FACTS_SQL = """
posts AS (
    SELECT conversation_id, min(received_time) AS first_inbound_time,
           arg_min(priority, received_time) AS first_inbound_priority
    FROM incoming_post GROUP BY conversation_id),
public AS (SELECT * FROM response WHERE coalesce(is_public, TRUE)),
replies AS (
    SELECT conversation_id,
           min(published_time) FILTER (WHERE upper(responder_type) = 'AGENT') AS first_agent_any,
           min(published_time) FILTER (WHERE upper(responder_type) = 'BOT') AS first_bot
    FROM public GROUP BY conversation_id),
handoffs AS (
    SELECT conversation_id, min(action_time) AS handoff
    FROM conversation_history_action WHERE upper(action) = 'HANDOFF_TO_AGENT' GROUP BY conversation_id),
base AS (
    SELECT c.conversation_id, c.author_id, c.network, c.priority AS conv_priority, c.created_time, c.closed_time,
           p.first_inbound_time, p.first_inbound_priority, r.first_agent_any, r.first_bot, h.handoff,
           (r.first_bot IS NOT NULL AND (r.first_agent_any IS NULL OR r.first_bot < r.first_agent_any))
           OR (h.handoff IS NOT NULL AND (r.first_agent_any IS NULL OR h.handoff <= r.first_agent_any)) AS bot_first,
           r.first_agent_any IS NULL AND h.handoff IS NULL AS no_human
    FROM conversation c
    LEFT JOIN posts p USING (conversation_id)
    LEFT JOIN replies r USING (conversation_id)
    LEFT JOIN handoffs h USING (conversation_id)),
starts AS (
    SELECT *,
           CASE WHEN bot_first AND handoff IS NOT NULL THEN handoff
                WHEN bot_first AND no_human THEN NULL
                ELSE first_inbound_time END AS clock_start,
           bot_first AND no_human AND closed_time IS NOT NULL AS bot_contained
    FROM base),
first_resp AS (
    SELECT s.conversation_id, min(r.published_time) AS first_response_time
    FROM public r JOIN starts s USING (conversation_id)
    WHERE upper(r.responder_type) = 'AGENT' AND r.published_time >= s.clock_start
    GROUP BY s.conversation_id),
tier_times AS (
    SELECT conversation_id, author_id, coalesce(clock_start, first_inbound_time, created_time) AS tier_time
    FROM starts),
versions AS (SELECT author_id, updated_time, tier FROM author
             WHERE author_id IS NOT NULL AND updated_time IS NOT NULL),
tiers AS (
    SELECT t.conversation_id, v.tier
    FROM tier_times t ASOF LEFT JOIN versions v
      ON t.author_id = v.author_id AND t.tier_time >= v.updated_time),
changes AS (
    SELECT conversation_id, action_time,
           try_cast(trim(from_value) AS BIGINT) AS from_priority,
           try_cast(trim(to_value) AS BIGINT) AS to_priority
    FROM conversation_history_action WHERE upper(action) = 'PRIORITY_CHANGED'),
priorities AS (
    SELECT c.conversation_id,
           arg_max(c.to_priority, c.action_time) FILTER (WHERE c.action_time <= t.tier_time) AS before_start,
           arg_min(c.from_priority, c.action_time) AS first_from
    FROM changes c JOIN tier_times t USING (conversation_id)
    GROUP BY c.conversation_id),
facts AS (
    SELECT s.conversation_id, s.network, s.clock_start, f.first_response_time, s.bot_contained,
           CASE WHEN tr.tier IS NULL OR trim(tr.tier) = '' THEN 'unknown' ELSE trim(tr.tier) END AS tier,
           coalesce(p.before_start, p.first_from, s.conv_priority, s.first_inbound_priority) AS priority
    FROM starts s
    LEFT JOIN first_resp f USING (conversation_id)
    LEFT JOIN tiers tr USING (conversation_id)
    LEFT JOIN priorities p USING (conversation_id))
"""

EVALUATE_SQL = """
ruled AS (SELECT *, {rule_case} AS rule_id FROM facts),
timed AS (
    SELECT r.*, k.target_ms, coalesce(k.business, FALSE) AS business,
           coalesce(k.schedule, '{default}') AS schedule,
           epoch_ms(r.clock_start) AS start_ms, epoch_ms(r.first_response_time) AS frt_ms
    FROM ruled r LEFT JOIN fr_rules k USING (rule_id)),
flagged AS (
    SELECT *,
           coalesce(start_ms <= {as_of}, FALSE) AS started,
           coalesce(start_ms <= {as_of} AND frt_ms <= {as_of}, FALSE) AS stopped
    FROM timed),
ended AS (SELECT *, CASE WHEN stopped THEN frt_ms ELSE {as_of} END AS end_ms FROM flagged),
f_start AS (
    SELECT e.*,
           CASE WHEN k.opens IS NULL THEN 0
                ELSE k.cum_before + least(greatest(e.start_ms - k.opens, 0), k.closes - k.opens) END AS f_start
    FROM ended e ASOF LEFT JOIN business_clock k ON e.schedule = k.schedule AND e.start_ms >= k.opens),
f_end AS (
    SELECT e.*,
           CASE WHEN k.opens IS NULL THEN 0
                ELSE k.cum_before + least(greatest(e.end_ms - k.opens, 0), k.closes - k.opens) END AS f_end,
           e.f_start + e.target_ms AS goal
    FROM f_start e ASOF LEFT JOIN business_clock k ON e.schedule = k.schedule AND e.end_ms >= k.opens),
breach AS (
    SELECT e.*,
           CASE WHEN e.target_ms IS NULL OR e.start_ms IS NULL THEN NULL
                WHEN e.business THEN greatest(k.opens + (e.goal - k.cum_before), e.start_ms)
                ELSE e.start_ms + e.target_ms END AS breach_ms
    FROM f_end e ASOF LEFT JOIN business_clock k ON e.schedule = k.schedule AND e.goal <= k.cum_end),
evaluated AS (
    SELECT conversation_id, tier, priority, breach_ms AS breach_at,
           CASE WHEN started THEN (f_end - f_start) / 1000.0 END AS elapsed_business_seconds,
           CASE WHEN coalesce(bot_contained, FALSE) THEN 'bot_contained'
                WHEN NOT started THEN 'not_started'
                WHEN rule_id IS NULL THEN 'no_target'
                WHEN stopped AND frt_ms <= breach_ms THEN 'achieved'
                WHEN stopped THEN 'breached'
                WHEN {as_of} > breach_ms THEN 'breached'
                ELSE 'pending' END AS status,
           CASE WHEN business THEN (f_end - f_start) / 1000.0 ELSE (end_ms - start_ms) / 1000.0 END AS elapsed,
           stopped
    FROM breach),
first_response AS (
    SELECT conversation_id, tier, priority, breach_at, elapsed_business_seconds, status,
           CASE WHEN stopped AND status IN ('achieved', 'breached') THEN elapsed END
               AS response_seconds
    FROM evaluated)
"""


def _with(con: duckdb.DuckDBPyConnection, policy: Policy, as_of_ms: int) -> str:
    rule_case, default = _register_policy(con, policy)
    return "WITH " + FACTS_SQL + ",\n" + EVALUATE_SQL.format(rule_case=rule_case, default=default,
                                                              as_of=int(as_of_ms))


def first_response(con: duckdb.DuckDBPyConnection, policy: Policy, as_of_ms: int) -> pl.DataFrame:
    sql = _with(con, policy, as_of_ms) + """
    SELECT conversation_id, status, breach_at, elapsed_business_seconds, response_seconds, tier, priority
    FROM first_response"""
    return pl.from_arrow(con.sql(sql).to_arrow_table())


def sla_by_tier_priority(con: duckdb.DuckDBPyConnection, policy: Policy, as_of_ms: int) -> pl.DataFrame:
    sql = _with(con, policy, as_of_ms) + """
    , ranked AS (
        SELECT *, row_number() OVER (PARTITION BY tier, priority ORDER BY response_seconds NULLS LAST) AS rn,
               count(response_seconds) OVER (PARTITION BY tier, priority) AS n
        FROM first_response)
    SELECT tier, priority,
           count(*) FILTER (WHERE status = 'achieved') AS achieved,
           count(*) FILTER (WHERE status = 'breached') AS breached,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'bot_contained') AS bot_contained,
           count(*) FILTER (WHERE status = 'no_target') AS no_target,
           count(*) FILTER (WHERE status IN ('achieved', 'breached', 'pending')) AS total,
           CASE WHEN count(*) FILTER (WHERE status IN ('achieved', 'breached')) > 0
                THEN count(*) FILTER (WHERE status = 'achieved')
                     / count(*) FILTER (WHERE status IN ('achieved', 'breached')) END AS attainment,
           max(response_seconds) FILTER (WHERE rn = greatest((n + 1) // 2, 1)) AS median_seconds,
           max(response_seconds) FILTER (WHERE rn = greatest((9 * n + 9) // 10, 1)) AS p90_seconds
    FROM ranked GROUP BY tier, priority ORDER BY tier, priority NULLS LAST"""
    return pl.from_arrow(con.sql(sql).to_arrow_table())


def at_risk(con: duckdb.DuckDBPyConnection, policy: Policy, as_of_ms: int) -> pl.DataFrame:
    sql = _with(con, policy, as_of_ms) + f""", {_CLOSES}
    SELECT f.conversation_id, f.breach_at, f.tier, f.priority
    FROM first_response f JOIN conversation c USING (conversation_id) LEFT JOIN closes k USING (conversation_id)
    WHERE f.status = 'pending' AND {_OPEN.format(at=int(as_of_ms))}
    ORDER BY f.breach_at, f.conversation_id"""
    return pl.from_arrow(con.sql(sql).to_arrow_table())


# Open at an instant: created by then, not finally closed by then, and not between the first close and the
# last reopen (``closes`` gives both per conversation).
_CLOSES = """closes AS (
    SELECT conversation_id,
           min(action_time) FILTER (WHERE upper(action) = 'CLOSED'
               OR (upper(action) = 'STATUS_CHANGED' AND upper(to_value) = 'CLOSED')) AS first_closed,
           max(action_time) FILTER (WHERE upper(action) = 'REOPENED') AS last_reopened
    FROM conversation_history_action GROUP BY conversation_id)"""
_OPEN = ("epoch_ms(c.created_time) <= {at} AND (c.closed_time IS NULL OR epoch_ms(c.closed_time) > {at}) "
         "AND NOT coalesce(epoch_ms(k.first_closed) <= {at} "
         "AND (k.last_reopened IS NULL OR epoch_ms(k.last_reopened) > {at}), FALSE)")


def backlog(con: duckdb.DuckDBPyConnection, at_ms: int) -> pl.DataFrame:
    """Conversations open at ``at_ms`` per age bucket (index into AGE_BUCKET_UPPER) and work queue."""
    at = int(at_ms)
    bounds = [b for b in AGE_BUCKET_UPPER if b != float("inf")]
    bucket = "CASE " + " ".join(f"WHEN age_s < {b} THEN {i}" for i, b in enumerate(bounds)) + \
        f" ELSE {len(bounds)} END"
    sql = f"""
    WITH {_CLOSES},
    open_now AS (
        SELECT c.work_queue_id, ({at} - epoch_ms(c.created_time)) / 1000.0 AS age_s
        FROM conversation c LEFT JOIN closes k USING (conversation_id) WHERE {_OPEN.format(at=at)})
    SELECT {bucket} AS age_order, work_queue_id, count(*) AS open
    FROM open_now GROUP BY ALL ORDER BY age_order, work_queue_id NULLS LAST"""
    return pl.from_arrow(con.sql(sql).to_arrow_table())
