"""Every agreement version a party signed: its canonical text and the signatures on it.

Kept in the catalog's database (PACTLINE_CATALOG_URL, else the ledger's PostgreSQL, else SQLite under
$PACTLINE_HOME), beside the versions of data made under it, so `pactline diff FILE` and the Agreements
page can show what changed since the last version every party signed. The ledger holds one
`agreement.signed` entry per signature the first time it is seen here.
"""

# Table and column names in SQL text are module constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pactline.agreement import LoadedAgreement, canonical_text
from pactline.parties.signatures import Signature
from pactline.store.catalog import catalog_url
from pactline.store.sql import Database, Tx

TEXTS, SIGNATURES = "pactline_agreement_texts", "pactline_agreement_signatures"


@dataclass(frozen=True)
class SignedVersion:
    agreement_id: str
    version: str
    fingerprint: str
    canonical: str  # the canonical JSON text: load it again with pactline.agreement.load_text
    signed_by: tuple[str, ...]  # who signed this fingerprint
    first_signed_at: str

    @property
    def parties(self) -> list[str]:
        """The parties this version names: the ones whose signatures make it complete."""
        return [p["id"] for p in json.loads(self.canonical)["parties"]]

    @property
    def complete(self) -> bool:
        return set(self.parties) <= set(self.signed_by)


class SignedVersions:
    def __init__(self, url: str | None = None):
        self.db = Database(catalog_url(url))

    def _tx(self, write: bool = True) -> AbstractContextManager[Tx]:
        self.db.ensure(TEXTS, [
            f"""CREATE TABLE IF NOT EXISTS {TEXTS} (agreement_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
                version TEXT NOT NULL, canonical TEXT NOT NULL, PRIMARY KEY (agreement_id, fingerprint))""",
            f"""CREATE TABLE IF NOT EXISTS {SIGNATURES} (agreement_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
                party TEXT NOT NULL, signed_at TEXT NOT NULL, public_key TEXT NOT NULL, signature TEXT NOT NULL,
                PRIMARY KEY (agreement_id, fingerprint, party, public_key))""",
        ])
        return self.db.transaction(write)

    def record(self, loaded: LoadedAgreement, sig: Signature) -> bool:
        """Keep the signed version's text and the signature; True the first time this signature is seen."""
        with self._tx() as tx:
            tx.run(f"INSERT INTO {TEXTS} (agreement_id, fingerprint, version, canonical) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT DO NOTHING",
                   [loaded.id, sig.fingerprint, sig.version, canonical_text(loaded.agreement)])
            return tx.rowcount(
                f"INSERT INTO {SIGNATURES} (agreement_id, fingerprint, party, signed_at, public_key, signature) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [loaded.id, sig.fingerprint, sig.party, sig.signed_at, sig.public_key, sig.signature]) == 1

    def conflicting(self, agreement_id: str, version: str, fingerprint: str) -> str | None:
        """The fingerprint already signed under this version number, when it is not `fingerprint`."""
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT fingerprint FROM {TEXTS} WHERE agreement_id = ? AND version = ? "
                          "AND fingerprint <> ?", [agreement_id, version, fingerprint])
        return rows[0][0] if rows else None

    def versions(self, agreement_id: str) -> list[SignedVersion]:
        """Every signed version of the agreement, oldest signature first."""
        with self._tx(write=False) as tx:
            texts = tx.run(f"SELECT fingerprint, version, canonical FROM {TEXTS} WHERE agreement_id = ?",
                           [agreement_id])
            sigs = tx.run(f"SELECT fingerprint, party, signed_at FROM {SIGNATURES} WHERE agreement_id = ?",
                          [agreement_id])
        out = []
        for fingerprint, version, canonical in texts:
            mine = sorted((at, party) for fp, party, at in sigs if fp == fingerprint)
            out.append(SignedVersion(agreement_id, version, fingerprint, canonical,
                                     tuple(sorted({p for _, p in mine})), mine[0][0] if mine else ""))
        return sorted(out, key=lambda v: v.first_signed_at)

    def last_complete(self, agreement_id: str, exclude: str | None = None) -> SignedVersion | None:
        """The newest version every one of its parties signed (other than fingerprint `exclude`)."""
        done = [v for v in self.versions(agreement_id) if v.complete and v.fingerprint != exclude]
        return done[-1] if done else None
