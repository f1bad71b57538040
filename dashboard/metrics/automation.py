"""Automation health from Bot API v3 request records: health, incidents, error groups, latency, impact.

Input is the ``bot_request`` table (columns in ``dashboard.schema.EXPORTS["bot_request"]``) as a LazyFrame;
every function returns a LazyFrame (or, for the token, a small dataclass) and does no I/O.

Health, as we read Khoros' §7.4 ("rolling 2-minute window, evaluated as events are processed")
------------------------------------------------------------------------------------------------
* **Scope.** Health is computed per ``by`` (default ``("app_id", "origin")``, as DESIGN.md asks): a bot whose
  own calls fail (origin BOT, e.g. an expired token) is broken even while Khoros' deliveries to it (origin
  KHOROS) succeed, and mixing the two would hide one behind the other. Pass ``by=("app_id",)`` for one state
  per app id.
* **Attempt.** A request record with an outcome (state SUCCESS or ERROR) placed at its ``created_time``.
  PENDING records are not attempts (yet); they are reported by :func:`pending_by_age`. For a past ``as_of``
  only outcomes known by then count (completed at or before ``as_of``).
* **Bad attempt.** ERROR — and, in *our* state, also a success slower than ``slow_after_s`` (default 5 s;
  Khoros asks bots to acknowledge at once, and a bot that answers in 20 s is not healthy). Pass
  ``slow_after_s=None`` for Khoros' exact rule.
* **Window.** The state at instant ``b`` counts attempts with ``b - 2 min < created_time <= b``. It changes
  only when an attempt enters (``t``) or leaves (``t + 2 min``) the window, so those instants are the
  breakpoints of the timeline (plus ``as_of``).
* **States.** No bad attempt (including 0 attempts): HEALTHY. All bad with >= 10 attempts: DOWN. Otherwise
  (mixed, or only bad but fewer than 10): DEGRADED. The "fewer than 10 attempts" clause of §7.4 only matters
  when there are failures: all-success with 3 attempts is HEALTHY ("100 % success").
* **DOWN holds while nothing succeeds.** Once DOWN, Khoros stops delivering and retries every 2 minutes, so
  the window never again holds 10 attempts; reading §7.4 literally would flip a dead endpoint back to
  DEGRADED after two minutes. We keep DOWN while every attempt in the window is bad, also through an empty
  window shorter than the window length (retries a little more than 2 minutes apart, or one still in
  flight at ``as_of``). A success, or a silence of a full window, ends it.

Incidents
---------
An incident is a maximal non-healthy interval per scope: the union of ``[t, t + window)`` over bad attempts.
Two intervals are merged when the healthy gap between them is shorter than ``merge_gap`` (default: the
window), or when nothing in that gap succeeded, the failure after it is the same error (HTTP code and
normalised message, whichever event type met it; or both are slow successes) and the gap is shorter than
``quiet_gap`` (default 15 min) — silence is not recovery: a bot with an expired token whose traffic pauses for
five minutes is still broken, but an unrelated error ten minutes after an incident is a new one.
``start`` = first bad attempt; ``end`` = last bad attempt + window (the instant health is HEALTHY again), null
while ongoing; ``time_to_recovery_s`` = end − start. An incident is *ongoing* while its window is open, and
also while nothing has succeeded since its last failure and the quiet gap has not passed (a failure then
would still belong to it).

Error groups
------------
Fingerprint = origin + HTTP code + normalised message + event type (:func:`normalise_message` strips ids,
uuids, numbers, timestamps, e-mails, URLs and hex; keeps a status code followed by its reason phrase, so "503
Service Unavailable" reads as such). A group shows first/last seen, count, apps, a daily trend and one sample
record whose payload is masked (:func:`mask_payload`).

Percentiles are nearest-rank (the value at rank ⌈q·n⌉ of the sorted values): ``dashboard.metrics.stats``,
like the rest of the product.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from dashboard.metrics.stats import nearest_rank
from dashboard.schema import TIME

__all__ = [
    "AUTO_HANDOFF_TAG",
    "DEFAULT_SLOW_AFTER_S",
    "DEGRADED",
    "DOWN",
    "DOWN_MIN_ATTEMPTS",
    "HEALTHY",
    "PENDING_AGE_BUCKETS",
    "QUIET_GAP",
    "SCOPE",
    "WINDOW",
    "TokenStatus",
    "attempts",
    "error_group_trend",
    "error_groups",
    "fingerprinted_errors",
    "health_now",
    "health_points",
    "health_timeline",
    "impact_conversations",
    "incident_impact",
    "incidents",
    "mask_payload",
    "mask_text",
    "nearest_rank",
    "normalise_message",
    "pending_by_age",
    "request_timeseries",
    "token_status",
]

HEALTHY, DEGRADED, DOWN = "HEALTHY", "DEGRADED", "DOWN"
WINDOW = timedelta(minutes=2)
DOWN_MIN_ATTEMPTS = 10
SCOPE: tuple[str, ...] = ("app_id", "origin")
DEFAULT_SLOW_AFTER_S: float | None = 5.0
QUIET_GAP = timedelta(minutes=15)
AUTO_HANDOFF_TAG = "Automatic Bot Handoff"
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


def _lit_time(value: datetime) -> pl.Expr:
    if value.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got {value!r}")
    return pl.lit(value).cast(TIME)


def _scope(by: Sequence[str]) -> list[str]:
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
        lf = lf.filter((pl.col("created_time") <= _lit_time(as_of)) & (known_at <= _lit_time(as_of)))
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
    by = _scope(by)
    att = attempts(records, as_of, slow_after_s=slow_after_s).select(
        *by, "t", good=(~pl.col("bad")).cast(pl.Int64), bad=pl.col("bad").cast(pl.Int64)
    )
    as_of_lit = _lit_time(as_of)
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
            error_rate=pl.when(pl.col("attempts") > 0).then(pl.col("failures") / pl.col("attempts")),
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
    by = _scope(by)
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
        .with_columns(current=pl.col("end").is_null(), end=pl.col("end").fill_null(_lit_time(as_of)))
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
    by = _scope(by)
    replayed = records
    if lookback is not None:
        replayed = records.filter(pl.col("created_time") > _lit_time(as_of - lookback))
    points = health_points(replayed, as_of, window=window, by=by, slow_after_s=slow_after_s).cache()
    timeline = _timeline_from_points(points, as_of, by)
    now_points = points.filter(pl.col("at") == _lit_time(as_of)).drop("at")
    since = timeline.filter(pl.col("current")).select(*by, state_since=pl.col("start"))
    seen = (
        records.filter(pl.col("created_time") <= _lit_time(as_of))
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
# Error groups

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>()\[\]{},]+", re.IGNORECASE)
_ISO_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
)
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_HEX_ID = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)[0-9a-fA-F]{8,}(?![A-Za-z0-9])")
_STATUS_OR_NUMBER = re.compile(r"(?<![A-Za-z0-9.])([1-5]\d\d)(?= [A-Z][A-Za-z-]+)|\d+(?:\.\d+)?")
_SPACES = re.compile(r"\s+")
_MAX_MESSAGE_CHARS = 300


def normalise_message(message: str | None, app_id: str | None = None) -> str:
    """A message with its variable parts replaced, so that the same error reads the same every time.

    ``<app>`` (the record's own app id), ``<email>``, ``<url>``, ``<time>`` (ISO dates and times), ``<id>``
    (uuids, hex and long numeric ids with at least one digit), ``<token>`` (JWTs, bearer credentials), ``<n>``
    (other numbers). A 1xx–5xx status code followed by a capitalised reason phrase is kept ("503 Service
    Unavailable"). Whitespace is collapsed; the result is at most 300 characters."""
    if not message:
        return ""
    text = message
    if app_id:
        text = text.replace(app_id, "<app>")
    text = _EMAIL.sub("<email>", text)
    text = _URL.sub("<url>", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} <token>", text)
    text = _JWT.sub("<token>", text)
    text = _ISO_TIME.sub("<time>", text)
    text = _UUID.sub("<id>", text)
    text = _HEX_ID.sub("<id>", text)
    text = _STATUS_OR_NUMBER.sub(lambda m: m.group(1) or "<n>", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:_MAX_MESSAGE_CHARS]


def _group_id(origin: str | None, http_code: int | None, message: str, event_type: str | None) -> str:
    key = "\x1f".join([origin or "", "" if http_code is None else str(http_code), message, event_type or ""])
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


def fingerprinted_errors(records: pl.LazyFrame) -> pl.LazyFrame:
    """ERROR records with ``message_norm`` and ``group_id`` (the fingerprint's short, stable hash)."""
    errors = records.filter(pl.col("state") == "ERROR")
    keys = ["origin", "http_code", "event_type", "app_id", "message"]
    # Normalise each distinct message once, in Python (the regexes need look-arounds Polars' engine lacks).
    distinct = errors.select(keys).unique().with_columns(
        _fp=pl.struct(keys).map_elements(
            lambda r: _fingerprint_row(r),
            return_dtype=pl.Struct({"message_norm": pl.String, "group_id": pl.String}),
        )
    ).unnest("_fp")
    return errors.join(distinct, on=keys, how="left", nulls_equal=True)


def _fingerprint_row(row: dict[str, Any]) -> dict[str, str]:
    norm = normalise_message(row["message"], row["app_id"])
    return {"message_norm": norm, "group_id": _group_id(row["origin"], row["http_code"], norm, row["event_type"])}


_SENSITIVE_KEY_PARTS = (
    "token", "secret", "password", "passwd", "authorization", "apikey", "email", "phone", "name", "text",
    "cookie", "session", "credential", "signature", "address",
)  # fmt: skip
MASK = "***"


def _sensitive(key: str) -> bool:
    flat = re.sub(r"[^a-z]", "", key.lower())
    return any(part in flat for part in _SENSITIVE_KEY_PARTS)


def mask_text(text: str) -> str:
    """E-mails, bearer/basic credentials, JWTs and long hex secrets in free text replaced by ``***``."""
    text = _EMAIL.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _JWT.sub(MASK, text)
    return re.sub(r"(?<![A-Za-z0-9])(?=[A-Za-z_]*\d)[A-Za-z0-9_]{20,}(?![A-Za-z0-9])", MASK, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if _sensitive(str(k)) and v is not None else _mask_value(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_payload(payload: str | None) -> str | None:
    """A payload safe to show: in JSON, the values of keys naming secrets or personal data (token, secret,
    password, authorization, apiKey, email, phone, name, text, cookie, session, ...) become ``***``; in any
    string (and in non-JSON payloads) e-mails, credentials and long tokens are masked."""
    if payload is None:
        return None
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        return mask_text(payload)
    return json.dumps(_mask_value(doc), ensure_ascii=False)


def error_groups(records: pl.LazyFrame, as_of: datetime, *, trend_days: int = 14) -> pl.LazyFrame:
    """One row per fingerprint, most frequent first: ``group_id, origin, http_code, event_type, message,
    count, first_seen, last_seen, app_ids, trend`` (daily counts over the last ``trend_days`` days up to
    ``as_of``, oldest first) and a sample (the latest record): ``sample_request_id, sample_app_id,
    sample_created_time, sample_message, sample_payload`` (masked)."""
    if trend_days < 1:
        raise ValueError("trend_days must be at least 1")
    as_of_lit = _lit_time(as_of)
    errors = fingerprinted_errors(records.filter(pl.col("created_time") <= as_of_lit))
    first_day = as_of_lit.dt.truncate("1d") - pl.duration(days=trend_days - 1)
    trend = (
        errors.with_columns(day_index=((pl.col("created_time").dt.truncate("1d") - first_day).dt.total_days()))
        .filter(pl.col("day_index") >= 0)
        .group_by("group_id", "day_index")
        .len()
        .group_by("group_id")
        .agg(
            trend=pl.concat_list(
                [pl.col("len").filter(pl.col("day_index") == i).sum().cast(pl.Int64) for i in range(trend_days)]
            ).first()
        )
    )
    latest = pl.col("created_time").arg_max()
    groups = errors.group_by("group_id").agg(
        origin=pl.col("origin").first(),
        http_code=pl.col("http_code").first(),
        event_type=pl.col("event_type").first(),
        message=pl.col("message_norm").first(),
        count=pl.len().cast(pl.Int64),
        first_seen=pl.col("created_time").min(),
        last_seen=pl.col("created_time").max(),
        app_ids=pl.col("app_id").unique().sort(),
        sample_request_id=pl.col("request_id").get(latest),
        sample_app_id=pl.col("app_id").get(latest),
        sample_created_time=pl.col("created_time").get(latest),
        sample_message=pl.col("message").get(latest),
        sample_payload=pl.col("payload").get(latest),
    )
    empty_trend = pl.lit([0] * trend_days, dtype=pl.List(pl.Int64))
    return (
        groups.join(trend, on="group_id", how="left")
        .with_columns(
            trend=pl.col("trend").fill_null(empty_trend),
            sample_message=pl.col("sample_message").map_elements(mask_text, return_dtype=pl.String),
            sample_payload=pl.col("sample_payload").map_elements(mask_payload, return_dtype=pl.String),
        )
        .sort(["count", "last_seen"], descending=True)
    )


def error_group_trend(records: pl.LazyFrame, *, every: str = "1d") -> pl.LazyFrame:
    """Long form for charts: ``group_id, message, bucket, count`` per ``every`` (a Polars duration string)."""
    return (
        fingerprinted_errors(records)
        .with_columns(bucket=pl.col("created_time").dt.truncate(every))
        .group_by("group_id", "bucket")
        .agg(message=pl.col("message_norm").first(), count=pl.len().cast(pl.Int64))
        .sort("bucket", "group_id")
    )


# --------------------------------------------------------------------------------------------------------------
# Incidents


def incidents(
    records: pl.LazyFrame,
    as_of: datetime,
    *,
    window: timedelta = WINDOW,
    by: Sequence[str] = SCOPE,
    slow_after_s: float | None = DEFAULT_SLOW_AFTER_S,
    merge_gap: timedelta | None = None,
    quiet_gap: timedelta = QUIET_GAP,
    min_failures: int = 1,
) -> pl.LazyFrame:
    """Maximal non-healthy intervals per scope (see the module docstring), oldest first; with
    ``min_failures`` > 1, those with fewer bad attempts (a lone background error) are left out.

    Columns: ``incident_id, by..., start, end`` (null while ongoing), ``ongoing, duration_s`` (to ``as_of``
    while ongoing), ``time_to_recovery_s, attempts, failures, errors, slow, error_rate, peak_error_rate,
    worst_state, down_s, top_group_id, top_http_code, top_message, top_count``."""
    by = _scope(by)
    merge_gap = window if merge_gap is None else merge_gap
    as_of_lit = _lit_time(as_of)
    att = attempts(records, as_of, slow_after_s=slow_after_s).sort(*by, "t")
    seq = att.with_columns(_good_so_far=(~pl.col("bad")).cast(pl.Int64).cum_sum().over(by))
    errors = fingerprinted_errors(records)
    bad = (
        seq.filter(pl.col("bad"))
        .join(errors.select("request_id", "message_norm"), on="request_id", how="left")
        .sort(*by, "t")
        # The same failure, whichever call met it (event type aside): HTTP code and normalised message.
        .with_columns(
            _kind=pl.concat_str([pl.col("http_code").cast(pl.String).fill_null(""), pl.col("message_norm")])
            .fill_null("slow")
        )
        .with_columns(
            _prev_t=pl.col("t").shift(1).over(by),
            _prev_good=pl.col("_good_so_far").shift(1).over(by),
            _prev_kind=pl.col("_kind").shift(1).over(by),
        )
    )
    gap = pl.col("t") - (pl.col("_prev_t") + window)
    # Silence is not recovery when the same failure resumes: nothing succeeded in between, same error group.
    same_failure_after_silence = (
        ((pl.col("_good_so_far") - pl.col("_prev_good")) == 0) & (pl.col("_kind") == pl.col("_prev_kind"))
    )
    starts_new = pl.col("_prev_t").is_null() | (
        (gap >= merge_gap) & ~(same_failure_after_silence & (gap < quiet_gap))
    )
    spans = (
        bad.with_columns(_n=starts_new.cast(pl.Int64).cum_sum().over(by))
        .group_by(*by, "_n")
        .agg(
            start=pl.col("t").min(),
            _last_bad=pl.col("t").max(),
            _good_at_last=pl.col("_good_so_far").sort_by("t").last(),
        )
        .join(seq.group_by(by).agg(_good_total=(~pl.col("bad")).sum().cast(pl.Int64)), on=by, how="left")
        .with_columns(_until=pl.col("_last_bad") + window)
        .with_columns(
            # Not over while a later failure could still merge into it: nothing has succeeded since the last
            # failure and the quiet gap has not passed (silence is not recovery), or the window is still open.
            # (Whether that failure would be of the same group is unknown yet, so this errs towards ongoing.)
            ongoing=(pl.col("_until") > as_of_lit)
            | ((pl.col("_good_total") == pl.col("_good_at_last")) & (pl.col("_until") + quiet_gap > as_of_lit)),
        )
        .with_columns(
            end=pl.when(~pl.col("ongoing")).then(pl.col("_until")),
            _end_eff=pl.min_horizontal("_until", as_of_lit),
        )
        .with_columns(
            incident_id=pl.concat_str(
                [*[pl.col(c).fill_null("") for c in by], pl.col("start").dt.strftime("%Y%m%dT%H%M%S%.3fZ")],
                separator="|",
            )
        )
        .select("incident_id", *by, "start", "end", "ongoing", "_end_eff")
        .sort("start")
    )

    def within(frame: pl.LazyFrame, time_col: str) -> pl.LazyFrame:
        """Rows of ``frame`` (with scope and ``time_col``) inside an incident, tagged with its id."""
        return (
            frame.sort(time_col)
            .join_asof(
                spans.select(*by, "incident_id", "start", "_end_eff"),
                left_on=time_col,
                right_on="start",
                by=by,
                strategy="backward",
                check_sortedness=False,  # sorted by time globally, hence within every scope
            )
            .filter(pl.col("incident_id").is_not_null() & (pl.col(time_col) < pl.col("_end_eff")))
        )

    counts = (
        within(att, "t")
        .group_by("incident_id")
        .agg(
            attempts=pl.len().cast(pl.Int64),
            failures=pl.col("bad").sum().cast(pl.Int64),
            errors=pl.col("is_error").sum().cast(pl.Int64),
            slow=pl.col("is_slow").sum().cast(pl.Int64),
        )
    )
    points = health_points(records, as_of, window=window, by=by, slow_after_s=slow_after_s).cache()
    peaks = (
        within(points, "at")
        .group_by("incident_id")
        .agg(peak_error_rate=pl.col("error_rate").max(), _any_down=(pl.col("state") == DOWN).any())
    )
    timeline = _timeline_from_points(points, as_of, by)
    down = (
        within(timeline.filter(pl.col("state") == DOWN), "start")
        .group_by("incident_id")
        .agg(down_s=pl.col("duration_s").sum())
    )
    top = (
        within(errors.rename({"created_time": "t_err"}), "t_err")
        .group_by("incident_id", "group_id")
        .agg(
            top_http_code=pl.col("http_code").first(),
            top_message=pl.col("message_norm").first(),
            top_count=pl.len().cast(pl.Int64),
            _first=pl.col("t_err").min(),
        )
        .sort(["top_count", "_first"], descending=[True, False])
        .group_by("incident_id", maintain_order=True)
        .first()
        .select("incident_id", top_group_id=pl.col("group_id"), top_http_code="top_http_code",
                top_message="top_message", top_count="top_count")
    )  # fmt: skip
    seconds = pl.duration(milliseconds=1)
    return (
        spans.join(counts, on="incident_id", how="left")
        .join(peaks, on="incident_id", how="left")
        .join(down, on="incident_id", how="left")
        .join(top, on="incident_id", how="left")
        .with_columns(
            duration_s=(pl.col("_end_eff") - pl.col("start")) / seconds / 1000,
            time_to_recovery_s=(pl.col("end") - pl.col("start")) / seconds / 1000,
            error_rate=pl.col("failures") / pl.col("attempts"),
            down_s=pl.col("down_s").fill_null(0.0),
            worst_state=pl.when(pl.col("_any_down").fill_null(False)).then(pl.lit(DOWN)).otherwise(pl.lit(DEGRADED)),
        )
        .select(
            "incident_id", *by, "start", "end", "ongoing", "duration_s", "time_to_recovery_s", "attempts",
            "failures", "errors", "slow", "error_rate", "peak_error_rate", "worst_state", "down_s",
            "top_group_id", "top_http_code", "top_message", "top_count",
        )
        .filter(pl.col("failures") >= min_failures)
        .sort("start")
    )  # fmt: skip


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
    by = _scope(by)
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
        .with_columns(error_rate=pl.col("errors") / pl.col("attempts"))
        .sort(*by, "bucket")
    )


def pending_by_age(records: pl.LazyFrame, as_of: datetime, *, by: Sequence[str] = SCOPE) -> pl.LazyFrame:
    """Requests pending at ``as_of`` (created by then, no outcome by then) per scope and age bucket
    (:data:`PENDING_AGE_BUCKETS`): ``by..., age_bucket, bucket_order, pending, oldest_created_time``."""
    by = _scope(by)
    as_of_lit = _lit_time(as_of)
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
# Impact of incidents on conversations


def impact_conversations(facts: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """The conversation rows :func:`incident_impact` takes, from ``conversation_facts``: ``conversation_id,
    tags, created_time, first_response_seconds`` (calendar seconds from the human clock's start — the hand-off
    for bot-first conversations — to the first public agent response; null when not answered)."""
    return facts.lazy().select(
        "conversation_id",
        "tags",
        "created_time",
        first_response_seconds=(pl.col("first_response_time") - pl.col("clock_start")).dt.total_milliseconds()
        / 1000,
    )


def incident_impact(
    incident_frame: pl.LazyFrame,
    conversations: pl.LazyFrame,
    records: pl.LazyFrame | None = None,
    *,
    as_of: datetime | None = None,
    response_column: str = "first_response_seconds",
    time_column: str = "created_time",
    tag: str = AUTO_HANDOFF_TAG,
) -> pl.LazyFrame:
    """Conversations handed off automatically during each incident, and their first response vs the baseline.

    ``conversations``: ``conversation_id, tags, <time_column>, <response_column>`` (seconds; null when not
    answered). A conversation is *affected* by an incident when it carries ``tag`` and its ``time_column``
    (the hand-off; the conversation's creation by default, because an automatic hand-off happens when the
    first message cannot be delivered) falls in ``[start, end)`` (``end`` = ``as_of`` while ongoing). With
    ``records``, it must also have a request record of the incident's app id — so two incidents of different
    bots at the same time do not share conversations. The baseline is every conversation in the frame that no
    incident affected.

    Columns: ``incident_id, affected, answered, p50_first_response_s, p90_first_response_s,
    baseline_p50_first_response_s, baseline_p90_first_response_s, p50_delta_s`` (nearest-rank)."""
    if as_of is None:
        as_of = datetime.now().astimezone()
    spans = incident_frame.select(
        "incident_id", "app_id", "start", _end=pl.coalesce("end", _lit_time(as_of))
    )
    handed = conversations.filter(pl.col("tags").list.contains(tag)).select(
        "conversation_id", _handoff=pl.col(time_column), _response=pl.col(response_column).cast(pl.Float64)
    )
    affected = spans.join_where(handed, pl.col("_handoff") >= pl.col("start"), pl.col("_handoff") < pl.col("_end"))
    if records is not None:
        links = records.filter(pl.col("conversation_id").is_not_null()).select("conversation_id", "app_id").unique()
        affected = affected.join(links, on=["conversation_id", "app_id"], how="semi")
    # An incident per origin of the same app can list the same conversation; count it once per incident.
    affected = affected.unique(["incident_id", "conversation_id"])
    baseline = (
        conversations.join(affected.select("conversation_id").unique(), on="conversation_id", how="anti")
        .select(_response=pl.col(response_column).cast(pl.Float64))
        .select(
            baseline_p50_first_response_s=nearest_rank(pl.col("_response"), 0.5),
            baseline_p90_first_response_s=nearest_rank(pl.col("_response"), 0.9),
        )
    )
    per_incident = affected.group_by("incident_id").agg(
        affected=pl.len().cast(pl.Int64),
        answered=pl.col("_response").is_not_null().sum().cast(pl.Int64),
        p50_first_response_s=nearest_rank(pl.col("_response"), 0.5),
        p90_first_response_s=nearest_rank(pl.col("_response"), 0.9),
    )
    return (
        spans.select("incident_id", "start")
        .join(per_incident, on="incident_id", how="left")
        .join(baseline, how="cross")
        .with_columns(pl.col("affected", "answered").fill_null(0))
        .with_columns(p50_delta_s=pl.col("p50_first_response_s") - pl.col("baseline_p50_first_response_s"))
        .sort("start")
        .drop("start")
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
