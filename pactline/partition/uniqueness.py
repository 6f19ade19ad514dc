"""Uniqueness rules over all partitions, in memory bounded by about one partition.

Each partition writes the non-null values of a `unique` column bucketed by a hash of the value, one
Parquet row group per bucket, with as many buckets as the source has partitions. Equal values land
in the same bucket whichever partition holds them, so the reduce reads bucket b of every partition,
counts the values seen more than once, and moves on: no step holds more than about one partition's
values of that column, however many partitions there are.

The count is GX's: every non-null row whose value occurs more than once is unexpected, and the rule
passes when the share of the other rows is at least `mostly`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def buckets_of(values: pa.Array | pa.ChunkedArray, buckets: int) -> np.ndarray:
    """The bucket of each value: a stable 64-bit hash (pandas' hash_array, fixed key) modulo `buckets`."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    hashed = pd.util.hash_array(np.asarray(values.to_numpy(zero_copy_only=False)))
    return (hashed % np.uint64(buckets)).astype(np.int64)


def write_buckets(writer: Any, values: pa.Array | pa.ChunkedArray, buckets: int) -> list[int]:
    """Write `values`' non-null values to `writer` (a ParquetWriter of schema {value}), one row group per
    non-empty bucket; returns the bucket of each row group, in order."""
    values = pc.drop_null(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0:
        return []
    of = buckets_of(values, buckets)
    order = np.argsort(of, kind="stable")
    of, values = of[order], values.take(pa.array(order))
    present, starts = np.unique(of, return_index=True)
    ends = [*starts[1:], len(of)]
    for start, end in zip(starts, ends, strict=True):
        writer.write_table(pa.table({"value": values.slice(start, end - start)}), row_group_size=end - start)
    return [int(b) for b in present]


@dataclass
class Duplicates:
    """What the reduce found for one column: non-null rows, rows whose value occurs more than once."""

    column: str
    rows: int = 0
    duplicated_rows: int = 0
    duplicated_values: int = 0


def count_duplicates(root: Any, column: str, parts: list[dict[str, Any]], buckets: int) -> Duplicates:
    """Sum, bucket by bucket over every partition's file, the rows whose value is not unique.

    `parts`: per partition {"path": ..., "buckets": [bucket of each row group]} as written by write_buckets.
    """
    out = Duplicates(column)
    with contextlib.ExitStack() as stack:
        files = [(stack.enter_context(root.open_parquet(p["path"])), p["buckets"]) for p in parts]
        groups = [{b: i for i, b in enumerate(bs)} for _, bs in files]
        for bucket in range(buckets):
            tables = [pf.read_row_group(g[bucket]) for (pf, _), g in zip(files, groups, strict=True) if bucket in g]
            if not tables:
                continue
            counts = pc.value_counts(pa.concat_tables(tables)["value"].combine_chunks()).field("counts")
            many = pc.filter(counts, pc.greater(counts, 1))
            out.rows += int(pc.sum(counts).as_py() or 0)
            out.duplicated_rows += int(pc.sum(many).as_py() or 0)
            out.duplicated_values += len(many)
    return out
