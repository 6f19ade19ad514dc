"""Data-subject rights: find every live version holding a subject, and erase the subject from them.

The subject is identified by a value of one of the dataset's keyed identifier columns (those
the agreement pseudonymises or encrypts deterministically, or the one named with `column`).
For each such column the subject's token is computed with the agreement's own transformation
and key (pactline.protect), so a row holds the subject when, in any identifier column,

- the raw value transforms to the subject's token (landing and staging hold raw values), or
- the value is the token itself (released versions hold tokens).

Erasure writes, for each version holding the subject, a new version without those rows (same
layout, same retention clock: it keeps the old version's created_at), then crypto-shreds the old
one with a receipt (clause "data_subject_erasure", ledger event "erasure"). JSON reports have
every string mentioning the subject replaced; other files of such a version (a trained
synthesizer, ...) are not carried over, since they may encode the subject beyond any search.

The subject's tokens go to the erasure register (register.py): later runs drop the subject's rows
at map_schema, so a partner's next delivery of the same file does not bring the subject back.

Neither the subject nor its token is ever written to the ledger, a manifest, a receipt or a log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Column, Dataset
from pactline.errors import PactlineError
from pactline.keys import AgreementKeys, KeyStore
from pactline.ledger import Ledger
from pactline.retention.purge import Purger
from pactline.retention.register import ErasureRegister
from pactline.store import Catalog, DataRoot, FileRecord, Vault, VersionRecord
from pactline.store.layout import MANIFEST
from pactline.store.parquet_crypto import decryption_properties
from pactline.store.source import iter_batches

CLAUSE = "data_subject_erasure"
TOKEN_KINDS = ("pseudonymise", "encrypt")  # deterministic keyed transformations: the token finds the subject
ERASED = "<ERASED>"


class ErasureError(PactlineError):
    """A subject erasure or access request cannot be carried out as asked."""


@dataclass(frozen=True)
class Identifier:
    column: str  # canonical name
    partner: str  # the provider's name for it (landing copies use these)
    declaration: Column
    token: str | None  # the subject's released value, None if the column is not tokenised


class SubjectMatcher:
    """Finds a subject's rows in a dataset's tables (raw, mapped or released)."""

    def __init__(self, loaded: LoadedAgreement, keystore: KeyStore, subject: str, column: str | None = None):
        if not subject or not subject.strip():
            raise ErasureError("the subject value is empty")
        self.loaded = loaded
        self.subject = subject
        self.keys = AgreementKeys(loaded, keystore)
        self.identifiers: dict[str, list[Identifier]] = {}
        for ds in loaded.agreement.datasets:
            self.identifiers[ds.id] = self._identifiers(ds, column)
        if not any(self.identifiers.values()):
            what = f"column {column!r}" if column else "a pseudonymised or encrypted identifier column"
            raise ErasureError(f"agreement {loaded.id}: no dataset has {what}; name the subject's column with --column")

    def _identifiers(self, ds: Dataset, column: str | None) -> list[Identifier]:
        from pactline.protect import protect_column

        partner = {canonical: p for p, canonical in ds.schema_mapping.items()}
        out = []
        for name, decl in ds.columns.items():
            if (column is not None and name != column) or (column is None and decl.transformation.kind not in TOKEN_KINDS):
                continue
            token = None
            if decl.transformation.kind in TOKEN_KINDS:
                token = protect_column(pa.array([self.subject], pa.large_string()), name, decl, keys=self.keys)[0].as_py()
            out.append(Identifier(name, partner.get(name, name), decl, token))
        return out

    def needles(self, dataset_id: str) -> list[str]:
        """Strings whose presence in a report or blob means it mentions the subject (lower case: the
        search ignores case, as partners spell identifiers differently)."""
        tokens = {i.token for i in self.identifiers.get(dataset_id, []) if i.token}
        return sorted({self.subject.strip().lower(), *(t.lower() for t in tokens)} - {""}, key=len, reverse=True)

    def rows(self, table: pa.Table | pa.RecordBatch, dataset_id: str) -> pa.ChunkedArray | pa.Array:
        """A boolean mask: True for the rows that hold the subject."""
        from pactline.protect import protect_column

        hit = pa.array([False] * table.num_rows, pa.bool_())
        names = set(table.schema.names)
        for ident in self.identifiers.get(dataset_id, []):
            name = ident.column if ident.column in names else ident.partner if ident.partner in names else None
            if name is None:
                continue
            values = table.column(name)
            text = values.cast(pa.large_string()) if values.type != pa.large_string() else values
            if ident.token is not None:
                hit = pc.or_(hit, pc.fill_null(pc.equal(text, ident.token), False))
                transformed = protect_column(text, ident.column, ident.declaration, keys=self.keys)
                hit = pc.or_(hit, pc.fill_null(pc.equal(transformed, ident.token), False))
            else:
                hit = pc.or_(hit, pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), self.subject.strip()), False))
        return hit


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


def dataset_of(loaded: LoadedAgreement, version: VersionRecord) -> str:
    if version.area == "shared":
        output = next((o for o in loaded.agreement.outputs if o.id == version.name), None)
        if output is None:
            raise ErasureError(f"version {version.version_id}: output {version.name!r} is not in the agreement")
        return output.dataset
    return version.name


def _kind(path: str) -> str:
    return path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""


class SubjectRequests:
    """Subject access reports and erasures over one agreement's live versions."""

    def __init__(self, loaded: LoadedAgreement, matcher: SubjectMatcher, *, root: DataRoot, vault: Vault,
                 ledger: Ledger | None = None, actor: str = "cli:erase", register: ErasureRegister | None = None):
        self.loaded = loaded
        self.register = register or ErasureRegister()
        self.matcher = matcher
        self.vault = vault
        self.root = root.bound(vault=vault)
        self.ledger = ledger
        self.actor = actor

    def live_versions(self) -> list[VersionRecord]:
        return self.vault.catalog.versions(self.loaded.id, states=["live"])

    # -- reading -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _table(self, rel: str, dataset: Dataset) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
        """(schema, record batches) of a CSV or Parquet file, decrypted as it streams."""
        with self.root.open_read(rel) as fh:
            if _kind(rel) == "csv":
                names, batches = iter_batches(fh, rel, "csv", dataset.source.delimiter)
                yield pa.schema([(n, pa.large_string()) for n in names]), batches
            else:
                pf = pq.ParquetFile(fh, decryption_properties=decryption_properties(self.vault.data_key))
                yield pf.schema_arrow, pf.iter_batches(batch_size=65536)

    def _text_mentions(self, data: Any, needles: list[str]) -> int:
        if isinstance(data, str):
            return int(_mentions(data, needles))
        if isinstance(data, dict):
            return sum(self._text_mentions(v, needles) + self._text_mentions(k, needles) for k, v in data.items())
        if isinstance(data, list):
            return sum(self._text_mentions(v, needles) for v in data)
        return 0

    def scan(self, version: VersionRecord) -> VersionHit:
        dataset_id = dataset_of(self.loaded, version)
        dataset = self.loaded.agreement.dataset(dataset_id)
        hit = VersionHit(version, dataset_id)
        if version.area == "shared":
            output = next(o for o in self.loaded.agreement.outputs if o.id == version.name)
            hit.recipient = output.recipient
        needles = self.matcher.needles(dataset_id)
        for f in self.vault.catalog.files(version.version_id):
            kind = _kind(f.path)
            if kind in ("csv", "parquet"):
                with self._table(f.path, dataset) as (_, batches):
                    n = sum(pc.sum(self.matcher.rows(b, dataset_id)).as_py() or 0 for b in batches)
            elif kind == "json":
                n = self._text_mentions(self.root.read_json(f.path), needles)
            else:
                n = int(_mentions(self.root.read_bytes(f.path), needles))
            if n:
                hit.files[f.path] = n
        for rel in self._loose_files(version):
            if self._loose_mentions(rel, needles):
                hit.files[rel] = 1
        return hit

    def _loose_mentions(self, rel: str, needles: list[str]) -> bool:
        try:
            return _mentions(self.root.read_bytes(rel), needles)
        except PactlineError:  # cannot be read, so cannot be shown not to hold the subject
            return True

    def _loose_files(self, version: VersionRecord) -> list[str]:
        """Files in the version's folder the catalog does not list: written by tools that bypass the
        store (e.g. Data Docs and summaries the checks write), and still data about people."""
        registered = {f.path for f in self.vault.catalog.files(version.version_id)}
        full = self.root.path(version.base)
        if not self.root.fs.exists(full):
            return []
        prefix = self.root.root.rstrip("/") + "/"
        rels = [p[len(prefix):] if p.startswith(prefix) else p for p in self.root.fs.find(full)]
        return sorted(r for r in rels if r not in registered and r != f"{version.base}/{MANIFEST}"
                      and not r.endswith(".tmp"))  # .tmp: a write that never completed

    def report(self) -> list[VersionHit]:
        """Every live version that holds the subject, with the rows holding it per file."""
        return [h for h in (self.scan(v) for v in self.live_versions()) if h.files]

    # -- erasing -------------------------------------------------------------------------------
    def erase(self, *, dry_run: bool = False) -> ErasureReport:
        if self.ledger is None:
            raise ErasureError("erasure needs the ledger")
        request_id = f"erasure-{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(6)}"
        report = ErasureReport(request_id, self.loaded.id)
        versions = self.live_versions()
        report.versions_checked = len(versions)
        hits = [h for h in (self.scan(v) for v in versions) if h.files]
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
        landing_moves: dict[str, str] = {}  # old landing data path -> new, to keep release lineage pointing right
        for h in sorted(hits, key=lambda h: ("landing", "staging", "reports", "shared").index(h.version.area)):
            new, removed = self._rewrite(h, request_id, landing_moves)
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

    def _rewrite(self, hit: VersionHit, request_id: str, landing_moves: dict[str, str]) -> tuple[VersionRecord, int]:
        """A new live version of `hit.version` without the subject; reuses one an interrupted run finished."""
        old = hit.version
        catalog = self.vault.catalog
        earlier = catalog.replacement_of(old.version_id)
        if earlier is not None and earlier.state == "live":
            return earlier, 0
        if earlier is not None:  # a rewrite killed halfway: drop it and write it again
            self.vault.keyring.destroy(earlier.version_id, "interrupted erasure rewrite")
            self.root.delete(earlier.base, recursive=True)
            catalog.delete(earlier.version_id)
        if old.area == "landing":  # content-addressed: the folder is named once the new hash is known
            base = f"{self.loaded.id}/landing/{old.name}/.erasure-{uuid.uuid4().hex[:12]}"
        elif old.area == "shared":
            # one per old version: a request often rewrites several releases of one output in the same second
            stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}Z"
            base = f"{self.loaded.id}/shared/{old.name}/{stamp}-e{request_id[-11:]}-{old.version_id[-8:]}"
        else:
            base = f"{old.base}-e{request_id[-12:]}"
        new = self.vault.new_version(Catalog.new_record(
            old.agreement_id, old.area, old.zone, old.name, base, state="writing", run_id=request_id,
            fingerprint=self.loaded.fingerprint, replaces=old.version_id, created_at=old.created))
        dataset = self.loaded.agreement.dataset(hit.dataset)
        removed = 0
        written: dict[str, FileRecord | None] = {}
        for f in catalog.files(old.version_id):
            rel = base + f.path[len(old.base):]
            removed += self._copy_without(f, rel, new, dataset)
            written[f.path] = self.root.file_record(rel)
        needles = self.matcher.needles(dataset.id)
        for rel in self._loose_files(old):  # carried over as they are, unless they mention the subject
            if self._loose_mentions(rel, needles):
                removed += 1
                continue
            dst = self.root.path(base + rel[len(old.base):])
            self.root.fs.makedirs(dst.rsplit("/", 1)[0], exist_ok=True)
            self.root.fs.copy(self.root.path(rel), dst)
        if old.area == "landing":
            new = self._name_landing(new, old, written, landing_moves)
            if new.state == "live":  # an identical landing version was already there
                return new, removed
        if self.root.exists(f"{old.base}/{MANIFEST}"):
            self._write_manifest(old, new, request_id, removed, landing_moves)
        return catalog.update(new.version_id, expect=["writing"], state="live"), removed

    def _copy_without(self, f: FileRecord, rel: str, new: VersionRecord, dataset: Dataset) -> int:
        """Copy one file into the new version without the subject; returns rows (or mentions) removed."""
        kind = _kind(f.path)
        if kind in ("csv", "parquet"):
            removed = 0
            with self._table(f.path, dataset) as (schema, batches), \
                    self._table_writer(f, rel, new, schema, dataset) as writer:
                for batch in batches:
                    mask = self.matcher.rows(batch, dataset.id)
                    removed += pc.sum(mask).as_py() or 0
                    writer.write_batch(batch.filter(pc.invert(mask)))
            return removed
        needles = self.matcher.needles(dataset.id)
        if kind == "json":
            data = self.root.read_json(f.path)
            n = self._text_mentions(data, needles)
            self.root.write_json(rel, _redact_json(data, needles), version=new)
            return n
        # Any other file (e.g. a trained synthesizer) was derived from rows that include the subject and
        # may encode them in ways no search finds: it is not carried over; the next run derives it again.
        return 1

    def _table_writer(self, f: FileRecord, rel: str, new: VersionRecord, schema: pa.Schema,
                      dataset: Dataset) -> contextlib.AbstractContextManager[Any]:
        if f.encryption == "parquet":
            return self.root.parquet_writer(rel, schema, version=new)

        @contextlib.contextmanager
        def enveloped() -> Iterator[Any]:  # landing copies keep their format, inside an envelope
            with self.root.open_write(rel, version=new) as fh:
                if _kind(rel) == "csv":
                    options = pacsv.WriteOptions(include_header=True, delimiter=dataset.source.delimiter)
                    with pacsv.CSVWriter(fh, schema, write_options=options) as w:
                        yield w
                else:
                    with pq.ParquetWriter(fh, schema, compression="zstd") as w:
                        yield w

        return enveloped()

    def _name_landing(self, new: VersionRecord, old: VersionRecord, written: dict[str, FileRecord | None],
                      landing_moves: dict[str, str]) -> VersionRecord:
        [(old_path, record)] = written.items()  # a landing version is one file
        assert record is not None and record.plaintext_sha256
        final = f"{self.loaded.id}/landing/{old.name}/{record.plaintext_sha256}"
        new_path = f"{final}/{old_path.rsplit('/', 1)[-1]}"
        existing = self.vault.catalog.at(final)
        if existing is not None and existing.state != "live":
            raise ErasureError(f"{final} is being written or purged by another process; retry the erasure")
        if existing is not None:
            # without the subject this copy equals a landing version that is already there (one that
            # never held the subject): keep that one, as ingest keeps the first of identical copies
            self.vault.keyring.destroy(new.version_id, "erasure rewrite identical to an existing version")
            self.root.delete(new.base, recursive=True)
            self.vault.catalog.delete(new.version_id)
            landing_moves[old_path] = new_path
            return existing
        new = self.vault.catalog.update(new.version_id, expect=["writing"], base=final)
        self.root.move(record.path, new_path)
        self.root.delete(record.path.rsplit("/", 1)[0], recursive=True)
        landing_moves[old_path] = new_path
        return new

    def _write_manifest(self, old: VersionRecord, new: VersionRecord, request_id: str, removed: int,
                        landing_moves: dict[str, str]) -> None:
        manifest = self.root.read_json(f"{old.base}/{MANIFEST}")
        files = self.vault.catalog.files(new.version_id)
        erasure = {"request_id": request_id, "replaces": old.version_id, "rows_removed": removed,
                   "rewritten_at": dt.datetime.now(dt.UTC).isoformat()}
        manifest.update(version_id=new.version_id, erasure=erasure)
        if old.area == "landing":
            with self.root.open_read(files[0].path) as fh:
                manifest.update(sha256=files[0].plaintext_sha256, bytes=fh.seek(0, 2))
        elif old.area == "shared":
            manifest["version"] = new.base.rsplit("/", 1)[-1]
            by_name = {f.path.rsplit("/", 1)[-1]: f for f in files}
            manifest["files"] = [{**entry, "sha256": by_name[entry["path"]].sha256, "bytes": by_name[entry["path"]].bytes,
                                  "rows": by_name[entry["path"]].rows}
                                 for entry in manifest.get("files", []) if entry["path"] in by_name]
            if isinstance(manifest.get("rows"), dict) and files:
                manifest["rows"]["released"] = sum(f.rows or 0 for f in files if f.path.endswith(".parquet"))
            for entry in manifest.get("inputs", []):
                if entry.get("landing") in landing_moves:
                    entry["landing"] = landing_moves[entry["landing"]]
        self.root.write_json(f"{new.base}/{MANIFEST}", manifest)


def _mentions(data: str | bytes, needles: list[str]) -> bool:
    if isinstance(data, bytes):
        low = data.lower()
        return any(n.encode() in low for n in needles)
    low = data.lower()
    return any(n in low for n in needles)


def _redact_json(data: Any, needles: list[str]) -> Any:
    if isinstance(data, str):
        for n in needles:
            data = re.sub(re.escape(n), ERASED, data, flags=re.IGNORECASE)
        return data
    if isinstance(data, dict):
        return {_redact_json(k, needles): _redact_json(v, needles) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact_json(v, needles) for v in data]
    return data
