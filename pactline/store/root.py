"""The data root: a local folder by default, any fsspec URI (s3://, gs://, memory://) by configuration.

Layout (paths relative to the root; nothing absolute is ever written into a manifest):

    <agreement>/landing/<dataset>/<sha256>/source.<ext>     immutable, content-addressed copy of the input
    <agreement>/staging/<dataset>/<run_id>/<step>.parquet    intermediate results of one run
    <agreement>/reports/<dataset>/<run_id>/...               scan and check reports for stewards
    <agreement>/shared/<output>/<version>/data.parquet       released versions, manifest.json written last
    <agreement>/receipts/<receipt_id>.json                   signed deletion receipts (clear, no personal data)

Each folder above is one *version*: immutable, registered in the catalog, encrypted at rest with
its own data key. Encryption lives here so steps never handle keys: a write given a version (or
whose path the root's resolver maps to one) is sealed with that version's key, Parquet with
Parquet modular encryption (still columnar), anything else in a streaming AES-GCM envelope. Reads
need no version: an encrypted file names its version, and the key is fetched from the keyring.
Manifests (manifest.json) stay in clear: they hold ids, counts and hashes, never personal data.

A released version is complete only once its manifest.json exists: data is written first,
the manifest last, so a crash never leaves something that looks like a release.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pactline.keys import pactline_home
from pactline.store.catalog import FileRecord, VersionRecord
from pactline.store.envelope import MAGIC, EnvelopeReader, EnvelopeWriter, is_envelope
from pactline.store.parquet_crypto import decryption_properties, encryption_properties
from pactline.store.vault import Vault, default_vault

# Maps a relative path to the version it belongs to; None means "write in clear" (manifests, receipts).
Resolver = Callable[[str], VersionRecord | None]


def data_root_url() -> str:
    return os.environ.get("PACTLINE_DATA_ROOT") or str(pactline_home() / "data")


def data_root_options() -> dict[str, Any]:
    """fsspec storage options of the configured root: $PACTLINE_DATA_ROOT_OPTIONS, a JSON object
    (e.g. {"endpoint_url": "http://minio:9000"} for an S3-compatible store). Credentials are better
    left to the file system's own chain (AWS_* variables, instance roles) than written here."""
    raw = os.environ.get("PACTLINE_DATA_ROOT_OPTIONS", "").strip()
    if not raw:
        return {}
    try:
        options = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"PACTLINE_DATA_ROOT_OPTIONS is not JSON: {e}") from None
    if not isinstance(options, dict):
        raise ValueError("PACTLINE_DATA_ROOT_OPTIONS must be a JSON object of fsspec storage options")
    return options


class _HashingSink:
    """Counts and hashes the bytes as stored, on their way to the real file."""

    def __init__(self, fh: IO[bytes]):
        self._fh = fh
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sha256.update(view)
        self.bytes += len(view)
        self._fh.write(view)
        return len(view)

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self._fh.flush()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:  # the file itself is closed by the root once the write is complete
        self.closed = True


class _CountingWriter:
    """A ParquetWriter that counts the rows written, for the catalog."""

    def __init__(self, writer: pq.ParquetWriter):
        self._writer = writer
        self.rows = 0

    def write_batch(self, batch: pa.RecordBatch, row_group_size: int | None = None) -> None:
        self._writer.write_batch(batch, row_group_size=row_group_size)
        self.rows += batch.num_rows

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
        self._writer.write_table(table, row_group_size=row_group_size)
        self.rows += table.num_rows

    def write(self, table_or_batch: pa.Table | pa.RecordBatch, row_group_size: int | None = None) -> None:
        if isinstance(table_or_batch, pa.RecordBatch):
            self.write_batch(table_or_batch, row_group_size)
        else:
            self.write_table(table_or_batch, row_group_size)

    @property
    def schema(self) -> pa.Schema:
        return self._writer.schema


class DataRoot:
    def __init__(self, url: str | None = None, storage_options: dict[str, Any] | None = None, *,
                 vault: Vault | None = None, resolver: Resolver | None = None):
        self.url = url or data_root_url()
        if storage_options is None and self.url == data_root_url():
            storage_options = data_root_options()  # the configured root gets the configured options
        self.fs, root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.root = root.rstrip("/")
        self.is_local = self.fs.protocol in ("file", "local") or "file" in (self.fs.protocol or ())
        self._vault = vault
        self._resolver = resolver

    def bound(self, *, vault: Vault | None = None, resolver: Resolver | None = None) -> DataRoot:
        """This root with another vault and/or version resolver (the file system is shared)."""
        other = copy.copy(self)
        if vault is not None:
            other._vault = vault
        if resolver is not None:
            other._resolver = resolver
        return other

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            self._vault = default_vault()
        return self._vault

    def _data_key(self, version_id: str) -> bytes:
        return self.vault.data_key(version_id)

    def _version(self, rel: str, version: VersionRecord | None) -> VersionRecord | None:
        if version is not None:
            return version
        return self._resolver(rel) if self._resolver is not None else None

    # -- paths -------------------------------------------------------------------------------
    def path(self, rel: str) -> str:
        return posixpath.join(self.root, rel)

    def uri(self, rel: str) -> str:
        """A URI for humans and logs (the root URL joined with the relative path)."""
        return self.url.rstrip("/") + "/" + rel

    def exists(self, rel: str) -> bool:
        return self.fs.exists(self.path(rel))

    def ls(self, rel: str) -> list[str]:
        """Names directly under rel (empty if it does not exist)."""
        full = self.path(rel)
        if not self.fs.exists(full):
            return []
        return sorted(posixpath.basename(p.rstrip("/")) for p in self.fs.ls(full, detail=False))

    def local_path(self, rel: str) -> Path:
        if not self.is_local:
            raise ValueError(f"data root {self.url} is not a local folder")
        return Path(self.path(rel))

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _sink(self, rel: str) -> Iterator[_HashingSink]:
        """A hashing sink over a temporary file that appears under `rel` only on success."""
        full = self.path(rel)
        self.fs.makedirs(posixpath.dirname(full), exist_ok=True)
        tmp = f"{full}.{uuid.uuid4().hex}.tmp"
        try:
            with self.fs.open(tmp, "wb") as fh:
                yield _HashingSink(fh)
            if self.is_local:
                os.replace(tmp, full)  # atomic: a reader never sees half a file
            else:
                self.fs.mv(tmp, full)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def _register(self, version: VersionRecord | None, rel: str, sink: _HashingSink, encryption: str | None,
                  plaintext_sha256: str | None = None, rows: int | None = None) -> FileRecord:
        record = FileRecord(version.version_id if version else "", rel, sink.sha256.hexdigest(), sink.bytes,
                            encryption, plaintext_sha256, rows)
        if version is not None:
            self.vault.catalog.add_file(record)
        return record

    @contextlib.contextmanager
    def open_write(self, rel: str, version: VersionRecord | None = None) -> Iterator[Any]:
        """A binary handle for streaming writes; the file appears under `rel` only on success.

        With a version (given, or from the resolver) what is written is sealed in an envelope.
        """
        version = self._version(rel, version)
        with self._sink(rel) as sink:
            if version is None:
                yield sink
                writer = None
            else:
                writer = EnvelopeWriter(sink, version.version_id, self._data_key(version.version_id))
                yield writer
                writer.close()
        self._register(version, rel, sink, "envelope" if writer else None,
                       writer.plaintext_sha256.hexdigest() if writer else sink.sha256.hexdigest())

    def write_bytes(self, rel: str, data: bytes, version: VersionRecord | None = None) -> None:
        with self.open_write(rel, version) as fh:
            fh.write(data)

    def write_json(self, rel: str, obj: Any, version: VersionRecord | None = None) -> None:
        self.write_bytes(rel, json.dumps(obj, indent=2, sort_keys=True, default=str).encode(), version)

    @contextlib.contextmanager
    def parquet_writer(self, rel: str, schema: pa.Schema, version: VersionRecord | None = None,
                       **options: Any) -> Iterator[_CountingWriter]:
        """A ParquetWriter (write_batch/write_table) whose file is encrypted with the version's key."""
        version = self._version(rel, version)
        options.setdefault("compression", "zstd")
        props = encryption_properties(self._data_key, version.version_id) if version else None
        with self._sink(rel) as sink, pq.ParquetWriter(sink, schema, encryption_properties=props, **options) as w:
            counting = _CountingWriter(w)
            yield counting
        self._register(version, rel, sink, "parquet" if version else None, rows=counting.rows)

    def write_table(self, rel: str, table: pa.Table, version: VersionRecord | None = None) -> None:
        with self.parquet_writer(rel, table.schema, version) as writer:
            writer.write_table(table)

    # -- reading -----------------------------------------------------------------------------
    def open_read(self, rel: str) -> IO[bytes]:
        """A seekable binary handle on the file's plaintext (envelopes are opened; Parquet is as stored)."""
        fh = self.fs.open(self.path(rel), "rb")
        try:
            head = fh.read(len(MAGIC))
            fh.seek(0)
            if is_envelope(head):
                return EnvelopeReader(fh, self._data_key, name=rel)  # type: ignore[return-value]
        except BaseException:
            fh.close()
            raise
        return fh

    def read_raw(self, rel: str) -> bytes:
        """The bytes as stored (encrypted files stay encrypted)."""
        return self.fs.cat_file(self.path(rel))

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes with any envelope removed. Parquet files are encrypted inside the format,
        so theirs are returned as stored: open them with read_table/open_parquet."""
        with self.open_read(rel) as fh:
            return fh.read()

    def read_json(self, rel: str) -> Any:
        return json.loads(self.read_bytes(rel))

    @contextlib.contextmanager
    def open_parquet(self, rel: str) -> Iterator[pq.ParquetFile]:
        with self.open_read(rel) as fh:
            yield pq.ParquetFile(fh, decryption_properties=decryption_properties(self._data_key))

    def read_table(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        with self.open_read(rel) as fh:
            return pq.read_table(fh, columns=columns, decryption_properties=decryption_properties(self._data_key))

    def file_record(self, rel: str) -> FileRecord | None:
        """What the catalog knows of the file at `rel` (hashes, size, encryption), if it is versioned."""
        return self.vault.catalog.file(rel)

    # -- moving and deleting -----------------------------------------------------------------
    def move(self, src_rel: str, dst_rel: str) -> None:
        dst = self.path(dst_rel)
        self.fs.makedirs(posixpath.dirname(dst), exist_ok=True)
        self.fs.mv(self.path(src_rel), dst)
        self.vault.catalog.move_file(src_rel, dst_rel)

    def delete(self, rel: str, recursive: bool = False) -> None:
        full = self.path(rel)
        if self.fs.exists(full):
            self.fs.rm(full, recursive=recursive)
