"""iFrame payload: the default AES-256-GCM scheme, its validation, the security cases of issue 7, and the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard import embed
from dashboard.cli import main as cli_main
from dashboard.embed import (
    MAX_TOKEN_CHARS,
    AgentRef,
    AuthorRef,
    EmbedPayload,
    InvalidPayload,
    decode_payload,
    encode_payload,
)

SECRET = "s3cret-shared-with-khoros-\u00e9"
NOW = datetime(2026, 11, 18, 15, 30, 0, 123000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"
FIXED_REASON = re.compile(
    r"token is (not base64url|too short|not a string|too long|empty)|payload does not verify"
    r"|payload is not a JSON object|plaintext is not UTF-8 JSON|payload has expired|payload timestamp is in the future"
    r"|no shared secret configured|(missing field|wrong type for) [a-zA-Z]+(\.[a-zA-Z]+)?"
)
"""Every reason ``decode_payload`` gives: fixed words and field names, nothing taken from the token."""


def good_doc(**changes: object) -> dict:
    doc = {
        "agent": {"id": "agent-17", "email": "sam@example.com", "name": "Sam Agent"},
        "author": {"id": "author-42", "network": "twitter", "handle": "@pat"},
        "conversationId": "conv-9",
        "conversationDisplayId": 10234,
        "network": "twitter",
        "timestamp": NOW_MS - 5_000,
        "ssoToken": "sso-abc",
    }
    doc.update(changes)
    return doc


def seal_raw(plaintext: bytes, secret: str = SECRET, nonce: bytes = b"\x01" * 12) -> str:
    """Independent reimplementation of the documented scheme (the admin's side), to pin the format."""
    key = hashlib.sha256(secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, None)).decode().rstrip("=")


def rejected(token: object, secret: str = SECRET, **kw: object) -> InvalidPayload:
    with pytest.raises(InvalidPayload) as info:
        decode_payload(token, secret, now=NOW, **kw)  # type: ignore[arg-type]
    exc = info.value
    text = f"{exc} {exc!r} {exc.reason}"
    # Nothing of the token can be echoed when the reason is fixed text and str/repr are made of it alone. (A
    # substring check on the token itself is wrong: a random token can be a piece of "InvalidPayload".)
    assert FIXED_REASON.fullmatch(exc.reason), exc.reason
    assert text == f"{exc.reason} InvalidPayload({exc.reason!r}) {exc.reason}"
    assert secret not in text if secret else True
    assert "sso-abc" not in text and "sam@example.com" not in text and "author-42" not in text
    assert len(exc.reason) < 80
    return exc


# ------------------------------------------------------------------------------------------------ valid tokens


def test_roundtrip_decodes_every_field_exactly() -> None:
    payload = decode_payload(encode_payload(good_doc(), SECRET), SECRET, now=NOW)
    assert payload == EmbedPayload(
        agent=AgentRef("agent-17", "sam@example.com", "Sam Agent"),
        author=AuthorRef("author-42", "twitter", "@pat"),
        conversation_id="conv-9",
        conversation_display_id=10234,
        network="twitter",
        timestamp=NOW - timedelta(seconds=5),
        sso_token="sso-abc",
    )
    assert payload.to_json() == good_doc()  # milliseconds survive exactly
    assert "sso-abc" not in repr(payload)


def test_format_matches_the_documented_scheme_with_and_without_padding() -> None:
    plaintext = json.dumps(good_doc()).encode()
    token = seal_raw(plaintext)
    assert decode_payload(token, SECRET, now=NOW).author.id == "author-42"
    padded = token + "=" * (-len(token) % 4)
    assert decode_payload(padded, SECRET, now=NOW).author.id == "author-42"
    # And our encoder produces what an independent implementation can open.
    raw = base64.urlsafe_b64decode(encode_payload(good_doc(), SECRET) + "==")
    key = hashlib.sha256(SECRET.encode()).digest()
    assert json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], None)) == good_doc()


def test_sso_token_is_optional_and_unknown_keys_are_ignored() -> None:
    doc = good_doc(extra={"anything": 1})
    del doc["ssoToken"]
    payload = decode_payload(encode_payload(doc, SECRET), SECRET, now=NOW)
    assert payload.sso_token is None
    assert "ssoToken" not in payload.to_json()


def test_freshness_boundaries_are_inclusive() -> None:
    assert decode_payload(encode_payload(good_doc(timestamp=NOW_MS - 300_000), SECRET), SECRET, now=NOW)
    assert decode_payload(encode_payload(good_doc(timestamp=NOW_MS + 60_000), SECRET), SECRET, now=NOW)
    token = encode_payload(good_doc(timestamp=NOW_MS - 30_000), SECRET)
    assert decode_payload(token, SECRET, now=NOW, max_age_s=30)
    assert rejected(token, max_age_s=29.9).reason == "payload has expired"


def test_each_token_uses_a_fresh_nonce() -> None:
    assert encode_payload(good_doc(), SECRET) != encode_payload(good_doc(), SECRET)


# ------------------------------------------------------------------------------------------------ rejections


def test_a_changed_character_at_every_position_is_rejected() -> None:
    token = encode_payload(good_doc(), SECRET)
    for i, ch in enumerate(token):
        for other in {B64URL_ALPHABET[(B64URL_ALPHABET.index(ch) + 1) % 64], "A" if ch != "A" else "B"}:
            rejected(token[:i] + other + token[i + 1 :])


def test_a_flipped_bit_in_every_byte_is_rejected() -> None:
    token = encode_payload(good_doc(), SECRET)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for i in range(len(raw)):
        for bit in (0x01, 0x80):
            bad = bytearray(raw)
            bad[i] ^= bit
            assert rejected(base64.urlsafe_b64encode(bytes(bad)).decode()).reason == "payload does not verify"


def test_every_truncation_and_extension_is_rejected() -> None:
    token = encode_payload(good_doc(), SECRET)
    for n in range(len(token)):
        rejected(token[:n])
    assert rejected(token[:10]).reason in {"token is too short", "token is not base64url"}
    rejected(token + "A")
    rejected(token + "AAAA")


def test_wrong_secret_is_rejected_like_tampering() -> None:
    token = encode_payload(good_doc(), SECRET)
    assert rejected(token, secret="another-secret").reason == "payload does not verify"
    assert rejected(token, secret=SECRET + " ").reason == "payload does not verify"
    assert rejected(token, secret="").reason == "no shared secret configured"


def test_expired_and_future_are_rejected() -> None:
    old = encode_payload(good_doc(timestamp=NOW_MS - 300_001), SECRET)
    assert rejected(old).reason == "payload has expired"
    future = encode_payload(good_doc(timestamp=NOW_MS + 60_001), SECRET)
    assert rejected(future).reason == "payload timestamp is in the future"
    assert rejected(encode_payload(good_doc(timestamp=0), SECRET)).reason == "payload has expired"


REQUIRED = [
    ("agent",), ("agent", "id"), ("author",), ("author", "id"), ("author", "network"),
    ("conversationId",), ("network",), ("timestamp",),
]  # fmt: skip
"""What Khoros promises (viewing agent, author, channel, conversationId, timestamp); the rest is optional."""
OPTIONAL = [("agent", "email"), ("agent", "name"), ("author", "handle"), ("conversationDisplayId",)]


@pytest.mark.parametrize("path", REQUIRED, ids=".".join)
def test_missing_field_is_rejected_and_named(path: tuple[str, ...]) -> None:
    doc = good_doc()
    target = doc if len(path) == 1 else doc[path[0]]
    del target[path[-1]]
    assert rejected(encode_payload(doc, SECRET)).reason == f"missing field {'.'.join(path)}"
    target[path[-1]] = None  # an explicit null is missing too
    assert rejected(encode_payload(doc, SECRET)).reason == f"missing field {'.'.join(path)}"


WRONG_TYPES = [
    (("agent",), "agent-17"), (("agent", "id"), 17), (("agent", "email"), ["x"]), (("agent", "name"), True),
    (("author",), ["author-42"]), (("author", "id"), 42), (("author", "network"), {}), (("author", "handle"), 1.5),
    (("conversationId",), 9), (("conversationDisplayId",), "10234"), (("conversationDisplayId",), 10234.0),
    (("conversationDisplayId",), True), (("network",), 3), (("timestamp",), str(NOW_MS)),
    (("timestamp",), float(NOW_MS)), (("timestamp",), True), (("timestamp",), 10**30), (("ssoToken",), 5),
]  # fmt: skip


@pytest.mark.parametrize("path", OPTIONAL, ids=".".join)
def test_fields_khoros_does_not_promise_may_be_absent(path: tuple[str, ...]) -> None:
    doc = good_doc()
    target = doc if len(path) == 1 else doc[path[0]]
    del target[path[-1]]
    payload = decode_payload(encode_payload(doc, SECRET), SECRET, now=NOW)
    holder = payload if len(path) == 1 else getattr(payload, path[0])
    attribute = {"conversationDisplayId": "conversation_display_id"}.get(path[-1], path[-1])
    assert getattr(holder, attribute) is None
    assert payload.to_json() == doc  # left out on the way back too
    target[path[-1]] = None  # an explicit null is the same
    assert getattr(decode_payload(encode_payload(doc, SECRET), SECRET, now=NOW) if len(path) == 1 else getattr(
        decode_payload(encode_payload(doc, SECRET), SECRET, now=NOW), path[0]), attribute) is None


def test_channel_is_accepted_for_network_and_network_wins_when_both_come() -> None:
    doc = good_doc()
    del doc["network"]
    doc["channel"] = "facebook"
    assert decode_payload(encode_payload(doc, SECRET), SECRET, now=NOW).network == "facebook"
    both = good_doc(channel="facebook")
    assert decode_payload(encode_payload(both, SECRET), SECRET, now=NOW).network == "twitter"
    assert rejected(encode_payload({**doc, "channel": ""}, SECRET)).reason == "missing field channel"
    assert rejected(encode_payload({**doc, "channel": 7}, SECRET)).reason == "wrong type for channel"


def test_timestamp_in_seconds_or_milliseconds_is_told_apart_by_magnitude() -> None:
    seconds = (NOW_MS - 5_000) // 1000
    assert decode_payload(encode_payload(good_doc(timestamp=seconds), SECRET), SECRET, now=NOW).timestamp == (
        datetime.fromtimestamp(seconds, UTC))
    millis = decode_payload(encode_payload(good_doc(), SECRET), SECRET, now=NOW).timestamp
    assert millis == datetime.fromtimestamp((NOW_MS - 5_000) / 1000, UTC)
    # 10^11 - 1 is seconds (year 5138: in the future), 10^11 is milliseconds (1973: expired)
    assert rejected(encode_payload(good_doc(timestamp=10**11 - 1), SECRET)).reason == (
        "payload timestamp is in the future")
    assert rejected(encode_payload(good_doc(timestamp=10**11), SECRET)).reason == "payload has expired"
    # the age limits hold in seconds too
    assert rejected(encode_payload(good_doc(timestamp=(NOW_MS - 301_000) // 1000), SECRET)).reason == (
        "payload has expired")


@pytest.mark.parametrize(("path", "value"), WRONG_TYPES, ids=lambda v: repr(v)[:20])
def test_wrong_type_is_rejected_and_named(path: tuple[str, ...], value: object) -> None:
    doc = good_doc()
    target = doc if len(path) == 1 else doc[path[0]]
    target[path[-1]] = value
    assert rejected(encode_payload(doc, SECRET)).reason == f"wrong type for {'.'.join(path)}"


@pytest.mark.parametrize(("field_path"), [("agent", "id"), ("author", "id"), ("conversationId",), ("network",)])
def test_empty_identifier_is_missing(field_path: tuple[str, ...]) -> None:
    doc = good_doc()
    (doc if len(field_path) == 1 else doc[field_path[0]])[field_path[-1]] = ""
    assert rejected(encode_payload(doc, SECRET)).reason == f"missing field {'.'.join(field_path)}"


@pytest.mark.parametrize(
    ("plaintext", "reason"),
    [
        (b"not json at all", "plaintext is not UTF-8 JSON"),
        (b"\xff\xfe\x00garbage", "plaintext is not UTF-8 JSON"),
        (b"", "plaintext is not UTF-8 JSON"),
        (b"[1, 2, 3]", "payload is not a JSON object"),
        (b'"a string"', "payload is not a JSON object"),
        (b"null", "payload is not a JSON object"),
        (b"[" * 5000 + b"]" * 5000, None),  # deep nesting: either reason, never a RecursionError
        (b'{"agent": NaN}', None),
    ],
)
def test_non_json_plaintext_is_rejected(plaintext: bytes, reason: str | None) -> None:
    exc = rejected(seal_raw(plaintext))
    if reason:
        assert exc.reason == reason


def test_huge_token_is_rejected_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(_: str) -> bytes:
        raise AssertionError("a huge token reached base64 decoding")

    monkeypatch.setattr(embed, "_b64url_decode_canonical", must_not_run)
    huge = "A" * 50_000_000
    started = time.perf_counter()
    assert rejected(huge).reason == "token is too long"
    assert time.perf_counter() - started < 0.5
    assert rejected("A" * (MAX_TOKEN_CHARS + 1)).reason == "token is too long"
    assert rejected(" " * (MAX_TOKEN_CHARS + 1)).reason == "token is too long"  # capped before stripping


@pytest.mark.parametrize(
    "token",
    ["abc$def", "ab+/cdef", "abc def", "abcd=efg", "abcde", "abc===", "ab=", "äöü", "abc\x00", "\n\t", "%41%42"],
)
def test_non_base64url_is_rejected(token: str) -> None:
    assert rejected(token).reason in {"token is not base64url", "token is empty"}


def test_standard_alphabet_variant_of_a_valid_token_is_rejected() -> None:
    # Find a token that contains - or _ (most do); its standard-alphabet twin must not decode.
    for _ in range(20):
        token = encode_payload(good_doc(), SECRET)
        if "-" in token or "_" in token:
            break
    else:
        pytest.skip("no token with - or _ in 20 tries")  # probability ~ 0
    assert rejected(token.replace("-", "+").replace("_", "/")).reason == "token is not base64url"


def test_non_canonical_trailing_bits_are_rejected() -> None:
    token = encode_payload(good_doc(), SECRET)
    if len(token) % 4 in (2, 3):
        last = B64URL_ALPHABET.index(token[-1])
        unused = 4 if len(token) % 4 == 2 else 2  # low bits of the last character that carry no data
        twin = token[:-1] + B64URL_ALPHABET[last | 1]
        if twin != token and (last & ((1 << unused) - 1)) == 0:
            assert rejected(twin).reason == "token is not base64url"
    assert rejected("AB").reason == "token is not base64url"  # "AB" has a set unused bit


def test_non_string_token_is_rejected() -> None:
    assert rejected(None).reason == "token is not a string"
    assert rejected(b"abc").reason == "token is not a string"


# ------------------------------------------------------------------------------------------------ properties


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
@example("InvalidP")  # a piece of the exception's own name: once failed a substring check on the token
def test_property_random_text_is_only_ever_invalid(token: str) -> None:
    rejected(token)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_property_random_bytes_as_base64url_are_invalid(raw: bytes, padded: bool) -> None:
    token = base64.urlsafe_b64encode(raw).decode()
    rejected(token if padded else token.rstrip("="))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*good_doc().keys(), "x"]), JSONISH, max_size=9), st.binary(max_size=40))
def test_property_authentic_but_arbitrary_plaintext_is_valid_or_invalid_never_an_error(
    doc: dict, junk: bytes
) -> None:
    for plaintext in (json.dumps(doc).encode(), junk):
        try:
            payload = decode_payload(seal_raw(plaintext), SECRET, now=NOW)
        except InvalidPayload as exc:
            assert SECRET not in str(exc)
        else:
            assert isinstance(payload, EmbedPayload) and payload.author.id


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_property_any_single_byte_change_is_rejected(position: int, xor: int) -> None:
    token = seal_raw(json.dumps(good_doc()).encode())
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    if xor == 0:
        xor = 1
    raw[position % len(raw)] ^= xor
    rejected(base64.urlsafe_b64encode(bytes(raw)).decode())


# ------------------------------------------------------------------------------------------------ pluggable cipher


class _ReversedCipher:
    """A toy scheme for the registry test (not secure; it only proves the plug works)."""

    name = "test-reversed"

    def open(self, token: str, secret: str) -> bytes:
        if not token.startswith(secret[:3]):
            raise InvalidPayload("payload does not verify")
        return token[3:][::-1].encode()

    def seal(self, plaintext: bytes, secret: str) -> str:
        return secret[:3] + plaintext.decode()[::-1]


def test_another_cipher_can_be_registered_and_chosen() -> None:
    embed.register_cipher(_ReversedCipher())
    token = encode_payload(good_doc(), SECRET, cipher="test-reversed")
    assert decode_payload(token, SECRET, now=NOW, cipher="test-reversed").conversation_id == "conv-9"
    rejected(token)  # the default scheme does not accept it
    with pytest.raises(ValueError, match="unknown payload cipher"):
        embed.get_cipher("nope")


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_encode_then_decode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc_path = tmp_path / "payload.json"
    doc_path.write_text(json.dumps(good_doc(timestamp=0)), encoding="utf-8")
    assert cli_main(["payload", "encode", "--secret", SECRET, "--json", str(doc_path), "--fresh"]) == 0
    token = capsys.readouterr().out.strip()
    assert cli_main(["payload", "decode", "--secret", SECRET, "--", token]) == 0  # "--": the token may start with "-"
    printed = json.loads(capsys.readouterr().out)
    assert printed["author"] == good_doc()["author"]
    assert abs(printed["timestamp"] - time.time() * 1000) < 60_000


def test_cli_decode_invalid_prints_one_line_reason(capsys: pytest.CaptureFixture[str]) -> None:
    # A fixed nonce that makes the token start with "-": base64url tokens can, and then they go after "--"
    # (the random nonce of encode_payload made this test fail whenever the draw began with "-").
    token = seal_raw(json.dumps(good_doc()).encode(), nonce=bytes([0xFB]) + b"\x01" * 11)
    assert token.startswith("-")
    assert cli_main(["payload", "decode", "--secret", "wrong-secret", "--", token]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "invalid payload: payload does not verify\n"
    assert cli_main(["payload", "decode", "--secret", SECRET, "--", token]) == 1  # NOW-5s is long past
    assert capsys.readouterr().err == "invalid payload: payload has expired\n"


def test_cli_reads_secret_from_environment_and_reports_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARE_DASHBOARD_IFRAME_SECRET", raising=False)
    assert cli_main(["payload", "decode", "abc"]) == 2
    assert "CARE_DASHBOARD_IFRAME_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("CARE_DASHBOARD_IFRAME_SECRET", SECRET)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert cli_main(["payload", "encode", "--json", str(bad)]) == 2
    assert "is not JSON" in capsys.readouterr().err
    assert cli_main(["payload", "encode", "--json", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli_main(["payload", "decode", "!!!"]) == 1
    assert capsys.readouterr().err == "invalid payload: token is not base64url\n"
