"""Find the partitions of a source: the files of a folder or glob, and Parquet files split at row groups.

A partition's `uri` is where a worker reads it (resolved, so it only ever travels in XCom); its
`name` is relative to the source as the agreement gives it, and is what manifests record.
"""

from __future__ import annotations

import contextlib
import io
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
    # the file as listed: a partition is read tasks later, and a file rewritten meanwhile must not be read as
    # the one listed (None: listed by an older Pactline, not checked)
    size: int | None = None
    stamp: str | None = None  # the store's version of the file: ETag, generation or modification time

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


_STAMP_KEYS = ("ETag", "etag", "generation", "mtime", "LastModified", "last_modified", "updated", "created")


def _listed(fs: fsspec.AbstractFileSystem, path: str) -> tuple[int | None, str | None]:
    """(size, stamp) of a file as its store reports it; a store that gives no stamp is checked by size alone."""
    info = fs.info(path)
    stamp = next((str(info[k]) for k in _STAMP_KEYS if info.get(k) is not None), None)
    return info.get("size"), stamp


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
        try:
            size, stamp = _listed(fs, path)
        except FileNotFoundError:
            raise DataError(f"source {source.uri} not found (resolved to {uri})") from None
        if source.format == "parquet" and source.partition_rows:
            try:
                slices = _row_group_slices(fs, path, source.partition_rows)
            except FileNotFoundError:
                raise DataError(f"source {source.uri} not found (resolved to {uri})") from None
            except Exception as e:
                raise DataError(f"{name}: cannot read as Parquet (corrupt or not a Parquet file): {arrow_message(e)}") from None
            for groups, rows in slices:
                label = f"{name}#rg={groups[0]}-{groups[-1]}" if groups else f"{name}#empty"
                out.append(Partition(len(out), full, label, source.format, groups, rows, size=size, stamp=stamp))
        else:
            out.append(Partition(len(out), full, name, source.format, size=size, stamp=stamp))
    return [replace(p, of=len(out)) for p in out]


class PartitionChanged(DataError):
    """The partition's file is not the one listed: it was rewritten, appended to or replaced since."""

    def __init__(self, partition: Partition, what: str):
        super().__init__(f"partition {partition.name} changed after it was listed ({what}); run again, so that "
                         "the partitions are listed afresh")


def _check_unchanged(partition: Partition, fs: fsspec.AbstractFileSystem, path: str) -> None:
    if partition.size is None:
        return
    size, stamp = _listed(fs, path)
    if size != partition.size:
        raise PartitionChanged(partition, f"{partition.size:,} bytes when listed, {size:,} now")
    if partition.stamp is not None and stamp != partition.stamp:
        raise PartitionChanged(partition, "the store reports a newer version of the file")


class _AsListed(io.RawIOBase):
    """The file's bytes, refused as soon as they differ in length from the size listed: a file rewritten
    while it is being copied is not landed as the partition that was listed."""

    def __init__(self, fh: IO[bytes], partition: Partition):
        self._fh, self._partition, self._read = fh, partition, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._fh.read(len(buffer))
        self._read += len(data)
        expected = self._partition.size
        assert expected is not None
        if self._read > expected or (not data and len(buffer) and self._read < expected):
            raise PartitionChanged(self._partition, f"{expected:,} bytes when listed, "
                                                    f"{'more' if self._read > expected else 'fewer'} now")
        buffer[:len(data)] = data
        return len(data)


@contextlib.contextmanager
def open_partition(partition: Partition, root: SourceRoot) -> Iterator[IO[bytes]]:
    """A readable of the partition's bytes: the file itself, or its row groups as a Parquet file of their own
    (rebuilt one row group at a time, so memory holds one row group, never the slice). The partition's path
    came through XCom: it is checked against the source root again; and the file must still be the one
    listed (size, the store's version stamp, a slice's row counts), or PartitionChanged is raised."""
    root.check_file(partition.uri, CLAUSE)
    fs, path = fsspec.core.url_to_fs(partition.uri)
    _check_unchanged(partition, fs, path)
    if partition.row_groups is None:
        with fs.open(path, "rb") as fh:
            yield io.BufferedReader(_AsListed(fh, partition)) if partition.size is not None else fh
        return
    with fs.open(path, "rb") as fh, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as out:
        pf = pq.ParquetFile(fh, pre_buffer=False)
        _check_row_groups(partition, pf.metadata)
        with pq.ParquetWriter(out, pf.schema_arrow, compression="zstd") as writer:
            for i in partition.row_groups:
                writer.write_table(pf.read_row_group(i))
        out.seek(0)
        yield out  # type: ignore[misc]


def _check_row_groups(partition: Partition, meta: pq.FileMetaData) -> None:
    """A slice is read by row-group number: the groups must still exist and hold the rows listed."""
    assert partition.row_groups is not None
    groups = partition.row_groups
    if groups and max(groups) >= meta.num_row_groups:
        raise PartitionChanged(partition, f"row group {max(groups)} listed, the file now has {meta.num_row_groups}")
    rows = sum(meta.row_group(i).num_rows for i in groups)
    if partition.rows is not None and rows != partition.rows:
        raise PartitionChanged(partition, f"{partition.rows:,} rows listed, {rows:,} in those row groups now")
