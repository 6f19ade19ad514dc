"""k_classes: the reduce after protect. The partitions' equivalence-class sizes summed; the generalisation level
of each quasi-identifier and the classes suppression removes in every partition, chosen as one file's suppress
step chooses them (pactline.protect.anonymise), protected groups kept."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pactline.pipeline.context import RunContext
from pactline.protect.anonymise import anonymise
from pactline.protect.suppression import ClassCounts


def k_classes(ctx: RunContext, dataset_id: str, protected: list[dict[str, Any]], *, quasi_identifiers: list[str],
              k: int, suppress: bool, max_suppressed_rate: float,
              hierarchies: dict[str, list[dict[str, Any]]] | None = None,
              protected_groups: dict[str, float] | None = None) -> dict[str, Any]:
    """Sum the partitions' class sizes; choose the levels and the classes suppression removes everywhere.
    The result carries the levels to apply (`generalised`) and the size histogram of the classes left
    (`kept_class_sizes`, what combine measures re-identification risk from): sizes and counts only."""
    columns = protected[0].get("class_columns", quasi_identifiers) if protected else list(quasi_identifiers)
    total = ClassCounts(list(columns))
    for p in protected:
        total.merge(ClassCounts.from_table(columns, ctx.root.read_table(p["classes"])))
    found = anonymise(total, quasi_identifiers, k, max_suppressed_rate=max_suppressed_rate, suppress=suppress,
                      hierarchies=hierarchies, protected_groups=protected_groups)
    result = {"dataset": dataset_id, "rows": found.report.rows_out, "partitions": len(protected), **found.to_dict(),
              "suppress": suppress}
    ctx.record("rows.suppressed" if suppress else "classes.counted", **result)
    if suppress:
        found.require(dataset_id)
    rel = ctx.staging(dataset_id, "aggregates/small_classes.parquet")
    ctx.root.write_table(rel, pa.table({"key": pa.array(sorted(found.small), pa.string())}))
    return {**result, "small_classes": rel}
