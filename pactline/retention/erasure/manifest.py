"""The manifest of a version rewritten without a subject: the old version's, describing the new one."""

from __future__ import annotations

import datetime as dt

from pactline.store import DataRoot, VersionRecord
from pactline.store.catalog import Catalog
from pactline.store.layout import manifest


def write_rewritten(root: DataRoot, catalog: Catalog, old: VersionRecord, new: VersionRecord, request_id: str,
                    removed: int, landing_moves: dict[str, str]) -> None:
    """The new version's id, files, hashes and rows, the erasure that made it, and release lineage
    pointing at re-addressed landing copies. A version without a manifest gets none."""
    if not root.exists(manifest(old.base)):
        return
    doc = root.read_json(manifest(old.base))
    files = catalog.files(new.version_id)
    erasure = {"request_id": request_id, "replaces": old.version_id, "rows_removed": removed,
               "rewritten_at": dt.datetime.now(dt.UTC).isoformat()}
    doc.update(version_id=new.version_id, erasure=erasure)
    if old.area == "landing":
        with root.open_read(files[0].path) as fh:
            doc.update(sha256=files[0].plaintext_sha256, bytes=fh.seek(0, 2))
    elif old.area == "shared":
        doc["version"] = new.base.rsplit("/", 1)[-1]
        by_name = {f.path.rsplit("/", 1)[-1]: f for f in files}
        doc["files"] = [{**entry, "sha256": by_name[entry["path"]].sha256, "bytes": by_name[entry["path"]].bytes,
                         "rows": by_name[entry["path"]].rows}
                        for entry in doc.get("files", []) if entry["path"] in by_name]
        if isinstance(doc.get("rows"), dict) and files:
            doc["rows"]["released"] = sum(f.rows or 0 for f in files if f.path.endswith(".parquet"))
        for entry in doc.get("inputs", []):
            if entry.get("landing") in landing_moves:
                entry["landing"] = landing_moves[entry["landing"]]
    root.write_json(manifest(new.base), doc)
