"""The subject access report: every live version holding the subject, with the rows (or mentions)
per file, and to whom a released version went."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc

from pactline.agreement import LoadedAgreement
from pactline.retention.erasure.errors import ErasureError
from pactline.retention.erasure.files import VersionFiles, kind
from pactline.retention.erasure.match import SubjectMatcher, json_mentions, mentions
from pactline.store import VersionRecord


@dataclass
class VersionHit:
    version: VersionRecord
    dataset: str
    files: dict[str, int] = field(default_factory=dict)  # path -> rows (or mentions) holding the subject
    recipient: str | None = None

    def to_dict(self) -> dict[str, Any]:
        v = self.version
        return {"version_id": v.version_id, "agreement_id": v.agreement_id, "area": v.area, "zone": v.zone,
                "name": v.name, "dataset": self.dataset, "base": v.base, "created_at": v.created_at,
                "recipient": self.recipient, "files": self.files, "rows": sum(self.files.values())}


def dataset_of(loaded: LoadedAgreement, version: VersionRecord) -> str:
    if version.area == "shared":
        output = next((o for o in loaded.agreement.outputs if o.id == version.name), None)
        if output is None:
            raise ErasureError(f"version {version.version_id}: output {version.name!r} is not in the agreement")
        return output.dataset
    return version.name


class SubjectAccess:
    def __init__(self, loaded: LoadedAgreement, matcher: SubjectMatcher, files: VersionFiles):
        self.loaded = loaded
        self.matcher = matcher
        self.files = files

    def scan(self, version: VersionRecord) -> VersionHit:
        """Where in `version` the subject is (an empty hit.files: nowhere)."""
        dataset_id = dataset_of(self.loaded, version)
        dataset = self.loaded.agreement.dataset(dataset_id)
        hit = VersionHit(version, dataset_id)
        if version.area == "shared":
            output = next(o for o in self.loaded.agreement.outputs if o.id == version.name)
            hit.recipient = output.recipient
        needles = self.matcher.needles(dataset_id)
        root = self.files.root
        for f in self.files.vault.catalog.files(version.version_id):
            what = kind(f.path)
            if what in ("csv", "parquet"):
                with self.files.table(f.path, dataset) as (_, batches):
                    n = sum(pc.sum(self.matcher.rows(b, dataset_id)).as_py() or 0 for b in batches)
            elif what == "json":
                n = json_mentions(root.read_json(f.path), needles)
            else:
                n = int(mentions(root.read_bytes(f.path), needles))
            if n:
                hit.files[f.path] = n
        for rel in self.files.loose(version):
            if self.files.loose_mentions(rel, needles):
                hit.files[rel] = 1
        return hit

    def holding(self, versions: Iterable[VersionRecord]) -> list[VersionHit]:
        """The versions among `versions` that hold the subject."""
        return [h for h in (self.scan(v) for v in versions) if h.files]
