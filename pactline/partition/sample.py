"""A seeded uniform sample of a partitioned dataset, one partition in memory at a time.

What a synthesizer trains on when the dataset is larger than one model should see: each partition
gives its share of `rows` (largest remainder, in proportion to its rows), drawn without replacement
with a generator seeded by (seed, partition index), so a re-run draws the same rows. A dataset no
larger than `rows` is taken whole, in partition order: the same table a one-file run would read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa


def shares(sizes: list[int], rows: int) -> list[int]:
    """How many rows each partition gives to a sample of `rows` (largest remainder; never more than it has)."""
    total = sum(sizes)
    if total <= rows:
        return list(sizes)
    exact = [rows * n / total for n in sizes]
    out = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: (out[i] - exact[i], i))
    for i in by_remainder[: rows - sum(out)]:
        out[i] += 1
    return out


def sample_parts(root: Any, parts: list[tuple[str, int]], rows: int, seed: int) -> pa.Table:
    """`rows` rows drawn uniformly from the Parquet files `parts` ([(path, rows)]), in partition order."""
    taken = []
    for i, ((rel, _), k) in enumerate(zip(parts, shares([n for _, n in parts], rows), strict=True)):
        table = root.read_table(rel)
        if k < table.num_rows:
            rng = np.random.default_rng([seed, i])
            table = table.take(pa.array(np.sort(rng.choice(table.num_rows, size=k, replace=False))))
        taken.append(table)
    return pa.concat_tables(taken).combine_chunks() if taken else pa.table({})
