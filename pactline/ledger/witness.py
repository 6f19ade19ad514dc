"""Witnessed ledgers: sign the tail, publish checkpoints on the exchange, witness the other party's.

A signed checkpoint fixes the ledger up to its size. What comes after the latest one, and what a
party could rewrite and re-sign with its own key, can only be caught against a checkpoint someone
else kept. So every ledger is sealed (`seal`: a checkpoint over all its entries) at the end of each
DAG run, purge, erasure and key release, and each party publishes its checkpoints on the exchange
(pactline.store.exchange.ledger_dir):

    ledgers/<party>/checkpoints/<tree size>.json   every checkpoint published, each with the RFC 9162
                                                   consistency proof from the one published before it
    ledgers/<party>/latest.json                    the newest of them (written last)
    ledgers/<party>/public_key.pem                 the key they are signed with

The other party witnesses them (`witness`): it pins the key the first time it sees the party
(trust on first use), then checks that the newest checkpoint is signed by that key and extends the
one it kept, following the chain of published proofs back to it. A smaller tree (truncated),
another root at the same size or a proof that fails (history rewritten: a fork), another key, or
a bad signature is a failure: written to the witness's own ledger, with an incident.

The witness keeps its state in its own ledger: the newest `ledger.witnessed` entry for a party
holds the signed checkpoint kept and the public key pinned. That state is shared by every node of
the witness's ledger (a file would be per host, and a host without it would trust anew), and it is
as tamper-evident as the rest of that ledger: re-pinning a key behind the witness's back means
rewriting its own signed, published history.

Publishing takes the ledger's "publish" lock (Ledger.exclusive), so the published checkpoints form
one chain even when several processes or nodes seal the same ledger at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pactline.ledger.checkpoint import SignedCheckpoint
from pactline.ledger.entry import utc_now
from pactline.ledger.errors import (
    EntryNotFoundError,
    LedgerConfigError,
    LedgerCorruptError,
    LedgerError,
    ProofError,
)
from pactline.ledger.merkle import verify_consistency
from pactline.ledger.proofs import ConsistencyProof
from pactline.ledger.signing import key_id, load_public_key

if TYPE_CHECKING:
    from pactline.ledger.ledger import Ledger
    from pactline.store.root import DataRoot

log = logging.getLogger(__name__)

ENV_PARTY = "PACTLINE_PARTY"
DEFAULT_PARTY = "embedded"
PUBLISHED_KIND = "pactline.ledger/published-checkpoint/v1"
LATEST, PUBLIC_KEY, CHECKPOINTS = "latest.json", "public_key.pem", "checkpoints"

WITNESSED, WITNESS_FAILED, INCIDENT_OPENED = "ledger.witnessed", "ledger.witness_failed", "incident.opened"
WITNESS_AGREEMENT = "*"  # a ledger spans agreements
INCIDENT_KIND = "ledger.witness"
DEFAULT_NOTIFY_HOURS = 72

# What a witness can find wrong, as recorded in `problem`.
TRUNCATED = "truncated"  # the published tree is smaller than the one kept: entries were deleted
FORK = "fork"  # same size and another root, a proof that fails, a chain that skips the kept tree
KEY_CHANGED = "key_changed"  # published under another key than the one pinned
BAD_SIGNATURE = "bad_signature"  # a published checkpoint is not signed by the pinned key
MISSING = "missing"  # nothing published, or a checkpoint of the chain is gone
UNREADABLE = "unreadable"  # a published file is not a published checkpoint

_PARTY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def resolve_party(party: str | None = None) -> str:
    """The party a ledger publishes as: given, else $PACTLINE_PARTY, else "embedded"."""
    value = party or os.environ.get(ENV_PARTY) or DEFAULT_PARTY
    if not _PARTY_ID.fullmatch(value) or ".." in value:
        raise LedgerConfigError(
            f"party id {value!r} cannot name a folder on the exchange: use letters, digits, '.', '_' and '-'"
        )
    return value


def _ledger(ledger: Ledger | None) -> Ledger:
    if ledger is not None:
        return ledger
    from pactline.ledger.ledger import open_ledger

    return open_ledger()


def _exchange(exchange: DataRoot | str | None) -> DataRoot:
    from pactline.store.exchange import open_exchange
    from pactline.store.root import DataRoot

    return exchange if isinstance(exchange, DataRoot) else open_exchange(exchange)


def published_path(party: str, tree_size: int | None = None) -> str:
    """Where a party's checkpoint of `tree_size` (None: its latest) lies on the exchange."""
    from pactline.store.exchange import ledger_dir

    name = LATEST if tree_size is None else f"{CHECKPOINTS}/{tree_size}.json"
    return f"{ledger_dir(party)}/{name}"


# -- publishing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """One published checkpoint: the signed checkpoint, the key, and the proof it extends the previous one."""

    party: str
    checkpoint: SignedCheckpoint
    public_key: str  # PEM
    proof: ConsistencyProof | None  # from the checkpoint published before this one (None: the first)
    published_at: str

    @property
    def previous_tree_size(self) -> int | None:
        return self.proof.first.tree_size if self.proof else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PUBLISHED_KIND,
            "party": self.party,
            "published_at": self.published_at,
            "checkpoint": self.checkpoint.to_dict(),
            "public_key": self.public_key,
            "previous_tree_size": self.previous_tree_size,
            "consistency_proof": self.proof.to_dict() if self.proof else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Publication:
        if not isinstance(data, Mapping) or data.get("kind") != PUBLISHED_KIND:
            raise ProofError(f"not a published checkpoint (kind is not {PUBLISHED_KIND!r})")
        try:
            cp = SignedCheckpoint.from_dict(data["checkpoint"])
            pem = data["public_key"]
            if not isinstance(pem, str):
                raise TypeError("public_key is not a string")
            raw_proof = data["consistency_proof"]
            proof = None if raw_proof is None else ConsistencyProof.from_dict(raw_proof)
            party, published_at = str(data["party"]), str(data["published_at"])
        except (KeyError, TypeError, ValueError) as e:
            raise ProofError(f"not a published checkpoint: {e.__class__.__name__}: {e}") from None
        if proof is not None and (proof.second.tree_size, proof.second.root_hash) != (cp.tree_size, cp.root_hash):
            raise ProofError(f"its consistency proof leads to another tree than its checkpoint (size {cp.tree_size})")
        return cls(party, cp, pem, proof, published_at)


def read_published(party: str, tree_size: int | None = None, *, exchange: DataRoot | str | None = None
                   ) -> Publication | None:
    """A party's published checkpoint of `tree_size` (None: its latest); None when there is none.

    Raises ProofError when the file is there but is not a published checkpoint.
    """
    root = _exchange(exchange)
    return _read(root, published_path(resolve_party(party), tree_size))


def _read(root: DataRoot, rel: str) -> Publication | None:
    if not root.exists(rel):
        return None
    try:
        data = json.loads(root.read_raw(rel))  # as stored: nothing on the exchange is ours to decrypt
    except (ValueError, UnicodeDecodeError) as e:
        raise ProofError(f"{rel} is not JSON: {e}") from None
    return Publication.from_dict(data)


def publish_checkpoint(ledger: Ledger | None = None, *, party: str | None = None,
                       exchange: DataRoot | str | None = None) -> Publication:
    """Publish the ledger's latest signed checkpoint, its public key and the consistency proof from the
    checkpoint published before, under ledgers/<party>/ on the exchange.

    Publishing the checkpoint already published is a no-op (the existing publication is returned).
    Refuses, rather than publish what witnesses would report, when the ledger no longer extends what it
    published: LedgerCorruptError when entries were deleted or rewritten since, LedgerConfigError when
    another ledger or another key publishes as this party.
    """
    lg = _ledger(ledger)
    party = resolve_party(party)
    root = _exchange(exchange)
    latest_rel = published_path(party)
    with lg.exclusive("publish"):  # one chain, even when several processes seal at once
        cp = lg.latest_checkpoint()
        if cp is None or cp.tree_size == 0:
            raise EntryNotFoundError("the ledger has no signed checkpoint to publish: sign one with "
                                     "`pactline ledger checkpoint`")
        pem = lg.public_key_pem()
        try:
            previous = _read(root, latest_rel)
        except ProofError as e:
            raise LedgerCorruptError(f"{root.uri(latest_rel)} is damaged ({e}); remove it to start a new chain "
                                     "(witnesses will report the break)") from None
        proof = None
        if previous is not None:
            proof = _extend(lg, previous, cp, pem, f"{root.uri(latest_rel)} (party {party!r})")
            if proof is None:
                return previous  # already published
        publication = Publication(party, cp, pem, proof, utc_now())
        doc = publication.to_dict()
        root.write_json(published_path(party, cp.tree_size), doc)
        root.write_bytes(f"{latest_rel.rsplit('/', 1)[0]}/{PUBLIC_KEY}", pem.encode())
        root.write_json(latest_rel, doc)  # last: latest.json only ever names a complete publication
    return publication


def _extend(lg: Ledger, previous: Publication, cp: SignedCheckpoint, pem: str, where: str
            ) -> ConsistencyProof | None:
    """The proof that `cp` extends the previously published checkpoint (None: it is that checkpoint)."""
    prev = previous.checkpoint
    if prev.origin != lg.origin:
        raise LedgerConfigError(f"{where} holds checkpoints of ledger {prev.origin}, not of this ledger "
                                f"({lg.origin}): another ledger publishes as this party; publish as another party")
    published_key = _public_key(previous.public_key)
    if published_key is None or key_id(published_key) != cp.key_id:
        raise LedgerConfigError(f"{where} was published with key {key_id(published_key) if published_key else '?'}, "
                                f"this ledger signs with key {cp.key_id}: witnesses pinned the published key and "
                                "would report a changed key")
    if prev.tree_size > cp.tree_size:
        raise LedgerCorruptError(f"{where} says the ledger held {prev.tree_size} entries, its latest checkpoint "
                                 f"covers {cp.tree_size}: entries were deleted; run `pactline ledger verify`")
    if prev.tree_size == cp.tree_size:
        if prev.root_hash != cp.root_hash:
            raise LedgerCorruptError(f"{where} published another root for tree size {cp.tree_size}: "
                                     "the ledger's history was rewritten; run `pactline ledger verify`")
        return None
    proof = lg.prove_consistency(prev.tree_size, cp.tree_size)
    if proof.first.root_hash != prev.root_hash:
        raise LedgerCorruptError(f"the ledger's tree of size {prev.tree_size} no longer has the root published in "
                                 f"{where}: its history was rewritten; run `pactline ledger verify`")
    return ConsistencyProof(prev, proof.second, proof.path)  # linked to exactly what was published


def seal(ledger: Ledger | None = None, *, publish: bool = True, party: str | None = None,
         exchange: DataRoot | str | None = None) -> SignedCheckpoint:
    """Sign a checkpoint over every entry of the ledger now, so no tail is left unsigned, and publish it.

    Called at the end of every DAG run, purge, erasure and key release. The checkpoint is what must not
    fail: a ledger problem raises. Publishing (to $PACTLINE_EXCHANGE, else $PACTLINE_HOME/exchange, as
    $PACTLINE_PARTY, else "embedded") is logged when it fails, not raised: the work being sealed is done,
    and the next seal publishes the chain again. Returns the checkpoint (the existing one when nothing
    was appended since).
    """
    lg = _ledger(ledger)
    cp = lg.checkpoint()
    if publish and cp.tree_size:
        try:
            publish_checkpoint(lg, party=party, exchange=exchange)
        except LedgerError as e:
            log.error("Pactline: ledger checkpoint at tree size %s signed, NOT published: %s", cp.tree_size, e)
        except Exception as e:  # the exchange's file system can fail in its own ways
            log.warning("Pactline: ledger checkpoint at tree size %s signed, not published: %s: %s",
                        cp.tree_size, type(e).__name__, e)
    return cp


# -- witnessing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessResult:
    party: str
    ok: bool
    message: str
    problem: str | None = None  # one of TRUNCATED, FORK, KEY_CHANGED, BAD_SIGNATURE, MISSING, UNREADABLE
    kept: SignedCheckpoint | None = None  # the party's checkpoint the witness keeps after this run
    previous: SignedCheckpoint | None = None  # the one it kept before
    published: SignedCheckpoint | None = None  # the newest the party published (when readable)
    key_id: str | None = None  # the key pinned for the party
    first_seen: bool = False
    proofs_checked: int = 0
    entry_index: int | None = None  # the witness's own ledger entry recording this result
    incident_index: int | None = None  # the incident.opened entry (a repeated failure keeps the first one)

    def to_dict(self) -> dict[str, Any]:
        def size(cp: SignedCheckpoint | None) -> dict[str, Any] | None:
            return None if cp is None else {"tree_size": cp.tree_size, "root_hash": cp.root_hash.hex(),
                                            "key_id": cp.key_id, "timestamp": cp.timestamp}

        return {"party": self.party, "ok": self.ok, "problem": self.problem, "message": self.message,
                "kept": size(self.kept), "previous": size(self.previous), "published": size(self.published),
                "key_id": self.key_id, "first_seen": self.first_seen, "proofs_checked": self.proofs_checked,
                "entry_index": self.entry_index, "incident_index": self.incident_index}


class _Problem(Exception):
    def __init__(self, problem: str, message: str, published: SignedCheckpoint | None = None) -> None:
        super().__init__(message)
        self.problem, self.message, self.published = problem, message, published


@dataclass
class _State:
    kept: SignedCheckpoint | None = None
    pinned: str | None = None  # PEM
    last: Any = None  # the newest witness result entry for the party (witnessed or failed)


@dataclass
class _Seen:
    published: SignedCheckpoint
    pinned: str
    first_seen: bool = False
    proofs_checked: int = 0
    key_accepted: dict[str, str] = field(default_factory=dict)


def witness(party: str, *, ledger: Ledger | None = None, exchange: DataRoot | str | None = None,
            actor: str | None = None, accept_key: str | None = None, notify_hours: int = DEFAULT_NOTIFY_HOURS,
            contacts: Sequence[str] = (), own_party: str | None = None, seal_after: bool = True) -> WitnessResult:
    """Check `party`'s newest published checkpoint against the one kept from the last run, keep it if sound.

    Every result goes into `ledger` (the witness's own, default the configured one): `ledger.witnessed`,
    or `ledger.witness_failed` with an `incident.opened` (kind "ledger.witness", agreement "*", notify
    within `notify_hours` to `contacts`) the first time a failure is seen. `accept_key` (a key id the
    party confirmed out of band) accepts a deliberately rotated key once. Afterwards the witness's own
    ledger is sealed and published as `own_party` (unless `seal_after` is False).
    """
    party = resolve_party(party)
    if notify_hours < 1:
        raise LedgerConfigError(f"notify_hours must be at least 1, got {notify_hours}")
    lg = _ledger(ledger)
    root = _exchange(exchange)
    actor = actor or f"witness:{party}"
    with lg.exclusive("witness"):  # runs for one party take turns, so each extends what the last one kept
        state = _state(lg, party)
        try:
            seen = _check(root, party, state, accept_key)
        except _Problem as p:
            result = _record_failure(lg, root, party, state, p, actor, notify_hours, contacts)
        else:
            result = _record_ok(lg, root, party, state, seen, actor)
    if seal_after:
        seal(lg, party=own_party, exchange=root)
    return result


def _state(lg: Ledger, party: str) -> _State:
    state = _State()
    for entry in lg.entries_newest_first(agreement_id=WITNESS_AGREEMENT):
        if entry.event not in (WITNESSED, WITNESS_FAILED) or entry.payload.get("party") != party:
            continue
        if state.last is None:
            state.last = entry
        if entry.event == WITNESSED:
            try:
                state.kept = SignedCheckpoint.from_dict(entry.payload["checkpoint"])
                state.pinned = str(entry.payload["public_key"])
            except (KeyError, ProofError) as e:
                raise LedgerCorruptError(f"witness state for {party!r} in ledger entry {entry.index} is unreadable "
                                         f"({e}); run `pactline ledger verify`") from None
            break
    return state


def _public_key(pem: str) -> Ed25519PublicKey | None:
    try:
        return load_public_key(pem)
    except LedgerConfigError:
        return None


def _load(root: DataRoot, party: str, tree_size: int | None, latest: SignedCheckpoint | None) -> Publication | None:
    rel = published_path(party, tree_size)
    try:
        return _read(root, rel)
    except ProofError as e:
        raise _Problem(UNREADABLE, f"{root.uri(rel)} is not a published checkpoint: {e}", latest) from None
    except OSError as e:
        raise _Problem(MISSING, f"cannot read {root.uri(rel)}: {e}", latest) from None


def _check(root: DataRoot, party: str, state: _State, accept_key: str | None) -> _Seen:
    latest = _load(root, party, None, None)
    if latest is None:
        was = f" (tree size {state.kept.tree_size} was published and witnessed before: it was removed)" \
            if state.kept else ""
        raise _Problem(MISSING, f"party {party!r} has no published checkpoint at {root.uri(published_path(party))}"
                       + was)
    cp = latest.checkpoint
    published_key = _public_key(latest.public_key)
    if published_key is None:
        raise _Problem(UNREADABLE, f"the public key published by party {party!r} is not an Ed25519 key in PEM form", cp)
    if state.kept is None or state.pinned is None:  # trust on first use: pin the key published now
        if not cp.signature_valid(published_key):
            raise _Problem(BAD_SIGNATURE, f"party {party!r}'s checkpoint for tree size {cp.tree_size} is not signed "
                           f"by the key published with it ({key_id(published_key)})", cp)
        return _Seen(cp, latest.public_key, first_seen=True)
    kept = state.kept
    pinned = _public_key(state.pinned)
    if pinned is None:
        raise LedgerCorruptError(f"the key pinned for party {party!r} in this ledger is unreadable; "
                                 "run `pactline ledger verify`")
    keys, seen = [pinned], _Seen(cp, state.pinned)
    if key_id(published_key) != key_id(pinned):
        new, old = key_id(published_key), key_id(pinned)
        if accept_key != new:
            raise _Problem(KEY_CHANGED, f"party {party!r} now publishes signing key {new}, but the key pinned when it "
                           f"was first witnessed is {old}: its checkpoints no longer prove anything against what was "
                           f"kept. If it rotated its key, confirm the new key id with it out of band and accept it "
                           f"with --accept-key {new}", cp)
        keys.append(published_key)
        seen.pinned, seen.key_accepted = latest.public_key, {"from": old, "to": new}
    if not any(cp.signature_valid(k) for k in keys):
        raise _Problem(BAD_SIGNATURE, f"party {party!r}'s checkpoint for tree size {cp.tree_size} is not signed by "
                       f"its pinned key {key_id(keys[-1])}: forged or altered", cp)
    if cp.origin != kept.origin:
        raise _Problem(FORK, f"party {party!r} now publishes another ledger ({cp.origin}, was {kept.origin}): "
                       "its history was replaced", cp)
    if cp.tree_size < kept.tree_size:
        raise _Problem(TRUNCATED, f"party {party!r}'s ledger shrank from {kept.tree_size} to {cp.tree_size} entries: "
                       f"entries {cp.tree_size}..{kept.tree_size - 1}, signed and witnessed before, were deleted "
                       "(truncated)", cp)
    if cp.tree_size == kept.tree_size:
        if cp.root_hash != kept.root_hash:
            raise _Problem(FORK, f"party {party!r} published another root for tree size {cp.tree_size} than the one "
                           "witnessed before: its history was rewritten and re-signed (a fork)", cp)
        return seen
    seen.proofs_checked = _follow_chain(root, party, latest, kept, keys)
    return seen


def _follow_chain(root: DataRoot, party: str, latest: Publication, kept: SignedCheckpoint,
                  keys: list[Ed25519PublicKey]) -> int:
    """Check the published proofs from the newest checkpoint back to the kept one; returns how many."""
    top, cur, steps = latest.checkpoint, latest, 0
    while True:
        size = cur.checkpoint.tree_size
        if cur.proof is None:
            raise _Problem(FORK, f"party {party!r}'s published checkpoint of tree size {size} carries no consistency "
                           f"proof, so nothing links it to tree size {kept.tree_size} witnessed before: its published "
                           "history was restarted (rewritten or replaced)", top)
        first = cur.proof.first
        if not any(first.signature_valid(k) for k in keys):
            raise _Problem(BAD_SIGNATURE, f"party {party!r}'s consistency proof {first.tree_size}->{size} starts from a "
                           "checkpoint not signed by its pinned key: forged or altered", top)
        if first.origin != top.origin or not verify_consistency(
            first.tree_size, size, first.root_hash, cur.checkpoint.root_hash, cur.proof.path
        ):
            raise _Problem(FORK, f"party {party!r}'s published consistency proof from tree size {first.tree_size} to "
                           f"{size} does not verify: the newer tree does not extend the older one (history "
                           "rewritten: a fork)", top)
        steps += 1
        if first.tree_size == kept.tree_size:
            if first.root_hash != kept.root_hash:
                raise _Problem(FORK, f"party {party!r}'s published history has another root for tree size "
                               f"{kept.tree_size} than the one witnessed before: its history was rewritten and "
                               "re-signed (a fork)", top)
            return steps
        if first.tree_size < kept.tree_size:
            raise _Problem(FORK, f"party {party!r}'s published proofs go from tree size {first.tree_size} to {size}, "
                           f"past tree size {kept.tree_size} witnessed before: its history no longer passes through "
                           "what was witnessed (rewritten: a fork)", top)
        older = _load(root, party, first.tree_size, top)
        if older is None:
            raise _Problem(MISSING, f"party {party!r}'s published checkpoint of tree size {first.tree_size} is gone: "
                           f"the chain of proofs back to tree size {kept.tree_size} is broken", top)
        if (older.checkpoint.tree_size, older.checkpoint.root_hash) != (first.tree_size, first.root_hash):
            raise _Problem(FORK, f"party {party!r} published two different checkpoints for tree size "
                           f"{first.tree_size}: a fork", top)
        cur = older


def _record_ok(lg: Ledger, root: DataRoot, party: str, state: _State, seen: _Seen, actor: str) -> WitnessResult:
    cp, kept = seen.published, state.kept
    pinned_id = key_id(load_public_key(seen.pinned))
    payload: dict[str, Any] = {
        "party": party, "origin": cp.origin, "tree_size": cp.tree_size, "root_hash": cp.root_hash.hex(),
        "checkpoint": cp.to_dict(), "key_id": pinned_id, "public_key": seen.pinned,
        "previous_tree_size": kept.tree_size if kept else None, "first_seen": seen.first_seen,
        "proofs_checked": seen.proofs_checked, "published": root.uri(published_path(party)),
    }
    if seen.key_accepted:
        payload["key_accepted"] = seen.key_accepted
    if seen.first_seen:
        message = f"party {party}: first seen at tree size {cp.tree_size}; key {pinned_id} pinned (trust on first use)"
    elif kept is not None and cp.tree_size == kept.tree_size:
        message = f"party {party}: unchanged at tree size {cp.tree_size}, same root, key {pinned_id}"
    else:
        message = (f"party {party}: tree size {kept.tree_size if kept else 0} -> {cp.tree_size}, consistent "
                   f"({seen.proofs_checked} consistency proof(s) checked), key {pinned_id}")
    if seen.key_accepted:
        message += f"; key changed from {seen.key_accepted['from']} accepted"
    entry = lg.append(WITNESSED, agreement_id=WITNESS_AGREEMENT, actor=actor, payload=payload)
    return WitnessResult(party, True, message, None, cp, kept, cp, pinned_id, seen.first_seen, seen.proofs_checked,
                         entry.index)


def _record_failure(lg: Ledger, root: DataRoot, party: str, state: _State, p: _Problem, actor: str,
                    notify_hours: int, contacts: Sequence[str]) -> WitnessResult:
    published = p.published
    kept = state.kept
    fingerprint = {"problem": p.problem, "tree_size": published.tree_size if published else None,
                   "root_hash": published.root_hash.hex() if published else None}
    incident_index = None
    quiet = p.problem == MISSING and kept is None  # nothing was ever published or trusted: not an incident yet
    last = state.last
    if last is not None and last.event == WITNESS_FAILED and all(last.payload.get(k) == v for k, v in
                                                                 fingerprint.items()):
        incident_index = last.payload.get("incident_index")  # the same failure again: its incident stays open
    report = root.uri(published_path(party))
    if incident_index is None and not quiet:
        now = dt.datetime.now(dt.UTC)
        incident = lg.append(INCIDENT_OPENED, agreement_id=WITNESS_AGREEMENT, actor=actor, payload={
            "kind": INCIDENT_KIND, "party": party, "problem": p.problem, "summary": p.message[:1000],
            "report": report, "opened_at": now.isoformat(),
            "notify_by": (now + dt.timedelta(hours=notify_hours)).isoformat(), "contacts": list(contacts)})
        incident_index = incident.index
    pinned_id = key_id(load_public_key(state.pinned)) if state.pinned else None
    entry = lg.append(WITNESS_FAILED, agreement_id=WITNESS_AGREEMENT, actor=actor, payload={
        **fingerprint, "party": party, "reason": p.message[:1000], "published": published.to_dict() if published else None,
        "kept": kept.to_dict() if kept else None, "key_id": pinned_id, "report": report,
        "incident_index": incident_index})
    return WitnessResult(party, False, f"party {party}: {p.problem.upper().replace('_', ' ')}: {p.message}", p.problem,
                         kept, kept, published, pinned_id, False, 0, entry.index, incident_index)
