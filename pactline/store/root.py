"""The data root: a local folder by default, any fsspec URI (s3://, gs://, memory://) by configuration.

Layout (paths relative to the root; nothing absolute is ever written into a manifest):

    <agreement>/landing/<dataset>/<sha256>/source.<ext>     immutable, content-addressed copy of the input
    <agreement>/staging/<dataset>/<run_id>/<step>.parquet    intermediate results of one run
    <agreement>/reports/<dataset>/<run_id>/...               scan and check reports for stewards
    <agreement>/shared/<output>/<version>/data.parquet       released versions, manifest.json written last

A released version is complete only once its manifest.json exists: data is written first,
the manifest last, so a crash never leaves something that looks like a release.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pactline.keys import pactline_home


def data_root_url() -> str:
    return os.environ.get("PACTLINE_DATA_ROOT") or str(pactline_home() / "data")


class DataRoot:
    def __init__(self, url: str | None = None, storage_options: dict[str, Any] | None = None):
        self.url = url or data_root_url()
        self.fs, root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.root = root.rstrip("/")
        self.is_local = self.fs.protocol in ("file", "local") or "file" in (self.fs.protocol or ())

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

    def write_bytes(self, rel: str, data: bytes) -> None:
        full = self.path(rel)
        self.fs.makedirs(posixpath.dirname(full), exist_ok=True)
        if self.is_local:
            # write-then-rename so a reader never sees half a file
            tmp = f"{full}.{uuid.uuid4().hex}.tmp"
            with self.fs.open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, full)
        else:
            self.fs.pipe_file(full, data)  # object stores put whole objects atomically

    def read_bytes(self, rel: str) -> bytes:
        return self.fs.cat_file(self.path(rel))

    @contextlib.contextmanager
    def open_write(self, rel: str) -> Iterator[Any]:
        """A binary file handle for streaming writes; the file appears under `rel` only on success."""
        full = self.path(rel)
        self.fs.makedirs(posixpath.dirname(full), exist_ok=True)
        tmp = f"{full}.{uuid.uuid4().hex}.tmp"
        try:
            with self.fs.open(tmp, "wb") as fh:
                yield fh
            self.fs.mv(tmp, full)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def move(self, src_rel: str, dst_rel: str) -> None:
        dst = self.path(dst_rel)
        self.fs.makedirs(posixpath.dirname(dst), exist_ok=True)
        self.fs.mv(self.path(src_rel), dst)

    def write_json(self, rel: str, obj: Any) -> None:
        self.write_bytes(rel, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def read_json(self, rel: str) -> Any:
        return json.loads(self.read_bytes(rel))

    def write_table(self, rel: str, table: pa.Table) -> None:
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        self.write_bytes(rel, buf.getvalue())

    def read_table(self, rel: str) -> pa.Table:
        with self.fs.open(self.path(rel), "rb") as fh:
            return pq.read_table(fh)

    def local_path(self, rel: str) -> Path:
        if not self.is_local:
            raise ValueError(f"data root {self.url} is not a local folder")
        return Path(self.path(rel))

    def delete(self, rel: str, recursive: bool = False) -> None:
        full = self.path(rel)
        if self.fs.exists(full):
            self.fs.rm(full, recursive=recursive)
