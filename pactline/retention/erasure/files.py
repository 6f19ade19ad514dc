"""A version's files as erasure reads them: tables decrypted as they stream, and the loose files
tools wrote into the version's folder without registering them in the catalog."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pactline.agreement.model import Dataset
from pactline.errors import PactlineError
from pactline.retention.erasure.match import mentions
from pactline.store import DataRoot, Vault, VersionRecord
from pactline.store.layout import manifest
from pactline.store.parquet_crypto import decryption_properties
from pactline.store.source import iter_batches


def kind(path: str) -> str:
    """The file's extension, lower case ("" when its name has none)."""
    return path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""


class VersionFiles:
    def __init__(self, root: DataRoot, vault: Vault):
        self.root = root.bound(vault=vault)
        self.vault = vault

    @contextlib.contextmanager
    def table(self, rel: str, dataset: Dataset) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
        """(schema, record batches) of a CSV or Parquet file, decrypted as it streams."""
        with self.root.open_read(rel) as fh:
            if kind(rel) == "csv":
                names, batches = iter_batches(fh, rel, "csv", dataset.source.delimiter)
                yield pa.schema([(n, pa.large_string()) for n in names]), batches
            else:
                pf = pq.ParquetFile(fh, decryption_properties=decryption_properties(self.vault.data_key))
                yield pf.schema_arrow, pf.iter_batches(batch_size=65536)

    def loose(self, version: VersionRecord) -> list[str]:
        """Files in the version's folder the catalog does not list: written by tools that bypass the
        store (e.g. Data Docs and summaries the checks write), and still data about people."""
        registered = {f.path for f in self.vault.catalog.files(version.version_id)}
        full = self.root.path(version.base)
        if not self.root.fs.exists(full):
            return []
        prefix = self.root.root.rstrip("/") + "/"
        rels = [p[len(prefix):] if p.startswith(prefix) else p for p in self.root.fs.find(full)]
        return sorted(r for r in rels if r not in registered and r != manifest(version.base)
                      and not r.endswith(".tmp"))  # .tmp: a write that never completed

    def loose_mentions(self, rel: str, needles: list[str]) -> bool:
        try:
            return mentions(self.root.read_bytes(rel), needles)
        except PactlineError:  # cannot be read, so cannot be shown not to hold the subject
            return True
