"""Derived data kept in the store (the conversation facts, their evaluation, the daily rollups): the same commit
rules as the exports'.

Everything derived lives under ``facts/`` and is found through ONE manifest, ``facts/_manifest.json``, never by
listing: files are written once under new unique names, then the manifest is replaced in one step (written
aside, ``fsync``, renamed; on object storage one conditional PUT) while the writer holds the store's lease. A
kill at any point leaves the previous manifest, and so the previous derived data, in force; the new files are
named by nothing and swept later. What the manifest holds is its writer's business (:mod:`dashboard.store.facts`);
this module only knows that every ``"file"`` value in it names a file that must be kept, and that ``retired``
lists files a commit stopped naming (deleted after the sweep's grace period, as for the exports).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dashboard.errors import StoreError

__all__ = ["DERIVED_DIR", "DERIVED_LAYOUT", "DerivedManifest", "named_files"]

DERIVED_DIR = "facts"
DERIVED_LAYOUT = 1


def named_files(value: Any) -> Iterator[str]:
    """Every ``"file"`` value anywhere in a manifest body (the files it keeps)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "file" and isinstance(item, str):
                yield item
            else:
                yield from named_files(item)
    elif isinstance(value, list):
        for item in value:
            yield from named_files(item)


@dataclass
class DerivedManifest:
    generation: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    retired: list[dict[str, Any]] = field(default_factory=list)
    layout: int = DERIVED_LAYOUT

    @classmethod
    def from_json(cls, data: bytes, *, where: str) -> DerivedManifest:
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise StoreError(f"derived-data manifest {where} is not valid JSON ({exc}); delete it and the facts "
                             "are computed again from the stored exports") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("body", {}), dict):
            raise StoreError(f"derived-data manifest {where} is not a JSON object of the expected shape")
        return cls(generation=int(raw.get("generation", 0) or 0), body=dict(raw.get("body") or {}),
                   retired=[r for r in raw.get("retired") or [] if isinstance(r, dict)],
                   layout=int(raw.get("layout", DERIVED_LAYOUT) or DERIVED_LAYOUT))

    def to_json(self) -> bytes:
        return json.dumps({"layout": self.layout, "generation": self.generation, "body": self.body,
                           "retired": self.retired}, indent=1, sort_keys=True, default=str).encode()

    def files(self) -> set[str]:
        """Every file this manifest names (kept data and retired files not yet swept)."""
        return set(named_files(self.body)) | {r["file"] for r in self.retired if r.get("file")}
