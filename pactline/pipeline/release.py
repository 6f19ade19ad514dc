"""release: one partition of the data to release. The generalisation levels and suppression k_classes chose from
the whole dataset's class sizes, the residual-PII check, and the aggregates the combine step sums."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import BATCH_ROWS, RunContext
from pactline.pipeline.leakage import partition_leakage
from pactline.pipeline.parts import bias_counters, gate_partition, part, partition_agreement, sensitive_values
from pactline.protect.hierarchy import generalise_columns
from pactline.protect.suppression import kept_rows

RESIDUAL_PII = "expect_column_values_to_have_no_residual_pii"


def release_partition(ctx: RunContext, dataset_id: str, protected: dict[str, Any],
                      classes: dict[str, Any] | None = None, *, mapped: dict[str, Any] | None = None) -> dict[str, Any]:
    """Suppress one partition's rows of classes too small over the whole dataset; check it for residual PII
    (counted here, decided over all partitions by combine)."""
    from pactline.checks import check_privacy

    i = protected["index"]
    qis = classes["quasi_identifiers"] if classes else []
    levels = classes.get("generalised", {}) if classes else {}  # the levels k_classes chose, applied everywhere
    small = set(ctx.root.read_table(classes["small_classes"])["key"].to_pylist()) if classes else set()
    out_rel = ctx.staging(dataset_id, f"released/{part(i)}.parquet")
    groups = bias_counters(ctx, dataset_id)
    rows = 0
    with ctx.root.open_parquet(protected["staging"]) as src, \
            ctx.root.parquet_writer(out_rel, src.schema_arrow) as writer:
        diversity = sensitive_values(ctx, dataset_id, src.schema_arrow.names)
        for batch in src.iter_batches(batch_size=BATCH_ROWS):
            batch = generalise_columns(batch, levels)
            if small:
                batch = batch.filter(kept_rows(batch, qis, small))
            writer.write_batch(batch)
            rows += batch.num_rows
            for g in groups:
                g.add(batch)
            if diversity is not None:
                diversity.add(batch)
    aggregates = ctx.staging(dataset_id, f"aggregates/released-{part(i)}.json")
    ctx.root.write_json(aggregates, {"groups": [g.to_dict() for g in groups]})
    if diversity is not None:  # keyed by data values: written encrypted, only its path travels
        diversity_rel = ctx.staging(dataset_id, f"aggregates/diversity-{part(i)}.parquet")
        ctx.root.write_table(diversity_rel, diversity.to_table())
    loaded = partition_agreement(ctx.loaded, dataset_id)
    result = check_privacy(ctx.root.read_table(out_rel), loaded, dataset_id, run_id=ctx.run_id)
    check = gate_partition(ctx, dataset_id, "privacy", result, protected["partition"], i)
    # feature leakage measured here, on this partition's rows and raw identifiers; combine decides
    leakage = partition_leakage(ctx, dataset_id, out_rel, protected=protected["staging"],
                                mapped=mapped["staging"] if mapped else None)
    residual = {o.columns[0]: [o.details["rows_with_pii"], o.details["rows_checked"]] for o in result.results
                if o.expectation == RESIDUAL_PII}  # counts only: combine decides the rate over all partitions
    return {"dataset": dataset_id, "staging": out_rel, "rows": rows, "rows_in": protected["rows"], "index": i,
            "partition": protected["partition"], "aggregates": aggregates, "check_privacy": check,
            "residual_pii": residual, **({"leakage": leakage} if leakage else {}),
            **({"diversity": {"path": diversity_rel, "quasi_identifiers": diversity.qis}} if diversity else {})}
