"""The tamper-evident ledger: every event Pactline records, in one verifiable order.

Entries are leaves of an RFC 9162 Merkle tree; signed checkpoints fix the tree's root at a
size; inclusion and consistency proofs let a counterparty check an entry or the log's
history with the public key alone; `Ledger.verify()` finds the first tampered entry.
"""

from pactline.ledger.checkpoint import SignedCheckpoint
from pactline.ledger.entry import EVENT_TYPES, Entry
from pactline.ledger.errors import (
    EntryNotFoundError,
    InvalidEntryError,
    LedgerConfigError,
    LedgerCorruptError,
    LedgerError,
    LedgerStorageError,
    ProofError,
)
from pactline.ledger.ledger import Ledger
from pactline.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    check_consistency_proof,
    check_inclusion_proof,
    check_proof,
)
from pactline.ledger.verify import VerifyResult

__all__ = [
    "EVENT_TYPES",
    "ConsistencyProof",
    "Entry",
    "EntryNotFoundError",
    "InclusionProof",
    "InvalidEntryError",
    "Ledger",
    "LedgerConfigError",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerStorageError",
    "ProofError",
    "SignedCheckpoint",
    "VerifyResult",
    "check_consistency_proof",
    "check_inclusion_proof",
    "check_proof",
]
