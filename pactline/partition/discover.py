"""Find the partitions of a source: the files of a folder or glob, and Parquet files split at row groups.

A partition's `uri` is where a worker reads it (resolved, so it only ever travels in XCom); its
`name` is relative to the source as the agreement gives it, and is what manifests record.
"""

from __future__ import annotations

import contextlib
import posixpath
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

import fsspec
import pyarrow.parquet as pq

from pactline.agreement.model import Source
from pactline.errors import DataError
from pactline.sources import SourceRoot, glob_base
from pactline.withheld import arrow_message

EXTENSIONS = {"csv": (".csv", ".tsv", ".txt", ".csv.gz"), "parquet": (".parquet", ".pq", ".parq")}
SPOOL_BYTES = 64 << 20  # a row-group slice is rebuilt in memory up to this size, on disk beyond


@dataclass(frozen=True)
class Partition:
    index: int
    uri: str  # where to read it: an absolute path or a URL (XCom only, never in a manifest)
    name: str  # relative to the source as the agreement names it, e.g. "part-0003.csv" or "big.parquet#rg=4-7"
    format: str
    row_groups: tuple[int, ...] | None = None  # a slice of a Parquet file; None: the whole file
    rows: int | None = None  # known from the Parquet footer; CSV rows are counted at map_schema
    of: int = 1  # how many partitions the source has (uniqueness buckets: pactline.partition.uniqueness)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["row_groups"] = list(self.row_groups) if self.row_groups is not None else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Partition:
        d = dict(data)
        if d.get("row_groups") is not None:
            d["row_groups"] = tuple(d["row_groups"])
        return cls(**d)


def _files(source: Source, uri: str) -> tuple[fsspec.AbstractFileSystem, list[str], str]:
    fs, path = fsspec.core.url_to_fs(uri)
    if source.uri.endswith("/"):
        base = path.rstrip("/")
        if not fs.isdir(base):
            raise DataError(f"source {source.uri} is not a folder (resolved to {uri})")
        found = fs.find(base)
    elif source.partitioned_by_files:
        base = glob_base(path)
        found = fs.glob(path)
    else:
        return fs, [path], posixpath.dirname(path)
    names = sorted(p for p in found if p.lower().endswith(EXTENSIONS[source.format])
                   and not posixpath.basename(p).startswith((".", "_")) and fs.isfile(p))
    if not names:
        raise DataError(f"source {source.uri} holds no {source.format} file (resolved to {uri}); "
                        f"expected names ending in {', '.join(EXTENSIONS[source.format])}")
    return fs, names, base


def _row_group_slices(fs: fsspec.AbstractFileSystem, path: str, rows_per_part: int) -> list[tuple[tuple[int, ...], int]]:
    with fs.open(path, "rb") as fh:
        meta = pq.ParquetFile(fh).metadata
    slices: list[tuple[tuple[int, ...], int]] = []
    current: list[int] = []
    rows = 0
    for i in range(meta.num_row_groups):
        current.append(i)
        rows += meta.row_group(i).num_rows
        if rows >= rows_per_part:
            slices.append((tuple(current), rows))
            current, rows = [], 0
    if current or not slices:
        slices.append((tuple(current), rows))
    return slices


CLAUSE = "source.uri"


def list_partitions(source: Source, base_dir: Path, root: SourceRoot) -> list[Partition]:
    """The partitions of `source`, in a stable order (file name, then row group); every file found must lie
    inside the provider's source root (a symlink in the folder pointing out of it is refused)."""
    uri = root.locate(source.uri, base_dir, CLAUSE)
    try:
        fs, files, base = _files(source, uri)
    except FileNotFoundError:
        raise DataError(f"source {source.uri} not found (resolved to {uri})") from None
    out: list[Partition] = []
    for path in files:
        root.check_file(path, CLAUSE)
        name = posixpath.relpath(path, base) if base else posixpath.basename(path)
        full = fs.unstrip_protocol(path) if fs.protocol not in ("file", ("file", "local")) else path
        if source.format == "parquet" and source.partition_rows:
            try:
                slices = _row_group_slices(fs, path, source.partition_rows)
            except FileNotFoundError:
                raise DataError(f"source {source.uri} not found (resolved to {uri})") from None
            except Exception as e:
                raise DataError(f"{name}: cannot read as Parquet (corrupt or not a Parquet file): {arrow_message(e)}") from None
            for groups, rows in slices:
                label = f"{name}#rg={groups[0]}-{groups[-1]}" if groups else f"{name}#empty"
                out.append(Partition(len(out), full, label, source.format, groups, rows))
        else:
            out.append(Partition(len(out), full, name, source.format))
    return [replace(p, of=len(out)) for p in out]


@contextlib.contextmanager
def open_partition(partition: Partition, root: SourceRoot) -> Iterator[IO[bytes]]:
    """A readable of the partition's bytes: the file itself, or its row groups as a Parquet file of their own
    (rebuilt one row group at a time, so memory holds one row group, never the slice). The partition's path
    came through XCom: it is checked against the source root again."""
    root.check_file(partition.uri, CLAUSE)
    if partition.row_groups is None:
        with fsspec.open(partition.uri, "rb") as fh:
            yield fh
        return
    with fsspec.open(partition.uri, "rb") as fh, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as out:
        pf = pq.ParquetFile(fh, pre_buffer=False)
        with pq.ParquetWriter(out, pf.schema_arrow, compression="zstd") as writer:
            for i in partition.row_groups:
                writer.write_table(pf.read_row_group(i))
        out.seek(0)
        yield out  # type: ignore[misc]
