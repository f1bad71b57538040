"""``GET /api/v2/bots/currentTAR``: Khoros' own "current time to agent response", computed from the world.

Documented (Care Bot API v2 reference, ``khoros-care-api.md`` §12): Basic auth; ``timeRangeInMillis``
(required, at most a year, a live range like the Analytics UI's), ``priorities``, ``workqueueIds``,
``smartViewId`` (its own priority and queue settings win), ``responseType`` FIRST | SUBSEQUENT; the answer is
``{"status": "success", "data": {"avgTarTimeInMillis": ..., "medianTarTimeInMillis": ...}}``.

How Khoros computes it is not public. The simulator's definition (an assumption, stated in its README):

- **FIRST**: one interval per conversation, from ``tarStartDate`` — the hand-off to an agent
  (``HANDOFF_TO_AGENT``) for a conversation a bot had first, else its first inbound post — to the first public
  reply by an agent at or after it.
- **SUBSEQUENT**: one interval per customer burst after an agent's public reply: from the first inbound post
  after that reply to the next public agent reply (a reply at the same instant as the post answers it).
- Bot replies and private notes never end an interval. Calendar time, no business hours.
- **Live range**: the intervals whose *reply* falls in ``[now - timeRangeInMillis, now)``.
- **Filters**: a conversation's *current* priority and work queue (what a live view filters on).
- ``avgTarTimeInMillis`` = the mean, ``medianTarTimeInMillis`` = the median (the mean of the two middle values
  for an even count), both rounded to whole milliseconds, halves up; both null when no interval ended.

This is the simulator's own code, on the world's tables; it does not call ``dashboard.metrics``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.simulator.auth import basic_auth_ok
from dashboard.simulator.care import SMART_VIEWS
from dashboard.simulator.world import World

__all__ = ["MAX_RANGE_MS", "RESPONSE_TYPES", "current_tar", "routes"]

MAX_RANGE_MS = 365 * 86_400_000
RESPONSE_TYPES = ("FIRST", "SUBSEQUENT")


def _intervals(world: World, response_type: str) -> pl.DataFrame:
    """``conversation_id, start_ms, end_ms`` of every answered interval of ``response_type``."""
    t = world.tables
    posts = t["incoming_post"].select("conversation_id", at=pl.col("received_time").dt.epoch("ms"))
    replies = (t["response"].filter((pl.col("responder_type") == "AGENT") & pl.col("is_public"))
               .select("conversation_id", reply_at=pl.col("published_time").dt.epoch("ms")).sort("reply_at"))
    if response_type == "FIRST":
        handoffs = (t["conversation_history_action"].filter(pl.col("action") == "HANDOFF_TO_AGENT")
                    .group_by("conversation_id").agg(handoff=pl.col("action_time").min().dt.epoch("ms")))
        starts = (posts.group_by("conversation_id").agg(first_post=pl.col("at").min())
                  .join(handoffs, on="conversation_id", how="left")
                  .select("conversation_id", start_ms=pl.coalesce("handoff", "first_post")))
    else:
        # A burst starts at a post whose previous event (posts before replies at the same instant) is a reply.
        events = pl.concat([
            posts.select("conversation_id", "at", is_reply=pl.lit(False)),
            replies.select("conversation_id", at="reply_at", is_reply=pl.lit(True)),
        ]).sort("conversation_id", "at", "is_reply")
        previous_is_reply = (pl.col("is_reply").shift(1).over("conversation_id")).fill_null(False)
        starts = events.filter(~pl.col("is_reply") & previous_is_reply).select("conversation_id", start_ms="at")
    # Both sides are sorted by time; polars cannot check that within the ``by`` groups, so it is told.
    answered = starts.sort("start_ms").join_asof(replies, left_on="start_ms", right_on="reply_at",
                                                 by="conversation_id", strategy="forward", check_sortedness=False)
    return answered.filter(pl.col("reply_at").is_not_null()).select("conversation_id", "start_ms",
                                                                    end_ms="reply_at")


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def current_tar(world: World, *, range_ms: int, response_type: str = "FIRST", priorities: tuple[int, ...] = (),
                work_queue_ids: tuple[int, ...] = (), smart_view_id: int | None = None) -> dict[str, Any]:
    """``{"avgTarTimeInMillis", "medianTarTimeInMillis"}`` for the live range ending at the world's now."""
    if smart_view_id is not None:
        view = next(v for v in SMART_VIEWS if v["id"] == smart_view_id)
        priorities, work_queue_ids = tuple(view["priorities"]), tuple(view["workqueueIds"])
    now = int(world.now.timestamp() * 1000)
    conversations = world.tables["conversation"].select("conversation_id", "priority", "work_queue_id")
    if priorities:
        conversations = conversations.filter(pl.col("priority").is_in(list(priorities)))
    if work_queue_ids:
        conversations = conversations.filter(pl.col("work_queue_id").is_in(list(work_queue_ids)))
    intervals = (_intervals(world, response_type)
                 .join(conversations.select("conversation_id"), on="conversation_id", how="semi")
                 .filter((pl.col("end_ms") >= now - range_ms) & (pl.col("end_ms") < now)))
    durations = sorted((intervals["end_ms"] - intervals["start_ms"]).to_list())
    n = len(durations)
    if not n:
        return {"avgTarTimeInMillis": None, "medianTarTimeInMillis": None}
    middle = durations[n // 2] if n % 2 else _round_half_up(durations[n // 2 - 1] + durations[n // 2], 2)
    return {"avgTarTimeInMillis": _round_half_up(sum(durations), n), "medianTarTimeInMillis": middle}


def _ints(request: Request, name: str) -> tuple[int, ...]:
    out: list[int] = []
    for raw in request.query_params.getlist(name):
        for part in raw.split(","):
            if part.strip():
                out.append(int(part))
    return tuple(out)


async def current_tar_route(request: Request) -> Response:
    sim = request.app.state.sim
    if not basic_auth_ok(request, sim.options):
        return JSONResponse({"status": "fail", "message": "Unauthorized"}, status_code=401)

    def fail(message: str) -> Response:
        return JSONResponse({"status": "fail", "message": message}, status_code=400)

    raw_range = request.query_params.get("timeRangeInMillis")
    if not raw_range:
        return fail("timeRangeInMillis is required")
    try:
        range_ms = int(raw_range)
    except ValueError:
        return fail(f"timeRangeInMillis {raw_range!r} is not milliseconds")
    if not 0 < range_ms <= MAX_RANGE_MS:
        return fail("timeRangeInMillis must be positive and at most one year")
    response_type = request.query_params.get("responseType", "FIRST")
    if response_type not in RESPONSE_TYPES:
        return fail(f"responseType {response_type!r} must be FIRST or SUBSEQUENT")
    try:
        priorities, queues = _ints(request, "priorities"), _ints(request, "workqueueIds")
        raw_view = request.query_params.get("smartViewId")
        view = int(raw_view) if raw_view else None
    except ValueError:
        return fail("priorities, workqueueIds and smartViewId are comma-separated integers")
    if view is not None and view not in {v["id"] for v in SMART_VIEWS}:
        return JSONResponse({"status": "fail", "message": f"No smart view with id {view}"}, status_code=404)
    data = current_tar(sim.world, range_ms=range_ms, response_type=response_type, priorities=priorities,
                       work_queue_ids=queues, smart_view_id=view)
    return JSONResponse({"status": "success", "data": data})


def routes() -> list[Route]:
    return [Route("/api/v2/bots/currentTAR", current_tar_route, methods=["GET"])]
