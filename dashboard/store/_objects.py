"""The store's file operations on object storage (S3 and S3-compatible servers, Google Cloud Storage, Azure Blob),
through obstore (the Rust ``object_store`` crate Polars itself reads buckets with).

Object stores have no rename and no append, but they have what the store's commit needs: a PUT is atomic (a
reader sees the old object or the new one, never part of one), ``PutMode.Create`` (``If-None-Match: *``) writes
only if no object has the name, and an update on the version read (``If-Match: <ETag>``) writes only if no one
wrote since. So :class:`ObjectFiles` is :class:`~dashboard.store._store._LocalFiles` with the same operations:

- ``write_new``: a create-only PUT (a uuid name: it never exists; the mode makes sure);
- ``commit``: a PUT conditional on the version the writer read (a first manifest: create-only). A lost race is
  a :class:`~dashboard.errors.StoreError` and nothing was written;
- ``move``: copy, then delete (only for setting a damaged file aside, under the writer lease);
- ``listing``: a LIST with each object's ``last_modified``, for the sweep only (readers never list).

Credentials and the endpoint come from the usual environment variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP`` for a
loopback server; ``GOOGLE_*``/``AZURE_*`` for the others, read by the library); the same options go to Polars'
``storage_options`` so both read the same bucket the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dashboard.errors import StoreError

__all__ = ["SCHEMES", "ObjectFiles", "is_store_url", "storage_options_from_env"]

SCHEMES = ("s3", "gs", "az")
"""URL schemes ``CARE_DASHBOARD_STORE_URL`` takes (``s3`` also for S3-compatible servers)."""

# AWS environment variable -> the storage option both obstore (``config``) and Polars take.
_AWS_OPTIONS = {
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    "AWS_SESSION_TOKEN": "aws_session_token",
    "AWS_REGION": "aws_region",
    "AWS_DEFAULT_REGION": "aws_region",
    "AWS_ENDPOINT_URL": "aws_endpoint",
    "AWS_ENDPOINT_URL_S3": "aws_endpoint",
}
_TRUE = ("1", "true", "yes", "on")


def is_store_url(location: object) -> bool:
    """Whether ``location`` names a bucket (``s3://…``) rather than a local folder."""
    if not isinstance(location, str):
        return False
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def storage_options_from_env(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The storage options (Polars' ``storage_options``, obstore's ``config``) for ``url`` from the environment.
    Only S3 needs ours (an S3-compatible endpoint, plain HTTP on loopback); the others' libraries read theirs."""
    env = os.environ if environ is None else environ
    if not url.lower().startswith("s3://"):
        return {}
    options: dict[str, str] = {}
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if env.get(name):
            options[_AWS_OPTIONS[name]] = env[name]
    if env.get("AWS_ALLOW_HTTP", "").strip().lower() in _TRUE:
        options["aws_allow_http"] = "true"
    return options


def _errors() -> tuple[type[Exception], tuple[type[Exception], ...], type[Exception]]:
    from obstore.exceptions import AlreadyExistsError, NotFoundError, PreconditionError

    # obstore raises Python's FileNotFoundError for a missing object (its NotFoundError in some versions)
    return AlreadyExistsError, (NotFoundError, FileNotFoundError), PreconditionError


class ObjectFiles:
    """The store's file operations under one bucket prefix (see the module docstring). Relative names are the
    same as on a local disk (``export=conversation/_manifest.json``)."""

    def __init__(self, url: str, options: Mapping[str, str] | None = None) -> None:
        from obstore.store import from_url

        self.url = url.rstrip("/")
        self.options = dict(options if options is not None else storage_options_from_env(self.url))
        config = {k: v for k, v in self.options.items() if k != "aws_allow_http"}
        client = {"allow_http": True} if self.options.get("aws_allow_http") == "true" else None
        try:
            self._store = from_url(self.url, config=config or None, client_options=client)
        except Exception as exc:  # obstore names a bad URL or option in its own words
            raise StoreError(f"cannot open the store at {self.url}: {exc}") from None

    def locate(self, rel: str) -> str:
        """What Polars scans for ``rel`` (with :attr:`options` as ``storage_options``)."""
        return f"{self.url}/{rel}"

    # ---- the five operations of _LocalFiles ----------------------------------------------------------------

    def write_new(self, rel: str, data: bytes) -> None:
        import obstore

        already, _, _ = _errors()
        try:
            obstore.put(self._store, rel, data, mode="create")
        except already:
            raise StoreError(f"{self.locate(rel)} exists already; a new file never does (nothing was "
                             "committed)") from None

    def settle(self, rels: Iterable[str]) -> None:
        """Nothing to do: a PUT that returned is durable."""

    def commit(self, rel: str, data: bytes, version: str | None = None) -> None:
        """Replace ``rel`` only if it is still at ``version`` (its ETag when read; None: only if it does not
        exist yet)."""
        import obstore

        already, _, precondition = _errors()
        mode: Any = "create" if version is None else {"e_tag": version}
        try:
            obstore.put(self._store, rel, data, mode=mode)
        except (already, precondition):
            raise StoreError(f"{self.locate(rel)} was replaced by another writer since it was read; nothing was "
                             "committed (run the write again)") from None

    def move(self, rel: str, new_rel: str) -> None:
        import obstore

        _, not_found, _ = _errors()
        try:
            obstore.copy(self._store, rel, new_rel)
        except not_found:
            raise FileNotFoundError(self.locate(rel)) from None
        obstore.delete(self._store, rel)

    def delete(self, rel: str) -> None:
        import obstore

        obstore.delete(self._store, rel)  # deleting what is not there is no error on object stores

    def listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        import obstore

        for batch in obstore.list(self._store, prefix.strip("/")):
            for meta in batch:
                yield meta["path"], meta["last_modified"].timestamp()

    # ---- reading -----------------------------------------------------------------------------------------------

    def read(self, rel: str) -> tuple[bytes | None, str | None]:
        """The object's bytes and ETag (None, None: there is none)."""
        import obstore

        _, not_found, _ = _errors()
        try:
            got = obstore.get(self._store, rel)
        except not_found:
            return None, None
        return bytes(got.bytes()), got.meta.get("e_tag")

    def stat(self, rel: str) -> tuple[int, str] | None:
        """(size, version) of the object, None when there is none."""
        import obstore

        _, not_found, _ = _errors()
        try:
            meta = obstore.head(self._store, rel)
        except not_found:
            return None
        return int(meta["size"]), str(meta.get("e_tag") or meta["last_modified"].isoformat())

    def put(self, rel: str, data: bytes) -> str | None:
        """Write ``rel`` whatever is there (records that are not commits: the demo world's); returns its ETag."""
        import obstore

        return obstore.put(self._store, rel, data).get("e_tag")

    def put_if(self, rel: str, data: bytes, version: str | None) -> str | None:
        """Like :meth:`commit` but a lost race returns None instead of raising; the new ETag otherwise."""
        import obstore

        already, _, precondition = _errors()
        mode: Any = "create" if version is None else {"e_tag": version}
        try:
            return obstore.put(self._store, rel, data, mode=mode).get("e_tag") or ""
        except (already, precondition):
            return None
