"""Care v2 (HTTP Basic on the instance host): reference data, authors, conversations, and Khoros' own
"time to agent response" (``/api/v2/bots/currentTAR``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from dashboard.khoros._parsers import as_list, author_of, care_data, conversation_of, day_windows
from dashboard.khoros.errors import BadResponseError
from dashboard.khoros.models import (
    AgentStateType,
    Author,
    Conversation,
    CurrentTar,
    DisplayIdLookup,
    Tag,
    WorkQueue,
)

__all__ = ["DISPLAY_IDS_PER_CALL", "MAX_TAR_RANGE", "TAR_RESPONSE_TYPES", "CareAPI"]

REFERENCE_TTL_S = 3600.0
RECORD_TTL_S = 60.0
DISPLAY_IDS_PER_CALL = 20
"""Khoros processes at most 20 display ids per lookup (reference ``displayidsdisplaynumber-1``)."""
TAR_RESPONSE_TYPES = ("FIRST", "SUBSEQUENT")
MAX_TAR_RANGE = timedelta(days=365)


def _numbers_in(meta: Any) -> list[int]:
    """Display numbers listed anywhere in a ``_meta`` object (its shape beyond the message is undocumented)."""
    found: list[int] = []
    values = meta.values() if isinstance(meta, dict) else meta if isinstance(meta, list) else []
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, bool):
                continue
            if isinstance(item, int) or (isinstance(item, str) and item.isdigit()):
                found.append(int(item))
    return found


class CareAPI:
    """The Care v2 calls of :class:`~dashboard.khoros.client.KhorosClient` (a mixin of ``ClientCore``)."""

    def _record(self, collection: str, kind: str, record_id: str) -> dict[str, Any]:
        """One record by id from ``api/v2/<collection>/<id>``, which answers a list or a single object."""
        data = care_data(self._cached_get("care", f"api/v2/{collection}/{quote(record_id, safe='')}", None,
                                          RECORD_TTL_S), kind)
        found = data[0] if isinstance(data, list) and data else data
        if not isinstance(found, dict):
            raise BadResponseError(f"{kind} {record_id}: answer has no {kind}")
        return found

    # ---- reference data ----------------------------------------------------------------------------------

    def work_queues(self, *, fresh: bool = False) -> list[WorkQueue]:
        """The active work queues; ``fresh``: ask Khoros, not the response cache (a sync refreshing names)."""
        data = self._cached_get("care", "api/v2/workqueues/active", None, None if fresh else REFERENCE_TTL_S)
        rows = as_list(data.get("data") if isinstance(data, dict) else None, "work queues")
        return [WorkQueue(int(q["id"]), str(q.get("name") or ""), bool(q.get("archived")), q.get("description"),
                          q.get("uuid")) for q in rows]

    def tags(self) -> list[Tag]:
        rows = care_data(self._cached_get("care", "api/v2/tags", None, REFERENCE_TTL_S), "tags")
        return [Tag(int(t["tagId"]), str(t.get("name") or ""), t.get("hierarchy"), t.get("tagState"),
                    t.get("lswUuid")) for t in as_list(rows, "tags")]

    def agent_state_types(self) -> list[AgentStateType]:
        rows = care_data(self._cached_get("care", "api/v2/agentstate", None, REFERENCE_TTL_S), "agent states")
        return [AgentStateType(str(s["id"]), str(s.get("name") or ""), str(s.get("type") or ""),
                               bool(s.get("deleted"))) for s in as_list(rows, "agent states")]

    # ---- authors -------------------------------------------------------------------------------------------

    def author(self, author_id: str) -> Author:
        return author_of(self._record("authors", "author", author_id))

    def authors(self) -> Iterator[Author]:
        """Every author, page by page (follows ``nextPageUrl`` until it is absent)."""
        url: str | None = self._url("care", "api/v2/authors")
        params: dict[str, Any] | None = {"offset": 0}
        while url:
            data = care_data(self._json(self._send("GET", url, params=params)), "authors")
            if not isinstance(data, dict):
                raise BadResponseError("authors list: data is not an object")
            people = data.get("personList") or []
            yield from (author_of(p) for p in people)
            url = data.get("nextPageUrl") if people else None
            params = None

    def changed_author_ids(self, start: datetime, end: datetime) -> list[str]:
        """Ids of authors changed in ``[start, end)``, asked in 24-hour windows as Khoros requires."""
        out: list[str] = []
        for a, b in day_windows(start, end):
            data = care_data(self._json(self._send("GET", self._url("care", "api/v2/authors/changed"),
                                                   params={"startEpochMillis": a, "endEpochMillis": b})),
                             "changed authors")
            out.extend(str(x) for x in as_list(data, "changed authors") if str(x) not in out)
        return out

    def author_conversation_ids(self, author_id: str, start: datetime, end: datetime) -> list[str]:
        out: list[str] = []
        for a, b in day_windows(start, end):
            data = care_data(self._json(self._send(
                "GET", self._url("care", f"api/v2/authors/{quote(author_id, safe='')}/conversations"),
                params={"startEpochMillis": a, "endEpochMillis": b})), "author conversations")
            out.extend(str(x) for x in as_list(data, "author conversations"))
        return out

    # ---- conversations -------------------------------------------------------------------------------------

    def conversation(self, conversation_id: str) -> Conversation:
        return conversation_of(self._record("conversations", "conversation", conversation_id))

    def conversations_by_display_id(self, numbers: Sequence[int]) -> DisplayIdLookup:
        """Conversations by their display number ("Conversation Number"), at most 20 per call as Khoros
        requires; numbers it lists in ``_meta`` ("Some conversations could not be processed.") are returned in
        ``unprocessed``."""
        wanted = list(dict.fromkeys(int(n) for n in numbers))
        found: list[Conversation] = []
        unprocessed: list[int] = []
        for i in range(0, len(wanted), DISPLAY_IDS_PER_CALL):
            batch = wanted[i:i + DISPLAY_IDS_PER_CALL]
            joined = ",".join(str(n) for n in batch)
            answer = self._json(self._send("GET", self._url("care", f"api/v2/conversations/displayIds/{joined}")))
            found.extend(conversation_of(c) for c in as_list(care_data(answer, "conversations"), "conversations"))
            meta = answer.get("_meta") if isinstance(answer, dict) else None
            unprocessed.extend(n for n in _numbers_in(meta) if n in batch)
        return DisplayIdLookup(tuple(found), tuple(dict.fromkeys(unprocessed)))

    # ---- Khoros' own response time ---------------------------------------------------------------------------

    def current_tar(self, time_range: timedelta, *, response_type: str = "FIRST", priorities: Sequence[int] = (),
                    work_queue_ids: Sequence[int] = (), smart_view_id: int | None = None) -> CurrentTar:
        """Khoros' "current time to agent response" over the live range ``time_range`` (at most a year):
        average and median in ms, for FIRST or SUBSEQUENT responses, with the priority / work-queue / smart-view
        filters (a smart view's own settings win over the other two)."""
        response_type = response_type.upper()
        if response_type not in TAR_RESPONSE_TYPES:
            raise ValueError(f"responseType {response_type!r}: one of {', '.join(TAR_RESPONSE_TYPES)}")
        range_ms = int(time_range.total_seconds() * 1000)
        if not 0 < range_ms <= MAX_TAR_RANGE.total_seconds() * 1000:
            raise ValueError(f"currentTAR range must be positive and at most a year, got {time_range}")
        params: dict[str, Any] = {"timeRangeInMillis": range_ms, "responseType": response_type}
        if priorities:
            params["priorities"] = ",".join(str(int(p)) for p in priorities)
        if work_queue_ids:
            params["workqueueIds"] = ",".join(str(int(q)) for q in work_queue_ids)
        if smart_view_id is not None:
            params["smartViewId"] = int(smart_view_id)
        data = care_data(self._json(self._send("GET", self._url("care", "api/v2/bots/currentTAR"), params=params)),
                         "currentTAR")
        if not isinstance(data, dict):
            raise BadResponseError("currentTAR: data is not an object")

        def number(key: str) -> float | None:
            value = data.get(key)
            if value is None or isinstance(value, bool):
                return None
            try:
                return float(value)
            except (TypeError, ValueError):
                raise BadResponseError(f"currentTAR: {key} is not a number") from None

        return CurrentTar(response_type, number("avgTarTimeInMillis"), number("medianTarTimeInMillis"), range_ms,
                          tuple(int(p) for p in priorities), tuple(int(q) for q in work_queue_ids), smart_view_id)

    def current_tars(self, time_range: timedelta, **filters: Any) -> dict[str, CurrentTar]:
        """FIRST and SUBSEQUENT for the same range and filters."""
        return {kind: self.current_tar(time_range, response_type=kind, **filters) for kind in TAR_RESPONSE_TYPES}
