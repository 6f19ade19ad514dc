"""suppress: k-anonymity by the least generalisation along the agreed hierarchies and bounded record suppression
that never erases a protected group (pactline.protect.anonymise).

Streams twice: class sizes first (over the quasi-identifiers and the protected attributes not among them), then
the rows, each quasi-identifier moved up to the level the search chose and the rows of classes under k left out.
The counting and the decision are those of a partitioned dataset (k_classes, release), whose class sizes are
summed over partitions.
"""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import BATCH_ROWS, RunContext
from pactline.protect.anonymise import anonymise
from pactline.protect.hierarchy import generalise_columns
from pactline.protect.suppression import ClassCounts, Suppression, kept_rows


def suppress(ctx: RunContext, dataset_id: str, protected: str, *, quasi_identifiers: list[str], k: int,
             max_suppressed_rate: float, hierarchies: dict[str, list[dict[str, Any]]] | None = None,
             protected_groups: dict[str, float] | None = None) -> dict[str, Any]:
    """`hierarchies`: a quasi-identifier's levels above its own transformation; `protected_groups`: the bias checks'
    protected attributes with their max_drift (the plan gives both)."""
    with ctx.root.open_parquet(protected) as pf:
        names = pf.schema_arrow.names
        qis = [c for c in quasi_identifiers if c in names]  # a dropped one groups nobody
        groups = {a: d for a, d in (protected_groups or {}).items() if a in names}
        classes = ClassCounts(qis + [a for a in groups if a not in qis])
        if qis:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                classes.add(batch)
        rows = pf.metadata.num_rows
    if qis:
        found = anonymise(classes, qis, k, max_suppressed_rate=max_suppressed_rate, hierarchies=hierarchies,
                          protected_groups=groups)
        small, levels, summary = found.small, found.applied(), found.to_dict()
    else:
        found, small, levels, summary = None, set(), {}, Suppression(qis, k, rows, rows, 0, 0).to_dict()
    result = {"dataset": dataset_id, "rows": summary["rows_out"], **summary}
    ctx.record("rows.suppressed", **result)
    if found is not None:
        found.require(dataset_id)
    out_rel = ctx.staging(dataset_id, "suppressed.parquet")
    with ctx.root.open_parquet(protected) as src, ctx.root.parquet_writer(out_rel, src.schema_arrow) as writer:
        for batch in src.iter_batches(batch_size=BATCH_ROWS):
            batch = generalise_columns(batch, levels)
            writer.write_batch(batch.filter(kept_rows(batch, qis, small)) if small else batch)
    return {**result, "staging": out_rel}
