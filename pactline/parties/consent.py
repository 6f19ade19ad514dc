"""The gate in front of every step: the version in force is the one every party signed.

A signature first seen here is kept in the signed-version history and written to the ledger
(`agreement.signed`); a second text under a version number the parties already signed is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.errors import PolicyViolation
from pactline.parties.history import SignedVersions
from pactline.parties.party_keys import PartyKeys
from pactline.parties.signatures import Signature, require_signed

Record = Callable[[str, dict[str, Any]], None]


def require_new_version_number(loaded: LoadedAgreement, history: SignedVersions) -> None:
    version = loaded.agreement.metadata.version
    other = history.conflicting(loaded.id, version, loaded.fingerprint)
    if other is not None:
        raise PolicyViolation(
            "metadata.version",
            f"version {version} of {loaded.id} was already signed with fingerprint {other[:12]}, and this text "
            f"({loaded.fingerprint[:12]}) differs: an amendment needs a new metadata.version, signed by every party "
            f"(`pactline diff FILE` shows what changed)",
        )


def keep(loaded: LoadedAgreement, sig: Signature, record: Record, history: SignedVersions) -> None:
    """Keep a valid signature in the history and the ledger (once)."""
    if history.record(loaded, sig):
        record("agreement.signed", {**sig.summary(), "signed_fingerprint": sig.fingerprint})


def require_consent(loaded: LoadedAgreement, record: Record, *, party_keys: PartyKeys | None = None,
                    history: SignedVersions | None = None) -> list[Signature]:
    """Every party's valid signature on this exact text, under a version number not signed for another text."""
    history = history or SignedVersions()
    require_new_version_number(loaded, history)
    signatures = require_signed(loaded, party_keys)
    for sig in signatures:
        keep(loaded, sig, record, history)
    return signatures
