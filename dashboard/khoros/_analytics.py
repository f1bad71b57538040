"""Analytics Reports API: export jobs (run -> poll -> download), time zones and teams.

How the client asks (``khoros-care-api.md`` §2 and §12):

- **Job creation** is a POST with ``companyKey`` in the query and every other parameter in an
  ``x-www-form-urlencoded`` body, as Khoros documents for POST.
- **All columns by default.** Column ids are case-sensitive and Khoros publishes few of them, so
  ``reportMetrics`` is sent only when asked for, and only ids from :data:`DOCUMENTED_REPORT_METRICS`.
- **Times in UTC.** Export times are text in the company's format; the client asks for ``timezone=UTC``
  (unless the caller asks for another zone), so no local time — and no repeated daylight-saving hour — has to
  be placed. The download remembers the zone and the configured format it is read with.
- **Downloads**: ``/download`` answers 307 to a short-lived pre-signed link that must get no credentials. httpx
  keeps the Authorization header on a same-origin redirect, so the client follows the redirect itself, with no
  auth and no query of its own. An expired link (403) makes it ask ``/download`` again (up to
  ``link_attempts`` times) before the job is run again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from dashboard.khoros._parsers import analytics_result, as_list, epoch_ms, job_state
from dashboard.khoros.errors import (
    AuthenticationError,
    BadResponseError,
    ExportJobError,
    ExportJobFailed,
    ExportJobTimeout,
    ExportLinkExpired,
    RequestRejectedError,
    scrub,
)
from dashboard.khoros.models import ExportDownload, Team

__all__ = ["ANALYTICS_EXPORT_IDS", "DOCUMENTED_REPORT_METRICS", "MAX_EXPORT_DAYS", "REQUEST_TIMEZONE", "AnalyticsAPI"]

MAX_EXPORT_DAYS = 31
"""Longest window one export job may cover (the simulator's rule; Khoros publishes none, gap 5)."""
ANALYTICS_EXPORT_IDS = ("conversation", "incoming_post", "response", "conversation_history_action", "author",
                        "raw_agent_states", "team_performance")
DOCUMENTED_REPORT_METRICS: dict[str, tuple[str, ...]] = {
    # The Quick Start's example (docs/get-started-with-the-analytics-reports-api); ids are case-sensitive.
    "conversation": ("CONVERSATION_ID", "STATUS", "ASSIGNED_AGENT_DISPLAY_ID"),
}
"""The only ``reportMetrics`` ids the client sends: ones seen in Khoros' reference for that export."""
REQUEST_TIMEZONE = "UTC"
"""The zone the client asks exports to write their times in."""
OPEN_WINDOW_TTL_S = 300.0
"""Cache lifetime of a window that is not settled yet (shorter than the sync's refresh interval)."""
REFERENCE_TTL_S = 3600.0
_REDIRECTS = (301, 302, 303, 307, 308)

_FILTERS = {
    "report_type": "conversationReportType",
    "priorities": "priorities",
    "work_queue_ids": "workqueueIds",
    "team_ids": "teamIds",
    "smart_view_id": "smartViewId",
    "timezone": "timezone",
    "timezone_offset_ms": "timezoneOffset",
    "locale": "locale",
    "include_disabled": "includeDisabled",
    "raise_limit": "raiselimit",
    "business_hours": "businessHourType",
}


def _as_param(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


class AnalyticsAPI:
    """The Analytics Reports calls of :class:`~dashboard.khoros.client.KhorosClient` (a mixin of ``ClientCore``)."""

    def run_export(self, export_id: str, start: datetime, end: datetime, *, fmt: str = "json", settled: bool = False,
                   metrics: tuple[str, ...] | list[str] | None = None, **filters: Any) -> ExportDownload:
        """Run one export job for ``[start, end)``, poll it, download the file.

        ``filters``: report_type (conversation: CREATED | CLOSED | OPEN_AT_END), priorities, work_queue_ids,
        team_ids, smart_view_id, timezone (default UTC), timezone_offset_ms, locale, include_disabled,
        raise_limit, business_hours. ``metrics``: a subset of :data:`DOCUMENTED_REPORT_METRICS` (default: every
        column). A FAILED job, or a link that stays expired, is run again up to ``job_attempts`` times.

        ``settled``: the caller knows the window's rows no longer change (the sync's settle policy); the
        download is then cached without expiry, else for ``OPEN_WINDOW_TTL_S``.
        """
        if export_id not in ANALYTICS_EXPORT_IDS:
            raise ValueError(f"unknown Analytics export {export_id!r}; known: {', '.join(ANALYTICS_EXPORT_IDS)}")
        fmt = fmt.lower()
        if fmt not in ("json", "csv"):
            raise ValueError(f"report format {fmt!r}: json or csv")
        start_ms, end_ms = epoch_ms(start), epoch_ms(end)
        if end_ms <= start_ms:
            raise ValueError(f"export window end {end.isoformat()} is not after start {start.isoformat()}")
        if end_ms - start_ms > MAX_EXPORT_DAYS * 86_400_000:
            raise ValueError(f"export window {start:%Y-%m-%d}..{end:%Y-%m-%d} is longer than {MAX_EXPORT_DAYS} "
                             "days; split it")
        params: dict[str, Any] = {"startTime": str(start_ms), "endTime": str(end_ms), "reportFormat": fmt}
        if filters.get("timezone") is None and filters.get("timezone_offset_ms") is None:
            filters["timezone"] = REQUEST_TIMEZONE
        for name, value in sorted(filters.items()):
            if value is None:
                continue
            if name not in _FILTERS:
                raise ValueError(f"unknown export filter {name!r}; known: {', '.join(_FILTERS)}")
            params[_FILTERS[name]] = _as_param(value)
        if metrics:
            allowed = DOCUMENTED_REPORT_METRICS.get(export_id, ())
            unknown = [m for m in metrics if m not in allowed]
            if unknown:
                raise ValueError(f"reportMetrics {unknown[0]!r} is not a documented column id of the {export_id} "
                                 f"export (documented: {', '.join(allowed) or 'none'}); leave metrics out to get "
                                 "every column")
            params["reportMetrics"] = list(dict.fromkeys(metrics))
        offset = filters.get("timezone_offset_ms")
        timing = {"time_format": self.export_time_format,
                  "time_zone": None if offset is not None and filters.get("timezone") is None
                  else str(filters["timezone"]),
                  "time_offset_ms": int(offset) if offset is not None and filters.get("timezone") is None else None}
        window = f"{start.astimezone(UTC):%Y-%m-%dT%H:%MZ}..{end.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
        endpoint = f"export:{export_id}"
        if self.cache is not None:
            hit = self.cache.get(endpoint, params)
            if hit is not None:
                return ExportDownload(hit, fmt, "", "", 0, export_id, start, end, jobs=0, from_cache=True, links=0,
                                      **timing)

        last: ExportJobError | None = None
        with self._session.scope() as used:
            for attempt in range(1, self.job_attempts + 1):
                try:
                    workflow, run, body, links = self._one_job(export_id, params, window, attempt)
                except ExportJobError as exc:
                    last = exc
                    continue
                if self.cache is not None:
                    self.cache.set(endpoint, params, body, expire=None if settled else OPEN_WINDOW_TTL_S)
                return ExportDownload(body, fmt, workflow, run, used.requests, export_id, start, end, jobs=attempt,
                                      links=links, **timing)
        assert last is not None
        kind = type(last)
        raise kind(f"{export_id} export for {window}: {last.reason} (gave up after {self.job_attempts} jobs)",
                   export_id=export_id, window=window, reason=last.reason, attempts=self.job_attempts,
                   method=last.method, url=last.url, status=last.status)

    def _one_job(self, export_id: str, params: dict[str, Any], window: str, attempt: int
                 ) -> tuple[str, str, bytes, int]:
        # POST: companyKey in the query, everything else form-encoded in the body (Khoros' documented POST).
        answer = self._send("POST", self._url("analytics", f"reports/report/{export_id}"),
                            params=self._analytics_params(), form=params)
        job = analytics_result(self._json(answer), answer.url)
        if not isinstance(job, dict) or not job.get("workflowId") or not job.get("runId"):
            raise BadResponseError(f"{answer.url}: export run answer has no workflowId/runId")
        workflow, run = str(job["workflowId"]), str(job["runId"])
        status_url = job.get("statusUrl") or self._url(
            "analytics", f"reports/report/{quote(workflow, safe='')}/{quote(run, safe='')}/status")
        download_url = job.get("downloadUrl") or ""

        def fail(kind: type[ExportJobError], reason: str, **where: Any) -> ExportJobError:
            return kind(f"{export_id} export for {window}: {reason}", export_id=export_id, window=window,
                        reason=reason, attempts=attempt, **where)

        delay = self.poll.first_delay_s
        waited = 0.0
        while not download_url:
            if waited >= self.poll.timeout_s:
                raise fail(ExportJobTimeout, f"job still running after {self.poll.timeout_s:.0f} s")
            self.sleep(delay)
            waited += delay
            delay = min(self.poll.max_delay_s, delay * self.poll.factor)
            status = self._send("GET", status_url, params=self._status_params(status_url))
            info, state = job_state(self._json(status), status.url)
            runner, detail = state.get("runnerState"), state.get("detail")
            if runner == "CLOSED" and detail == "FAILED":
                reason = state.get("reason") or "job ended CLOSED/FAILED"
                raise fail(ExportJobFailed, f"job FAILED ({scrub(str(reason), self._secrets())})")
            if runner == "CLOSED" and detail == "COMPLETED":
                download_url = info.get("downloadUrl") or ""
                if not download_url:
                    raise BadResponseError(f"{status.url}: job COMPLETED without a downloadUrl")
        body, links = self._download(download_url, fail)
        if params["reportFormat"] == "json" and not body.lstrip().startswith(b"["):
            raise BadResponseError(f"GET {download_url.split('?')[0]}: JSON export download is not a JSON array")
        return workflow, run, body, links

    def _download(self, download_url: str, fail: Any) -> tuple[bytes, int]:
        """The file behind ``download_url``: its 307 is followed with no credentials; an expired link (403) is
        asked for again, ``link_attempts`` times, before the job has to run again."""
        expired: Any = None
        for link in range(1, self.link_attempts + 1):
            try:
                answer = self._send("GET", download_url, params=self._status_params(download_url))
            except RequestRejectedError as exc:
                if exc.status == 410:
                    raise fail(ExportJobFailed, "download gone (job FAILED)", method=exc.method, url=exc.url,
                               status=exc.status) from None
                raise
            if answer.status not in _REDIRECTS:
                return answer.body, link  # a server that hands out the file itself
            location = answer.headers.get("location")
            if not location:
                raise BadResponseError(f"GET {answer.url}: HTTP {answer.status} without a Location",
                                       method="GET", url=answer.url, status=answer.status)
            try:
                # No credentials and no query of ours: the pre-signed link carries its own signature.
                return self._send("GET", location, auth="none").body, link
            except AuthenticationError as exc:
                expired = exc  # 403 from a pre-signed link: it has expired; ask for a fresh one
        raise fail(ExportLinkExpired, f"download link expired {self.link_attempts} times", method=expired.method,
                   url=expired.url, status=expired.status)

    def _status_params(self, url: str) -> dict[str, Any] | None:
        # statusUrl/downloadUrl carry their own companyKey or analyticsAccessToken; add ours only if absent.
        if "companyKey=" in url or "analyticsAccessToken=" in url:
            return None
        return self._analytics_params()

    # ---- reference -----------------------------------------------------------------------------------------

    def teams(self, *, fresh: bool = False) -> list[Team]:
        """The teams; ``fresh``: ask Khoros, not the response cache (a sync refreshing names)."""
        data = analytics_result(self._cached_get("analytics", "teams", self._analytics_params(),
                                                 None if fresh else REFERENCE_TTL_S), "teams")
        return [Team(int(t["teamId"]), str(t.get("name") or ""), t.get("description"), t.get("numberOfMembers"),
                     t.get("uuid")) for t in as_list(data, "teams")]

    def timezones(self) -> list[str]:
        """The zone ids the Analytics API accepts as ``timezone`` (``GET /config/timezones``)."""
        data = analytics_result(self._cached_get("analytics", "config/timezones", self._analytics_params(),
                                                 REFERENCE_TTL_S), "time zones")
        return [str(z["id"]) for z in as_list(data, "time zones") if isinstance(z, dict) and z.get("id")]
