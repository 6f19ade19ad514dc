"""Record suppression for k-anonymity: rows whose quasi-identifier combination is shared by fewer
than k rows are removed, so every released row hides among at least k-1 others.

Generalisation alone rarely reaches k on real data: a few people are always unusual (the one
patient born in the 2000s in a small region). Removing them is the standard complement
(ARX, sdcMicro); the agreement bounds how many rows may go.

The report says how many classes of each size fall below k (a histogram), never which: the
quasi-identifier values of the rarest classes are exactly those of the people most at risk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pactline.errors import PolicyViolation

NULL = "\u0000null"


@dataclass(frozen=True)
class Suppression:
    quasi_identifiers: list[str]
    k: int
    rows_in: int
    rows_out: int
    classes: int  # equivalence classes before suppression
    classes_below_k: int
    # class size -> how many classes of that size are below k, e.g. {"1": 12, "2": 3}: 12 rows alone in
    # their class, 3 pairs. Sizes and counts only, never a class's quasi-identifier values.
    class_sizes_below_k: dict[str, int] = field(default_factory=dict)

    @property
    def suppressed(self) -> int:
        return self.rows_in - self.rows_out

    @property
    def rate(self) -> float:
        return self.suppressed / self.rows_in if self.rows_in else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "suppressed": self.suppressed, "rate": self.rate}

    def require_within(self, max_rate: float, dataset_id: str) -> None:
        """Stop the release when suppression would remove more rows than the agreement allows."""
        if self.rate > max_rate:
            raise PolicyViolation(
                "privacy.k_anonymity.max_suppressed_rate",
                f"dataset {dataset_id}: reaching k={self.k} over {self.quasi_identifiers} would remove "
                f"{self.suppressed} of {self.rows_in} rows ({self.rate:.1%}), more than the agreed "
                f"{max_rate:.1%}; generalise the quasi-identifiers more (coarser periods, shorter "
                "postcodes, wider bands) or agree a higher rate",
            )


def size_histogram(sizes: Iterable[int], below: int | None = None) -> dict[str, int]:
    """{"size": number of classes of that size}, ascending by size (only sizes under `below`, when given).
    Keys are text so the histogram reads the same after a JSON round trip (the ledger, XCom)."""
    counts = Counter(int(n) for n in sizes if below is None or n < below)
    return {str(size): counts[size] for size in sorted(counts)}


def suppress_small_classes(table: pa.Table, quasi_identifiers: list[str], k: int) -> tuple[pa.Table, Suppression]:
    """Drop rows in equivalence classes (over the QIs present in `table`) smaller than k. Nulls form
    their own value. Returns the kept rows in their original order."""
    qis = [c for c in quasi_identifiers if c in table.column_names]
    if not qis or table.num_rows == 0:
        return table, Suppression(qis, k, table.num_rows, table.num_rows, 0, 0)
    # joins never match null to null, so nulls become a sentinel value of their own
    keys = pa.table({q: pc.fill_null(pc.cast(table[q], pa.string()), NULL) for q in qis})
    keys = keys.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    sizes = keys.group_by(qis, use_threads=False).aggregate([("__row", "count")])
    small = sizes.filter(pc.less(sizes["__row_count"], k))
    joined = keys.join(sizes, keys=qis, join_type="left outer", use_threads=False)
    kept = joined.filter(pc.greater_equal(joined["__row_count"], k))["__row"]
    kept_idx = pc.take(kept, pc.sort_indices(kept))
    report = Suppression(qis, k, table.num_rows, len(kept_idx), sizes.num_rows, small.num_rows,
                         size_histogram(small["__row_count"].to_pylist()))
    return table.take(kept_idx), report
