"""The parties to an agreement and their consent: Ed25519 party keys, signed agreement versions, and the
history of every version the parties signed.

    party_keys.py   a party's key pair: private half in the party's own secret store, public half in the agreement
    signatures.py   detached signatures beside the agreement file; each party's status; the refusal to run unsigned
    history.py      every signed version's canonical text and signatures, kept in the store's database
"""

from pactline.parties.history import SignedVersions
from pactline.parties.party_keys import PartyKeys, public_key_text
from pactline.parties.signatures import PartyStatus, Signature, sign, signature_statuses

__all__ = ["PartyKeys", "PartyStatus", "Signature", "SignedVersions", "public_key_text", "sign",
           "signature_statuses"]
