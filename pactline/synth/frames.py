"""Arrow <-> pandas for SDV, with types SDV handles the same way every time.

Dates become datetime64[ns] (Arrow gives datetime.date objects or non-ns units, which SDV's
datetime encoders treat inconsistently); dictionaries are decoded; decimals become floats.
On the way back each column is cast to its type in the training table, so the synthetic table
has the schema of the table it was trained on (integers are rounded first: SDV returns floats
for integer columns that had nulls).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _plain(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_decimal(t):
        arr = arr.cast(pa.float64())
    elif pa.types.is_large_string(t):
        arr = arr.cast(pa.string())
    return arr


def to_pandas(table: pa.Table, columns: Sequence[str]) -> pd.DataFrame:
    data = {}
    for name in columns:
        arr = _plain(table[name])
        if pa.types.is_date(arr.type):
            arr = arr.cast(pa.timestamp("ns"))
        elif pa.types.is_timestamp(arr.type):
            arr = arr.cast(pa.timestamp("ns", tz=arr.type.tz))
        data[name] = arr.to_pandas()
    return pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))


def _missing(v: object) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _to_arrow(series: pd.Series, target: pa.DataType) -> pa.Array:
    value_type = target.value_type if pa.types.is_dictionary(target) else target
    if pa.types.is_integer(value_type) and series.dtype.kind in "fc":
        series = series.round()
    if pa.types.is_date(value_type) or pa.types.is_timestamp(value_type):
        arr = pa.Array.from_pandas(pd.to_datetime(series))
        if pa.types.is_date(value_type):
            arr = pc.floor_temporal(arr, unit="day")
        return arr.cast(value_type, safe=False).cast(target)
    if pa.types.is_boolean(value_type) and series.dtype == object:
        series = series.map(lambda v: None if _missing(v) else bool(v))
    if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
        series = series.map(lambda v: None if _missing(v) else str(v))
    return pa.Array.from_pandas(series).cast(target)


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """The frame as a table with `schema` (column order and types); SDV's object columns are re-typed."""
    arrays = []
    for field in schema:
        s = frame[field.name].reset_index(drop=True)
        arrays.append(_to_arrow(s, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
