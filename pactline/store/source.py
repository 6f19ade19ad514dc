"""Reading partner files: stream CSV or Parquet as record batches (where a source may be, pactline.sources).

CSV columns are read as text so nothing is guessed (a postcode 01067 stays 01067); the
declared types are applied at schema mapping. Broken files give a DataError naming the file and
the position of the problem, never its content: a header cell is partner data too (in a file
without a header row it is a person's data), and Arrow's own messages quote rows and values, so
they go through pactline.withheld.arrow_message first.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pactline.errors import DataError
from pactline.withheld import arrow_message

BATCH_BYTES = 8 << 20  # CSV block size: memory per batch stays flat whatever the file size
MAX_BLOCK_BYTES = 128 << 20  # the longest CSV row read (a block must hold a whole row); beyond: a DataError


def _csv_header(fh: IO[bytes], delimiter: str, name: str) -> list[str]:
    head = fh.read(1 << 20)
    fh.seek(0)
    # Excel writes a UTF-8 byte order mark; Arrow skips it, so the header must too or its first name differs
    head = head.removeprefix(codecs.BOM_UTF8)
    if not head.strip():
        raise DataError(f"{name}: the file is empty; expected a header row and data")
    # the header ends at the first line break of any convention: LF, CRLF or CR alone (old Mac files),
    # all of which Arrow's reader accepts too
    first_bytes = re.split(rb"\r|\n", head, maxsplit=1)[0]
    try:
        first = first_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{name}: the header row is not UTF-8 text; save the file as UTF-8") from None
    if "\x00" in first:  # UTF-16 without a byte order mark decodes as UTF-8, one NUL every other byte
        raise DataError(f"{name}: the header row holds NUL bytes (a UTF-16 or binary file?); save the file as "
                        "UTF-8 text")
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
    """Arrow's reader cannot parse a row longer than its block: such a file is read again from the start
    with a block four times larger (rows already given are skipped), up to MAX_BLOCK_BYTES."""
    done, block = 0, BATCH_BYTES
    lock = threading.Lock()
    while True:
        skip = done
        try:
            with _csv_reader(_Window(fh, lock), delimiter, header, block) as reader:
                for batch in reader:
                    if skip >= batch.num_rows:
                        skip -= batch.num_rows
                        continue
                    if skip:
                        batch, skip = batch.slice(skip), 0
                    done += batch.num_rows
                    yield batch
            return
        except pa.ArrowInvalid as e:
            if "straddling" not in str(e):
                raise DataError(f"{name}: cannot read as CSV: {arrow_message(e)}") from None
            if block >= MAX_BLOCK_BYTES:
                raise DataError(
                    f"{name}: a row at or after data row {done + 1} is longer than {MAX_BLOCK_BYTES:,} bytes, "
                    "the most Pactline reads as one row (is a quote left open, so that the rest of the file "
                    "reads as one value?); close the quote, or split the value") from None
            block = min(block * 4, MAX_BLOCK_BYTES)
        except pa.ArrowException as e:
            raise DataError(f"{name}: cannot read as CSV: {arrow_message(e)}") from None


class _Window(io.RawIOBase):
    """One reader's own position in a shared seekable file. A reader given up after a too-long row may still
    be reading ahead on Arrow's threads (closing it does not wait for them): it must not move the position
    the next reader reads from."""

    def __init__(self, fh: IO[bytes], lock: threading.Lock):
        self._fh, self._lock, self._pos = fh, lock, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._lock:
            self._fh.seek(self._pos)
            data = self._fh.read(len(buffer))
        self._pos += len(data)
        buffer[:len(data)] = data
        return len(data)


def _csv_reader(fh: IO[bytes] | _Window, delimiter: str, header: list[str], block: int) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        fh,
        read_options=pacsv.ReadOptions(block_size=block, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.large_string() for h in header}, strings_can_be_null=True,
            null_values=[""], quoted_strings_can_be_null=True,
        ),
    )


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
    except pa.ArrowNotImplementedError as e:
        nested = nested_columns(pf.schema_arrow)
        if nested:  # Arrow cannot read some nesting in batches; say which column, not Arrow's text
            raise DataError(f"{name}: {nested}") from None
        raise DataError(f"{name}: cannot read this Parquet file: {arrow_message(e)}") from None
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise DataError(f"{name}: cannot read as Parquet (corrupt or not a Parquet file): {arrow_message(e)}") from None


def nested_kind(t: pa.DataType) -> str | None:
    """'struct', 'map', 'list' or 'union' for a nested Arrow type, else None. The kind, never the type's text:
    a nested type spells out its field names, which are partner data as much as a header cell is."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if not pa.types.is_nested(t):
        return None
    for kind in ("struct", "map", "union"):
        if getattr(pa.types, f"is_{kind}")(t):
            return kind
    return "list"


def nested_columns(schema: pa.Schema) -> str:
    """What to tell a partner whose file has nested columns (by position and kind), or '' if it has none."""
    found = [(i, k) for i, f in enumerate(schema, 1) if (k := nested_kind(f.type))]
    if not found:
        return ""
    said = ", ".join(f"column {i} ({k})" for i, k in found[:20]) + (" and more" if len(found) > 20 else "")
    return (f"{said} of the file {'holds' if len(found) == 1 else 'hold'} nested values; nested types (struct, "
            "list, map) are not supported: flatten them into plain columns, one value per cell")


def iter_batches(fh: IO[bytes], name: str, fmt: str, delimiter: str = ",") -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """(column names, record batches). Names come first so a file with a header and no rows is still checked."""
    if fmt == "csv":
        return iter_csv(fh, name, delimiter)
    if fmt == "parquet":
        return iter_parquet(fh, name)
    raise DataError(f"{name}: unsupported format {fmt!r}; use csv or parquet")
