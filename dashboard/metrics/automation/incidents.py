"""Incidents: maximal non-healthy intervals per scope, merged across short gaps and across silences that
are not recovery (rules in :mod:`dashboard.metrics.automation`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from dashboard.metrics.automation.error_groups import fingerprinted_errors
from dashboard.metrics.automation.health import (
    DEFAULT_SLOW_AFTER_S,
    DEGRADED,
    DOWN,
    SCOPE,
    WINDOW,
    _timeline_from_points,
    attempts,
    error_rate,
    health_points,
    lit_time,
    scope_columns,
)

__all__ = ["QUIET_GAP", "incidents"]

QUIET_GAP = timedelta(minutes=15)
"""Silence shorter than this between two failures of the same kind does not end an incident."""




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
    by = scope_columns(by)
    merge_gap = window if merge_gap is None else merge_gap
    as_of_lit = lit_time(as_of)
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
            error_rate=error_rate(pl.col("failures"), pl.col("attempts")),
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


