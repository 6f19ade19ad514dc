"""Signed checkpoints: the ledger's signature over (origin, tree size, root hash, time)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pactline.ledger.entry import canonical_json
from pactline.ledger.errors import ProofError
from pactline.ledger.signing import key_id

# Prefixed to what is signed so a checkpoint signature can never be replayed as a signature
# over anything else the same key might sign.
SIGNATURE_DOMAIN = b"pactline-ledger-checkpoint/v1\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        return checkpoint_body(self.origin, self.tree_size, self.root_hash, self.timestamp)

    def signature_valid(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(self.signature, self.signed_bytes())
        except InvalidSignature:
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedCheckpoint:
        try:
            size = data["tree_size"]
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError("tree_size is not a non-negative integer")
            return cls(
                origin=str(data["origin"]),
                tree_size=size,
                root_hash=bytes.fromhex(str(data["root_hash"])),
                timestamp=str(data["timestamp"]),
                key_id=str(data["key_id"]),
                signature=base64.b64decode(str(data["signature"]), validate=True),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as e:
            raise ProofError(f"not a signed checkpoint: {e.__class__.__name__}: {e}") from None


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
    body = {"origin": origin, "root_hash": root_hash.hex(), "timestamp": timestamp, "tree_size": tree_size}
    return SIGNATURE_DOMAIN + canonical_json(body).encode("utf-8")


def sign_checkpoint(
    key: Ed25519PrivateKey, origin: str, tree_size: int, root_hash: bytes, timestamp: str
) -> SignedCheckpoint:
    signature = key.sign(checkpoint_body(origin, tree_size, root_hash, timestamp))
    return SignedCheckpoint(origin, tree_size, root_hash, timestamp, key_id(key), signature)
