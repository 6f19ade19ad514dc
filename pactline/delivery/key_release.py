"""The provider's key release: at the moment of a request, every clause is checked again, and only then
is the release's data key handed out, wrapped to the recipient party's key (HPKE: X25519, HKDF-SHA256,
AES-256-GCM), so only that party can unwrap it. Every release and every refusal is a ledger entry.

Checks, in order: the version is a live release (else 410: purged or erased); the agreement is in force
and every party signed this version; the caller's party is the output's recipient; a grant names the
caller's principal with `read` on the output's zone; and that grant's `valid_until` has not passed.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import AccessGrant
from pactline.errors import PolicyViolation
from pactline.parties import PartyKeys
from pactline.parties.party_keys import parse_encryption_key
from pactline.parties.signatures import require_signed
from pactline.policy import AccessRefused, Policy
from pactline.store import Vault, VersionRecord

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
SUITE_NAME = "HPKE base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"
Record = Callable[[str, dict[str, Any]], None]


class KeyRefused(PolicyViolation):
    """A key request the agreement does not allow now; `status` is the HTTP answer (403, or 410 when gone)."""

    def __init__(self, clause: str, message: str, status: int = 403):
        super().__init__(clause, message)
        self.status = status


@dataclass(frozen=True)
class KeyRequest:
    version_id: str
    principal: str  # who asks: an Airflow user name, as the access: grants name principals
    party: str  # the party the caller acts for; the key is wrapped to that party's key


def info(agreement_id: str, output: str, version_id: str) -> bytes:
    """HPKE context: a wrapped key opens only for this agreement, output and version."""
    return f"pactline key release v1|{agreement_id}|{output}|{version_id}".encode()


def release_key(loaded: LoadedAgreement, request: KeyRequest, *, as_of: dt.date, vault: Vault, record: Record,
                party_keys: PartyKeys | None = None) -> dict[str, Any]:
    """The wrapped data key and its terms, or KeyRefused (recorded as key.refused either way)."""
    where = {"principal": request.principal, "party": request.party, "version_id": request.version_id,
             "as_of": as_of.isoformat()}
    try:
        version, grant, recipient_key = _check(loaded, request, as_of, vault, party_keys)
    except KeyRefused as e:
        record("key.refused", {**where, "clause": e.clause, "status": e.status, "reason": str(e)})
        raise
    wrapped = SUITE.encrypt(vault.data_key(version.version_id), parse_encryption_key(recipient_key, "recipient"),
                            info=info(loaded.id, version.name, version.version_id))
    terms = {"output": version.name, "zone": version.zone, "recipient": request.party,
             "grant": {"principal": grant.principal, "zone": grant.zone, "valid_until": grant.valid_until.isoformat()},
             "expires": grant.valid_until.isoformat()}
    record("key.released", {**where, **terms})
    return {"version_id": version.version_id, **terms, "suite": SUITE_NAME,
            "wrapped_key": base64.urlsafe_b64encode(wrapped).decode()}


def unwrap_key(response: dict[str, Any], agreement_id: str, party_keys: PartyKeys, party: str) -> bytes:
    """The recipient's side: the data key, for one read session in memory (never stored)."""
    key = party_keys.decryption_key(party)
    if key is None:
        raise PolicyViolation("parties", f"this deployment holds no key of party {party}; it cannot open the key")
    return SUITE.decrypt(base64.urlsafe_b64decode(response["wrapped_key"]), key,
                         info=info(agreement_id, response["output"], response["version_id"]))


def _check(loaded: LoadedAgreement, request: KeyRequest, as_of: dt.date, vault: Vault,
           party_keys: PartyKeys | None) -> tuple[VersionRecord, AccessGrant, str]:
    try:
        version = vault.catalog.get(request.version_id)
    except Exception:
        raise KeyRefused("outputs", f"no release {request.version_id} of {loaded.id}", 404) from None
    if version.agreement_id != loaded.id or version.area != "shared":
        raise KeyRefused("outputs", f"{request.version_id} is not a release of {loaded.id}", 404)
    if version.state != "live":
        raise KeyRefused("retention", f"release {request.version_id} of {version.name} is {version.state} "
                                      f"({version.purge_reason or 'no longer held'}); its key is gone", 410)
    output = next((o for o in loaded.agreement.outputs if o.id == version.name), None)
    if output is None:
        raise KeyRefused("outputs", f"output {version.name} is not in the agreement in force")
    try:
        Policy(loaded).require_in_force(as_of)
        signatures = require_signed(loaded, party_keys)
    except PolicyViolation as e:
        raise KeyRefused(e.clause, str(e)) from None
    if request.party != output.recipient:
        raise KeyRefused(f"outputs[{output.id}].recipient",
                         f"output {output.id} is released to {output.recipient}, not to {request.party}")
    try:  # the one place grants are matched (pactline.policy), for local reads and key releases alike
        _, grant = Policy(loaded).require_access(request.principal, output.zone, "read", as_of)
    except AccessRefused as e:
        raise KeyRefused(e.clause, str(e)) from None
    recipient = next(s for s in signatures if s.party == output.recipient)
    return version, grant, recipient.encryption_key
