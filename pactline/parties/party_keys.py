"""A party's Ed25519 key pair.

The private half is a secret of the party's own deployment, named `pactline_party_<id>` and resolved like
every secret (an Airflow Variable/Connection, PACTLINE_SECRET_PACTLINE_PARTY_<ID>, or a 0600 file under
$PACTLINE_HOME/keys/ on the embedded default): the 32-byte Ed25519 seed as hex. The public half is written
in the agreement, inline (`ed25519:<base64url>`) or in a key file beside it that the agreement names.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import PUBLIC_KEY
from pactline.errors import KeyStoreError
from pactline.keys import KeyStore
from pactline.ledger.entry import canonical_json
from pactline.ledger.signing import key_id as signing_key_id

PREFIX = "ed25519:"
X25519_PREFIX = "x25519:"
_X25519_INFO = b"pactline party key agreement v1"  # the X25519 key is derived from the same seed, for this only
MAX_KEY_FILE = 1024  # a public key file holds one line; anything larger is not one


def secret_name(party_id: str, previous: bool = False) -> str:
    return f"pactline_party_{party_id}" + ("_previous" if previous else "")


def b64(raw: bytes) -> str:
    """base64url without padding: how keys and signatures are written in Pactline's signed documents."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    return PREFIX + b64(_raw(key))


def parse_public_key(text: str, where: str) -> Ed25519PublicKey:
    text = text.strip()
    if not PUBLIC_KEY.match(text):
        raise KeyStoreError(f"{where}: not an Ed25519 public key; expected 'ed25519:<base64url of 32 bytes>'")
    return Ed25519PublicKey.from_public_bytes(unb64(text[len(PREFIX):].rstrip("=")))


def encryption_key_text(key: X25519PublicKey) -> str:
    return X25519_PREFIX + b64(_raw(key))


def parse_encryption_key(text: str, where: str) -> X25519PublicKey:
    if not text.startswith(X25519_PREFIX):
        raise KeyStoreError(f"{where}: not an X25519 public key; expected 'x25519:<base64url of 32 bytes>'")
    try:
        return X25519PublicKey.from_public_bytes(unb64(text[len(X25519_PREFIX):]))
    except ValueError:
        raise KeyStoreError(f"{where}: not an X25519 public key (32 bytes)") from None


def _statement(context: bytes, body: Mapping[str, Any]) -> bytes:
    return context + canonical_json(dict(body)).encode("utf-8")


def sign_statement(key: Ed25519PrivateKey, context: bytes, body: Mapping[str, Any]) -> str:
    """A party's signature over `body` (canonical JSON, the ledger's encoding) under a domain `context`, so the
    bytes of one kind of document never verify as another's. Agreement signatures, release manifests and
    deletion attestations are all signed this way."""
    return b64(key.sign(_statement(context, body)))


def statement_verifies(key_text: str, context: bytes, body: Mapping[str, Any], signature: str) -> bool:
    try:
        parse_public_key(key_text, "signer").verify(unb64(signature), _statement(context, body))
    except (InvalidSignature, KeyStoreError, ValueError, TypeError):
        return False
    return True


def derive_decryption_key(seed: bytes) -> X25519PrivateKey:
    """The X25519 key of the party whose Ed25519 seed this is (HKDF with its own label: one seed, two uses)."""
    return X25519PrivateKey.from_private_bytes(HKDF(hashes.SHA256(), 32, salt=None, info=_X25519_INFO).derive(seed))


def key_id(text: str) -> str:
    """A short, stable name of a public key given as 'ed25519:...', the same as the ledger's key ids
    (pactline.ledger.signing.key_id); text that is no key gets a name of its text."""
    try:
        return signing_key_id(parse_public_key(text, "key"))
    except (KeyStoreError, ValueError):
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DeclaredKey:
    """What the agreement says a party's public key is."""

    party: str
    text: str | None  # 'ed25519:...' or None when the agreement names none or its file is missing
    problem: str | None = None  # why there is no usable key


def declared_keys(loaded: LoadedAgreement) -> dict[str, DeclaredKey]:
    """Each party's public key as the agreement gives it; a key file must stay inside the agreement's folder."""
    out: dict[str, DeclaredKey] = {}
    for party in loaded.agreement.parties:
        ref = party.public_key
        if ref is None:
            out[party.id] = DeclaredKey(party.id, None, "the agreement names no public key for this party")
        elif PUBLIC_KEY.match(ref):
            out[party.id] = DeclaredKey(party.id, ref)
        else:
            out[party.id] = _key_file(loaded.base_dir, party.id, ref)
    return out


def key_file_path(base_dir: Path, ref: str) -> Path:
    """Where a key file the agreement names lives; refused when it would leave the agreement's folder."""
    root = base_dir.resolve()
    path = (root / ref).resolve()  # follows symlinks: a link out of the folder is refused too
    if not path.is_relative_to(root):
        raise KeyStoreError(f"public key file {ref} leaves the agreement's folder; keep key files beside it")
    return path


def _key_file(base_dir: Path, party: str, ref: str) -> DeclaredKey:
    try:
        path = key_file_path(base_dir, ref)
    except KeyStoreError as e:
        return DeclaredKey(party, None, str(e))
    if not path.is_file():
        return DeclaredKey(party, None, f"public key file {ref} is missing; the party makes it with "
                                        f"`pactline keys new --party {party} --agreement FILE`")
    if path.stat().st_size > MAX_KEY_FILE:
        return DeclaredKey(party, None, f"public key file {ref} is not a public key (too large)")
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not PUBLIC_KEY.match(text):
        return DeclaredKey(party, None, f"public key file {ref} does not hold 'ed25519:<base64url>'")
    return DeclaredKey(party, text)


class PartyKeys:
    """The party keys this deployment holds (one on a party's own deployment; every party's in the demo)."""

    def __init__(self, store: KeyStore | None = None):
        self.store = store or KeyStore()

    def private(self, party_id: str) -> Ed25519PrivateKey | None:
        seed = self.store.find(secret_name(party_id))
        return Ed25519PrivateKey.from_private_bytes(seed[:32]) if seed is not None else None

    def decryption_key(self, party_id: str) -> X25519PrivateKey | None:
        """The party's X25519 key that data keys released to it are wrapped to, derived from its seed (its
        public half travels in the party's signature, so the other parties know it from a signed statement)."""
        seed = self.store.find(secret_name(party_id))
        return derive_decryption_key(seed[:32]) if seed is not None else None

    def public_text(self, party_id: str) -> str | None:
        key = self.private(party_id)
        return public_key_text(key.public_key()) if key is not None else None

    def create(self, party_id: str, *, rotate: bool = False) -> Ed25519PrivateKey:
        """A new key pair in the embedded default's key folder (0600). An existing key is kept, unless
        `rotate`: then it becomes `pactline_party_<id>_previous` and a new one replaces it."""
        current = self.store.key_file(secret_name(party_id))
        if self.store.find(secret_name(party_id)) is not None:
            if not rotate:
                raise KeyStoreError(f"party {party_id} already has a key here; pass --rotate to replace it")
            if not current.exists():
                raise KeyStoreError(f"party {party_id}'s key comes from the secrets backend or the environment; "
                                    "rotate it there")
            os.replace(current, self.store.key_file(secret_name(party_id, previous=True)))
        self.store.secret(secret_name(party_id))  # the key store makes a random 0600 key file on first use
        key = self.private(party_id)
        assert key is not None
        return key
