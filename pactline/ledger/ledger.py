"""The ledger: append entries, sign checkpoints, prove inclusion and consistency, verify."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pactline.ledger.checkpoint import SignedCheckpoint, sign_checkpoint
from pactline.ledger.config import DEFAULT_CHECKPOINT_EVERY, open_store, resolve_checkpoint_every, resolve_url
from pactline.ledger.entry import Entry, check_fields, payload_json, utc_now
from pactline.ledger.errors import EntryNotFoundError, LedgerConfigError, LedgerCorruptError, ProofError
from pactline.ledger.merkle import Frontier, consistency_path, inclusion_path, verify_inclusion
from pactline.ledger.proofs import ConsistencyProof, InclusionProof, check_consistency_proof
from pactline.ledger.signing import find_signing_key, key_id, load_public_key, load_signing_key, public_key_pem
from pactline.ledger.store import Queries, Store, StoredEntry
from pactline.ledger.verify import VerifyResult, verify_store

PAGE = 1000


class Ledger:
    """An append-only, tamper-evident event ledger backed by SQLite or PostgreSQL.

    Safe to share between threads; each process opens its own. Open with `Ledger.open()`.
    """

    def __init__(
        self,
        store: Store,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        home: Path | None = None,
        create: bool = True,
    ) -> None:
        self._store = store
        self._key = signing_key
        self._home = home
        self.checkpoint_every = checkpoint_every
        try:
            self.origin = store.open_ledger(f"pactline-ledger/{uuid.uuid4()}", create)
        except BaseException:
            store.close()
            raise

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = None,
        home: Path | None = None,
        create: bool = True,
    ) -> Ledger:
        """Open the ledger at `url`, else $PACTLINE_LEDGER_URL, else the SQLite file in $PACTLINE_HOME.

        It is created if missing unless `create` is False (then LedgerConfigError). The signing
        key is only loaded (or created) when something is first signed, so an auditor can open
        and verify a ledger with nothing but its public key.
        """
        every = resolve_checkpoint_every(checkpoint_every)
        store = open_store(resolve_url(url), create)
        return cls(store, signing_key=signing_key, checkpoint_every=every, home=home, create=create)

    @property
    def url(self) -> str:
        return self._store.display_url

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock `name` across every process sharing this ledger; appends are not blocked."""
        with self._store.exclusive(name):
            yield

    # -- keys ---------------------------------------------------------------------------

    def signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = load_signing_key(self._home)
        return self._key

    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key().public_key()

    def public_key_pem(self) -> str:
        return public_key_pem(self.signing_key())

    # -- writing ------------------------------------------------------------------------

    def append(
        self,
        event: str,
        *,
        agreement_id: str,
        fingerprint: str | None = None,
        actor: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Record one event. Its index is assigned in the same transaction as the insert."""
        check_fields(event, agreement_id, fingerprint, actor)
        text = payload_json(payload)
        parsed = json.loads(text)  # what a reader will get back, e.g. tuples become lists
        key = self.signing_key() if self.checkpoint_every else None  # load before taking the lock
        with self._store.write() as q:
            index = q.end_index()
            timestamp = utc_now()  # taken under the lock, so timestamps follow index order per host
            entry = Entry(index, timestamp, event, agreement_id, fingerprint, actor, parsed, b"")
            entry = replace(entry, leaf_hash=entry.computed_leaf_hash())
            q.insert_entry(
                StoredEntry(index, timestamp, event, agreement_id, fingerprint, actor, text, entry.leaf_hash)
            )
            if key is not None and (index + 1) % self.checkpoint_every == 0:
                self._sign(q, index + 1, key)
        return entry

    def checkpoint(self, tree_size: int | None = None) -> SignedCheckpoint:
        """Sign a checkpoint over the first `tree_size` entries (default: all); returns the existing one if any."""
        key = self.signing_key()
        with self._store.write() as q:
            size = q.end_index()
            if tree_size is not None and not 0 <= tree_size <= size:
                raise EntryNotFoundError(f"cannot checkpoint tree size {tree_size}: the ledger holds {size} entries")
            return self._sign(q, size if tree_size is None else tree_size, key)

    def _sign(self, q: Queries, tree_size: int, key: Ed25519PrivateKey) -> SignedCheckpoint:
        existing = q.checkpoint(tree_size)
        if existing is not None:
            return existing
        latest = q.latest_checkpoint()
        if latest is not None and latest.key_id != key_id(key):
            # Most likely a node that made its own key file: its checkpoints would never verify
            # against the ledger's public key, so refuse loudly instead of signing.
            raise LedgerConfigError(
                f"this ledger's checkpoints are signed by key {latest.key_id}, but the signing key "
                f"configured here is {key_id(key)}: give every node the same key "
                "(PACTLINE_LEDGER_SIGNING_KEY, or the same $PACTLINE_HOME/ledger/signing_key.pem)"
            )
        frontier = Frontier()
        base = q.frontier_base(tree_size)
        if base is not None:
            cp, blob = base
            try:
                candidate = Frontier.from_bytes(cp.tree_size, blob)
            except ValueError:
                candidate = None
            # The stored frontier is not signed; use it only if it folds to the signed root.
            if candidate is not None and candidate.root() == cp.root_hash:
                frontier = candidate
        frontier.extend(q.leaf_hashes(frontier.size, tree_size))
        if frontier.size != tree_size:
            raise LedgerCorruptError(f"entries below {tree_size} are missing; run `pactline ledger verify`")
        cp = sign_checkpoint(key, self.origin, tree_size, frontier.root(), utc_now())
        q.insert_checkpoint(cp, frontier.to_bytes())
        return cp

    # -- reading ------------------------------------------------------------------------

    def size(self) -> int:
        with self._store.read() as q:
            return q.end_index()

    def get(self, index: int) -> Entry:
        with self._store.read() as q:
            rows = q.entries(index - 1, index + 1, 1)
        if not rows or rows[0].index != index:
            raise EntryNotFoundError(f"ledger has no entry {index}")
        return _entry(rows[0])

    def entries(
        self,
        start: int = 0,
        limit: int | None = None,
        *,
        agreement_id: str | None = None,
        event: str | None = None,
    ) -> Iterator[Entry]:
        """Entries from index `start` on, in order, optionally only one agreement's or one event type's."""
        after, left = start - 1, limit
        while left is None or left > 0:
            page = PAGE if left is None else min(PAGE, left)
            with self._store.read() as q:
                rows = q.entries(after, None, page, agreement_id, event)
            yield from (_entry(r) for r in rows)
            if len(rows) < page:
                return
            after = rows[-1].index
            left = None if left is None else left - len(rows)

    def entries_newest_first(self, *, agreement_id: str | None = None, before: int | None = None) -> Iterator[Entry]:
        """Entries from the newest back (only those below index `before`, of one agreement, when given)."""
        while True:
            with self._store.read() as q:
                rows = q.entries_desc(before, PAGE, agreement_id)
            yield from (_entry(r) for r in rows)
            if len(rows) < PAGE:
                return
            before = rows[-1].index

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        with self._store.read() as q:
            return q.latest_checkpoint()

    # -- proofs -------------------------------------------------------------------------

    def prove_inclusion(self, index: int, tree_size: int | None = None) -> InclusionProof:
        """A proof that entry `index` is in the tree of `tree_size`, with that size's signed checkpoint.

        Without `tree_size` the latest checkpoint is used; one is signed now if none covers the entry yet.
        """
        if tree_size is None:
            cp = self.latest_checkpoint()
            if cp is None or cp.tree_size <= index:
                if not 0 <= index < self.size():
                    raise EntryNotFoundError(f"ledger has no entry {index}")
                cp = self.checkpoint()
        else:
            cp = self.checkpoint(tree_size)
        if not 0 <= index < cp.tree_size:
            raise EntryNotFoundError(f"entry {index} is not in the tree of size {cp.tree_size}")
        entry = self.get(index)
        with self._store.read() as q:
            leaves = q.leaf_hashes(0, cp.tree_size)
        path = inclusion_path(leaves, index, cp.tree_size)
        # Never hand out a proof that does not check: it would mean the store was tampered with.
        if entry.computed_leaf_hash() != entry.leaf_hash or not verify_inclusion(
            entry.leaf_hash, index, cp.tree_size, path, cp.root_hash
        ):
            raise LedgerCorruptError(f"entry {index} no longer matches the signed tree; run `pactline ledger verify`")
        return InclusionProof(entry, cp.tree_size, path, cp)

    def prove_consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """A proof that the tree of size `first` is a prefix of the tree of size `second` (default: all)."""
        second_cp = self.checkpoint(second)
        if not (0 < first <= second_cp.tree_size or first == second_cp.tree_size):
            # A proof from the empty tree would prove nothing, so RFC 9162 defines none.
            raise EntryNotFoundError(f"no consistency proof from size {first} to size {second_cp.tree_size}")
        first_cp = self.checkpoint(first)
        with self._store.read() as q:
            leaves = q.leaf_hashes(0, second_cp.tree_size)
        proof = ConsistencyProof(first_cp, second_cp, consistency_path(leaves, first, second_cp.tree_size))
        try:
            check_consistency_proof(proof, self.public_key())
        except ProofError as e:
            raise LedgerCorruptError(f"stored leaves do not match the signed checkpoints: {e}") from e
        return proof

    # -- verification -------------------------------------------------------------------

    def verify(self, public_key: Ed25519PublicKey | str | bytes | None = None) -> VerifyResult:
        """Check every entry and checkpoint; see VerifyResult. Uses this ledger's key unless one is given."""
        if public_key is None:
            key = self._key or find_signing_key(self._home)
            if key is None:
                raise LedgerConfigError(
                    "no signing key is configured here to verify checkpoints against: "
                    "pass the ledger's public key (pactline ledger verify --public-key FILE)"
                )
            public_key = key.public_key()
        elif not isinstance(public_key, Ed25519PublicKey):
            public_key = load_public_key(public_key)
        return verify_store(self._store, self.origin, public_key)


_opened_lock = threading.Lock()
_opened: dict[str, Ledger] = {}


def open_ledger(url: str | None = None) -> Ledger:
    """One Ledger per URL per process (opening one creates its tables and signing key on first use); every
    writer in a process shares it (pactline.recording re-exports this for the pipeline and the faces)."""
    resolved = resolve_url(url)  # keyed by the resolved URL: PACTLINE_HOME may change between runs
    with _opened_lock:
        if resolved not in _opened:
            _opened[resolved] = Ledger.open(resolved)
        return _opened[resolved]


def _entry(row: StoredEntry) -> Entry:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        raise LedgerCorruptError(
            f"entry {row.index} has a payload that is not JSON; run `pactline ledger verify`"
        ) from None
    return Entry(
        row.index, row.timestamp, row.event, row.agreement_id, row.fingerprint, row.actor, payload, row.leaf_hash
    )
