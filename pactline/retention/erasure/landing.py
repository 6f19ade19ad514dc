"""A rewritten landing copy, addressed by the hash of its new content as ingest addresses a delivery
(pactline.store.layout.landing): written under an incoming folder, moved once the hash is known."""

from __future__ import annotations

from pactline.retention.erasure.errors import ErasureError
from pactline.store import DataRoot, FileRecord, Vault, VersionRecord
from pactline.store.layout import landing


def readdress(root: DataRoot, vault: Vault, new: VersionRecord, old: VersionRecord,
              written: dict[str, FileRecord | None], landing_moves: dict[str, str]) -> VersionRecord:
    """Move `new` (still writing) to the folder its content hash names; returns the version now holding
    that content. `landing_moves` learns old data path -> new, so release lineage can follow."""
    [(old_path, record)] = written.items()  # a landing version is one file
    assert record is not None and record.plaintext_sha256
    final = landing(old.agreement_id, old.name, record.plaintext_sha256)
    new_path = f"{final}/{old_path.rsplit('/', 1)[-1]}"
    existing = vault.catalog.at(final)
    if existing is not None and existing.state != "live":
        raise ErasureError(f"{final} is being written or purged by another process; retry the erasure")
    if existing is not None:
        # without the subject this copy equals a landing version that is already there (one that
        # never held the subject): keep that one, as ingest keeps the first of identical copies
        vault.keyring.destroy(new.version_id, "erasure rewrite identical to an existing version")
        root.delete(new.base, recursive=True)
        vault.catalog.delete(new.version_id)
        landing_moves[old_path] = new_path
        return existing
    new = vault.catalog.update(new.version_id, expect=["writing"], base=final)
    root.move(record.path, new_path)
    root.delete(record.path.rsplit("/", 1)[0], recursive=True)
    landing_moves[old_path] = new_path
    return new
