"""An export's manifest: the one object that says what the store holds. Readers find every data and quarantine
file through it (never by listing folders), so a file not named here does not exist for them; a writer changes
the store by writing new files under new names and then ONE new manifest (the commit).

``export=<id>/_manifest.json``::

    {"layout": 2, "export": "conversation", "generation": 41,
     "days": {"2026-11-02": {"file": "export=conversation/day=2026-11-02/part-<uuid>.parquet", "bytes": 81234,
                             "sha256": "...", "rows": 412, "fetched_at": "...", "as_of": "...",
                             "source": "sync conversation 2026-10-21..2026-11-20", "workflow_id": "...", ...}},
     "quarantine": {"sync-2026-10-21-2026-11-20": {"file": "_quarantine/export=conversation/...parquet", "rows": 3}},
     "failures": [{"first_day": "...", "last_day": "...", "reason": "...", "at": "..."}],
     "damaged": {"2026-11-03": {"file": "...", "set_aside": "_damaged/...", "reason": "...", "source": "...",
                                "at": "..."}},
     "retired": [{"file": "...", "at": "..."}]}

Paths are relative to the store root. ``generation`` counts commits: a writer commits generation g+1 only over
generation g (locally checked under the writer lease; on object storage it is the ``If-Match`` of the manifest
object's version). ``retired`` lists files the last commits stopped naming: readers that read an older manifest
may still be reading them, so they are deleted only after a grace period (:meth:`Store.sweep`).

Layout 1 (before issue 18) had ``day=<d>/part.parquet`` files found by listing, a manifest of ``days`` only, and
``_failures.json`` and quarantine files beside; :func:`Manifest.from_json` reads it, and the store migrates it on
open (``Store._migrate``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dashboard.errors import StoreError

__all__ = ["LAYOUT", "Manifest"]

LAYOUT = 2


@dataclass
class Manifest:
    export_id: str
    generation: int = 0
    days: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantine: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    damaged: dict[str, dict[str, Any]] = field(default_factory=dict)
    retired: list[dict[str, Any]] = field(default_factory=list)
    layout: int = LAYOUT

    @classmethod
    def from_json(cls, export_id: str, data: bytes, *, where: str) -> Manifest:
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise StoreError(f"store manifest {where} is not valid JSON ({exc}); run `python -m dashboard repair` "
                             "or delete it to sync the export again") from None
        if not isinstance(body, dict):
            raise StoreError(f"store manifest {where} is not a JSON object")
        days = body.get("days")
        return cls(
            export_id=export_id,
            generation=int(body.get("generation", 0) or 0),
            days={str(k): dict(v) for k, v in days.items() if isinstance(v, dict)} if isinstance(days, dict) else {},
            quarantine=dict(body.get("quarantine") or {}),
            failures=[f for f in body.get("failures") or [] if isinstance(f, dict)],
            damaged=dict(body.get("damaged") or {}),
            retired=[r for r in body.get("retired") or [] if isinstance(r, dict)],
            layout=int(body.get("layout", 1) or 1),
        )

    def to_json(self) -> bytes:
        return json.dumps({
            "layout": self.layout, "export": self.export_id, "generation": self.generation,
            "days": dict(sorted(self.days.items())), "quarantine": dict(sorted(self.quarantine.items())),
            "failures": self.failures, "damaged": dict(sorted(self.damaged.items())), "retired": self.retired,
        }, indent=1, default=str).encode()

    def files(self) -> set[str]:
        """Every file this manifest names (data, quarantine, retired): what a sweep keeps."""
        named = {e["file"] for e in self.days.values() if e.get("file")}
        named |= {q["file"] for q in self.quarantine.values() if q.get("file")}
        named |= {r["file"] for r in self.retired if r.get("file")}
        return named
