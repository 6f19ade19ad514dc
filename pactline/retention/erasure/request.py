"""A subject request over one agreement's live versions: the access report, or the erasure end to end.

Erasure registers the subject's tokens first (a run starting meanwhile already drops the subject),
then per version holding the subject, landing copies first so releases' lineage can follow them:
rewrite it without the subject (rewrite.py), then crypto-shred the old one with a receipt (clause
"data_subject_erasure", ledger event "erasure"). Each step is a ledger entry naming counts only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.ledger import Ledger
from pactline.retention.erasure.access import SubjectAccess, VersionHit
from pactline.retention.erasure.errors import ErasureError
from pactline.retention.erasure.files import VersionFiles
from pactline.retention.erasure.match import SubjectMatcher
from pactline.retention.erasure.rewrite import Rewriter
from pactline.retention.purge import Purger
from pactline.retention.register import ErasureRegister
from pactline.store import DataRoot, Vault, VersionRecord

CLAUSE = "data_subject_erasure"
ORDER = ("landing", "staging", "reports", "shared")  # landing first: release manifests follow the moved copies


@dataclass
class ErasureReport:
    request_id: str
    agreement_id: str
    versions_checked: int = 0
    replaced: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # dataset.column whose token later runs drop

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SubjectRequests:
    """Subject access reports and erasures over one agreement's live versions."""

    def __init__(self, loaded: LoadedAgreement, matcher: SubjectMatcher, *, root: DataRoot, vault: Vault,
                 ledger: Ledger | None = None, actor: str = "cli:erase", register: ErasureRegister | None = None):
        self.loaded = loaded
        self.register = register or ErasureRegister()
        self.matcher = matcher
        self.vault = vault
        self.files = VersionFiles(root, vault)
        self.root = self.files.root
        self.access = SubjectAccess(loaded, matcher, self.files)
        self.ledger = ledger
        self.actor = actor

    def live_versions(self) -> list[VersionRecord]:
        return self.vault.catalog.versions(self.loaded.id, states=["live"])

    def scan(self, version: VersionRecord) -> VersionHit:
        return self.access.scan(version)

    def report(self) -> list[VersionHit]:
        """Every live version that holds the subject, with the rows holding it per file."""
        return self.access.holding(self.live_versions())

    def erase(self, *, dry_run: bool = False) -> ErasureReport:
        if self.ledger is None:
            raise ErasureError("erasure needs the ledger")
        request_id = f"erasure-{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(6)}"
        report = ErasureReport(request_id, self.loaded.id)
        versions = self.live_versions()
        report.versions_checked = len(versions)
        hits = self.access.holding(versions)
        if dry_run:
            report.replaced = [{"old": h.version.version_id, "base": h.version.base, "rows": sum(h.files.values())}
                               for h in hits]
            return report
        columns = {ds: [i.column for i in ids] for ds, ids in self.matcher.identifiers.items() if ids}
        # registered first: a run that starts while the versions are rewritten already drops the subject
        for ds, idents in self.matcher.identifiers.items():
            for ident in idents:
                if ident.token is not None:
                    self.register.add(self.loaded.id, ds, ident.column, ident.token, request_id)
                    report.registered.append(f"{ds}.{ident.column}")
        self._record("erasure.requested", {"request_id": request_id, "columns": columns,
                                           "registered": report.registered,
                                           "versions_checked": len(versions), "versions_holding": len(hits)})
        purger = Purger(self.root, self.vault, self.ledger, actor=self.actor)
        rewriter = Rewriter(self.loaded, self.matcher, self.files)
        landing_moves: dict[str, str] = {}  # old landing data path -> new, to keep release lineage pointing right
        for h in sorted(hits, key=lambda h: ORDER.index(h.version.area)):
            new, removed = rewriter.rewrite(h, request_id, landing_moves)
            self._record("erasure.rewritten", {"request_id": request_id, "old_version": h.version.version_id,
                                               "new_version": new.version_id, "area": h.version.area,
                                               "base": new.base, "rows_removed": removed})
            receipt = purger.shred(
                h.version, CLAUSE, dt.datetime.now(dt.UTC).date(), self.loaded, event="erasure",
                reason=f"data subject erasure request {request_id}",
                extra={"request_id": request_id, "replaced_by": new.version_id, "rows_removed": removed},
            )
            report.replaced.append({"old": h.version.version_id, "new": new.version_id, "base": new.base,
                                    "rows_removed": removed, "receipt": receipt})
            report.receipts.append(receipt)
        self._record("erasure.completed", {"request_id": request_id, "versions_replaced": len(report.replaced),
                                           "rows_removed": sum(r["rows_removed"] for r in report.replaced),
                                           "receipts": report.receipts})
        return report

    def _record(self, event: str, payload: dict[str, Any]) -> None:
        assert self.ledger is not None
        self.ledger.append(event, agreement_id=self.loaded.id, fingerprint=self.loaded.fingerprint,
                           actor=self.actor, payload=payload)
