"""Read a CSV or Parquet file for scanning, turning every way it can be unreadable into a
DataError that names the file and the problem (by position: Arrow's messages quote rows and
values, and a header cell is data too, so none of that gets through)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pactline.errors import DataError
from pactline.withheld import arrow_message

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(4) == b"PAR1"


def read_table(path: str | Path, delimiter: str = ",") -> pa.Table:
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a CSV or Parquet file")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty")
    if _is_parquet(p):
        try:
            return pq.read_table(p)
        except (pa.ArrowException, OSError) as e:
            raise DataError(f"{p}: not a readable Parquet file ({arrow_message(e)})") from None
    try:
        table = pcsv.read_csv(p, parse_options=pcsv.ParseOptions(delimiter=delimiter))
    except pa.ArrowInvalid as e:
        raise DataError(f"{p}: {_csv_problem(e)}") from None
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"{p}: cannot read as CSV ({arrow_message(e)})") from None
    if table.num_columns == 0:
        raise DataError(f"{p}: no columns found")
    for i, typ in enumerate(table.schema.types, 1):
        if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
            # pyarrow falls back to binary when a CSV column is not valid UTF-8
            raise DataError(f"{p}: column {i} is not valid UTF-8 text; re-encode the file as UTF-8")
    return table


def _csv_problem(error: Exception) -> str:
    low = str(error).lower()
    if "utf8" in low or "utf-8" in low:
        return "not valid UTF-8 text; re-encode the file as UTF-8"
    if "expected" in low and "columns" in low:
        return f"ragged CSV: {arrow_message(error)}"
    if "empty" in low:
        return "file has no CSV header or rows"
    return f"cannot parse as CSV ({arrow_message(error)})"
