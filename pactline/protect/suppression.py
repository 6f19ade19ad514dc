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

NULL = "\u0000null"  # a null quasi-identifier is a value of its own
SEP = "\u001f"  # between the quasi-identifier values of a class key


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


def size_histogram(sizes: Iterable[int], below: int | None = None) -> dict[str, int]:
    """{"size": number of classes of that size}, ascending by size (only sizes under `below`, when given).
    Keys are text so the histogram reads the same after a JSON round trip (the ledger, XCom)."""
    counts = Counter(int(n) for n in sizes if below is None or n < below)
    return {str(size): counts[size] for size in sorted(counts)}


def class_keys(batch: pa.RecordBatch | pa.Table, qis: list[str]) -> pa.Array:
    """One text key per row: its quasi-identifier values joined (nulls as a sentinel of their own)."""
    cols = [pc.fill_null(pc.cast(batch.column(q), pa.string()), NULL) for q in qis]
    key = cols[0] if len(cols) == 1 else pc.binary_join_element_wise(*cols, SEP)
    return key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key


@dataclass
class ClassCounts:
    """Rows per equivalence class (class key -> rows) over `qis`."""

    qis: list[str]
    sizes: Counter[str] = field(default_factory=Counter)

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        vc = pc.value_counts(class_keys(batch, self.qis))
        self.sizes.update(dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True)))

    def merge(self, other: ClassCounts) -> ClassCounts:
        self.sizes.update(other.sizes)
        return self

    @property
    def rows(self) -> int:
        return sum(self.sizes.values())

    def small(self, k: int) -> set[str]:
        return {key for key, n in self.sizes.items() if n < k}

    def to_table(self) -> pa.Table:
        return pa.table({"key": pa.array(list(self.sizes), pa.string()),
                         "rows": pa.array(list(self.sizes.values()), pa.int64())})

    @classmethod
    def from_table(cls, qis: list[str], table: pa.Table) -> ClassCounts:
        return cls(list(qis), Counter(dict(zip(table["key"].to_pylist(), table["rows"].to_pylist(), strict=True))))

    def suppression(self, k: int, *, suppress: bool = True) -> tuple[set[str], Suppression]:
        """The classes suppression removes (those under k; none when the agreement only counts), and the report."""
        below = self.small(k)
        small = below if suppress else set()
        removed = sum(self.sizes[c] for c in small)
        return small, Suppression(list(self.qis), k, self.rows, self.rows - removed, len(self.sizes), len(below),
                                  size_histogram(self.sizes.values(), below=k))


def kept_rows(batch: pa.RecordBatch, qis: list[str], small: set[str]) -> pa.Array:
    """True for the rows whose class is at least k rows large over the whole dataset."""
    if not small:
        return pa.array([True] * batch.num_rows, pa.bool_())
    return pc.invert(pc.is_in(class_keys(batch, qis), value_set=pa.array(sorted(small), pa.string())))


def suppress_small_classes(table: pa.Table, quasi_identifiers: list[str], k: int) -> tuple[pa.Table, Suppression]:
    """Drop rows in equivalence classes (over the QIs present in `table`) smaller than k. Nulls form
    their own value. Returns the kept rows in their original order: the same counting and the same
    decision as a partitioned dataset's, whose ClassCounts are summed over its partitions."""
    qis = [c for c in quasi_identifiers if c in table.column_names]
    if not qis or table.num_rows == 0:
        return table, Suppression(qis, k, table.num_rows, table.num_rows, 0, 0)
    classes = ClassCounts(qis)
    classes.add(table)
    small, report = classes.suppression(k)
    return (table.filter(kept_rows(table, qis, small)) if small else table), report
