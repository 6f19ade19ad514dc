"""k_classes: the reduce after protect. The partitions' equivalence-class sizes summed; which classes
suppression removes in every partition."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pactline.pipeline.context import RunContext
from pactline.protect.suppression import ClassCounts


def k_classes(ctx: RunContext, dataset_id: str, protected: list[dict[str, Any]], *, quasi_identifiers: list[str],
              k: int, suppress: bool, max_suppressed_rate: float) -> dict[str, Any]:
    """Sum the partitions' class sizes; decide which classes suppression removes everywhere."""
    total = ClassCounts(list(quasi_identifiers))
    for p in protected:
        total.merge(ClassCounts.from_table(quasi_identifiers, ctx.root.read_table(p["classes"])))
    small, report = total.suppression(k, suppress=suppress)
    kept_sizes = [n for c, n in total.sizes.items() if c not in small]
    result = {"dataset": dataset_id, "rows": report.rows_out, "partitions": len(protected), **report.to_dict(),
              "suppress": suppress, "min_class_size": min(kept_sizes, default=None)}
    ctx.record("rows.suppressed" if suppress else "classes.counted", **result)
    if suppress:
        report.require_within(max_suppressed_rate, dataset_id)
    rel = ctx.staging(dataset_id, "aggregates/small_classes.parquet")
    ctx.root.write_table(rel, pa.table({"key": pa.array(sorted(small), pa.string())}))
    return {**result, "small_classes": rel}
