"""Care v2 routes (``/api/v2/...``, HTTP Basic): authors, conversations, reference data and bot tokens.

Shapes follow ``khoros-care-api.md`` §3-§6 and §7.1. Where the reference leaves a shape open, the simulator
chooses and the client relies on exactly this (see the module's functions):
- an author's CRM attributes (``tier``, ``region``, ``lifetime_value``, ``crm_id``) are under ``attributes``
  (current values; ``PUT /authors/{id}`` overlays them); the author's network id is ``handles.<net>[0].id``;
- ``GET /conversations/{id}`` answers ``data`` as one object; by display id and by source document as arrays;
- a display-id lookup processes at most 20 ids; the others, and ids not found, are listed in
  ``_meta`` = ``{"message": "Some conversations could not be processed.", "displayIds": [...]}`` (Khoros
  documents the message and the cap, not the shape);
- smart views carry the filters ``currentTAR`` applies for them (``SMART_VIEWS``).
All timestamps are epoch ms. Windows (``/changed``, an author's conversations) are at most 24 hours.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import polars as pl
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.schema import TIME
from dashboard.simulator.auth import basic_auth_ok, issue_token

__all__ = ["author_payload", "conversation_payload", "routes"]

PAGE_SIZE = 30
DISPLAY_IDS_PER_CALL = 20
SMART_VIEWS = (
    {"id": 501, "name": "Premier open", "description": "Open conversations of top-tier customers",
     "workqueueIds": (10,), "priorities": ()},
    {"id": 502, "name": "Urgent", "description": "Priority 4 and 5", "workqueueIds": (), "priorities": (4, 5)},
)
DAY_MS = 86_400_000
HANDLE_CLASS = {
    "twitter": "TwitterSpecificAuthorData",
    "facebook": "FacebookSpecificAuthorData",
}
ATTRIBUTES = ("tier", "region", "lifetime_value", "crm_id")


def _ok(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status_code)


def _fail(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"status": "fail", "message": message}, status_code=status_code)


def _sim(request: Request):
    return request.app.state.sim


def _guard(request: Request) -> JSONResponse | None:
    if not basic_auth_ok(request, _sim(request).options):
        return _fail("Unauthorized", 401)
    return None


def _epoch(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, int):
        return v
    return int(v.timestamp() * 1000)


def _network_id(crm_id: str) -> str:
    return str(9_000_000_000 + int(crm_id.split("-")[-1]))


def _crm_from_network_id(network_id: str) -> str | None:
    try:
        value = int(network_id) - 9_000_000_000
    except ValueError:
        return None
    return f"CRM-{value}" if value > 0 else None


def _window(request: Request) -> tuple[int, int] | JSONResponse:
    """``startEpochMillis`` (required) and ``endEpochMillis`` (default start + 24 h), at most 24 hours apart."""
    raw_start = request.query_params.get("startEpochMillis")
    raw_end = request.query_params.get("endEpochMillis")
    if not raw_start:
        return _fail("startEpochMillis is required (epoch milliseconds)", 400)
    try:
        start = int(raw_start)
        end = int(raw_end) if raw_end else start + DAY_MS
    except ValueError:
        return _fail("startEpochMillis and endEpochMillis must be epoch milliseconds", 400)
    if end <= start:
        return _fail("endEpochMillis must be after startEpochMillis", 400)
    if end - start > DAY_MS:
        return _fail("The requested period is longer than 24 hours; request at most 24 hours at a time", 400)
    return start, end


# ---- authors --------------------------------------------------------------------------------------------------


def _current_versions(sim) -> pl.DataFrame:
    """The latest version of every author (cached: the world does not change)."""
    cached = sim.extra.get("authors_current")
    if cached is None:
        cached = (
            sim.world.tables["author"].sort("updated_time")
            .group_by("author_id", maintain_order=True).last()
            .sort("crm_id")
        )
        sim.extra["authors_current"] = cached
    return cached


def author_payload(sim, row: dict[str, Any]) -> dict[str, Any]:
    overrides = sim.extra.setdefault("author_overrides", {}).get(row["author_id"], {})
    attributes = {k: row.get(k) for k in ATTRIBUTES} | overrides.get("attributes", {})
    number = int(row["crm_id"].split("-")[-1])
    network = row["network"]
    handle = {
        "@class": HANDLE_CLASS.get(network, "ExternalSpecificAuthorData"),
        "lswUuid": row["author_id"],
        "displayNumber": number,
        "id": _network_id(row["crm_id"]),
        "name": row["display_name"],
        "screenName": row["handle"],
        "profileUrl": f"https://{network}.example.com/{row['handle']}",
        "avatarUrl": None,
        "networkinstance": "default",
    }
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/person/{row['author_id']}")),
        "displayNumber": number,
        "handles": {network: [handle]},
        "tags": [],
        "notes": [],
        "timezone": ["-18000"],
        "attributes": attributes,
        "lastUpdatedMillis": max(_epoch(row["updated_time"]) or 0, overrides.get("updated", 0)),
    }


def _authors_where(sim, expr: pl.Expr) -> list[dict[str, Any]]:
    return [author_payload(sim, r) for r in _current_versions(sim).filter(expr).iter_rows(named=True)]


async def author_by_id(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    found = _authors_where(sim, pl.col("author_id") == request.path_params["author_id"])
    if not found:
        return _fail(f"No author found with id {request.path_params['author_id']}", 404)
    return _ok(found)


async def author_update(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    author_id = request.path_params["author_id"]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _fail("Error parsing HTTP body. Error details: body is not JSON", 400)
    if not isinstance(body, dict) or not all(isinstance(v, (str, int, float, bool)) for v in body.values()):
        return _fail("Error parsing HTTP body. Error details: expected a flat object of attribute values", 400)
    current = _current_versions(sim).filter(pl.col("author_id") == author_id)
    if current.is_empty():
        return _fail(f"No author found with id {author_id}", 404)
    if current["network"][0] in ("twitter", "facebook", "instagram"):
        return _fail("Updating attributes of Twitter, Facebook or Instagram authors is not supported", 400)
    with sim.lock:
        entry = sim.extra.setdefault("author_overrides", {}).setdefault(author_id, {"attributes": {}})
        entry["attributes"].update({k: str(v) for k, v in body.items()})
        entry["updated"] = int(sim.world.now.timestamp() * 1000)
    return _ok(_authors_where(sim, pl.col("author_id") == author_id))


async def author_list(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    raw = request.query_params.get("offset", "0")
    try:
        offset = int(raw)
    except ValueError:
        return _fail(f"offset {raw!r} is not an integer", 400)
    if offset < 0:
        return _fail("offset must be >= 0", 400)
    current = _current_versions(sim)
    page = current.slice(offset, PAGE_SIZE)
    data: dict[str, Any] = {"personList": [author_payload(sim, r) for r in page.iter_rows(named=True)]}
    if offset + PAGE_SIZE < current.height:
        data["nextPageUrl"] = f"{str(request.base_url).rstrip('/')}/api/v2/authors?offset={offset + PAGE_SIZE}"
    return _ok(data)


async def authors_changed(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    window = _window(request)
    if isinstance(window, JSONResponse):
        return window
    sim = _sim(request)
    start, end = window
    t = pl.col("updated_time")
    frame = sim.world.tables["author"].filter((t >= _lit(start)) & (t < _lit(end)))
    ids = frame.sort("updated_time", "author_id")["author_id"].unique(maintain_order=True).to_list()
    for author_id, entry in sorted(sim.extra.get("author_overrides", {}).items()):
        if start <= entry.get("updated", -1) < end and author_id not in ids:
            ids.append(author_id)
    return _ok(ids)


def _lit(ms: int) -> pl.Expr:
    return pl.lit(ms).cast(pl.Int64).cast(TIME)


def _author_by_network(sim, network: str, network_id: str | None = None, handle: str | None = None):
    expr = pl.col("network") == network
    if network_id is not None:
        crm = _crm_from_network_id(network_id)
        if crm is None:
            return []
        expr &= pl.col("crm_id") == crm
    if handle is not None:
        expr &= pl.col("handle") == handle
    return _authors_where(sim, expr)


async def author_by_network(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    p = request.path_params
    network = p["networktype"]
    if network not in set(sim.world.tables["author"]["network"].unique().to_list()):
        return _fail(f"Error parsing HTTP body. Error details: Unsupported author data container format! "
                     f"Unknown network type {network!r}", 400)
    found = _author_by_network(sim, network, p.get("networkid"), p.get("networkhandle"))
    if not found:
        return _fail("No author found for this network address", 404)
    if request.method == "PUT":
        return await _update_found(request, found[0]["handles"][network][0]["lswUuid"])
    return _ok(found)


async def _update_found(request: Request, author_id: str) -> Response:
    request.scope["path_params"] = {"author_id": author_id}
    return await author_update(request)


def _conversations_of(sim, author_ids: list[str], start: int, end: int) -> list[str]:
    t = pl.col("created_time")
    conv = sim.world.tables["conversation"].filter(
        pl.col("author_id").is_in(author_ids) & (t >= _lit(start)) & (t < _lit(end))
    )
    return conv.sort("created_time")["conversation_id"].to_list()


async def author_conversations(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    window = _window(request)
    if isinstance(window, JSONResponse):
        return window
    sim = _sim(request)
    p = request.path_params
    if "author_id" in p:
        ids = [p["author_id"]]
        if _current_versions(sim).filter(pl.col("author_id") == p["author_id"]).is_empty():
            return _fail(f"No author found with id {p['author_id']}", 404)
    else:
        found = _author_by_network(sim, p["networktype"], p.get("networkid"), p.get("networkhandle"))
        if not found:
            return _fail("No author found for this network address", 404)
        ids = [a["handles"][p["networktype"]][0]["lswUuid"] for a in found]
    return _ok(_conversations_of(sim, ids, *window))


# ---- conversations ------------------------------------------------------------------------------------------


def conversation_payload(sim, row: dict[str, Any]) -> dict[str, Any]:
    world = sim.world
    cid = row["conversation_id"]
    posts = world.tables["incoming_post"].filter(pl.col("conversation_id") == cid)
    responses = world.tables["response"].filter(pl.col("conversation_id") == cid)
    agents = {a["agent_id"]: a for a in world.agents.iter_rows(named=True)}
    tag_ids = dict(zip(world.tags["name"].to_list(), world.tags["tag_id"].to_list(), strict=True))
    messages: list[dict[str, Any]] = []
    for p in posts.iter_rows(named=True):
        messages.append({
            "documentId": p["post_id"], "conversationDisplayId": row["conversation_display_id"],
            "network": p["network"], "networkinstance": "default", "lswUuid": p["post_id"],
            "author": {"authorId": p["author_id"], "lswUuid": p["author_id"], "network": p["network"]},
            "receiveDate": _epoch(p["received_time"]), "publishDate": _epoch(p["received_time"]),
            "isPrivate": not p["is_public"], "inReplySourceId": None, "documentType": "INCOMING",
            "text": "(customer message)",
        })
    for r in responses.iter_rows(named=True):
        agent = agents.get(r["agent_id"] or "")
        messages.append({
            "documentId": r["response_id"], "conversationDisplayId": row["conversation_display_id"],
            "network": row["network"], "networkinstance": "default", "lswUuid": r["response_id"],
            "author": ({"name": agent["agent_name"], "email": agent["agent_email"], "lswUuid": agent["agent_id"]}
                       if agent else {"name": r["bot_app_id"], "lswUuid": r["bot_app_id"]}),
            "receiveDate": _epoch(r["published_time"]), "publishDate": _epoch(r["published_time"]),
            "isPrivate": not r["is_public"], "inReplySourceId": r["in_reply_to_post_id"],
            "documentType": "NOTE" if not r["is_public"] else "RESPONSE",
            "text": "(agent note)" if not r["is_public"] else "(response)",
        })
    messages.sort(key=lambda m: (m["publishDate"], m["documentId"]))
    agent = agents.get(row["assigned_agent_id"] or "")
    public_responses = responses.filter(pl.col("is_public")).height
    return {
        "lswUuid": cid,
        "displayNumber": row["conversation_display_id"],
        "status": row["status"],
        "priority": row["priority"],
        "workQueue": {"id": row["work_queue_id"],
                      "lswUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/queue/{row['work_queue_id']}"))},
        "assignedToAgent": ({"name": agent["agent_name"], "email": agent["agent_email"], "lswUuid": agent["agent_id"]}
                            if agent else None),
        "createDate": _epoch(row["created_time"]),
        "tarStartDate": _epoch(row["created_time"]),
        "closeDate": _epoch(row["closed_time"]),
        "customDisposition": row["disposition"],
        "network": row["network"],
        "authorId": row["author_id"],
        "tags": [{"creator": {"type": "SYSTEM"}, "tagId": tag_ids.get(name), "name": name} for name in row["tags"]],
        "totalResponses": public_responses,
        "hasResponse": public_responses > 0,
        "primaryDocId": messages[0]["documentId"] if messages else None,
        "messages": messages,
        "responsePortalLink": f"https://care.example.com/portal/conversation/{row['conversation_display_id']}",
    }


async def conversation_by_id(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    rows = sim.world.tables["conversation"].filter(pl.col("conversation_id") == request.path_params["conversation_id"])
    if rows.is_empty():
        return _fail(f"No conversation found with id {request.path_params['conversation_id']}", 404)
    return _ok(conversation_payload(sim, rows.row(0, named=True)))


async def conversation_by_display_id(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    raw = request.path_params["display_id"]
    numbers: list[int] = []
    for part in raw.split(","):
        try:
            numbers.append(int(part))
        except ValueError:
            return _fail(f"display id {part!r} is not a number", 400)
    asked, beyond = numbers[:DISPLAY_IDS_PER_CALL], numbers[DISPLAY_IDS_PER_CALL:]
    rows = sim.world.tables["conversation"].filter(pl.col("conversation_display_id").is_in(asked))
    if rows.is_empty() and not beyond:
        return _fail(f"No conversation found with display id {raw}", 404)
    found = set(rows["conversation_display_id"].to_list())
    unprocessed = [n for n in asked if n not in found] + beyond
    body: dict[str, Any] = {"status": "success",
                            "data": [conversation_payload(sim, r) for r in rows.iter_rows(named=True)]}
    if unprocessed:
        body["_meta"] = {"message": "Some conversations could not be processed.", "displayIds": unprocessed}
    return JSONResponse(body)


async def conversations_by_author(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    window = _window(request)
    if isinstance(window, JSONResponse):
        return window
    sim = _sim(request)
    p = request.path_params
    author_id = p["author_id"]
    ids = [author_id]
    # The author may be addressed by its Care id or by its network id.
    by_network = _author_by_network(sim, p["networktype"], network_id=author_id)
    if by_network:
        ids.append(by_network[0]["handles"][p["networktype"]][0]["lswUuid"])
    return _ok(_conversations_of(sim, ids, *window))


async def conversation_by_source_document(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    doc = request.path_params["document_id"]
    posts = sim.world.tables["incoming_post"].filter(pl.col("post_id") == doc)["conversation_id"]
    responses = sim.world.tables["response"].filter(pl.col("response_id") == doc)["conversation_id"]
    ids = posts.to_list() + responses.to_list()
    if not ids:
        return _fail(f"No conversations found that contain document with id {doc}", 404)
    rows = sim.world.tables["conversation"].filter(pl.col("conversation_id").is_in(ids))
    return _ok([conversation_payload(sim, r) for r in rows.iter_rows(named=True)])


# ---- reference data -----------------------------------------------------------------------------------------


async def work_queues(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    world = _sim(request).world
    data = [
        {"archived": False, "description": f"{q['kind']} queue", "id": q["id"], "name": q["name"],
         "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/queue/{q['id']}"))}
        for q in world.work_queues.iter_rows(named=True)
    ]
    return JSONResponse({"data": data})  # this endpoint has no "status" key


async def smart_views(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    data = [{"description": v["description"], "id": v["id"], "name": v["name"]} for v in SMART_VIEWS]
    return JSONResponse({"data": data, "status": "success"})


async def tags(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    world = _sim(request).world
    now = int(world.now.timestamp() * 1000)
    data = []
    for row in world.tags.iter_rows(named=True):
        parent = "Bot Handoff > " if row["name"] == "Automatic Bot Handoff" else ""
        data.append({
            "updatedMillis": now - 30 * DAY_MS, "tagId": row["tag_id"],
            "lswUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-sim/tag/{row['tag_id']}")),
            "name": row["name"], "hierarchy": parent + row["name"], "internalHierarchy": str(row["tag_id"]),
            "tagColor": "#3b82f6", "url": None, "typeValue": "CONVERSATION", "visibilityValue": "PUBLIC",
            "tagState": "ENABLED", "tagPartition": "COMPANY",
        })
    return _ok(data)


async def agent_states(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    world = _sim(request).world
    now = int(world.now.timestamp() * 1000)
    data = [
        {"name": s["name"], "id": s["id"], "deleted": False, "allowActions": s["type"] == "AVAILABLE",
         "visibleForAllTeams": True, "keepAssignedConversations": s["type"] != "OFFLINE", "type": s["type"],
         "lastUpdatedTimeInMillis": now - 90 * DAY_MS}
        for s in world.agent_state_types.iter_rows(named=True)
    ]
    return _ok(data)


# ---- tokens (Basic auth here; refreshed and invalidated through Bot v3) ----------------------------------------


def _known_app(sim, app_id: str) -> bool:
    return app_id in set(sim.world.bots["app_id"].to_list())


async def token_create(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    owner = request.path_params["owner_id"]
    if not _known_app(sim, owner):
        return _fail(f"No bot registration found for ownerId {owner}", 404)
    if owner in sim.extra.get("tokens", {}):
        return _fail("A token at this path already exists.", 409)
    return _ok(issue_token(sim, owner))


async def token_get(request: Request) -> Response:
    denied = _guard(request)
    if denied:
        return denied
    sim = _sim(request)
    record = sim.extra.get("tokens", {}).get(request.path_params["owner_id"])
    if record is None:
        return _fail("No token exists at this path.", 404)
    return _ok(record)


def routes() -> list[Route]:
    net = "/api/v2/authors/networks/{networktype}"
    return [
        Route("/api/v2/authors", author_list, methods=["GET"]),
        Route("/api/v2/authors/changed", authors_changed, methods=["GET"]),
        Route(net + "/ids/{networkid}", author_by_network, methods=["GET", "PUT"]),
        Route(net + "/instances/{networkinstance}/ids/{networkid}", author_by_network, methods=["GET", "PUT"]),
        Route(net + "/handles/{networkhandle}", author_by_network, methods=["GET"]),
        Route(net + "/instances/{networkinstance}/handles/{networkhandle}", author_by_network, methods=["GET"]),
        Route(net + "/ids/{networkid}/conversations", author_conversations, methods=["GET"]),
        Route(net + "/instances/{networkinstance}/ids/{networkid}/conversations", author_conversations,
              methods=["GET"]),
        Route(net + "/handles/{networkhandle}/conversations", author_conversations, methods=["GET"]),
        Route(net + "/instances/{networkinstance}/handles/{networkhandle}/conversations", author_conversations,
              methods=["GET"]),
        Route("/api/v2/authors/{author_id}/conversations", author_conversations, methods=["GET"]),
        Route("/api/v2/authors/{author_id}", author_by_id, methods=["GET"]),
        Route("/api/v2/authors/{author_id}", author_update, methods=["PUT"]),
        Route("/api/v2/conversations/displayIds/{display_id}", conversation_by_display_id, methods=["GET"]),
        Route("/api/v2/conversations/bySourceDocumentId/networks/{network}/instances/{instance}/id/{document_id}",
              conversation_by_source_document, methods=["GET"]),
        Route("/api/v2/conversations/networks/{networktype}/instances/{networkinstance}/ids/{author_id}",
              conversations_by_author, methods=["GET"]),
        Route("/api/v2/conversations/{conversation_id}", conversation_by_id, methods=["GET"]),
        Route("/api/v2/workqueues/active", work_queues, methods=["GET"]),
        Route("/api/v2/smartviews", smart_views, methods=["GET"]),
        Route("/api/v2/tags", tags, methods=["GET"]),
        Route("/api/v2/agentstate", agent_states, methods=["GET"]),
        Route("/api/v2/tokens/khorosapi/ownerId/{owner_id}", token_create, methods=["POST"]),
        Route("/api/v2/tokens/khorosapi/ownerId/{owner_id}", token_get, methods=["GET"]),
    ]
