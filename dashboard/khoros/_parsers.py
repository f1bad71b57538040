"""Reading Khoros' answers: the three envelopes, job states, authors, conversations, tokens, request records.

Every function checks the documented shape (``khoros-care-api.md`` §10) and raises
:class:`~dashboard.khoros.errors.BadResponseError` naming what is missing, never a ``KeyError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dashboard.khoros.errors import BadResponseError, BotTokenError
from dashboard.khoros.models import Author, BotToken, Conversation, from_ms

__all__ = [
    "analytics_result",
    "as_list",
    "author_of",
    "care_data",
    "conversation_of",
    "day_windows",
    "epoch_ms",
    "flat_record",
    "job_state",
    "server_message",
    "token_of",
]


def epoch_ms(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError(f"{t!r} has no time zone; pass an aware datetime (UTC)")
    return int(t.timestamp() * 1000)


def server_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):
            return data["message"]
        err = data.get("error")
        if isinstance(err, dict):
            if isinstance(err.get("message"), str):
                return err["message"]
            if isinstance(err.get("messages"), list):
                return "; ".join(str(m) for m in err["messages"])
        if isinstance(data.get("errors"), list):
            return "; ".join(str(m) for m in data["errors"])
    return ""


def analytics_result(data: Any, where: str) -> Any:
    if not isinstance(data, dict) or "result" not in data:
        raise BadResponseError(f"{where}: not an Analytics envelope (no 'result')")
    if str(data.get("status", "PASS")).upper() != "PASS":
        raise BadResponseError(f"{where}: Analytics status {data.get('status')!r}: {data.get('message')}")
    return data["result"]


def job_state(data: Any, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    result = analytics_result(data, where)
    if isinstance(result, list):  # Khoros quirk: running/failed answers wrap the object in an array
        result = result[0] if result else None
    if not isinstance(result, dict) or not isinstance(result.get("result"), dict):
        raise BadResponseError(f"{where}: job status has no result object")
    info = result.get("jobInfo") if isinstance(result.get("jobInfo"), dict) else {}
    return info, result["result"]


def care_data(data: Any, what: str) -> Any:
    if not isinstance(data, dict) or "data" not in data:
        raise BadResponseError(f"{what}: not a Care envelope (no 'data')")
    if str(data.get("status", "success")).lower() not in ("success", "pass"):
        raise BadResponseError(f"{what}: status {data.get('status')!r}")
    return data["data"]


def as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadResponseError(f"{what}: expected a list")
    return value


def day_windows(start: datetime, end: datetime) -> Iterator[tuple[int, int]]:
    a, b = epoch_ms(start), epoch_ms(end)
    if b <= a:
        raise ValueError("window end must be after start")
    while a < b:
        yield a, min(b, a + 86_400_000)
        a += 86_400_000


def author_of(p: dict[str, Any]) -> Author:
    handles = p.get("handles") if isinstance(p.get("handles"), dict) else {}
    network, first = None, {}
    for net, entries in handles.items():
        if isinstance(entries, list) and entries:
            network, first = net, entries[0]
            break
    attributes = p.get("attributes") if isinstance(p.get("attributes"), dict) else {}
    return Author(
        id=str(first.get("lswUuid") or p.get("id")),
        display_number=p.get("displayNumber"),
        network=network,
        handle=first.get("screenName") or first.get("name"),
        name=first.get("name"),
        attributes={str(k): str(v) for k, v in attributes.items() if v is not None},
        raw=p,
    )


def conversation_of(c: dict[str, Any]) -> Conversation:
    queue = c.get("workQueue") if isinstance(c.get("workQueue"), dict) else {}
    agent = c.get("assignedToAgent") if isinstance(c.get("assignedToAgent"), dict) else {}
    tags = tuple(str(t.get("name") or t.get("tagId")) for t in c.get("tags") or [] if isinstance(t, dict))
    return Conversation(
        id=str(c.get("lswUuid")),
        display_number=c.get("displayNumber"),
        status=c.get("status"),
        priority=c.get("priority"),
        work_queue_id=queue.get("id"),
        assigned_agent_id=agent.get("lswUuid"),
        created_time=from_ms(c.get("createDate")),
        closed_time=from_ms(c.get("closeDate")),
        tags=tags,
        raw=c,
    )


def token_of(app: str, data: Any) -> BotToken:
    if not isinstance(data, dict) or not data.get("token"):
        raise BotTokenError(f"token answer for {app} has no token")
    expires = data.get("expiresAtMillis") or data.get("expiresAtMillis: ")
    when = from_ms(expires)
    if when is None:
        raise BotTokenError(f"token answer for {app} has no expiresAtMillis")
    return BotToken(app, str(data["token"]), when)


def flat_record(r: Any) -> dict[str, Any]:
    """A Bot API v3 request record flattened for ``schema.parse_rows("bot_request", ...)``.

    ``details.code`` -> ``code``, ``details.message`` -> ``message``; the event and its conversation come
    from the documented ``payload`` (a JSON string): ``event_type`` = ``payload.operation`` (CREATED, CLOSED,
    AGENT_RESPONSE) or else ``payload.type`` (message, update, ...), ``conversation_id`` =
    ``payload.conversation.conversationUuid``. A payload that is not JSON leaves both empty."""
    if not isinstance(r, dict):
        raise BadResponseError("request record is not an object")
    out = {k: v for k, v in r.items() if k not in ("details", "callbackUrl", "companyKey")}
    details = r.get("details") if isinstance(r.get("details"), dict) else {}
    out["code"] = details.get("code")
    out["message"] = details.get("message")
    event = _payload_object(r.get("payload"))
    conversation = event.get("conversation") if isinstance(event.get("conversation"), dict) else {}
    kind = event.get("operation") or event.get("type")
    out["event_type"] = str(kind) if kind is not None else None
    uuid = conversation.get("conversationUuid")
    out["conversation_id"] = str(uuid) if uuid else None
    return out


def _payload_object(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    if not isinstance(payload, str):
        return {}
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
