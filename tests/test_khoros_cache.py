"""The hardened response cache: bytes only, pickled rows refused unread, encrypted, owner-only, never raises."""

from __future__ import annotations

import os
import pickle
import sqlite3
import stat
from pathlib import Path

import diskcache
import pytest

from dashboard.khoros.cache import NoPickleDisk, PickleRefused, ResponseCache, load_or_create_key_file

SECRET_TEXT = b'[{"display_name": "Amara Dubois", "handle": "amarad9120"}]'


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_round_trip_and_keys_by_tenant_endpoint_params(tmp_path):
    cache = ResponseCache(tmp_path / "c", "key-material", "tenant-a")
    assert cache.get("export:author", {"startTime": "1"}) is None
    assert cache.set("export:author", {"startTime": "1"}, SECRET_TEXT, expire=None)
    assert cache.get("export:author", {"startTime": "1"}) == SECRET_TEXT
    assert cache.get("export:author", {"startTime": "2"}) is None
    other_tenant = ResponseCache(tmp_path / "c", "key-material", "tenant-b")
    assert other_tenant.get("export:author", {"startTime": "1"}) is None
    assert cache.key("e", {"b": 1, "a": 2}) == cache.key("e", {"a": 2, "b": 1})
    assert "tenant-a" not in cache.key("e", {}) and len(cache.key("e", {})) == 64


def test_values_are_encrypted_and_the_folder_is_owner_only(tmp_path):
    cache = ResponseCache(tmp_path / "c", "key-material", "tenant")
    big = SECRET_TEXT * 2000  # stored as a file, not inline in sqlite
    cache.set("e", {"p": 1}, SECRET_TEXT, expire=None)
    cache.set("e", {"p": 2}, big, expire=60)
    cache.close()
    raw = all_bytes(tmp_path / "c")
    assert b"Amara" not in raw and b"amarad" not in raw
    assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o700


def test_another_key_reads_nothing(tmp_path):
    ResponseCache(tmp_path / "c", "key-one", "t").set("e", None, SECRET_TEXT, expire=None)
    thief = ResponseCache(tmp_path / "c", "key-two", "t")
    assert thief.get("e", None) is None and thief.refused == 1


class Boom:
    """Unpickling this runs code: the test fails loudly if the cache ever unpickles."""

    def __reduce__(self):
        return (os.system, ("echo PWNED > /dev/null && exit 1",))


def test_a_pickled_row_is_refused_and_never_unpickled(tmp_path, monkeypatch):
    folder = tmp_path / "c"
    cache = ResponseCache(folder, "k", "t")
    key = cache.key("e", None)
    cache.close()
    # An attacker (or an old version) writes a pickle-mode row with a plain diskcache.
    evil = diskcache.Cache(str(folder))
    evil.set(key, Boom())
    evil.close()
    with sqlite3.connect(folder / "cache.db") as db:
        assert db.execute("select mode from Cache where key = ?", (key,)).fetchone()[0] == diskcache.core.MODE_PICKLE
    loads = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: loads.append(a))
    cache = ResponseCache(folder, "k", "t")
    assert cache.get("e", None) is None
    assert cache.refused == 1 and loads == []
    # the refused row is dropped, so a fresh answer can be cached in its place
    assert cache.set("e", None, b"[]", expire=None) and cache.get("e", None) == b"[]"


def test_the_disk_refuses_anything_but_bytes(tmp_path):
    store = diskcache.Cache(str(tmp_path / "d"), disk=NoPickleDisk)
    with pytest.raises(PickleRefused):
        store.set("k", {"a": 1})
    with pytest.raises(PickleRefused):
        store.set(("tuple", "key"), b"x")
    store.set("k", b"x")
    assert store.get("k") == b"x"
    store.close()


def test_the_cache_never_raises(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the folder should be")
    cache = ResponseCache(blocker / "c", "k", "t")
    assert cache.get("e", None) is None
    assert cache.set("e", None, b"x", expire=None) is False
    assert cache.errors >= 1
    ok = ResponseCache(tmp_path / "ok", "k", "t")
    assert ok.set("e", None, "not bytes", expire=None) is False  # type: ignore[arg-type]


def test_generated_key_file_is_owner_only_and_stable(tmp_path):
    path = tmp_path / "keys" / "cache.key"
    key = load_or_create_key_file(path)
    assert len(key) == 32 and load_or_create_key_file(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not 32 bytes"):
        load_or_create_key_file(path)


def test_client_keeps_the_generated_key_outside_the_cache_folder(tmp_path):
    from dashboard.khoros import KhorosClient
    from dashboard.settings import Settings

    client = KhorosClient.from_settings(Settings(data_dir=tmp_path, company_key="k"), base_url="http://127.0.0.1:9")
    client.close()
    key_file = tmp_path / "keys" / "cache.key"
    assert key_file.exists()
    cache_dir = tmp_path / "cache"
    assert cache_dir.is_dir() and not key_file.resolve().is_relative_to(cache_dir.resolve())
    assert key_file.read_bytes() not in all_bytes(cache_dir)
