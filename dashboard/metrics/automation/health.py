"""Attempts and health on Khoros' rolling 2-minute window; error and success rates (their one definition);
request volume and latency over time; requests pending by age; the Bot API token's state. The rules are
drawn in the package docstring (:mod:`dashboard.metrics.automation`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from dashboard.metrics.sla import in_window
from dashboard.metrics.stats import nearest_rank
from dashboard.schema import TIME

__all__ = [
    "DEFAULT_SLOW_AFTER_S",
    "DEGRADED",
    "DOWN",
    "DOWN_MIN_ATTEMPTS",
    "HEALTHY",
    "PENDING_AGE_BUCKETS",
    "SCOPE",
    "TOKEN_WARN_BEFORE",
    "WINDOW",
    "TokenStatus",
    "attempts",
    "error_rate",
    "health_now",
    "health_points",
    "health_timeline",
    "lit_time",
    "pending_by_age",
    "request_timeseries",
    "scope_columns",
    "success_rate",
    "success_rate_by_day",
    "success_rate_in_window",
    "token_status",
]


HEALTHY, DEGRADED, DOWN = "HEALTHY", "DEGRADED", "DOWN"
WINDOW = timedelta(minutes=2)
DOWN_MIN_ATTEMPTS = 10
SCOPE: tuple[str, ...] = ("app_id", "origin")
DEFAULT_SLOW_AFTER_S: float | None = 5.0
TOKEN_WARN_BEFORE = timedelta(days=14)

PENDING_AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 min", 60),
    ("1–5 min", 300),
    ("5–15 min", 900),
    ("15–60 min", 3600),
    ("1–4 h", 4 * 3600),
    ("≥ 4 h", math.inf),
)
"""Label and exclusive upper bound in seconds of each pending-age bucket."""


def lit_time(value: datetime) -> pl.Expr:
    if value.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got {value!r}")
    return pl.lit(value).cast(TIME)


def scope_columns(by: Sequence[str]) -> list[str]:
    by = list(by)
    unknown = [c for c in by if c not in ("app_id", "origin", "event_type", "network_key")]
    if unknown or not by:
        raise ValueError(f"health scope must be columns of bot_request such as app_id, origin; got {by!r}")
    return by


# --------------------------------------------------------------------------------------------------------------
# Attempts and health



def attempts(
    records: pl.LazyFrame, as_of: datetime | None = None, *, slow_after_s: float | None = DEFAULT_SLOW_AFTER_S
) -> pl.LazyFrame:
    """Request records with an outcome, one row each: ``t`` (= created_time), ``latency_ms``, ``is_error``,
    ``is_slow``, ``bad`` (error or slow). With ``as_of``, only outcomes known by then."""
    latency = (pl.col("completed_time") - pl.col("created_time")).dt.total_milliseconds()
    lf = records.filter(pl.col("state").is_in(["SUCCESS", "ERROR"])).with_columns(
        t=pl.col("created_time"),
        latency_ms=latency,
        is_error=pl.col("state") == "ERROR",
    )
    if as_of is not None:
        known_at = pl.coalesce("completed_time", "last_updated_time", "created_time")
        lf = lf.filter((pl.col("created_time") <= lit_time(as_of)) & (known_at <= lit_time(as_of)))
    if slow_after_s is None:
        slow = pl.lit(False)
    else:
        slow = (pl.col("latency_ms") > slow_after_s * 1000).fill_null(False) & ~pl.col("is_error")
    return lf.with_columns(is_slow=slow).with_columns(bad=pl.col("is_error") | pl.col("is_slow"))


def _state(good: pl.Expr, bad: pl.Expr) -> pl.Expr:
    return (
        pl.when(bad == 0).then(pl.lit(HEALTHY))
        .when((good == 0) & (bad >= DOWN_MIN_ATTEMPTS)).then(pl.lit(DOWN))
        .otherwise(pl.lit(DEGRADED))
    )  # fmt: skip


def health_points(
    records: pl.LazyFrame,
    as_of: datetime,
    *,
    window: timedelta = WINDOW,
    by: Sequence[str] = SCOPE,
    slow_after_s: float | None = DEFAULT_SLOW_AFTER_S,
) -> pl.LazyFrame:
    """The state at every instant it can change (an attempt entering or leaving the window) and at ``as_of``:
    ``by..., at, attempts, successes, failures, error_rate, state``, sorted by scope and time."""
    by = scope_columns(by)
    att = attempts(records, as_of, slow_after_s=slow_after_s).select(
        *by, "t", good=(~pl.col("bad")).cast(pl.Int64), bad=pl.col("bad").cast(pl.Int64)
    )
    as_of_lit = lit_time(as_of)
    # Each attempt enters the window at t and leaves at t + window; the window (b - window, b] after all the
    # events at b is a running sum of those +1 / -1 (one sort, no joins).
    events = pl.concat(
        [
            att.select(*by, at=pl.col("t"), d_good=pl.col("good"), d_bad=pl.col("bad")),
            att.select(*by, at=pl.col("t") + window, d_good=-pl.col("good"), d_bad=-pl.col("bad")),
            att.select(*by).unique().with_columns(at=as_of_lit, d_good=pl.lit(0, pl.Int64), d_bad=pl.lit(0, pl.Int64)),
        ]
    ).filter(pl.col("at") <= as_of_lit)
    counted = (
        events.group_by(*by, "at")
        .agg(pl.col("d_good").sum(), pl.col("d_bad").sum())
        .sort(*by, "at")
        .select(
            *by,
            "at",
            successes=pl.col("d_good").cum_sum().over(by),
            failures=pl.col("d_bad").cum_sum().over(by),
        )
        .with_columns(attempts=pl.col("successes") + pl.col("failures"))
    )
    only_bad = (pl.col("successes") == 0) & (pl.col("failures") > 0)
    empty = pl.col("attempts") == 0
    # A silence (empty window) lasts from the point the window empties to the next attempt (or as_of).
    empties_begin = empty & ~empty.shift(1).over(by).fill_null(False)
    silence_start = pl.when(empties_begin).then(pl.col("at")).forward_fill().over(by)
    silence_end = pl.when(~empty).then(pl.col("at")).backward_fill().over(by).fill_null(as_of_lit)
    ends_down = (pl.col("successes") > 0) | (empty & (silence_end - silence_start >= window))
    return (
        counted.sort(*by, "at")
        .with_columns(
            state=_state(pl.col("successes"), pl.col("failures")),
            error_rate=error_rate(pl.col("failures"), pl.col("attempts")),
            _only_bad=only_bad,
            _empty=empty,
            _ends_down=ends_down,
        )
        .with_columns(_run=pl.col("_ends_down").cast(pl.Int64).cum_sum().over(by))
        .with_columns(
            # DOWN holds while nothing succeeds, through silences shorter than the window (module docstring).
            _reached_down=(pl.col("_only_bad") & (pl.col("failures") >= DOWN_MIN_ATTEMPTS))
            .cum_max()
            .over([*by, "_run"])
        )
        .with_columns(
            state=pl.when((pl.col("_only_bad") | pl.col("_empty")) & ~pl.col("_ends_down") & pl.col("_reached_down"))
            .then(pl.lit(DOWN))
            .otherwise("state")
        )
        .select(*by, "at", "attempts", "successes", "failures", "error_rate", "state")
    )


def health_timeline(
    records: pl.LazyFrame,
    as_of: datetime,
    *,
    window: timedelta = WINDOW,
    by: Sequence[str] = SCOPE,
    slow_after_s: float | None = DEFAULT_SLOW_AFTER_S,
) -> pl.LazyFrame:
    """Constant-state segments: ``by..., state, start, end, duration_s, peak_error_rate, max_attempts, current``.

    Before a scope's first attempt nothing is known (no segment). The last segment of a scope ends at
    ``as_of`` and has ``current = True``."""
    by = scope_columns(by)
    return _timeline_from_points(health_points(records, as_of, window=window, by=by, slow_after_s=slow_after_s),
                                 as_of, by)  # fmt: skip


def _timeline_from_points(points: pl.LazyFrame, as_of: datetime, by: list[str]) -> pl.LazyFrame:
    """Merge consecutive points of equal state into segments (shared by the timeline, health now, incidents)."""
    segments = (
        points.with_columns(_new=(pl.col("state") != pl.col("state").shift(1).over(by)).fill_null(True))
        .with_columns(_segment=pl.col("_new").cast(pl.Int64).cum_sum().over(by))
        .group_by(*by, "_segment")
        .agg(
            state=pl.col("state").first(),
            start=pl.col("at").min(),
            peak_error_rate=pl.col("error_rate").max(),
            max_attempts=pl.col("attempts").max(),
        )
        .sort(*by, "start")
        .with_columns(end=pl.col("start").shift(-1).over(by))
        .with_columns(current=pl.col("end").is_null(), end=pl.col("end").fill_null(lit_time(as_of)))
        .with_columns(duration_s=(pl.col("end") - pl.col("start")).dt.total_milliseconds() / 1000)
    )
    # A zero-length segment at as_of (the state changed exactly then) is kept only as the current one.
    return segments.filter((pl.col("duration_s") > 0) | pl.col("current")).select(
        *by, "state", "start", "end", "duration_s", "peak_error_rate", "max_attempts", "current"
    )


def health_now(
    records: pl.LazyFrame,
    as_of: datetime,
    *,
    window: timedelta = WINDOW,
    by: Sequence[str] = SCOPE,
    slow_after_s: float | None = DEFAULT_SLOW_AFTER_S,
    lookback: timedelta | None = timedelta(days=7),
) -> pl.LazyFrame:
    """State at ``as_of`` for every scope that has any record: ``by..., state, attempts, successes, failures,
    error_rate, state_since, last_request_time, last_error_time``.

    Only the last ``lookback`` of records is replayed (None: all), so a live page stays fast on months of
    records; a state older than that shows ``state_since`` = its first instant inside the look-back."""
    by = scope_columns(by)
    replayed = records
    if lookback is not None:
        replayed = records.filter(pl.col("created_time") > lit_time(as_of - lookback))
    points = health_points(replayed, as_of, window=window, by=by, slow_after_s=slow_after_s).cache()
    timeline = _timeline_from_points(points, as_of, by)
    now_points = points.filter(pl.col("at") == lit_time(as_of)).drop("at")
    since = timeline.filter(pl.col("current")).select(*by, state_since=pl.col("start"))
    seen = (
        records.filter(pl.col("created_time") <= lit_time(as_of))
        .group_by(by)
        .agg(
            last_request_time=pl.col("created_time").max(),
            last_error_time=pl.col("created_time").filter(pl.col("state") == "ERROR").max(),
        )
    )
    return (
        seen.join(now_points, on=by, how="left")
        .join(since, on=by, how="left")
        .with_columns(
            pl.col("attempts", "successes", "failures").fill_null(0),
            state=pl.col("state").fill_null(pl.lit(HEALTHY)),  # only pending records so far: 0 attempts
        )
        .select(*by, "state", "attempts", "successes", "failures", "error_rate", "state_since",
                "last_request_time", "last_error_time")
        .sort(by)
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Error and success rates: the one definition every page, alert and KPI uses


def error_rate(errors: pl.Expr, attempts: pl.Expr) -> pl.Expr:
    """Errors ÷ attempts (null when nothing was attempted)."""
    return pl.when(attempts > 0).then(errors / attempts)


def success_rate(errors: pl.Expr, attempts: pl.Expr) -> pl.Expr:
    """1 − :func:`error_rate`: the share of attempts that succeeded (null when nothing was attempted)."""
    return 1 - error_rate(errors, attempts)


def _outcomes(records: pl.LazyFrame, start: date, end: date, tz: str, as_of: datetime) -> pl.LazyFrame:
    """Attempts created in the report window [start, end) (local days in ``tz``) with an outcome by ``as_of``."""
    return attempts(in_window(records, start, end, tz, "created_time"), as_of)


def _rate_aggregation() -> pl.Expr:
    return success_rate(pl.col("is_error").sum(), pl.len()).alias("success_rate")


def success_rate_in_window(records: pl.LazyFrame, start: date, end: date, tz: str, as_of: datetime) -> float | None:
    """Share of the window's attempts (request records with an outcome) that succeeded; None without any."""
    value = _outcomes(records, start, end, tz, as_of).select(_rate_aggregation()).collect().item()
    return None if value is None else float(value)


def success_rate_by_day(records: pl.LazyFrame, start: date, end: date, tz: str, as_of: datetime) -> pl.DataFrame:
    """:func:`success_rate_in_window` per local day that has attempts: ``day``, ``success_rate``."""
    return (
        _outcomes(records, start, end, tz, as_of)
        .group_by(pl.col("t").dt.convert_time_zone(tz).dt.date().alias("day"))
        .agg(_rate_aggregation())
        .sort("day")
        .collect()
    )


# --------------------------------------------------------------------------------------------------------------
# Error rate and latency over time; pending by age



def request_timeseries(
    records: pl.LazyFrame,
    *,
    every: str = "1h",
    by: Sequence[str] = SCOPE,
    as_of: datetime | None = None,
    slow_after_s: float | None = DEFAULT_SLOW_AFTER_S,
) -> pl.LazyFrame:
    """Per scope and time bucket (``every``, a Polars duration like "5m", "1h", "1d"; by created time):
    ``attempts, errors, slow, error_rate`` (errors ÷ attempts), ``p50_latency_ms, p95_latency_ms``
    (nearest-rank, over all completed requests)."""
    by = scope_columns(by)
    return (
        attempts(records, as_of, slow_after_s=slow_after_s)
        .with_columns(bucket=pl.col("t").dt.truncate(every))
        .group_by(*by, "bucket")
        .agg(
            attempts=pl.len().cast(pl.Int64),
            errors=pl.col("is_error").sum().cast(pl.Int64),
            slow=pl.col("is_slow").sum().cast(pl.Int64),
            p50_latency_ms=nearest_rank(pl.col("latency_ms"), 0.50),
            p95_latency_ms=nearest_rank(pl.col("latency_ms"), 0.95),
        )
        .with_columns(error_rate=error_rate(pl.col("errors"), pl.col("attempts")))
        .sort(*by, "bucket")
    )


def pending_by_age(records: pl.LazyFrame, as_of: datetime, *, by: Sequence[str] = SCOPE) -> pl.LazyFrame:
    """Requests pending at ``as_of`` (created by then, no outcome by then) per scope and age bucket
    (:data:`PENDING_AGE_BUCKETS`): ``by..., age_bucket, bucket_order, pending, oldest_created_time``."""
    by = scope_columns(by)
    as_of_lit = lit_time(as_of)
    still_open = (pl.col("state") == "PENDING") | (pl.col("completed_time") > as_of_lit)
    age_s = (as_of_lit - pl.col("created_time")).dt.total_milliseconds() / 1000
    bucket = pl.when(pl.lit(False)).then(pl.lit(None, pl.Int64))
    for order, (_, upper) in enumerate(PENDING_AGE_BUCKETS):
        bucket = bucket.when(age_s < upper).then(pl.lit(order, pl.Int64))
    labels = pl.DataFrame(
        {"bucket_order": list(range(len(PENDING_AGE_BUCKETS))), "age_bucket": [lab for lab, _ in PENDING_AGE_BUCKETS]},
        schema={"bucket_order": pl.Int64, "age_bucket": pl.String},
    ).lazy()
    return (
        records.filter((pl.col("created_time") <= as_of_lit) & still_open)
        .with_columns(bucket_order=bucket)
        .group_by(*by, "bucket_order")
        .agg(pending=pl.len().cast(pl.Int64), oldest_created_time=pl.col("created_time").min())
        .join(labels, on="bucket_order", how="left")
        .select(*by, "age_bucket", "bucket_order", "pending", "oldest_created_time")
        .sort(*by, "bucket_order")
    )


# --------------------------------------------------------------------------------------------------------------
# Token status



@dataclass(frozen=True)
class TokenStatus:
    """The Bot API token's state: OK, EXPIRING (within ``warn_before``), EXPIRED or UNKNOWN."""

    state: str
    expires_at: datetime | None
    remaining: timedelta | None
    message: str

    @property
    def needs_attention(self) -> bool:
        return self.state != "OK"


def token_status(
    expires_at: datetime | int | None, as_of: datetime, *, warn_before: timedelta = TOKEN_WARN_BEFORE
) -> TokenStatus:
    """From the token's ``expiresAtMillis`` (epoch ms or a datetime). Khoros tokens last 90 days and should
    be refreshed weekly; we warn ``warn_before`` (two weeks) ahead."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if expires_at is None:
        return TokenStatus("UNKNOWN", None, None, "Token expiry unknown (no Bot API token information).")
    if isinstance(expires_at, int) and not isinstance(expires_at, bool):
        expires_at = datetime(1970, 1, 1, tzinfo=as_of.tzinfo) + timedelta(milliseconds=expires_at)
    if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
        raise ValueError("expires_at must be epoch milliseconds or a timezone-aware datetime")
    remaining = expires_at - as_of
    utc = expires_at.utcoffset() == timedelta(0)
    when = expires_at.strftime("%Y-%m-%d %H:%M UTC") if utc else expires_at.isoformat(timespec="minutes")
    if remaining <= timedelta(0):
        return TokenStatus("EXPIRED", expires_at, remaining, f"Bot API token expired {when}: refresh it now.")
    days = remaining / timedelta(days=1)
    if remaining <= warn_before:
        return TokenStatus("EXPIRING", expires_at, remaining, f"Bot API token expires {when} (in {days:.1f} days).")
    return TokenStatus("OK", expires_at, remaining, f"Bot API token valid until {when} ({days:.0f} days).")
