"""Fault injection for the integrity probes (``tests/test_integrity_cli.py``), loaded by a CLI subprocess whose
``PYTHONPATH`` starts with this folder: the real ``python -m dashboard ...`` runs unchanged, and this counts its
durable writes (every ``os.fsync`` and ``os.replace``, and every PUT to object storage: ``obstore.put``, logged
as ``put <key>``) and, as ``CARE_TEST_HOOK`` (JSON) asks:

- ``log``: appends one line per write event (``fsync <path>`` / ``replace <src> -> <dst>``) to that file;
- ``kill_at``: ``kill -9``s the process just before its n-th write event (1-based); ``kill_on`` (with
  ``kill_nth``, default 1) instead: before the n-th event whose text contains that string;
- ``pause_at`` with ``paused`` and ``resume``: before the n-th event, creates ``paused`` and waits (up to a
  minute) until ``resume`` exists; ``pause_on`` instead of ``pause_at``: before the first event whose text
  contains that string.

Nothing here runs unless ``CARE_TEST_HOOK`` is set.
"""

import json
import os
import signal
import time

_spec = os.environ.get("CARE_TEST_HOOK")
if _spec:
    _config = json.loads(_spec)
    _count = 0
    _real_fsync, _real_replace = os.fsync, os.replace

    def _event(text: str) -> None:
        global _count
        _count += 1
        if _config.get("log"):
            with open(_config["log"], "a", encoding="utf-8") as fh:
                fh.write(f"{_count} {text}\n")
        if _config.get("kill_at") == _count:
            os.kill(os.getpid(), signal.SIGKILL)
        kill_on = _config.get("kill_on")
        if kill_on and kill_on in text:
            _config["_kill_seen"] = _config.get("_kill_seen", 0) + 1
            if _config["_kill_seen"] == _config.get("kill_nth", 1):
                os.kill(os.getpid(), signal.SIGKILL)
        pause_on = _config.get("pause_on")
        if _config.get("pause_at") == _count or (pause_on and pause_on in text and not _config.get("_paused")):
            _config["_paused"] = True
            open(_config["paused"], "w").close()
            deadline = time.monotonic() + 60
            while not os.path.exists(_config["resume"]) and time.monotonic() < deadline:
                time.sleep(0.02)

    def _fsync(fd):
        try:
            where = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            where = f"fd {fd}"
        _event(f"fsync {where}")
        return _real_fsync(fd)

    def _replace(src, dst, *args, **kwargs):
        _event(f"replace {os.fspath(src)} -> {os.fspath(dst)}")
        return _real_replace(src, dst, *args, **kwargs)

    os.fsync = _fsync
    os.replace = _replace

    try:
        import obstore
    except ImportError:
        obstore = None
    if obstore is not None:
        _real_put = obstore.put

        def _put(store, path, *args, **kwargs):
            _event(f"put {path}")
            return _real_put(store, path, *args, **kwargs)

        obstore.put = _put
