"""Record suppression for k-anonymity: rows whose quasi-identifier combination is shared by fewer
than k rows are removed, so every released row hides among at least k-1 others.

Generalisation alone rarely reaches k on real data: a few people are always unusual (the one
patient born in the 2000s in a small region). Removing them is the standard complement
(ARX, sdcMicro); the agreement bounds how many rows may go.
"""

from __future__ import annotations

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
    smallest_classes: list[dict] = field(default_factory=list)  # generalised values only

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
    smallest = [{q: (None if v == NULL else v) if q in qis else v for q, v in r.items()}
                for r in small.sort_by([("__row_count", "ascending")]).slice(0, 5).to_pylist()]
    report = Suppression(qis, k, table.num_rows, len(kept_idx), sizes.num_rows, small.num_rows,
                         [{"size": r.pop("__row_count"), **r} for r in smallest])
    return table.take(kept_idx), report
