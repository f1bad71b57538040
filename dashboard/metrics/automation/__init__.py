"""Automation health from Bot API v3 request records: health, incidents, error groups, latency, impact.

The package re-exports everything; the code lives in :mod:`.health` (attempts, the rolling-window states,
error and success rates, latency and pending requests, the token), :mod:`.error_groups` (fingerprints and
masking), :mod:`.incidents` and :mod:`.impact`.

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

from dashboard.metrics.automation.error_groups import (
    MASK,
    error_group_trend,
    error_groups,
    fingerprinted_errors,
    mask_payload,
    mask_text,
    normalise_message,
)
from dashboard.metrics.automation.health import (
    DEFAULT_SLOW_AFTER_S,
    DEGRADED,
    DOWN,
    DOWN_MIN_ATTEMPTS,
    HEALTHY,
    PENDING_AGE_BUCKETS,
    SCOPE,
    TOKEN_WARN_BEFORE,
    WINDOW,
    TokenStatus,
    attempts,
    error_rate,
    health_now,
    health_points,
    health_timeline,
    pending_by_age,
    request_timeseries,
    success_rate,
    success_rate_by_day,
    success_rate_in_window,
    token_status,
)
from dashboard.metrics.automation.impact import AUTO_HANDOFF_TAG, impact_conversations, incident_impact
from dashboard.metrics.automation.incidents import QUIET_GAP, incidents
from dashboard.metrics.stats import nearest_rank

__all__ = [
    "AUTO_HANDOFF_TAG",
    "DEFAULT_SLOW_AFTER_S",
    "DEGRADED",
    "DOWN",
    "DOWN_MIN_ATTEMPTS",
    "HEALTHY",
    "MASK",
    "PENDING_AGE_BUCKETS",
    "QUIET_GAP",
    "SCOPE",
    "TOKEN_WARN_BEFORE",
    "WINDOW",
    "TokenStatus",
    "attempts",
    "error_group_trend",
    "error_groups",
    "error_rate",
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
    "success_rate",
    "success_rate_by_day",
    "success_rate_in_window",
    "token_status",
]
