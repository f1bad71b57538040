"""Error groups: a fingerprint per error (origin, HTTP code, normalised message, event type), and masking of
samples so no secret or personal value reaches a page (rules in :mod:`dashboard.metrics.automation`)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

import polars as pl

from dashboard.metrics.automation.health import lit_time

__all__ = [
    "MASK",
    "error_group_trend",
    "error_groups",
    "fingerprinted_errors",
    "mask_payload",
    "mask_text",
    "normalise_message",
]


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
    as_of_lit = lit_time(as_of)
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


