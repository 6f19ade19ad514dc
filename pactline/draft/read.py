"""Read the partner's file for a draft: Parquet, or CSV with its delimiter found from the header line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from pactline.errors import DataError
from pactline.pii.io import read_table
from pactline.withheld import arrow_message

DELIMITERS = ",;\t|"


def sniff_delimiter(path: Path) -> str:
    """The delimiter that splits the header line into the most fields (counted, never shown)."""
    with path.open("rb") as f:
        header = f.readline(1 << 16).decode("utf-8", errors="replace")
    return max(DELIMITERS, key=lambda d: (header.count(d), d == ","))


def read_data(path: str | Path, delimiter: str | None = None) -> tuple[pa.Table, str, str | None]:
    """(table, format, CSV delimiter) of the file; a DataError names the problem by position, never by value."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file (give a CSV or Parquet file)")
    with p.open("rb") as f:
        parquet = f.read(4) == b"PAR1"
    if parquet:
        return read_table(p), "parquet", None
    delimiter = delimiter or sniff_delimiter(p)
    if delimiter == ",":
        return read_table(p), "csv", delimiter
    try:
        table = pcsv.read_csv(p, parse_options=pcsv.ParseOptions(delimiter=delimiter))
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"{p}: cannot read as CSV with delimiter {delimiter!r} ({arrow_message(e)})") from None
    return table, "csv", delimiter
