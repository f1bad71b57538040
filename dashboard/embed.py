"""The Khoros Care iFrame extension payload: decode (and, for admins and tests, encode) ``?payload=<token>``.

Khoros Care can show a page of ours next to a conversation in the agent UI; it opens
``https://<our host>/?payload=<token>``. Khoros' exact cipher is documented only in its customer-only iFrame
guide, so the decoder is pluggable (:class:`PayloadCipher`, :func:`register_cipher`); the default scheme,
which the Khoros admin configures on the extension, is:

* ``token`` = base64url (RFC 4648 §5, ``=`` padding optional) of ``nonce (12 bytes) || ciphertext+tag``;
* cipher = AES-256-GCM, 16-byte tag, no associated data;
* key = SHA-256 of the UTF-8 bytes of the shared secret (setting ``CARE_DASHBOARD_IFRAME_SECRET``);
* plaintext = a UTF-8 JSON object::

    {"agent": {"id": "a-17", "email": "sam@example.com", "name": "Sam"},
     "author": {"id": "au-42", "network": "twitter", "handle": "@pat"},
     "conversationId": "c-9", "conversationDisplayId": 10234, "network": "twitter",
     "timestamp": 1763479800000, "ssoToken": "optional"}

  Ids, names, networks and handles are strings (ids non-empty); ``conversationDisplayId`` and ``timestamp``
  are integers; ``ssoToken`` is an optional string. Unknown keys are ignored.

  What Khoros promises is only "viewing agent, author, channel, conversationId, and a timestamp", so the rest
  is optional: ``channel`` is accepted for ``network``; ``conversationDisplayId``, ``author.handle``,
  ``agent.email`` and ``agent.name`` may be absent (None); ``timestamp`` may be epoch seconds or epoch
  milliseconds, told apart by magnitude (below 10^11 it is seconds: 10^11 s is in the year 5138, 10^11 ms in
  1973). Required: ``agent.id``, ``author.id``, ``author.network``, ``conversationId``, ``network`` (or
  ``channel``) and ``timestamp``.

A token is valid only when the tag verifies, the JSON has every required field with the right type, and
``timestamp`` is at most ``max_age_s`` (default 300 s) old and at most ``max_future_s`` (60 s) in the future.

Everything else raises :class:`InvalidPayload` — the only exception :func:`decode_payload` raises — whose
``reason`` is one of a few fixed phrases (:data:`REASONS`, plus the name of a missing or mistyped field). A
reason never contains the token, the plaintext or the secret, so it is safe to log.

Why these choices: the token length is capped before any work (a URL parameter is attacker-controlled); the
base64 must be canonical (re-encoding gives the same text), so no two different tokens decode to the same
bytes and *every* changed character is a rejected token; a wrong secret and a tampered token are the same
failure (the GCM tag), and are reported identically on purpose.

Command line (for the admin who sets up the extension)::

    python -m dashboard payload encode --secret S --json payload.json [--fresh]
    python -m dashboard payload decode --secret S [--] TOKEN

``--secret`` defaults to ``CARE_DASHBOARD_IFRAME_SECRET``; ``--fresh`` sets ``timestamp`` to now. ``decode``
prints the JSON and exits 0, or prints one line ``invalid payload: <reason>`` to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dashboard.errors import DashboardError

__all__ = [
    "DEFAULT_CIPHER",
    "MAX_TOKEN_CHARS",
    "REASONS",
    "AesGcmCipher",
    "AgentRef",
    "AuthorRef",
    "EmbedPayload",
    "InvalidPayload",
    "PayloadCipher",
    "add_arguments",
    "decode_payload",
    "encode_payload",
    "get_cipher",
    "register_cipher",
    "run",
]

SECONDS_BELOW = 10**11
"""A ``timestamp`` below this is epoch seconds, at or above it epoch milliseconds."""
MAX_TOKEN_CHARS = 16_384
"""Longest token we look at. A real payload is well under 2 KB (4 KB with a long ``ssoToken``)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NONCE_BYTES = 12
TAG_BYTES = 16

REASONS = (
    "token is empty",
    "token is not a string",
    "token is too long",
    "token is not base64url",
    "token is too short",
    "payload does not verify",
    "no shared secret configured",
    "plaintext is not UTF-8 JSON",
    "payload is not a JSON object",
    "payload has expired",
    "payload timestamp is in the future",
)
"""The fixed reasons; field reasons add only a field name: ``missing field agent.id``, ``wrong type for timestamp``."""


class InvalidPayload(DashboardError, ValueError):
    """The token is not a valid, fresh payload. ``reason`` is short, fixed text without secrets or data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------------------------
# The pluggable cipher


class PayloadCipher(Protocol):
    """Turns a token into plaintext bytes and back. ``open`` raises :class:`InvalidPayload` only."""

    name: str

    def open(self, token: str, secret: str) -> bytes: ...

    def seal(self, plaintext: bytes, secret: str) -> str: ...


_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _b64url_decode_canonical(token: str) -> bytes:
    """Strict base64url: the URL-safe alphabet, optional padding, and the canonical encoding of its bytes."""
    if _B64URL.fullmatch(token) is None:
        raise InvalidPayload("token is not base64url")
    body = token.rstrip("=")
    if token != body and len(token) % 4 != 0:
        raise InvalidPayload("token is not base64url")  # padding present but wrong
    if len(body) % 4 == 1:
        raise InvalidPayload("token is not base64url")  # no byte count gives this length
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidPayload("token is not base64url") from None
    # Unused low bits of the last character must be zero, else two tokens would decode to the same bytes.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != body:
        raise InvalidPayload("token is not base64url")
    return raw


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _key_from_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class AesGcmCipher:
    """The default scheme: base64url(nonce(12) || AES-256-GCM ciphertext+tag), key = SHA-256(secret)."""

    name: str = "aes-256-gcm"

    def open(self, token: str, secret: str) -> bytes:
        raw = _b64url_decode_canonical(token)
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise InvalidPayload("token is too short")
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            return AESGCM(_key_from_secret(secret)).decrypt(nonce, sealed, None)
        except InvalidTag:
            # Wrong secret and tampered token look the same, by design of GCM; say neither.
            raise InvalidPayload("payload does not verify") from None

    def seal(self, plaintext: bytes, secret: str, nonce: bytes | None = None) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
        if len(nonce) != NONCE_BYTES:
            raise ValueError(f"nonce must be {NONCE_BYTES} bytes, got {len(nonce)}")
        return _b64url_encode(nonce + AESGCM(_key_from_secret(secret)).encrypt(nonce, plaintext, None))


DEFAULT_CIPHER = "aes-256-gcm"
_CIPHERS: dict[str, PayloadCipher] = {DEFAULT_CIPHER: AesGcmCipher()}


def register_cipher(cipher: PayloadCipher) -> None:
    """Make another scheme available by its ``name`` (e.g. once Khoros' own is known)."""
    if not getattr(cipher, "name", ""):
        raise ValueError("a payload cipher needs a non-empty name")
    _CIPHERS[cipher.name] = cipher


def get_cipher(name: str = DEFAULT_CIPHER) -> PayloadCipher:
    try:
        return _CIPHERS[name]
    except KeyError:
        raise ValueError(f"unknown payload cipher {name!r}; known: {sorted(_CIPHERS)}") from None


# --------------------------------------------------------------------------------------------------------------
# The payload


@dataclass(frozen=True)
class AgentRef:
    id: str
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AuthorRef:
    id: str
    network: str
    handle: str | None = None


@dataclass(frozen=True)
class EmbedPayload:
    """A verified, fresh iFrame payload: who is looking (agent) at whom (author), in which conversation."""

    agent: AgentRef
    author: AuthorRef
    conversation_id: str
    conversation_display_id: int | None
    network: str
    timestamp: datetime
    sso_token: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The wire form (camelCase keys, epoch-ms timestamp; absent optional fields left out)."""
        agent = {"id": self.agent.id, "email": self.agent.email, "name": self.agent.name}
        author = {"id": self.author.id, "network": self.author.network, "handle": self.author.handle}
        out: dict[str, Any] = {
            "agent": {k: v for k, v in agent.items() if v is not None},
            "author": {k: v for k, v in author.items() if v is not None},
            "conversationId": self.conversation_id,
            "conversationDisplayId": self.conversation_display_id,
            "network": self.network,
            "timestamp": (self.timestamp - _EPOCH) // timedelta(milliseconds=1),
        }
        if self.conversation_display_id is None:
            del out["conversationDisplayId"]
        if self.sso_token is not None:
            out["ssoToken"] = self.sso_token
        return out


def _field(obj: Mapping[str, Any], key: str, kind: type, where: str, *, non_empty: bool = False) -> Any:
    name = f"{where}.{key}" if where else key
    if key not in obj or obj[key] is None:
        raise InvalidPayload(f"missing field {name}")
    value = obj[key]
    # bool is an int in Python; a JSON true is never a valid number here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidPayload(f"wrong type for {name}")
    if non_empty and value == "":
        raise InvalidPayload(f"missing field {name}")
    return value


def _optional(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """A field Khoros does not promise: None when absent or null, else of ``kind``."""
    if obj.get(key) is None:
        return None
    return _field(obj, key, kind, where)


def _object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    if key not in obj or obj[key] is None:
        raise InvalidPayload(f"missing field {key}")
    if not isinstance(obj[key], dict):
        raise InvalidPayload(f"wrong type for {key}")
    return obj[key]


def _payload_from_json(doc: Any) -> EmbedPayload:
    if not isinstance(doc, dict):
        raise InvalidPayload("payload is not a JSON object")
    agent = _object(doc, "agent")
    author = _object(doc, "author")
    stamp_raw = _field(doc, "timestamp", int, "")
    stamp_ms = stamp_raw * 1000 if stamp_raw < SECONDS_BELOW else stamp_raw
    try:
        stamp = _EPOCH + timedelta(milliseconds=stamp_ms)  # exact; a float division would lose milliseconds
    except (OverflowError, ValueError):
        raise InvalidPayload("wrong type for timestamp") from None
    # "channel" is the overview's word for the network; "network" wins when both are sent.
    network_key = "network" if doc.get("network") is not None or doc.get("channel") is None else "channel"
    sso = doc.get("ssoToken")
    if sso is not None and not isinstance(sso, str):
        raise InvalidPayload("wrong type for ssoToken")
    return EmbedPayload(
        agent=AgentRef(
            id=_field(agent, "id", str, "agent", non_empty=True),
            email=_optional(agent, "email", str, "agent"),
            name=_optional(agent, "name", str, "agent"),
        ),
        author=AuthorRef(
            id=_field(author, "id", str, "author", non_empty=True),
            network=_field(author, "network", str, "author", non_empty=True),
            handle=_optional(author, "handle", str, "author"),
        ),
        conversation_id=_field(doc, "conversationId", str, "", non_empty=True),
        conversation_display_id=_optional(doc, "conversationDisplayId", int, ""),
        network=_field(doc, network_key, str, "", non_empty=True),
        timestamp=stamp,
        sso_token=sso,
    )


def decode_payload(
    token: str,
    secret: str,
    *,
    now: datetime | None = None,
    max_age_s: float = 300,
    max_future_s: float = 60,
    cipher: str = DEFAULT_CIPHER,
) -> EmbedPayload:
    """Verify, decrypt and check a ``?payload=`` token. Raises :class:`InvalidPayload` (only) when it is not valid."""
    if not isinstance(token, str):
        raise InvalidPayload("token is not a string")
    if len(token) > MAX_TOKEN_CHARS:  # before any other work
        raise InvalidPayload("token is too long")
    token = token.strip()
    if not token:
        raise InvalidPayload("token is empty")
    if not isinstance(secret, str) or not secret:
        raise InvalidPayload("no shared secret configured")
    plaintext = get_cipher(cipher).open(token, secret)
    try:
        doc = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidPayload("plaintext is not UTF-8 JSON") from None
    payload = _payload_from_json(doc)
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")  # a programming error, not a bad token
    age_s = (now - payload.timestamp).total_seconds()
    if age_s > max_age_s:
        raise InvalidPayload("payload has expired")
    if -age_s > max_future_s:
        raise InvalidPayload("payload timestamp is in the future")
    return payload


def encode_payload(
    obj: Mapping[str, Any] | EmbedPayload, secret: str, *, cipher: str = DEFAULT_CIPHER, nonce: bytes | None = None
) -> str:
    """Encrypt a payload (an :class:`EmbedPayload` or any JSON object, valid or not — tests need both)."""
    if not secret:
        raise ValueError("the shared secret must not be empty")
    doc = obj.to_json() if isinstance(obj, EmbedPayload) else dict(obj)
    plaintext = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    chosen = get_cipher(cipher)
    if nonce is not None and isinstance(chosen, AesGcmCipher):
        return chosen.seal(plaintext, secret, nonce=nonce)
    return chosen.seal(plaintext, secret)


# --------------------------------------------------------------------------------------------------------------
# python -m dashboard payload ...

_SECRET_ENV = "CARE_DASHBOARD_IFRAME_SECRET"  # noqa: S105 - the name of a setting, not a secret
_MAX_AGE_ENV = "CARE_DASHBOARD_IFRAME_MAX_AGE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    enc = sub.add_parser("encode", help="encrypt a JSON payload file into a token")
    enc.add_argument("--secret", help=f"shared secret (default: ${_SECRET_ENV})")
    enc.add_argument("--json", required=True, type=Path, metavar="FILE", help="JSON payload file ('-' = stdin)")
    enc.add_argument("--fresh", action="store_true", help="set timestamp to now before encrypting")
    dec = sub.add_parser("decode", help="verify and decrypt a token; print its JSON")
    dec.add_argument("--secret", help=f"shared secret (default: ${_SECRET_ENV})")
    dec.add_argument("--max-age", type=float, default=None, help=f"seconds (default: ${_MAX_AGE_ENV} or 300)")
    dec.add_argument("token", metavar="TOKEN",
                     help="the payload token; one that starts with '-' (base64url can) goes after '--'")


def _secret(args: argparse.Namespace) -> str | None:
    return args.secret or os.environ.get(_SECRET_ENV) or None


def run(args: argparse.Namespace) -> int:
    secret = _secret(args)
    if not secret:
        print(f"error: no secret: pass --secret or set {_SECRET_ENV}", file=sys.stderr)
        return 2
    if args.action == "encode":
        try:
            text = sys.stdin.read() if str(args.json) == "-" else args.json.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
        try:
            doc = json.loads(text)
        except ValueError as exc:
            print(f"error: {args.json} is not JSON (line {getattr(exc, 'lineno', '?')})", file=sys.stderr)
            return 2
        if not isinstance(doc, dict):
            print(f"error: {args.json} must hold a JSON object", file=sys.stderr)
            return 2
        if args.fresh:
            doc["timestamp"] = int(datetime.now(UTC).timestamp() * 1000)
        print(encode_payload(doc, secret))
        return 0
    max_age = args.max_age
    if max_age is None:
        raw = os.environ.get(_MAX_AGE_ENV, "").strip()
        try:
            max_age = float(raw) if raw else 300.0
        except ValueError:
            print(f"error: {_MAX_AGE_ENV} must be a number of seconds", file=sys.stderr)
            return 2
    try:
        payload = decode_payload(args.token, secret, max_age_s=max_age)
    except InvalidPayload as exc:
        print(f"invalid payload: {exc.reason}", file=sys.stderr)
        return 1
    print(json.dumps(payload.to_json(), indent=2, ensure_ascii=False))
    return 0
