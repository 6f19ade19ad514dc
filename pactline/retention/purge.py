"""Crypto-shredding of versions, crash-safe, each ending in a signed deletion receipt in the ledger.

What is due is decided from the catalog alone: each live version under the agreement text it was
made under (due.py, made_under.py), never the agreement files in some folder.

Per version, in this order, each step idempotent:

    1. mark      catalog state live -> purging, with the clause, due date and a new receipt id
    2. intent    ledger entry "purge.intent" (what will be destroyed and why); its index is kept
    3. key       the data key is destroyed: from here no copy of the version can be decrypted
    4. files     every file of the version, then its folder, is deleted
    5. receipt   signed receipt appended to the ledger (event "purge", or "erasure"), then stored
                 with its inclusion proof at <agreement>/receipts/<id>.json
    6. done      catalog state purging -> purged

A process killed anywhere leaves the version in `purging`; the next run (any run: the
retention DAG, `pactline purge`, or an erasure) finishes it from the step it reached, and a
receipt already in the ledger is found and reused, never appended twice. Only versions that
were due when they were marked are ever in `purging`, so nothing not due is deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.ledger import Ledger
from pactline.parties.history import SignedVersions
from pactline.retention import receipts
from pactline.retention.due import Due, find_due
from pactline.retention.made_under import made_under
from pactline.store import DataRoot, Vault, VersionRecord
from pactline.store.catalog import LIVE_STATES, utc_now

log = logging.getLogger(__name__)

# hook(stage, version): called after each step; tests raise from it to simulate a crash there.
Hook = Callable[[str, VersionRecord], None]
STAGES = ("marked", "intent_recorded", "key_destroyed", "files_deleted", "receipt_appended", "receipt_logged",
          "receipt_stored")


@dataclass
class PurgeReport:
    as_of: str
    dry_run: bool
    due: list[dict[str, Any]] = field(default_factory=list)  # what this run found due (or would purge)
    finished: list[str] = field(default_factory=list)  # version ids an earlier, interrupted run had started
    receipts: list[str] = field(default_factory=list)  # receipt paths written by this run
    kept: list[dict[str, Any]] = field(default_factory=list)  # versions whose agreement text is not known, and why
    agreement_errors: list[str] = field(default_factory=list)  # agreement files read for the fallback that failed
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Purger:
    def __init__(self, root: DataRoot, vault: Vault, ledger: Ledger, *, actor: str, hook: Hook | None = None):
        self.root = root.bound(vault=vault)
        self.vault = vault
        self.ledger = ledger
        self.actor = actor
        self.hook = hook or (lambda stage, version: None)

    # -- a whole run ---------------------------------------------------------------------------
    def run(self, as_of: dt.date, *, agreement_files: Iterable[Path] = (), dry_run: bool = False) -> PurgeReport:
        """Finish interrupted purges, then shred what is due on `as_of` under the agreement text each version
        was made under (made_under.py; `agreement_files` only stand in for texts the history lacks)."""
        report = PurgeReport(as_of.isoformat(), dry_run)
        catalog = self.vault.catalog
        unfinished = catalog.versions(states=["purging"])
        live = catalog.versions(states=LIVE_STATES)
        texts = made_under(live, SignedVersions(catalog.db.url), agreement_files)
        due, unknown = find_due(live, texts.of, as_of)
        report.agreement_errors = texts.file_errors
        report.kept = [{"version_id": v.version_id, "agreement_id": v.agreement_id, "base": v.base,
                        "fingerprint": v.fingerprint, "reason": texts.missing[v.version_id]} for v in unknown]
        for kept in report.kept:  # never kept silently: the task log and the CLI both say so
            log.warning("kept version %s (%s): %s", kept["version_id"], kept["base"], kept["reason"])
        report.due = [d.to_dict() for d in due]
        if dry_run:
            report.finished = [v.version_id for v in unfinished]
            return report
        for version in unfinished:  # marked when due; the receipt names the version's own fingerprint
            self._guarded(report, version, lambda v=version: self.finish(v, None))
            report.finished.append(version.version_id)
        for d in due:
            self._guarded(report, d.version, lambda d=d: self.shred(d.version, d.clause, d.due, texts.of(d.version)))
        return report

    def _guarded(self, report: PurgeReport, version: VersionRecord, action: Callable[[], str]) -> None:
        # one version failing (storage down, ...) must not keep the others from being purged
        try:
            report.receipts.append(action())
        except Exception as e:
            log.exception("purge of version %s failed", version.version_id)
            report.errors.append(f"{version.version_id} ({version.base}): {type(e).__name__}: {e}")

    # -- one version ---------------------------------------------------------------------------
    def shred(self, version: VersionRecord, clause: str, due: dt.date, loaded: LoadedAgreement | None, *,
              event: str = "purge", reason: str | None = None, extra: Mapping[str, Any] | None = None) -> str:
        """Mark `version` for purging under `clause` and purge it; returns the receipt's path."""
        marked = self.vault.catalog.update(
            version.version_id, expect=LIVE_STATES, state="purging", purge_clause=clause,
            purge_due=due.isoformat(), purge_reason=_reason(event, reason, extra),
            receipt_id=f"rcpt-{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(8)}",
        )
        self.hook("marked", marked)
        return self.finish(marked, loaded)

    def finish(self, version: VersionRecord, loaded: LoadedAgreement | None) -> str:
        """Take a `purging` version from wherever an earlier attempt stopped to `purged`."""
        catalog = self.vault.catalog
        version = catalog.get(version.version_id)
        if version.state != "purging":
            raise ValueError(f"version {version.version_id} is {version.state}, not purging")
        event, extra = _event_and_extra(version)
        fingerprint = loaded.fingerprint if loaded else version.fingerprint
        files = [f.to_dict() for f in catalog.files(version.version_id)]
        if version.intent_index is None:
            entry = self.ledger.append("purge.intent", agreement_id=version.agreement_id, fingerprint=fingerprint,
                                       actor=self.actor, payload={
                                           "receipt_id": version.receipt_id, "version_id": version.version_id,
                                           "area": version.area, "zone": version.zone, "name": version.name,
                                           "base": version.base, "clause": version.purge_clause,
                                           "due": version.purge_due, "files": files, **dict(extra),
                                       })
            version = catalog.update(version.version_id, intent_index=entry.index)
            self.hook("intent_recorded", version)

        destroyed_at = self.vault.keyring.destroy(version.version_id, f"{version.purge_clause} ({version.receipt_id})")
        self.hook("key_destroyed", version)

        for f in files:
            self.root.delete(f["path"])
        self.root.delete(version.base, recursive=True)  # the manifest, and anything a crash left unregistered
        self.hook("files_deleted", version)

        entry_index = version.receipt_index
        if entry_index is None:
            entry_index = self._logged_receipt(version, event)  # appended before a crash, not yet noted
        if entry_index is None:
            body = {
                "receipt_id": version.receipt_id,
                "agreement": {"id": version.agreement_id, "fingerprint": fingerprint},
                "version": {"id": version.version_id, "area": version.area, "zone": version.zone,
                            "name": version.name, "base": version.base, "created_at": version.created_at,
                            "run_id": version.run_id, "fingerprint": version.fingerprint},
                "files": files,
                "clause": version.purge_clause,
                "due": version.purge_due,
                "intent_entry": version.intent_index,
                "key_destroyed": True,
                "key_destroyed_at": destroyed_at,
                "files_deleted": True,
                "purged_at": utc_now().isoformat(),
                "actor": self.actor,
                **dict(extra),
            }
            signature = receipts.sign(body, self.ledger.signing_key())
            entry = self.ledger.append(event, agreement_id=version.agreement_id, fingerprint=fingerprint,
                                       actor=self.actor, payload=receipts.ledger_payload(body, signature))
            entry_index = entry.index
            self.hook("receipt_appended", version)
        version = catalog.update(version.version_id, receipt_index=entry_index)
        self.hook("receipt_logged", version)

        entry = self.ledger.get(entry_index)
        proof = self.ledger.prove_inclusion(entry_index)
        doc = receipts.document(entry.payload["receipt"], entry.payload["signature"], entry.event, proof)
        path = receipts.receipt_path(version.agreement_id, str(version.receipt_id))
        self.root.write_json(path, doc)
        self.hook("receipt_stored", version)
        catalog.update(version.version_id, expect=["purging"], state="purged", purged_at=doc["body"]["purged_at"])
        return path

    def _logged_receipt(self, version: VersionRecord, event: str) -> int | None:
        start = version.intent_index or 0
        for entry in self.ledger.entries(start, agreement_id=version.agreement_id, event=event):
            body = (entry.payload or {}).get("receipt") or {}
            if body.get("receipt_id") == version.receipt_id:
                return entry.index
        return None


def _reason(event: str, reason: str | None, extra: Mapping[str, Any] | None) -> str:
    """Kept in the catalog so a finishing run writes the same receipt an interrupted one would have."""
    return json.dumps({"event": event, "reason": reason, "extra": dict(extra or {})}, sort_keys=True)


def _event_and_extra(version: VersionRecord) -> tuple[str, dict[str, Any]]:
    try:
        saved = json.loads(version.purge_reason or "{}")
    except ValueError:
        saved = {}
    extra = dict(saved.get("extra") or {})
    if saved.get("reason"):
        extra.setdefault("reason", saved["reason"])
    return saved.get("event") or "purge", extra


__all__ = ["STAGES", "Due", "Hook", "PurgeReport", "Purger"]
