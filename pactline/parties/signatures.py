"""Detached signatures of agreement versions, and each party's status.

A party signs a statement over the agreement's id, version and fingerprint, the digest of every
party's public key (so nobody can swap another party's key after it signed) and the time. The
signature is a small JSON file beside the agreement: `<file>.<party>.sig`. A version runs only when
every party has a valid signature on its current fingerprint.

Trust: the public keys come from the agreement every party signs. A deployment that holds a party's
private key also checks that the agreement's key for that party is that key, so a counterparty who
rewrote the key of the party running this deployment is caught here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from pactline.agreement import LoadedAgreement
from pactline.errors import KeyStoreError, PolicyViolation
from pactline.parties.party_keys import (
    PartyKeys,
    declared_keys,
    derive_decryption_key,
    encryption_key_text,
    key_id,
    public_key_text,
    sign_statement,
    statement_verifies,
)

CONTEXT = b"pactline-agreement-signature/v1\n"  # domain separation: these bytes sign nothing else
MAX_SIGNATURE_FILE = 16 * 1024
STATES = ("signed", "missing", "invalid", "other_version", "rotated_key", "no_key")


@dataclass(frozen=True)
class Signature:
    party: str
    agreement_id: str
    version: str
    fingerprint: str
    keys_digest: str
    signed_at: str  # ISO UTC
    public_key: str  # the signer's key as 'ed25519:...'
    encryption_key: str  # the signer's X25519 key 'x25519:...': data keys released to it are wrapped to this
    signature: str  # base64url

    def statement(self) -> dict[str, str]:
        """What the party signs: every field but the signature itself."""
        return {k: v for k, v in asdict(self).items() if k != "signature"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, str]:
        """What a manifest or ledger entry names: who, when, which key (never a private anything)."""
        return {"party": self.party, "version": self.version, "signed_at": self.signed_at,
                "key_id": key_id(self.public_key)}

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        names = [f for f in cls.__dataclass_fields__]
        if set(data) != set(names) or not all(isinstance(data[n], str) for n in names):
            raise ValueError(f"expected exactly the string fields {names}")
        return cls(**{n: data[n] for n in names})


@dataclass(frozen=True)
class PartyStatus:
    party: str
    role: str
    state: str  # one of STATES
    detail: str
    signature: Signature | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"party": self.party, "role": self.role, "state": self.state, "detail": self.detail}
        if self.signature is not None:
            out.update(signed_at=self.signature.signed_at, signed_version=self.signature.version,
                       key_id=key_id(self.signature.public_key))
        return out


def signature_path(agreement_file: str | Path, party: str) -> Path:
    p = Path(agreement_file)
    return p.with_name(f"{p.name}.{party}.sig")


def keys_digest(keys: dict[str, str | None]) -> str:
    lines = "".join(f"{party}={text or '-'}\n" for party, text in sorted(keys.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def sign(loaded: LoadedAgreement, party: str, key: Ed25519PrivateKey, *, now: dt.datetime | None = None,
         write: bool = True) -> Signature:
    """Sign the agreement's current version for `party` and (by default) write the signature beside it."""
    declared = declared_keys(loaded)
    if party not in declared:
        raise PolicyViolation("parties", f"{party!r} is not a party to agreement {loaded.id} "
                                         f"(parties: {sorted(declared)})")
    mine = public_key_text(key.public_key())
    if declared[party].text != mine:
        why = declared[party].problem or "it names a different key than this party's own"
        raise PolicyViolation(f"parties[{party}].public_key",
                              f"cannot sign for {party}: {why}; the agreement must name this party's public key "
                              f"{mine} before it can sign")
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    unsigned = Signature(party, loaded.id, loaded.agreement.metadata.version, loaded.fingerprint,
                         keys_digest({p: d.text for p, d in declared.items()}), when, mine,
                         encryption_key_text(_derived_encryption_key(key)), "")
    sig = Signature(**{**unsigned.to_dict(), "signature": sign_statement(key, CONTEXT, unsigned.statement())})
    if write:
        path = signature_path(loaded.source, party)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sig.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    return sig


def _derived_encryption_key(key: Ed25519PrivateKey) -> X25519PublicKey:
    """The X25519 key derived from the same seed (PartyKeys.decryption_key holds its private half)."""
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    derived = derive_decryption_key(seed)
    return derived.public_key()


def read_signature(path: Path) -> Signature:
    if path.stat().st_size > MAX_SIGNATURE_FILE:
        raise ValueError("too large to be a signature")
    return Signature.from_dict(json.loads(path.read_text(encoding="utf-8")))


def signature_statuses(loaded: LoadedAgreement, party_keys: PartyKeys | None = None) -> list[PartyStatus]:
    """Each party as signed, missing, invalid, signed for another version, signed with a rotated key, or
    without a usable public key."""
    party_keys = party_keys or PartyKeys()
    declared = declared_keys(loaded)
    digest = keys_digest({p: d.text for p, d in declared.items()})
    out = []
    for party in loaded.agreement.parties:
        state, detail, sig = _status(loaded, party.id, declared[party.id], digest, party_keys)
        out.append(PartyStatus(party.id, party.role, state, detail, sig))
    return out


def _status(loaded: LoadedAgreement, party: str, declared: Any, digest: str,
            party_keys: PartyKeys) -> tuple[str, str, Signature | None]:
    if declared.text is None:
        return "no_key", declared.problem or "no public key", None
    try:
        local = party_keys.public_text(party)
    except KeyStoreError as e:
        return "invalid", f"this deployment's key for {party} is unusable: {e}", None
    if local is not None and local != declared.text:
        return "invalid", (f"the agreement names key {key_id(declared.text)} for {party}, but {party}'s own key "
                           f"here is {key_id(local)}: the agreement was given another key for this party"), None
    path = signature_path(loaded.source, party)
    if not path.exists():
        return "missing", f"no signature ({path.name})", None
    try:
        sig = read_signature(path)
    except (OSError, ValueError) as e:
        return "invalid", f"{path.name} is not a signature file: {e}", None
    if sig.party != party or sig.agreement_id != loaded.id:
        return "invalid", f"{path.name} was made for {sig.agreement_id}/{sig.party}, not {loaded.id}/{party}", None
    if not statement_verifies(sig.public_key, CONTEXT, sig.statement(), sig.signature):
        return "invalid", f"{path.name}: the signature does not verify (altered or forged)", sig
    if sig.public_key != declared.text:
        return "rotated_key", (f"signed with key {key_id(sig.public_key)}, but the agreement now names "
                               f"{key_id(declared.text)}: {party} must sign again"), sig
    if sig.fingerprint != loaded.fingerprint or sig.version != loaded.agreement.metadata.version:
        return "other_version", (f"signed version {sig.version} (fingerprint {sig.fingerprint[:12]}), not the "
                                 f"current {loaded.agreement.metadata.version} ({loaded.fingerprint[:12]})"), sig
    if sig.keys_digest != digest:
        return "other_version", "signed when the parties' keys were different: sign again", sig
    return "signed", f"signed {sig.signed_at}", sig


def require_signed(loaded: LoadedAgreement, party_keys: PartyKeys | None = None) -> list[Signature]:
    """Every party's valid signature on the current fingerprint, or a PolicyViolation naming who is missing."""
    statuses = signature_statuses(loaded, party_keys)
    unsigned = [s for s in statuses if s.state != "signed"]
    if unsigned:
        by_state: dict[str, list[str]] = {}
        for s in unsigned:
            by_state.setdefault(s.state.replace("_", " "), []).append(s.party)
        listing = "; ".join(f"{state}: {', '.join(parties)}" for state, parties in by_state.items())
        raise PolicyViolation(
            "parties",
            f"agreement {loaded.id} version {loaded.agreement.metadata.version} (fingerprint "
            f"{loaded.fingerprint[:12]}) is not signed by every party ({listing}); nothing runs until each "
            f"party signs it with `pactline sign FILE --party ID` (`pactline signatures FILE` shows why)",
        )
    return [s.signature for s in statuses if s.signature is not None]
