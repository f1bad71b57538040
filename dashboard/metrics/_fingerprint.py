"""A fingerprint of a module's definitions (its functions' code and its plain constants), so that derived data
kept by one version of a definition is never read as another's. Computed from the loaded code objects, not
from files: no line numbers, paths or comments enter it, only what the code does."""

from __future__ import annotations

import hashlib
import types
from typing import Any

__all__ = ["code_fingerprint"]

_PLAIN = (str, int, float, bool, bytes, type(None))


def _canonical(value: Any) -> str:
    """``repr`` with sets in sorted order (a set's own order changes with the process's hash seed)."""
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_canonical(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(f"{_canonical(k)}: {_canonical(v)}" for k, v in value.items())) + "}"
    return repr(value)


def _code_parts(code: types.CodeType) -> list[Any]:
    parts: list[Any] = [code.co_code, code.co_names, code.co_varnames, code.co_freevars]
    for const in code.co_consts:
        parts.append(_code_parts(const) if isinstance(const, types.CodeType) else _canonical(const))
    return parts


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple | frozenset):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def code_fingerprint(*modules: types.ModuleType) -> str:
    """16 hex digits that change when a function or a plain constant of ``modules`` changes."""
    digest = hashlib.sha256()
    for module in modules:
        for name, value in sorted(vars(module).items()):
            if getattr(value, "__module__", None) == module.__name__ and hasattr(value, "__code__"):
                digest.update(repr((name, _code_parts(value.__code__))).encode())
            elif isinstance(value, type) and value.__module__ == module.__name__:
                for attr, member in sorted(vars(value).items()):
                    code = getattr(getattr(member, "fget", member), "__code__", None)
                    if code is not None:
                        digest.update(repr((name, attr, _code_parts(code))).encode())
            elif not name.startswith("__") and _plain(value):
                digest.update(f"{name}={_canonical(value)}".encode())
    return digest.hexdigest()[:16]
