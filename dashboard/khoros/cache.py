"""The response cache: diskcache, hardened (no pickle, owner-only, encrypted, never raises).

- **No pickle, ever.** diskcache pickles any value that is not str/bytes/int/float and unpickles whatever a
  row's mode says (CVE-2025-69872). :class:`NoPickleDisk` stores only ``bytes`` and refuses, on write and on
  read, any row or key in pickle mode; a refused row is a miss, counted in :attr:`ResponseCache.refused`.
- **Encrypted at rest.** Every value is AES-256-GCM ciphertext under a key derived from
  ``settings.cache_key`` (HKDF-SHA256) or, when that is unset, from a random key file kept owner-only
  *outside* the cache folder (so copying the folder copies no key). The cache key string is the AEAD's
  associated data, so a row moved to another key fails to decrypt. A copied folder reveals nothing.
- **Keys** are SHA-256 of (tenant, endpoint, parameters) — never credentials, and no readable customer value
  (an author id in a path is hashed too).
- **Owner-only**: the folder is created (and re-chmodded) 0700.
- **Never errors**: any failure (disk full, corrupt row, wrong key) is a miss and is counted, never raised;
  the client then simply asks the API.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import diskcache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["NoPickleDisk", "PickleRefused", "ResponseCache", "load_or_create_key_file"]

log = logging.getLogger(__name__)

_NONCE = 12
_VERSION = b"kc1"


class PickleRefused(ValueError):
    """A cache row (or key) is in pickle mode: refused, never unpickled."""


class NoPickleDisk(diskcache.Disk):
    """A diskcache Disk that stores bytes only and never unpickles."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise PickleRefused(f"cache keys are str, got {type(key).__name__}")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise PickleRefused("cache key stored in pickle mode")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> tuple[Any, ...]:
        if type(value) is not bytes:
            raise PickleRefused(f"cache values are bytes serialised by the caller, got {type(value).__name__}")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY):
            raise PickleRefused(f"cache row in mode {mode} (pickle or text) refused")
        return super().fetch(mode, filename, value, read)


def _owner_only_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        path.chmod(0o700)


def load_or_create_key_file(path: Path) -> bytes:
    """32 random bytes kept in ``path`` (0600, in a 0700 folder); created on first use."""
    _owner_only_dir(path.parent)
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
        raise ValueError(f"cache key file {path} is not 32 bytes")
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)  # atomic "create if absent": two processes racing agree on one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


class ResponseCache:
    """Encrypted bytes by (tenant, endpoint, params). ``expire`` None = keep (closed windows)."""

    def __init__(self, directory: Path, secret: bytes | str, tenant: str, *, size_limit: int = 2**30) -> None:
        self.directory = Path(directory)
        self.tenant = tenant
        self.refused = 0
        self.errors = 0
        self.hits = 0
        self.misses = 0
        material = secret.encode() if isinstance(secret, str) else secret
        self._aead = AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=b"khoros-care-dashboard/cache",
                 info=b"response-cache v1").derive(material)
        )
        self._cache: diskcache.Cache | None = None
        try:
            _owner_only_dir(self.directory)
            self._cache = diskcache.Cache(str(self.directory), disk=NoPickleDisk, size_limit=size_limit,
                                          eviction_policy="least-recently-stored")
        except Exception as exc:  # never errors: a cache that cannot open is a cache that always misses
            self.errors += 1
            log.warning("response cache disabled: cannot open %s (%s)", self.directory, type(exc).__name__)

    def key(self, endpoint: str, params: dict[str, Any] | None = None) -> str:
        canonical = json.dumps({"t": self.tenant, "e": endpoint, "p": params or {}}, sort_keys=True, default=str,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def get(self, endpoint: str, params: dict[str, Any] | None = None) -> bytes | None:
        if self._cache is None:
            return None
        key = self.key(endpoint, params)
        try:
            blob = self._cache.get(key, default=None)
        except PickleRefused:
            self.refused += 1
            log.warning("response cache: refused a pickled row; treated as a miss")
            self._drop(key)
            return None
        except Exception as exc:
            self.errors += 1
            log.warning("response cache read failed (%s); treated as a miss", type(exc).__name__)
            return None
        if blob is None:
            self.misses += 1
            return None
        value = self._open(key, blob)
        if value is None:
            self._drop(key)
            self.misses += 1
            return None
        self.hits += 1
        return value

    def set(self, endpoint: str, params: dict[str, Any] | None, value: bytes, *, expire: float | None) -> bool:
        if self._cache is None:
            return False
        key = self.key(endpoint, params)
        try:
            nonce = secrets.token_bytes(_NONCE)
            blob = _VERSION + nonce + self._aead.encrypt(nonce, value, key.encode())
            self._cache.set(key, blob, expire=expire)
            return True
        except Exception as exc:
            self.errors += 1
            log.warning("response cache write failed (%s); not cached", type(exc).__name__)
            return False

    def _open(self, key: str, blob: Any) -> bytes | None:
        if type(blob) is not bytes or not blob.startswith(_VERSION) or len(blob) < len(_VERSION) + _NONCE + 16:
            self.refused += 1
            return None
        nonce = blob[len(_VERSION):len(_VERSION) + _NONCE]
        try:
            return self._aead.decrypt(nonce, blob[len(_VERSION) + _NONCE:], key.encode())
        except InvalidTag:
            self.refused += 1
            log.warning("response cache: a row did not decrypt (other key or tampered); treated as a miss")
            return None

    def _drop(self, key: str) -> None:
        try:
            if self._cache is not None:
                self._cache.delete(key)
        except Exception:  # noqa: S110 - dropping a bad row is best effort; the miss is already counted
            pass

    def clear(self) -> None:
        try:
            if self._cache is not None:
                self._cache.clear()
        except Exception:
            self.errors += 1

    def close(self) -> None:
        try:
            if self._cache is not None:
                self._cache.close()
        except Exception:
            self.errors += 1
