"""A version rewritten without the subject: a new version in a new folder, same layout, same agreement
text and retention clock (it keeps the old version's fingerprint and created_at).

Tables lose the subject's rows; JSON reports have every string mentioning the subject replaced;
loose files are carried over unless they mention it. Other files (a trained synthesizer, ...) are not
carried over: derived from rows that include the subject, they may encode it beyond any search, and
the next run derives them again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Dataset
from pactline.retention.erasure.access import VersionHit
from pactline.retention.erasure.files import VersionFiles, kind
from pactline.retention.erasure.landing import readdress
from pactline.retention.erasure.manifest import write_rewritten
from pactline.retention.erasure.match import SubjectMatcher, json_mentions
from pactline.store import Catalog, FileRecord, VersionRecord
from pactline.store.layout import incoming, shared

ERASED = "<ERASED>"


class Rewriter:
    def __init__(self, loaded: LoadedAgreement, matcher: SubjectMatcher, files: VersionFiles):
        self.loaded = loaded
        self.matcher = matcher
        self.files = files
        self.root = files.root
        self.vault = files.vault

    def rewrite(self, hit: VersionHit, request_id: str, landing_moves: dict[str, str]) -> tuple[VersionRecord, int]:
        """A new live version of `hit.version` without the subject, and the rows (or mentions) removed;
        reuses one an interrupted run finished. `landing_moves` (old landing data path -> new) is filled by
        landing rewrites and read by release manifests, so lineage keeps pointing at a live copy."""
        old = hit.version
        catalog = self.vault.catalog
        earlier = catalog.replacement_of(old.version_id)
        if earlier is not None and earlier.state == "live":
            return earlier, 0
        if earlier is not None:  # a rewrite killed halfway: drop it and write it again
            self.vault.keyring.destroy(earlier.version_id, "interrupted erasure rewrite")
            self.root.delete(earlier.base, recursive=True)
            catalog.delete(earlier.version_id)
        base = self._base(old, request_id)
        # the old version's fingerprint: the rewrite is still governed by the text its rows were made under
        new = self.vault.new_version(Catalog.new_record(
            old.agreement_id, old.area, old.zone, old.name, base, state="writing", run_id=request_id,
            fingerprint=old.fingerprint or self.loaded.fingerprint, replaces=old.version_id, created_at=old.created))
        dataset = self.loaded.agreement.dataset(hit.dataset)
        removed = 0
        written: dict[str, FileRecord | None] = {}
        for f in catalog.files(old.version_id):
            rel = base + f.path[len(old.base):]
            removed += self._copy_without(f, rel, new, dataset)
            written[f.path] = self.root.file_record(rel)
        needles = self.matcher.needles(dataset.id)
        for rel in self.files.loose(old):  # carried over as they are, unless they mention the subject
            if self.files.loose_mentions(rel, needles):
                removed += 1
                continue
            dst = self.root.path(base + rel[len(old.base):])
            self.root.fs.makedirs(dst.rsplit("/", 1)[0], exist_ok=True)
            self.root.fs.copy(self.root.path(rel), dst)
        if old.area == "landing":
            new = readdress(self.root, self.vault, new, old, written, landing_moves)
            if new.state == "live":  # an identical landing version was already there
                return new, removed
        write_rewritten(self.root, catalog, old, new, request_id, removed, landing_moves)
        return catalog.update(new.version_id, expect=["writing"], state="live"), removed

    @staticmethod
    def _base(old: VersionRecord, request_id: str) -> str:
        if old.area == "landing":  # content-addressed: the folder is named once the new hash is known
            return incoming(old.agreement_id, old.name, f"erasure-{uuid.uuid4().hex[:12]}")
        if old.area == "shared":
            # one per old version: a request often rewrites several releases of one output in the same second
            stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}Z"
            return shared(old.agreement_id, old.name, f"{stamp}-e{request_id[-11:]}-{old.version_id[-8:]}")
        return f"{old.base}-e{request_id[-12:]}"

    def _copy_without(self, f: FileRecord, rel: str, new: VersionRecord, dataset: Dataset) -> int:
        """Copy one file into the new version without the subject; returns rows (or mentions) removed."""
        what = kind(f.path)
        if what in ("csv", "parquet"):
            removed = 0
            with self.files.table(f.path, dataset) as (schema, batches), \
                    self._table_writer(f, rel, new, schema, dataset) as writer:
                for batch in batches:
                    mask = self.matcher.rows(batch, dataset.id)
                    removed += pc.sum(mask).as_py() or 0
                    writer.write_batch(batch.filter(pc.invert(mask)))
            return removed
        needles = self.matcher.needles(dataset.id)
        if what == "json":
            data = self.root.read_json(f.path)
            n = json_mentions(data, needles)
            self.root.write_json(rel, redact_json(data, needles), version=new)
            return n
        return 1  # not carried over (see the module's docstring)

    def _table_writer(self, f: FileRecord, rel: str, new: VersionRecord, schema: pa.Schema,
                      dataset: Dataset) -> contextlib.AbstractContextManager[Any]:
        if f.encryption == "parquet":
            return self.root.parquet_writer(rel, schema, version=new)

        @contextlib.contextmanager
        def enveloped() -> Iterator[Any]:  # landing copies keep their format, inside an envelope
            with self.root.open_write(rel, version=new) as fh:
                if kind(rel) == "csv":
                    options = pacsv.WriteOptions(include_header=True, delimiter=dataset.source.delimiter)
                    with pacsv.CSVWriter(fh, schema, write_options=options) as w:
                        yield w
                else:
                    with pq.ParquetWriter(fh, schema, compression="zstd") as w:
                        yield w

        return enveloped()


def redact_json(data: Any, needles: list[str]) -> Any:
    """`data` with every mention of the subject in its strings (keys too) replaced by ERASED."""
    if isinstance(data, str):
        for n in needles:
            data = re.sub(re.escape(n), ERASED, data, flags=re.IGNORECASE)
        return data
    if isinstance(data, dict):
        return {redact_json(k, needles): redact_json(v, needles) for k, v in data.items()}
    if isinstance(data, list):
        return [redact_json(v, needles) for v in data]
    return data
