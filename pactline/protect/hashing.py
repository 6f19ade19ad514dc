"""Keyed primitives: HMAC-SHA256 pseudonyms, date-shift offsets, deterministic AES-SIV encryption.

Everything here is a pure function of (secret, value), so two parties holding the same secret
compute the same pseudonym, offset and ciphertext in any process, on any machine, in any run.

- pseudonym  = prefix + hex(HMAC-SHA256(secret, utf8(normalise(text))))[:length]
  where text is the value itself, or an integer's canonical decimal form ("42", "-7").
  A value that normalises to "" becomes null: one token shared by every empty value would
  link unrelated rows.
- date shift = int.from_bytes(HMAC-SHA256(secret, b"date_shift:" + utf8(subject))[:8], "big")
               mod (2 * max_days + 1) - max_days          (days, in [-max_days, +max_days])
               where subject is normalised like the subject column's pseudonym (if it has one)
- encrypt    = "enc:" + base64url-without-padding(AES-SIV(K, utf8(text))) with
               K = HKDF-SHA256(secret, salt=None, info=b"pactline-aes-siv", length=64) and no
               associated data, so the same value always gives the same ciphertext (joins work).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactline.protect.arrays import BadValue, as_text
from pactline.protect.text_ops import normaliser

ENC_PREFIX = "enc:"
DATE_SHIFT_DOMAIN = b"date_shift:"
AES_SIV_INFO = b"pactline-aes-siv"


class Hmac256:
    """HMAC-SHA256 (RFC 2104) with the key's padded blocks hashed once.

    Identical output to hmac.new(key, msg, sha256); copying the two precomputed SHA-256 states
    per message is about twice as fast as hmac.digest() for the short values of a column.
    """

    def __init__(self, key: bytes):
        if len(key) > 64:  # the SHA-256 block size; longer keys are hashed first (RFC 2104)
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(hmac.trans_36))
        self._outer = hashlib.sha256(key.translate(hmac.trans_5C))

    def digest(self, msg: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, msg: bytes) -> str:
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def pseudonymise(
    arr: pa.Array, secret: bytes, normalise: Sequence[str], prefix: str, length: int, out_type: pa.DataType
) -> pa.Array:
    """Tokens for a plain array of distinct values (text or integers)."""
    norm = normaliser(normalise) if normalise else None
    mac = Hmac256(secret)
    inner, outer = mac._inner, mac._outer  # HMAC inlined: this loop is the engine's hot spot
    out: list[str | None] = []
    append = out.append
    for value in as_text(arr).to_pylist():
        text = value if norm is None or value is None else norm(value)
        if not text:  # null, or normalised to "": null (see the module docstring)
            append(None)
            continue
        h = inner.copy()
        h.update(text.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        append(prefix + o.hexdigest()[:length])
    return pa.array(out, type=out_type)


def shift_offsets(subjects: pa.Array, secret: bytes, max_days: int, normalise: Sequence[str] = ()) -> pa.Array:
    """Per-subject offsets in days (int32) for a plain array of distinct subjects.

    `normalise` is the subject column's own pseudonymise normalisation, so two spellings that
    get the same pseudonym also get the same offset; a subject normalising to "" gets null.
    """
    norm = normaliser(normalise)
    digest = Hmac256(secret).digest
    span = 2 * max_days + 1
    out: list[int | None] = []
    for value in as_text(subjects).to_pylist():
        text = None if value is None else norm(value)
        out.append(
            int.from_bytes(digest(DATE_SHIFT_DOMAIN + text.encode("utf-8"))[:8], "big") % span - max_days
            if text else None
        )
    return pa.array(out, type=pa.int32())


class Siv:
    """Deterministic authenticated encryption of text under a secret (AES-SIV, RFC 5297)."""

    def __init__(self, secret: bytes):
        key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=AES_SIV_INFO).derive(secret)
        self._aead = AESSIV(key)

    def encrypt(self, arr: pa.Array, out_type: pa.DataType) -> pa.Array:
        enc = self._aead.encrypt
        out = [
            None if v is None
            else ENC_PREFIX + base64.urlsafe_b64encode(enc(v.encode("utf-8"), None)).rstrip(b"=").decode("ascii")
            for v in as_text(arr).to_pylist()
        ]
        return pa.array(out, type=out_type)

    def decrypt(self, arr: pa.Array, out_type: pa.DataType) -> pa.Array:
        dec = self._aead.decrypt
        out: list[str | None] = []
        for token in arr.to_pylist():
            if token is None:
                out.append(None)
                continue
            if not token.startswith(ENC_PREFIX):
                raise BadValue(token, f"is not a Pactline ciphertext (it does not start with {ENC_PREFIX!r})")
            body = token[len(ENC_PREFIX):]
            try:
                plain = dec(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), None)
            except (InvalidTag, ValueError) as exc:
                raise BadValue(token, "does not decrypt under this key (wrong key, or the text was altered)") from exc
            out.append(plain.decode("utf-8"))
        return pa.array(out, type=out_type)
