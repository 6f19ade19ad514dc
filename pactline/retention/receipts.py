"""Deletion receipts: what was destroyed, with which hashes, under which clause, when, and proof of it.

A receipt is a JSON document stored in clear at <agreement>/receipts/<receipt_id>.json:

    {"kind": "pactline/deletion-receipt/v1",
     "body": {...},                                   what was deleted (no personal data, no secrets)
     "signature": {"alg": "Ed25519", "key_id", "value"},   the ledger's key over DOMAIN + canonical body
     "ledger": {"index", "event", "origin"},           the entry holding {"receipt": body, "signature"}
     "inclusion_proof": {...}}                         RFC 9162 proof of that entry to a signed checkpoint

Checking one needs the ledger's public key only for the signature and the proof; `verify_receipt`
also checks the entry against the live ledger and that the ledger still extends the checkpoint.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pactline.ledger import Ledger, ProofError, check_inclusion_proof
from pactline.ledger.entry import canonical_json
from pactline.ledger.errors import LedgerError
from pactline.ledger.merkle import root as merkle_root
from pactline.ledger.proofs import InclusionProof
from pactline.ledger.signing import key_id

KIND = "pactline/deletion-receipt/v1"
# Prefixed to what is signed so a receipt signature can never pass as a checkpoint signature
# (or anything else) made with the same key, nor the other way round.
SIGNATURE_DOMAIN = b"pactline-deletion-receipt/v1\n"
RECEIPT_EVENTS = ("purge", "erasure")


def receipt_path(agreement_id: str, receipt_id: str) -> str:
    return f"{agreement_id}/receipts/{receipt_id}.json"


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    return SIGNATURE_DOMAIN + canonical_json(dict(body)).encode("utf-8")


def sign(body: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, str]:
    return {"alg": "Ed25519", "key_id": key_id(key),
            "value": base64.b64encode(key.sign(signed_bytes(body))).decode("ascii")}


def ledger_payload(body: Mapping[str, Any], signature: Mapping[str, str]) -> dict[str, Any]:
    return {"receipt": dict(body), "signature": dict(signature)}


def document(body: Mapping[str, Any], signature: Mapping[str, str], event: str, proof: InclusionProof) -> dict[str, Any]:
    return {"kind": KIND, "body": dict(body), "signature": dict(signature),
            "ledger": {"index": proof.entry.index, "event": event, "origin": proof.checkpoint.origin},
            "inclusion_proof": proof.to_dict()}


@dataclass
class ReceiptCheck:
    path: str
    receipt_id: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "receipt_id": self.receipt_id, "ok": self.ok, "problems": self.problems}


def ledger_leaves(ledger: Ledger) -> list[bytes]:
    """Leaf hashes recomputed from every entry's content (so an edited entry changes them)."""
    return [e.computed_leaf_hash() for e in ledger.entries()]


def verify_receipt(doc: Any, path: str, ledger: Ledger, public_key: Ed25519PublicKey,
                   leaves: list[bytes] | None = None) -> ReceiptCheck:
    """Every problem found with one receipt document (an empty list means it verifies).

    `leaves` (from ledger_leaves) lets many receipts be checked against one read of the ledger.
    """
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        return ReceiptCheck(path, None, [f"not a deletion receipt (kind {doc.get('kind') if isinstance(doc, dict) else None!r})"])
    body, signature = doc.get("body"), doc.get("signature")
    check = ReceiptCheck(path, body.get("receipt_id") if isinstance(body, dict) else None)
    problems = check.problems
    if not isinstance(body, dict) or not isinstance(signature, dict):
        problems.append("body or signature missing")
        return check
    if not path.endswith(f"/{check.receipt_id}.json"):
        problems.append(f"file name does not match receipt id {check.receipt_id!r}")
    # 1. the signature over the body
    try:
        public_key.verify(base64.b64decode(str(signature.get("value")), validate=True), signed_bytes(body))
    except (InvalidSignature, ValueError):
        problems.append("signature does not verify against the ledger's public key (receipt altered or forged)")
    # 2. the ledger entry it names holds exactly this body and signature
    where = doc.get("ledger") or {}
    index = where.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        problems.append("no ledger entry index")
        return check
    try:
        entry = ledger.get(index)
    except LedgerError as e:
        problems.append(f"ledger entry {index}: {e}")
        return check
    if entry.event not in RECEIPT_EVENTS or entry.event != where.get("event"):
        problems.append(f"ledger entry {index} is a {entry.event!r} event, not this receipt")
    if entry.payload != ledger_payload(body, signature):
        problems.append(f"ledger entry {index} does not hold this receipt (receipt or ledger altered)")
    agreement = body.get("agreement") or {}
    if entry.agreement_id != agreement.get("id"):
        problems.append(f"ledger entry {index} belongs to agreement {entry.agreement_id!r}, not {agreement.get('id')!r}")
    # 3. the inclusion proof leads to a checkpoint this ledger signed and still extends
    try:
        proof = InclusionProof.from_dict(doc.get("inclusion_proof") or {})
        check_inclusion_proof(proof, public_key)
        if proof.entry.index != index or proof.entry.content() != entry.content():
            problems.append("the inclusion proof is for another entry")
        leaves = ledger_leaves(ledger) if leaves is None else leaves
        if proof.checkpoint.origin != ledger.origin:
            problems.append(f"the inclusion proof is from another ledger ({proof.checkpoint.origin})")
        elif proof.tree_size > len(leaves) or merkle_root(leaves, proof.tree_size) != proof.checkpoint.root_hash:
            # the ledger as it is now no longer has the tree the receipt's checkpoint signed
            problems.append(f"the ledger's first {proof.tree_size} entries no longer match the receipt's "
                            "signed checkpoint (ledger rewritten); run `pactline ledger verify`")
    except (ProofError, LedgerError) as e:
        problems.append(f"inclusion proof: {e}")
    return check


def parse(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
