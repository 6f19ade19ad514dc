"""The Ed25519 key that signs checkpoints: where it comes from and how its public half is shared.

Resolution order:
1. PACTLINE_LEDGER_SIGNING_KEY: a PKCS#8 PEM private key, or the 32-byte seed as 64 hex digits;
2. $PACTLINE_HOME/ledger/signing_key.pem, created on first use with mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pactline.keys import pactline_home
from pactline.ledger.errors import LedgerConfigError

ENV_SIGNING_KEY = "PACTLINE_LEDGER_SIGNING_KEY"
KEY_FILE_NAME = "signing_key.pem"


def key_file(home: Path | None = None) -> Path:
    return (home or pactline_home()) / "ledger" / KEY_FILE_NAME


def parse_private_key(text: str, source: str) -> Ed25519PrivateKey:
    text = text.strip().replace("\\n", "\n")  # PEM squeezed onto one env line
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerConfigError(
            f"{source} is not an Ed25519 signing key: give an unencrypted PKCS#8 PEM "
            "or the 32-byte seed as 64 hex digits"
        )
    return key


def find_signing_key(home: Path | None = None) -> Ed25519PrivateKey | None:
    """The configured signing key, or None when neither the env var nor the key file exists."""
    env = os.environ.get(ENV_SIGNING_KEY)
    if env:
        return parse_private_key(env, ENV_SIGNING_KEY)
    path = key_file(home)
    if path.exists():
        return parse_private_key(path.read_text(), str(path))
    return None


def load_signing_key(home: Path | None = None) -> Ed25519PrivateKey:
    """The configured signing key, creating the key file when there is none yet."""
    key = find_signing_key(home)
    if key is not None:
        return key
    path = key_file(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process created meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return parse_private_key(path.read_text(), str(path))


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerConfigError("not an Ed25519 public key in PEM form (get one with `pactline ledger public-key`)")
    return key


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short name for a key (first 8 bytes of SHA-256 of the raw public key), to say which key signed."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
