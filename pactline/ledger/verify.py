"""Full verification of a stored ledger: every entry, every index, every checkpoint.

One pass in index order: each entry's leaf hash is recomputed from its stored content, the
running Merkle frontier gives the root at every checkpoint's size, and each checkpoint's
signature and root are checked when the pass reaches it. The first problem met is reported,
so "first" means the lowest index (a checkpoint of size s is met after entry s-1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pactline.ledger.checkpoint import SignedCheckpoint
from pactline.ledger.entry import canonical_json, entry_content
from pactline.ledger.merkle import Frontier, leaf_hash
from pactline.ledger.signing import key_id
from pactline.ledger.store import Store, StoredEntry

BATCH = 5000
SHIFT_SEARCH = 8  # how far to look for an entry's original index when indexes were shifted


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    size: int
    first_bad_index: int | None = None  # lowest entry index known to be wrong
    reason: str | None = None
    latest_checkpoint: SignedCheckpoint | None = None  # the latest checkpoint that verified
    checkpoints_checked: int = 0
    bad_checkpoint_size: int | None = None  # set when a checkpoint itself is forged or altered

    @property
    def unsigned_entries(self) -> int:
        """Entries after the latest checkpoint that verified: nothing signed covers them yet.

        An unsigned tail is not damage (entries are appended between checkpoints), but nothing proves
        it complete: deleting or rewriting it leaves no trace, until a checkpoint is signed and witnessed.
        """
        return max(0, self.size - (self.latest_checkpoint.tree_size if self.latest_checkpoint else 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "unsigned_entries": self.unsigned_entries,
            "first_bad_index": self.first_bad_index,
            "bad_checkpoint_size": self.bad_checkpoint_size,
            "reason": self.reason,
            "checkpoints_checked": self.checkpoints_checked,
            "latest_checkpoint": self.latest_checkpoint.to_dict() if self.latest_checkpoint else None,
        }


class _Failure(Exception):
    def __init__(self, index: int | None, reason: str, checkpoint_size: int | None = None) -> None:
        super().__init__(reason)
        self.index, self.reason, self.checkpoint_size = index, reason, checkpoint_size


def stored_leaf_hash(row: StoredEntry, index: int | None = None) -> bytes:
    """Leaf hash of a stored row (optionally as if it had another index); raises _Failure if unreadable."""
    try:
        payload = json.loads(row.payload)
    except ValueError:
        raise _Failure(row.index, f"entry {row.index}: payload is not valid JSON (altered)") from None
    if not isinstance(payload, dict) or canonical_json(payload) != row.payload:
        # Catches edits that keep the JSON meaning (e.g. an added space) but change stored bytes.
        raise _Failure(row.index, f"entry {row.index}: payload bytes are not in canonical form (altered)")
    content = entry_content(
        row.index if index is None else index,
        row.timestamp,
        row.event,
        row.agreement_id,
        row.fingerprint,
        row.actor,
        payload,
    )
    return leaf_hash(canonical_json(content).encode("utf-8"))


def _leaf_mismatch(row: StoredEntry) -> _Failure:
    # If the row's hash matches its content under another index, rows were moved, which tells
    # where the damage starts: a row written as j < i means entries were inserted at j..i-1.
    for d in range(1, SHIFT_SEARCH + 1):
        for j in (row.index - d, row.index + d):
            if j >= 0 and stored_leaf_hash(row, j) == row.leaf_hash:
                if j < row.index:
                    return _Failure(
                        j,
                        f"entries {j}..{row.index - 1} were inserted: entry {row.index} was written as entry {j}",
                    )
                return _Failure(
                    row.index,
                    f"entry {row.index} was written as entry {j}: entries were deleted or reordered here",
                )
    return _Failure(row.index, f"entry {row.index}: content does not match its leaf hash (altered)")


def verify_store(store: Store, origin: str, public_key: Ed25519PublicKey) -> VerifyResult:
    # Checkpoints are read before the size: a checkpoint commits with the entries it covers,
    # so each one read here covers only entries the size below includes, even mid-append.
    with store.read() as q:
        checkpoints = q.checkpoints()
        size = q.end_index()
    expected_key = key_id(public_key)
    frontier = Frontier()
    pending = list(reversed(checkpoints))  # pop() yields the smallest tree size first
    good: SignedCheckpoint | None = None
    checked = 0

    def check_due() -> None:
        nonlocal good, checked
        while pending and pending[-1].tree_size <= frontier.size:
            cp = pending.pop()
            if cp.tree_size < frontier.size:  # only a negative size can be passed over
                raise _Failure(None, f"checkpoint with tree size {cp.tree_size} is not valid", cp.tree_size)
            _check_checkpoint(cp, origin, public_key, expected_key, frontier, good)
            good, checked = cp, checked + 1

    try:
        check_due()
        after = -(2**62)  # rows with negative indexes are not ours either: find them too
        while True:
            with store.read() as q:
                rows = q.entries(after, size, BATCH)
            if not rows:
                break
            for row in rows:
                if row.index != frontier.size:
                    if row.index < frontier.size:
                        raise _Failure(row.index, f"entry with index {row.index} is not a valid ledger index")
                    raise _Failure(
                        frontier.size, f"entry {frontier.size} is missing (the next stored index is {row.index})"
                    )
                leaf = stored_leaf_hash(row)
                if leaf != row.leaf_hash:
                    raise _leaf_mismatch(row)
                frontier.append(leaf)
                check_due()
            after = rows[-1].index
        if pending:
            cp = pending[-1]
            raise _Failure(
                frontier.size,
                f"checkpoint for tree size {cp.tree_size} covers entries "
                f"{frontier.size}..{cp.tree_size - 1}, which are missing (deleted)",
            )
    except _Failure as f:
        return VerifyResult(False, size, f.index, f.reason, good, checked, f.checkpoint_size)
    return VerifyResult(True, size, None, None, good, checked)


def _check_checkpoint(
    cp: SignedCheckpoint,
    origin: str,
    public_key: Ed25519PublicKey,
    expected_key: str,
    frontier: Frontier,
    previous: SignedCheckpoint | None,
) -> None:
    n = cp.tree_size
    if not cp.signature_valid(public_key):
        by = f"names key {cp.key_id}, expected {expected_key}" if cp.key_id != expected_key else "bad signature"
        raise _Failure(None, f"checkpoint for tree size {n} is forged or altered ({by})", n)
    if cp.origin != origin:
        raise _Failure(None, f"checkpoint for tree size {n} belongs to ledger {cp.origin!r}, not {origin!r}", n)
    if cp.root_hash != frontier.root():
        # Signed by us, so the entries changed; their leaf hashes were rewritten to match, which
        # leaves only the range since the last good checkpoint to point at.
        start = previous.tree_size if previous else 0
        raise _Failure(
            start,
            f"entries {start}..{n - 1} do not hash to the signed root of tree size {n}: "
            "at least one was altered and its stored leaf hash rewritten",
        )
