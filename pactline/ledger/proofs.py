"""Inclusion and consistency proofs as self-contained JSON documents, and their checkers.

A proof carries the signed checkpoint it leads to, so a counterparty needs nothing but the
proof and the ledger's public key (`pactline ledger public-key`) to check it: no database,
no network, no trust in whoever handed the proof over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pactline.ledger.checkpoint import SignedCheckpoint
from pactline.ledger.entry import Entry
from pactline.ledger.errors import InvalidEntryError, ProofError
from pactline.ledger.merkle import verify_consistency, verify_inclusion
from pactline.ledger.signing import key_id, load_public_key

INCLUSION_KIND = "pactline.ledger/inclusion-proof/v1"
CONSISTENCY_KIND = "pactline.ledger/consistency-proof/v1"

ProofInput = str | bytes | Mapping[str, Any]
KeyInput = str | bytes | Ed25519PublicKey


@dataclass(frozen=True)
class InclusionProof:
    entry: Entry
    tree_size: int
    audit_path: list[bytes]
    checkpoint: SignedCheckpoint

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": INCLUSION_KIND,
            "leaf_index": self.entry.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.entry.leaf_hash.hex(),
            "audit_path": [h.hex() for h in self.audit_path],
            "entry": self.entry.content(),
            "checkpoint": self.checkpoint.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InclusionProof:
        _expect_kind(data, INCLUSION_KIND)
        try:
            entry = Entry.from_dict({**data["entry"], "leaf_hash": data["leaf_hash"]})
            if entry.index != data["leaf_index"]:
                raise ProofError("leaf_index differs from the entry's index")
            return cls(
                entry,
                _size(data["tree_size"]),
                _hashes(data["audit_path"]),
                SignedCheckpoint.from_dict(data["checkpoint"]),
            )
        except (KeyError, TypeError, ValueError, InvalidEntryError) as e:
            raise ProofError(f"not an inclusion proof: {e.__class__.__name__}: {e}") from None


@dataclass(frozen=True)
class ConsistencyProof:
    first: SignedCheckpoint
    second: SignedCheckpoint
    path: list[bytes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": CONSISTENCY_KIND,
            "first_size": self.first.tree_size,
            "second_size": self.second.tree_size,
            "path": [h.hex() for h in self.path],
            "first_checkpoint": self.first.to_dict(),
            "second_checkpoint": self.second.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConsistencyProof:
        _expect_kind(data, CONSISTENCY_KIND)
        try:
            first = SignedCheckpoint.from_dict(data["first_checkpoint"])
            second = SignedCheckpoint.from_dict(data["second_checkpoint"])
            if (first.tree_size, second.tree_size) != (data["first_size"], data["second_size"]):
                raise ProofError("sizes differ from the checkpoints' tree sizes")
            return cls(first, second, _hashes(data["path"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ProofError(f"not a consistency proof: {e.__class__.__name__}: {e}") from None


def check_inclusion_proof(proof: ProofInput | InclusionProof, public_key_pem: KeyInput) -> bool:
    """True when the proof shows its entry is in the ledger signed by this key; raises ProofError saying why not."""
    p = proof if isinstance(proof, InclusionProof) else InclusionProof.from_dict(_as_mapping(proof))
    _check_signature(p.checkpoint, _public_key(public_key_pem))
    if p.checkpoint.tree_size != p.tree_size:
        raise ProofError(f"proof is for tree size {p.tree_size} but its checkpoint is for {p.checkpoint.tree_size}")
    if p.entry.computed_leaf_hash() != p.entry.leaf_hash:
        raise ProofError(f"entry {p.entry.index}: its content does not hash to the leaf hash given (entry altered)")
    if not verify_inclusion(p.entry.leaf_hash, p.entry.index, p.tree_size, p.audit_path, p.checkpoint.root_hash):
        raise ProofError(
            f"entry {p.entry.index}: the audit path does not lead to the signed root of tree size {p.tree_size}"
        )
    return True


def check_consistency_proof(proof: ProofInput | ConsistencyProof, public_key_pem: KeyInput) -> bool:
    """True when the proof shows the first signed tree is a prefix of the second; raises ProofError otherwise."""
    p = proof if isinstance(proof, ConsistencyProof) else ConsistencyProof.from_dict(_as_mapping(proof))
    key = _public_key(public_key_pem)
    _check_signature(p.first, key)
    _check_signature(p.second, key)
    if p.first.origin != p.second.origin:
        raise ProofError(f"checkpoints come from two ledgers ({p.first.origin!r}, {p.second.origin!r})")
    a, b = p.first, p.second
    if not verify_consistency(a.tree_size, b.tree_size, a.root_hash, b.root_hash, p.path):
        raise ProofError(f"tree size {a.tree_size} is not proven to be a prefix of tree size {b.tree_size}")
    return True


def check_proof(proof: ProofInput, public_key_pem: KeyInput) -> str:
    """Check either kind of proof; returns a one-line description of what it proved."""
    data = _as_mapping(proof)
    if data.get("kind") == CONSISTENCY_KIND:
        c = ConsistencyProof.from_dict(data)
        check_consistency_proof(c, public_key_pem)
        return (
            f"valid: ledger {c.second.origin} at tree size {c.second.tree_size} "
            f"extends tree size {c.first.tree_size} (nothing earlier was changed)"
        )
    i = InclusionProof.from_dict(data)
    check_inclusion_proof(i, public_key_pem)
    return (
        f"valid: entry {i.entry.index} ({i.entry.event}) is in ledger {i.checkpoint.origin} "
        f"at tree size {i.tree_size}, checkpoint signed {i.checkpoint.timestamp}"
    )


def _check_signature(cp: SignedCheckpoint, key: Ed25519PublicKey) -> None:
    if not cp.signature_valid(key):
        hint = "" if cp.key_id == key_id(key) else f" (it names key {cp.key_id}, the key given is {key_id(key)})"
        raise ProofError(f"checkpoint for tree size {cp.tree_size} is not signed by the given public key{hint}")


def _public_key(value: KeyInput) -> Ed25519PublicKey:
    return value if isinstance(value, Ed25519PublicKey) else load_public_key(value)


def _as_mapping(proof: ProofInput) -> Mapping[str, Any]:
    if isinstance(proof, Mapping):
        return proof
    try:
        data = json.loads(proof)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProofError(f"proof is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ProofError("proof is not a JSON object")
    return data


def _expect_kind(data: Mapping[str, Any], kind: str) -> None:
    if data.get("kind") != kind:
        raise ProofError(f"proof kind is {data.get('kind')!r}, expected {kind!r}")


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("tree_size is not a non-negative integer")
    return value


def _hashes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise ValueError("path is not a list")
    hashes = [bytes.fromhex(v) for v in values]
    if any(len(h) != 32 for h in hashes):
        raise ValueError("path holds a hash that is not 32 bytes")
    return hashes
