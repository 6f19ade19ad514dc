"""suppress: k-anonymity by record suppression, bounded by the agreement's max_suppressed_rate.

Streams twice: class sizes first, then the rows of classes of at least k. The counting and the decision
are those of a partitioned dataset (k_classes, release), whose class sizes are summed over partitions.
"""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import BATCH_ROWS, RunContext
from pactline.protect.suppression import ClassCounts, Suppression, kept_rows


def suppress(ctx: RunContext, dataset_id: str, protected: str, *, quasi_identifiers: list[str], k: int,
             max_suppressed_rate: float) -> dict[str, Any]:
    with ctx.root.open_parquet(protected) as pf:
        qis = [c for c in quasi_identifiers if c in pf.schema_arrow.names]  # a dropped one groups nobody
        classes = ClassCounts(qis)
        if qis:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                classes.add(batch)
        rows = pf.metadata.num_rows
    small, report = classes.suppression(k) if qis else (set(), Suppression(qis, k, rows, rows, 0, 0))
    result = {"dataset": dataset_id, "rows": report.rows_out, **report.to_dict()}
    ctx.record("rows.suppressed", **result)
    report.require_within(max_suppressed_rate, dataset_id)
    out_rel = ctx.staging(dataset_id, "suppressed.parquet")
    with ctx.root.open_parquet(protected) as src, ctx.root.parquet_writer(out_rel, src.schema_arrow) as writer:
        for batch in src.iter_batches(batch_size=BATCH_ROWS):
            writer.write_batch(batch.filter(kept_rows(batch, qis, small)) if small else batch)
    return {**result, "staging": out_rel}
