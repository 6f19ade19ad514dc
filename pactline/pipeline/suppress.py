"""suppress: k-anonymity by record suppression, bounded by the agreement's max_suppressed_rate."""

from __future__ import annotations

from typing import Any

from pactline.pipeline.context import RunContext
from pactline.protect.suppression import suppress_small_classes


def suppress(ctx: RunContext, dataset_id: str, protected: str, *, quasi_identifiers: list[str], k: int,
             max_suppressed_rate: float) -> dict[str, Any]:
    table = ctx.root.read_table(protected)
    kept, report = suppress_small_classes(table, quasi_identifiers, k)
    result = {"dataset": dataset_id, "rows": kept.num_rows, **report.to_dict()}
    ctx.record("rows.suppressed", **result)
    report.require_within(max_suppressed_rate, dataset_id)
    out_rel = ctx.staging(dataset_id, "suppressed.parquet")
    ctx.root.write_table(out_rel, kept)
    return {**result, "staging": out_rel}
