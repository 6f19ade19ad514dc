"""Entry points shared by the CLI and the DAGs: purge due versions, verify receipts, subject requests.

Each builds what it needs from the environment (data root, vault, ledger) unless given it, so
the retention DAG, `pactline purge` and the tests run exactly the same code.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pactline.agreement import LoadedAgreement, load_agreement
from pactline.agreement.folder import agreements_folder
from pactline.keys import KeyStore
from pactline.ledger import Ledger
from pactline.retention import receipts
from pactline.retention.due import load_agreements
from pactline.retention.erasure import ErasureReport, SubjectMatcher, SubjectRequests, VersionHit
from pactline.retention.purge import Hook, Purger, PurgeReport
from pactline.store import DataRoot, Vault


def agreement_paths(paths: Iterable[str | Path] | None = None) -> list[Path]:
    """The agreement files/folders to read: given, else $PACTLINE_AGREEMENTS, else include/agreements.

    The purge reads them only for a version whose agreement text the store did not keep (made_under.py),
    and uses a file only if it has that version's exact fingerprint, so where it runs does not matter."""
    given = [Path(p) for p in paths or []]
    return given or [agreements_folder()]


def _ledger(ledger: Ledger | None) -> Ledger:
    if ledger is not None:
        return ledger
    from pactline.recording import open_ledger

    return open_ledger()


def run_purge(as_of: dt.date, *, agreements: Iterable[str | Path] | None = None, dry_run: bool = False,
              actor: str = "cli:purge", keystore: KeyStore | None = None, root: DataRoot | None = None,
              vault: Vault | None = None, ledger: Ledger | None = None, hook: Hook | None = None) -> PurgeReport:
    """Finish interrupted purges, then crypto-shred every version due on `as_of`, each with a receipt.

    Due is decided under the agreement text each version was made under, as the store recorded it;
    `agreements` (files or folders) only stand in for a text the store did not keep."""
    vault = vault or Vault.open(keystore)
    ledger = _ledger(ledger)
    purger = Purger(root or DataRoot(), vault, ledger, actor=actor, hook=hook)
    try:
        return purger.run(as_of, agreement_files=agreement_paths(agreements), dry_run=dry_run)
    finally:
        _seal(ledger)


def _seal(ledger: Ledger) -> None:
    """Sign (and publish) a checkpoint over everything the purge or erasure recorded, even if it stopped
    half way; a failure to seal is logged, never raised over the outcome of the work itself."""
    from pactline.ledger.witness import seal

    try:
        seal(ledger)
    except Exception:
        logging.getLogger(__name__).exception("Pactline: could not sign a ledger checkpoint after the purge/erasure")


@dataclass
class ReceiptsReport:
    checks: list[receipts.ReceiptCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def bad(self) -> list[receipts.ReceiptCheck]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": len(self.checks), "bad": [c.to_dict() for c in self.bad]}


def verify_receipts(*, root: DataRoot | None = None, vault: Vault | None = None, ledger: Ledger | None = None,
                    public_key: Ed25519PublicKey | None = None) -> ReceiptsReport:
    """Check every receipt under the data root against the ledger, and that every purged version has one.

    Beyond the receipt itself (signature, ledger entry, inclusion proof), the keyring must confirm
    the version's key is destroyed and the catalog that the version is purged.
    """
    root = root or DataRoot()
    vault = vault or Vault.open()
    ledger = _ledger(ledger)
    key = public_key or ledger.public_key()
    leaves = receipts.ledger_leaves(ledger)
    report = ReceiptsReport()
    seen: set[str] = set()
    for agreement_id in root.ls(""):
        for name in root.ls(f"{agreement_id}/receipts"):
            if not name.endswith(".json"):
                continue
            path = f"{agreement_id}/receipts/{name}"
            doc = receipts.parse(root.read_bytes(path))
            check = receipts.verify_receipt(doc, path, ledger, key, leaves)
            if check.receipt_id:
                seen.add(check.receipt_id)
            version_id = ((doc or {}).get("body") or {}).get("version", {}).get("id") if isinstance(doc, dict) else None
            if version_id:
                status = vault.keyring.status(version_id)
                if status is None or not status.destroyed:
                    check.problems.append(f"the keyring does not show version {version_id}'s key as destroyed")
            report.checks.append(check)
    for v in vault.catalog.versions(states=["purged"]):
        if v.receipt_id and v.receipt_id not in seen:
            path = receipts.receipt_path(v.agreement_id, v.receipt_id)
            report.checks.append(receipts.ReceiptCheck(path, v.receipt_id, [
                f"version {v.version_id} is purged but its receipt {path} is missing"]))
    return report


def subject_requests(agreement: str | Path | LoadedAgreement, subject: str, *, column: str | None = None,
                     keystore: KeyStore | None = None, root: DataRoot | None = None, vault: Vault | None = None,
                     ledger: Ledger | None = None, actor: str = "cli:erase") -> SubjectRequests:
    loaded = agreement if isinstance(agreement, LoadedAgreement) else load_agreement(agreement)
    keystore = keystore or KeyStore()
    vault = vault or Vault.open(keystore)
    matcher = SubjectMatcher(loaded, keystore, subject, column)
    return SubjectRequests(loaded, matcher, root=root or DataRoot(), vault=vault, ledger=ledger, actor=actor)


def run_erasure(agreement: str | Path | LoadedAgreement, subject: str, *, column: str | None = None,
                dry_run: bool = False, ledger: Ledger | None = None, **kwargs: Any) -> ErasureReport:
    ledger = _ledger(ledger)
    requests = subject_requests(agreement, subject, column=column, ledger=ledger, **kwargs)
    try:
        return requests.erase(dry_run=dry_run)
    finally:
        _seal(ledger)


def subject_report(agreement: str | Path | LoadedAgreement, subject: str, *, column: str | None = None,
                   **kwargs: Any) -> list[VersionHit]:
    return subject_requests(agreement, subject, column=column, **kwargs).report()


def find_agreement(agreement_id: str, paths: Iterable[str | Path] | None = None) -> LoadedAgreement:
    """The agreement with this id among the agreement files (for the erasure DAG's `agreement` param)."""
    from pactline.retention.erasure import ErasureError

    found, errors = load_agreements(agreement_paths(paths))
    if agreement_id not in found:
        raise ErasureError(f"no valid agreement with id {agreement_id!r} in {[str(p) for p in agreement_paths(paths)]}"
                           + (f"; problems: {errors}" if errors else ""))
    return found[agreement_id]
