"""check_quality: the agreement's quality rules on the mapped data, with Great Expectations."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports
from pactline.pipeline.parts import gate_partition, part, partition_agreement, unique_rules


def check_quality(ctx: RunContext, dataset_id: str, mapped: str) -> dict[str, Any]:
    from pactline.checks import check_quality as run
    from pactline.checks import docs_dir_for

    table = ctx.root.read_table(mapped)
    with local_reports(ctx, dataset_id) as out:
        result = run(table, ctx.loaded, dataset_id, run_id=ctx.run_id,
                     docs_dir=docs_dir_for(out, ctx.loaded, dataset_id, "quality"))
        return finish(ctx, dataset_id, "quality", result, out)


def quality_partition(ctx: RunContext, dataset_id: str, mapped: dict[str, Any]) -> dict[str, Any]:
    """The row-by-row rules on one partition (uniqueness within it too); a unique column's values bucketed
    for the check over all partitions in prepare."""
    from pactline.checks import check_quality
    from pactline.partition.uniqueness import write_buckets

    i = mapped["index"]
    table = ctx.root.read_table(mapped["staging"])
    loaded = partition_agreement(ctx.loaded, dataset_id)
    result = check_quality(table, loaded, dataset_id, run_id=ctx.run_id)
    out = gate_partition(ctx, dataset_id, "quality", result, mapped["partition"], i)
    unique: dict[str, Any] = {}
    for j, rule in unique_rules(ctx, dataset_id):
        if rule.column in table.column_names:  # values of the data: written encrypted, only the path travels
            rel = ctx.staging(dataset_id, f"aggregates/unique-{j}-{part(i)}.parquet")
            column = table[rule.column]
            with ctx.root.parquet_writer(rel, pa.schema([("value", column.type)])) as writer:
                unique[str(j)] = {"path": rel, "buckets": write_buckets(writer, column, mapped.get("of", 1))}
    return {**out, "index": i, "partition": mapped["partition"], "rows": mapped["rows"],
            "of": mapped.get("of", 1), "unique": unique}
