"""Read a CSV or Parquet file for scanning, turning every way it can be unreadable into a
DataError that names the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pactline.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    with path.open("rb") as f:
        return f.read(4) == b"PAR1"


def read_table(path: str | Path) -> pa.Table:
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
            raise DataError(f"{p}: not a readable Parquet file ({_first_line(e)})") from e
    try:
        table = pcsv.read_csv(p)
    except pa.ArrowInvalid as e:
        raise DataError(f"{p}: {_csv_problem(str(e))}") from e
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"{p}: cannot read as CSV ({_first_line(e)})") from e
    if table.num_columns == 0:
        raise DataError(f"{p}: no columns found")
    for name, typ in zip(table.column_names, table.schema.types, strict=True):
        if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
            # pyarrow falls back to binary when a CSV column is not valid UTF-8
            raise DataError(f"{p}: column {name!r} is not valid UTF-8 text; re-encode the file as UTF-8")
    return table


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _csv_problem(message: str) -> str:
    low = message.lower()
    if "utf8" in low or "utf-8" in low:
        return "not valid UTF-8 text; re-encode the file as UTF-8"
    if "expected" in low and "columns" in low:
        return f"ragged CSV: a row has a different number of fields than the header ({_first_line(Exception(message))})"
    if "empty" in low:
        return "file has no CSV header or rows"
    return f"cannot parse as CSV ({_first_line(Exception(message))})"
