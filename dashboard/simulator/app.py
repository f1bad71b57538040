"""The simulator's ASGI app: one host serving the three Khoros API families from one world.

- ``/api/public/...`` Analytics Reports (Basic auth + ``companyKey``): export jobs run -> status -> download,
  which answers 307 to a short-lived pre-signed link (``/signed/...``, no credentials allowed);
- ``/api/v2/...`` Care v2 (Basic auth): authors, conversations, work queues, tags, agent states, tokens;
- ``/bots/v3/...`` Bot API v3 (Bearer JWT): request records, health, registrations, token refresh;
- ``/__simulator__/stats`` request counts by route and status, ``/__simulator__/truth`` ground truth.

Bad requests get Khoros-like 4xx envelopes naming the parameter; nothing answers with a stack trace (a
catch-all turns unexpected errors into a 500 envelope). Rate limits (429 + ``Retry-After``), seeded faults
(``fault_rate``), permissions withheld (``forbidden_families``) and the server clock (``Date``, with
``clock_skew_s``) are applied in :mod:`dashboard.simulator.middleware`.

Job creation is GET with query parameters, or POST with ``companyKey`` in the query and every other parameter
in an ``x-www-form-urlencoded`` body — the two ways Khoros documents; a POST with export parameters in its query
or a JSON body is refused (400 / 415) so that a client using an undocumented shape finds out here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.schema import EXPORTS
from dashboard.simulator.auth import basic_auth_ok
from dashboard.simulator.exports import (
    ANALYTICS_EXPORTS,
    MAX_RANGE_MS,
    REPORT_TYPES,
    ExportRequest,
    ExportRequestError,
    column_ids,
    render,
    select_rows,
)
from dashboard.simulator.world import World
from dashboard.simulator.world.reference import LOCALE_TIME_FORMATS

__all__ = ["SimulatorOptions", "SimulatorState", "create_app"]


@dataclass(frozen=True)
class SimulatorOptions:
    username: str = "demo"
    password: str = "demo"  # noqa: S105 - the simulator's documented demo credential
    company_key: str = "demo"
    job_seconds: float = 0.0
    """How long an export job runs before it is CLOSED."""
    failed_job_rate: float = 0.0
    """Share of export jobs that end CLOSED/FAILED (on top of fault_rate)."""
    fault_rate: float = 0.0
    """Share of API requests answered with a fault (5xx, slow, dropped, truncated, expired link)."""
    seed: int = 0
    analytics_per_min: int = 20
    care_per_min: int = 60
    rate_window_s: float = 60.0
    slow_seconds: float = 1.5
    """Delay of a "slow response" fault."""
    token_ttl_s: float = 90 * 86400
    """Bot API JWT lifetime (Khoros: 90 days)."""
    token_grace_s: float = 600
    """How long a refreshed token's predecessor stays valid (Khoros: 10 minutes)."""
    bot_list_cap: int = 1000
    """Most request records one list call returns (newest first)."""
    fault_kinds: tuple[str, ...] = ("error_500", "error_503", "slow", "drop", "truncate", "expired_link",
                                    "failed_job")
    """Which faults ``fault_rate`` draws from (tests narrow it to one kind)."""
    download_link_ttl_s: float = 300.0
    """How long a pre-signed download link works (Khoros: "short-lived"; the real clock)."""
    clock_skew_s: float = 0.0
    """How far the simulator's clock (its ``Date`` header, token expiry) is ahead of the real one."""
    forbidden_families: tuple[str, ...] = ()
    """API families the credentials have no permission for (403): analytics, author, conversation, care, bot
    (bot also covers creating its token)."""
    drop_export_columns: tuple[str, ...] = ()
    """``EXPORT:COLUMN_ID`` entries the exports leave out (a tenant that does not export a column)."""

    def __post_init__(self) -> None:
        for name in ("job_seconds", "failed_job_rate", "fault_rate", "rate_window_s", "slow_seconds", "token_ttl_s",
                     "token_grace_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"SimulatorOptions.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("failed_job_rate", "fault_rate"):
            if getattr(self, name) > 1:
                raise ValueError(f"SimulatorOptions.{name} is a share between 0 and 1, got {getattr(self, name)}")
        from dashboard.simulator.middleware import FAULT_KINDS

        unknown = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if unknown or not self.fault_kinds:
            raise ValueError(f"SimulatorOptions.fault_kinds must be a non-empty subset of {FAULT_KINDS}, "
                             f"got {self.fault_kinds!r}")
        if self.analytics_per_min < 1 or self.care_per_min < 1:
            raise ValueError("SimulatorOptions rate limits must be at least 1 request per window")
        if self.download_link_ttl_s <= 0:
            raise ValueError("SimulatorOptions.download_link_ttl_s must be > 0")
        families = ("analytics", "author", "conversation", "care", "bot")
        bad = [f for f in self.forbidden_families if f not in families]
        if bad:
            raise ValueError(f"SimulatorOptions.forbidden_families: {bad[0]!r} is not one of {', '.join(families)}")
        for entry in self.drop_export_columns:
            export_id, _, column = entry.partition(":")
            if export_id not in ANALYTICS_EXPORTS or not column:
                raise ValueError(f"SimulatorOptions.drop_export_columns: {entry!r} is not EXPORT:COLUMN_ID with an "
                                 f"export of {', '.join(ANALYTICS_EXPORTS)}")

    def dropped_columns(self, export_id: str) -> tuple[str, ...]:
        return tuple(c for e, _, c in (x.partition(":") for x in self.drop_export_columns) if e == export_id)


JOBS_KEPT = 20_000
RENDERED_BODIES_KEPT = 8


@dataclass
class ExportJob:
    workflow_id: str
    run_id: str
    request: ExportRequest
    started: float
    failed: bool
    body: bytes | None = None


@dataclass
class SimulatorState:
    """Everything that changes while the simulator runs (jobs, counters, tokens), behind one lock."""

    world: World
    options: SimulatorOptions
    lock: threading.Lock = field(default_factory=threading.Lock)
    jobs: dict[str, ExportJob] = field(default_factory=dict)
    rendered: list[str] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)
    rng: np.random.Generator = field(init=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng([self.options.seed, self.world.config.seed, 0x5EED])

    def draw(self) -> float:
        with self.lock:
            return float(self.rng.random())

    def new_ids(self) -> tuple[str, str]:
        with self.lock:
            raw = self.rng.bytes(41)
        workflow = str(uuid.UUID(bytes=raw[:16], version=4))
        # Real run ids are base64-like and contain + / = (so clients must URL-encode them in paths):
        # 25 bytes give 36 characters ending in "==".
        run = base64.b64encode(raw[16:]).decode()
        return workflow, run


# ---- envelopes ----------------------------------------------------------------------------------------------


def analytics_ok(result: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"status": "PASS", "request": None, "message": None, "result": result},
                        status_code=status_code)


def analytics_fail(message: str, status_code: int = 400) -> JSONResponse:
    return JSONResponse({"status": "FAIL", "request": None, "message": message, "result": None},
                        status_code=status_code)


def care_fail(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"status": "fail", "message": message}, status_code=status_code)


def _state(request: Request) -> SimulatorState:
    return request.app.state.sim


class UnsupportedBody(ExportRequestError):
    """A POST body that is not x-www-form-urlencoded (415)."""


async def _params(request: Request) -> dict[str, list[str]]:
    """The request's parameters: the query of a GET; for a POST, ``companyKey`` from the query and everything
    else from the x-www-form-urlencoded body (Khoros: "pass all parameters except for companyKey in the request
    body")."""
    params: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        params.setdefault(k, []).append(v)
    if request.method != "POST":
        return params
    in_query = [k for k in params if k != "companyKey"]
    if in_query:
        raise ExportRequestError(f"POST: {in_query[0]} is in the query; pass export parameters as an "
                                 "x-www-form-urlencoded body (only companyKey goes in the query)")
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if body.strip() and "application/x-www-form-urlencoded" not in content_type:
        raise UnsupportedBody(f"POST body of type {content_type.split(';')[0] or 'unknown'!r}: send the export "
                              "parameters as application/x-www-form-urlencoded")
    # Parsed here rather than with request.form(), which needs the optional python-multipart package.
    for k, v in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        params.setdefault(k, []).append(v)
    return params


def _analytics_guard(request: Request, params: dict[str, list[str]]) -> JSONResponse | None:
    options = _state(request).options
    if not basic_auth_ok(request, options):
        return analytics_fail("Unauthorized: missing or wrong HTTP Basic credentials", 401)
    key = (params.get("companyKey") or [""])[0]
    if not key:
        return analytics_fail("companyKey is required (query parameter)", 400)
    if not hmac.compare_digest(key.encode(), options.company_key.encode()):
        return analytics_fail("Unauthorized: unknown companyKey", 401)
    return None


# ---- Analytics ----------------------------------------------------------------------------------------------


def _int_list(params: dict[str, list[str]], name: str) -> tuple[int, ...]:
    out: list[int] = []
    for raw in params.get(name, []):
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(int(part))
            except ValueError:
                raise ExportRequestError(f"{name}: {part!r} is not an integer (comma-separated list)") from None
    return tuple(out)


def parse_export_request(export_id: str, params: dict[str, list[str]], world: World) -> ExportRequest:
    if export_id not in ANALYTICS_EXPORTS:
        raise ExportRequestError(
            f"Unknown export id {export_id!r}; supported: {', '.join(ANALYTICS_EXPORTS)}")

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    times = {}
    for name in ("startTime", "endTime"):
        raw = one(name)
        if raw is None or raw == "":
            raise ExportRequestError(f"{name} is required (epoch milliseconds)")
        try:
            times[name] = int(raw)
        except ValueError:
            raise ExportRequestError(f"{name}: {raw!r} is not epoch milliseconds") from None
    start, end = times["startTime"], times["endTime"]
    if end <= start:
        raise ExportRequestError(f"endTime ({end}) must be after startTime ({start})")
    if end - start > MAX_RANGE_MS:
        raise ExportRequestError(
            f"Date range too large: {(end - start) / 86_400_000:.1f} days requested, at most 31 days per export")
    fmt = (one("reportFormat") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ExportRequestError(f"reportFormat {fmt!r} is not supported (json or csv)")
    known = column_ids(world, export_id)  # case-sensitive, as Khoros' arguments are
    columns: list[str] = []
    for metric in params.get("reportMetrics", []):
        for name in metric.split(","):
            name = name.strip()
            if name and name not in known:
                raise ExportRequestError(
                    f"reportMetrics: unknown column {name!r} for export {export_id}; known: {', '.join(known)}")
            if name and known[name] not in columns:
                columns.append(known[name])
    tz = one("timezone")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ExportRequestError(f"timezone {tz!r} is not a time zone id from /config/timezones") from None
    offset = None
    raw_offset = one("timezoneOffset")
    if raw_offset:
        try:
            offset = int(raw_offset)
        except ValueError:
            raise ExportRequestError(f"timezoneOffset {raw_offset!r} is not milliseconds") from None
    report_type = (one("conversationReportType") or "OPEN_AT_END").upper()
    if export_id == "conversation" and report_type not in REPORT_TYPES:
        raise ExportRequestError(
            f"conversationReportType {report_type!r} is not one of {', '.join(REPORT_TYPES)}")
    business_hours = None
    raw_type = one("businessHourType")
    if raw_type not in (None, "", "null"):
        if raw_type.lower() not in ("true", "false"):
            raise ExportRequestError(f"businessHourType {raw_type!r} must be true, false or absent")
        if (one("enableBusinessHour") or "false").lower() != "true":
            raise ExportRequestError("enableBusinessHour must be true when businessHourType is set")
        business_hours = raw_type.lower() == "true"
    locale = one("locale")
    if locale and locale.lower().replace("-", "_") not in LOCALE_TIME_FORMATS:
        raise ExportRequestError(f"locale {locale!r} is not one of {', '.join(sorted(LOCALE_TIME_FORMATS))}")
    priorities = _int_list(params, "priorities")
    if any(p < 0 or p > 5 for p in priorities):
        raise ExportRequestError(f"priorities must be between 0 and 5, got {list(priorities)}")
    return ExportRequest(
        export_id=export_id, start_ms=start, end_ms=end, fmt=fmt,
        columns=tuple(columns), timezone=tz, timezone_offset_ms=offset, report_type=report_type,
        priorities=priorities, work_queue_ids=_int_list(params, "workqueueIds"),
        team_ids=_int_list(params, "teamIds"), business_hours=business_hours, locale=locale or None,
    )


def _job_urls(request: Request, job: ExportJob, ready: bool) -> dict[str, str]:
    sim = _state(request)
    base = str(request.base_url).rstrip("/")
    path = f"{base}/api/public/reports/report/{quote(job.workflow_id, safe='')}/{quote(job.run_id, safe='')}"
    key = quote(sim.options.company_key, safe="")
    return {
        "workflowId": job.workflow_id,
        "runId": job.run_id,
        "downloadUrl": f"{path}/download?companyKey={key}" if ready else "",
        "statusUrl": f"{path}/status?companyKey={key}",
    }


async def run_export(request: Request) -> Response:
    try:
        params = await _params(request)
    except ExportRequestError as exc:
        return analytics_fail(str(exc), 415 if isinstance(exc, UnsupportedBody) else 400)
    denied = _analytics_guard(request, params)
    if denied:
        return denied
    sim = _state(request)
    try:
        req = parse_export_request(request.path_params["export_id"], params, sim.world)
    except ExportRequestError as exc:
        return analytics_fail(str(exc), 400)
    workflow, run = sim.new_ids()
    kinds = sim.options.fault_kinds
    # A FAILED job is one of the fault kinds: it gets its share of fault_rate, on top of failed_job_rate.
    from_faults = sim.options.fault_rate / len(kinds) if "failed_job" in kinds else 0.0
    fail_share = min(1.0, sim.options.failed_job_rate + from_faults)
    failed = fail_share > 0 and sim.draw() < fail_share
    job = ExportJob(workflow, run, req, time.monotonic(), failed)
    with sim.lock:
        sim.jobs[workflow] = job
        if len(sim.jobs) > JOBS_KEPT:  # like expired links: the oldest jobs are forgotten
            sim.jobs.pop(next(iter(sim.jobs)))
    return analytics_ok(_job_urls(request, job, ready=False))


def _find_job(request: Request) -> ExportJob | None:
    job = _state(request).jobs.get(request.path_params["workflow_id"])
    if job is None or job.run_id != request.path_params["run_id"]:
        return None
    return job


def _job_done(sim: SimulatorState, job: ExportJob) -> bool:
    return time.monotonic() - job.started >= sim.options.job_seconds


async def job_status(request: Request) -> Response:
    params = await _params(request)
    denied = _analytics_guard(request, params)
    if denied:
        return denied
    sim = _state(request)
    job = _find_job(request)
    if job is None:
        return analytics_fail("No export job with this workflowId and runId", 404)
    done = _job_done(sim, job)
    ready = done and not job.failed
    inner = {
        "runnerState": "CLOSED" if done else "RUNNING",
        "reason": "Export failed while running the report" if done and job.failed else None,
        "detail": ("FAILED" if job.failed else "COMPLETED") if done else "",
        "currentCount": None,
        "totalCount": None,
        "lastAcknowledgeTime": None,
    }
    body = {"jobInfo": _job_urls(request, job, ready=ready), "result": inner}
    # Khoros quirk: "ready" answers carry an object, "running" and "failed" ones a one-element array.
    return analytics_ok(body if ready else [body])


def _signature(sim: SimulatorState, workflow: str, run: str, expires: int) -> str:
    key = hashlib.sha256(f"khoros-sim-links/{sim.options.seed}/{sim.options.password}".encode()).digest()
    return hmac.new(key, f"{workflow}|{run}|{expires}".encode(), hashlib.sha256).hexdigest()


async def job_download(request: Request) -> Response:
    """307 to a pre-signed link valid ``download_link_ttl_s``; ask again for a fresh one (do not re-run)."""
    params = await _params(request)
    denied = _analytics_guard(request, params)
    if denied:
        return denied
    sim = _state(request)
    job = _find_job(request)
    if job is None:
        return analytics_fail("No export job with this workflowId and runId", 404)
    if not _job_done(sim, job):
        return analytics_fail("Export job is still running; poll statusUrl until runnerState is CLOSED", 409)
    if job.failed:
        return analytics_fail("Export job FAILED; run the export again", 410)
    expires = math.ceil(time.time() + sim.options.clock_skew_s + sim.options.download_link_ttl_s)
    base = str(request.base_url).rstrip("/")
    link = (f"{base}/signed/reports/{quote(job.workflow_id, safe='')}/{quote(job.run_id, safe='')}"
            f"?expires={expires}&signature={_signature(sim, job.workflow_id, job.run_id, expires)}")
    return Response(status_code=307, headers={"Location": link})


def _storage_error(code: str, message: str, status_code: int) -> Response:
    # Object storage answers in XML, not in Khoros' envelopes.
    body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status_code=status_code, media_type="application/xml")


async def signed_download(request: Request) -> Response:
    """The export file behind a pre-signed link: refused with an Authorization header (only one auth mechanism
    is allowed), refused once expired."""
    if "authorization" in request.headers:
        return _storage_error("InvalidArgument", "Only one auth mechanism allowed; only the signature query "
                              "parameters or the Authorization header should be specified", 400)
    sim = _state(request)
    job = _find_job(request)
    try:
        expires = int(request.query_params.get("expires", ""))
    except ValueError:
        return _storage_error("AccessDenied", "Query-string authentication requires the expires parameter", 403)
    signature = request.query_params.get("signature", "")
    if job is None or not hmac.compare_digest(signature, _signature(sim, job.workflow_id, job.run_id, expires)):
        return _storage_error("SignatureDoesNotMatch", "The request signature we calculated does not match", 403)
    if expires < time.time() + sim.options.clock_skew_s or request.scope.get("sim_expired_link"):
        return _storage_error("AccessDenied", "Request has expired", 403)
    if job.body is None:
        # Rendering a month of a large world takes a while: keep the event loop free for other requests.
        dropped = sim.options.dropped_columns(job.request.export_id)
        job.body = await run_in_threadpool(
            lambda: render(select_rows(sim.world, job.request), job.request, sim.world, drop=dropped))
        # Bodies are deterministic, so only the last few are kept; an older link renders again.
        with sim.lock:
            sim.rendered.append(job.workflow_id)
            while len(sim.rendered) > RENDERED_BODIES_KEPT:
                old = sim.jobs.get(sim.rendered.pop(0))
                if old is not None and old is not job:
                    old.body = None
    media = "application/json" if job.request.fmt == "json" else "text/csv; charset=utf-8"
    return Response(job.body, media_type=media)


async def timezones(request: Request) -> Response:
    params = await _params(request)
    denied = _analytics_guard(request, params)
    if denied:
        return denied
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    out = []
    for name in ("Etc/GMT+12", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
                 "America/Sao_Paulo", "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Kolkata",
                 "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney"):
        offset = now.astimezone(ZoneInfo(name)).utcoffset()
        ms = int(offset.total_seconds() * 1000) if offset is not None else 0
        sign = "+" if ms >= 0 else "-"
        minutes = abs(ms) // 60000
        text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        out.append({"id": name, "name": f"GMT{text}", "shortName": f"GMT{text}", "offsetString": text,
                    "offsetMillis": ms})
    return analytics_ok(out)


async def analytics_teams(request: Request) -> Response:
    params = await _params(request)
    denied = _analytics_guard(request, params)
    if denied:
        return denied
    world = _state(request).world
    members = world.agents.group_by("team_id").len()
    counts = dict(zip(members["team_id"].to_list(), members["len"].to_list(), strict=True))
    teams = [
        {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/team/{row['team_id']}")), "teamId": row["team_id"],
         "name": row["name"], "description": f"Simulated team {row['name']}",
         "numberOfMembers": counts.get(row["team_id"], 0)}
        for row in world.teams.iter_rows(named=True)
    ]
    return analytics_ok(teams)


# ---- simulator's own routes -----------------------------------------------------------------------------------


async def sim_stats(request: Request) -> Response:
    sim = _state(request)
    with sim.lock:
        items = sorted(sim.stats.items())
    by_route: dict[str, dict[str, int]] = {}
    for (route, status), count in items:
        by_route.setdefault(route, {})[str(status)] = count
    # Pre-signed links stand for object storage: Khoros would not count them, so "total" does not either.
    storage = [(route, c) for (route, _), c in items if route.startswith("GET /signed/")]
    total = sum(c for _, c in items) - sum(c for _, c in storage)
    throttled = sum(c for (_, s), c in items if s == 429)
    return JSONResponse({"total": total, "throttled": throttled, "downloads": sum(c for _, c in storage),
                         "routes": by_route})


async def sim_stats_reset(request: Request) -> Response:
    sim = _state(request)
    with sim.lock:
        sim.stats.clear()
    return JSONResponse({"total": 0, "throttled": 0, "downloads": 0, "routes": {}})


async def sim_truth(request: Request) -> Response:
    world = _state(request).world
    limit_raw = request.query_params.get("limit")
    truth = world.truth
    if limit_raw is not None:
        try:
            truth = truth.head(max(0, int(limit_raw)))
        except ValueError:
            return JSONResponse({"status": "fail", "message": f"limit {limit_raw!r} is not an integer"}, 400)
    times = [c for c, dt in truth.schema.items() if dt == EXPORTS["conversation"].column("created_time").dtype]
    rows = truth.with_columns([truth[c].dt.epoch("ms") for c in times]).to_dicts()
    return JSONResponse({
        "world": world.summary(),
        "schedule": world.schedule,
        "bot_app_ids": world.bots["app_id"].to_list(),
        "bots": world.bots.to_dicts(),
        "incidents": [
            {**inc, "start": int(inc["start"].timestamp() * 1000), "end": int(inc["end"].timestamp() * 1000)}
            for inc in world.incidents
        ],
        "time_unit": "epoch ms",
        "conversations": rows,
    })


def _routes() -> list[Route]:
    from dashboard.simulator import bots, care, tar

    analytics = [
        Route("/api/public/config/timezones", timezones, methods=["GET"]),
        Route("/api/public/teams", analytics_teams, methods=["GET"]),
        Route("/api/public/reports/report/{workflow_id}/{run_id:path}/status", job_status, methods=["GET"]),
        Route("/api/public/reports/report/{workflow_id}/{run_id:path}/download", job_download, methods=["GET"]),
        Route("/api/public/reports/report/{export_id}", run_export, methods=["GET", "POST"]),
        Route("/signed/reports/{workflow_id}/{run_id:path}", signed_download, methods=["GET"]),
    ]
    own = [
        Route("/__simulator__/stats", sim_stats, methods=["GET"]),
        Route("/__simulator__/stats/reset", sim_stats_reset, methods=["POST"]),
        Route("/__simulator__/truth", sim_truth, methods=["GET"]),
    ]
    return analytics + care.routes() + bots.routes() + tar.routes() + own


def _family_error(request: Request, status_code: int, message: str) -> JSONResponse:
    from dashboard.simulator.middleware import error_envelope, family_of

    return JSONResponse(error_envelope(family_of(request.url.path), message), status_code=status_code)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _family_error(request, 404, f"No such endpoint: {request.method} {request.url.path}")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _family_error(request, 405, f"Method {request.method} is not allowed on {request.url.path}")


def create_app(world: World, options: SimulatorOptions | None = None) -> Starlette:
    """The simulator as a Starlette app (in-process via httpx.ASGITransport, or served by uvicorn)."""
    from dashboard.simulator.middleware import SimulatorMiddleware

    options = options or SimulatorOptions()
    app = Starlette(routes=_routes(), exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.sim = SimulatorState(world, options)
    app.add_middleware(SimulatorMiddleware, state=app.state.sim)
    return app
