"""Reading partner files: stream CSV or Parquet as record batches (where a source may be, pactline.sources).

CSV columns are read as text so nothing is guessed (a postcode 01067 stays 01067); the
declared types are applied at schema mapping. Broken files give a DataError naming the file and
the position of the problem, never its content: a header cell is partner data too (in a file
without a header row it is a person's data), and Arrow's own messages quote rows and values, so
they go through pactline.withheld.arrow_message first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pactline.errors import DataError
from pactline.withheld import arrow_message

BATCH_BYTES = 8 << 20  # CSV block size: memory per batch stays flat whatever the file size


def _csv_header(fh: IO[bytes], delimiter: str, name: str) -> list[str]:
    head = fh.read(1 << 20)
    fh.seek(0)
    if not head.strip():
        raise DataError(f"{name}: the file is empty; expected a header row and data")
    try:
        first = head.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise DataError(f"{name}: the header row is not UTF-8 text; save the file as UTF-8") from None
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    if not header or any(not h.strip() for h in header):
        empty = [i for i, h in enumerate(header, 1) if not h.strip()]
        where = f" (column {', '.join(map(str, empty))})" if empty else ""
        raise DataError(f"{name}: the header row has an empty column name{where}; every column needs a name")
    repeats = duplicate_positions(header)
    if repeats:
        said = "; ".join(f"columns {_and(group)} of the header have the same name" for group in repeats)
        raise DataError(f"{name}: {said}; every column needs its own name")
    return header


def duplicate_positions(names: list[str]) -> list[list[int]]:
    """1-based positions of the names that occur more than once, one group per repeated name."""
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names, 1):
        seen.setdefault(n, []).append(i)
    return [group for group in seen.values() if len(group) > 1]


def _and(positions: list[int]) -> str:
    return ", ".join(map(str, positions[:-1])) + f" and {positions[-1]}"


def iter_csv(fh: IO[bytes], name: str, delimiter: str = ",") -> tuple[list[str], Iterator[pa.RecordBatch]]:
    header = _csv_header(fh, delimiter, name)
    return header, _csv_batches(fh, name, delimiter, header)


def _csv_batches(fh: IO[bytes], name: str, delimiter: str, header: list[str]) -> Iterator[pa.RecordBatch]:
    try:
        reader = pacsv.open_csv(
            fh,
            read_options=pacsv.ReadOptions(block_size=BATCH_BYTES, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.large_string() for h in header}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True,
            ),
        )
        yield from reader
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        raise DataError(f"{name}: cannot read as CSV: {arrow_message(e)}") from None


def iter_parquet(fh: IO[bytes], name: str) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    try:
        pf = pq.ParquetFile(fh)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise DataError(f"{name}: cannot read as Parquet (corrupt or not a Parquet file): {arrow_message(e)}") from None
    names = pf.schema_arrow.names
    repeats = duplicate_positions(names)
    if repeats:
        said = "; ".join(f"columns {_and(group)} have the same name" for group in repeats)
        raise DataError(f"{name}: {said}; every column needs its own name")
    return names, _parquet_batches(pf, name)


def _parquet_batches(pf: pq.ParquetFile, name: str) -> Iterator[pa.RecordBatch]:
    try:
        yield from pf.iter_batches(batch_size=65536)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise DataError(f"{name}: cannot read as Parquet (corrupt or not a Parquet file): {arrow_message(e)}") from None


def iter_batches(fh: IO[bytes], name: str, fmt: str, delimiter: str = ",") -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """(column names, record batches). Names come first so a file with a header and no rows is still checked."""
    if fmt == "csv":
        return iter_csv(fh, name, delimiter)
    if fmt == "parquet":
        return iter_parquet(fh, name)
    raise DataError(f"{name}: unsupported format {fmt!r}; use csv or parquet")
