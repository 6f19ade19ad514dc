"""prepare: the reduce before protect. One set of scan overrides and category counts for every
partition; the row-count rules on the total and the uniqueness rules over all partitions."""

from __future__ import annotations

from typing import Any

from pactline.partition import sum_counts
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports
from pactline.pipeline.parts import unique_rules


def prepare(ctx: RunContext, dataset_id: str, mapped: list[dict[str, Any]], scans: list[dict[str, Any]],
            quality: list[dict[str, Any]]) -> dict[str, Any]:
    """One set of overrides and category counts for every partition; the row-count rules on the total and the
    uniqueness rules over all partitions."""
    from pactline.checks.outcomes import row_count_outcome
    from pactline.checks.result import CheckResult

    overrides: dict[str, str] = {}
    strength = {"redact_text": 1, "redact": 2, "drop": 3}
    for scan in sorted(scans, key=lambda s: s["index"]):
        for column, kind in scan["overrides"].items():  # a column found in any partition is treated in all
            if strength.get(kind, 0) > strength.get(overrides.get(column, ""), 0):
                overrides[column] = kind
    rows = sum(m["rows"] for m in mapped)
    outcomes = []
    for j, rule in enumerate(ctx.agreement.quality_rules):
        if rule.dataset == dataset_id and rule.rule == "row_count":
            outcomes.append(row_count_outcome(rule, f"quality_rules[{j}]", rows, partitions=len(mapped)))
    outcomes += unique_outcomes(ctx, dataset_id, quality)
    result = CheckResult("quality", f"{ctx.loaded.id}.{dataset_id}.quality", ctx.loaded.id, dataset_id,
                         all(o.success for o in outcomes), outcomes, ctx.loaded.fingerprint, ctx.run_id,
                         extras={"rows": rows, "partitions": len(mapped),
                                 "partition_expectations": sum(q["expectations"] for q in quality)})
    with local_reports(ctx, dataset_id) as out:
        finish(ctx, dataset_id, "quality", result, out)
    categories = ctx.staging(dataset_id, "aggregates/categories.json")
    ctx.root.write_json(categories, sum_counts(ctx.root.read_json(m["aggregates"])["categories"] for m in mapped))
    ctx.record("partitions.prepared", dataset=dataset_id, partitions=len(mapped), rows=rows, overrides=overrides)
    return {"dataset": dataset_id, "rows": rows, "partitions": len(mapped), "overrides": overrides,
            "categories": categories}


def unique_outcomes(ctx: RunContext, dataset_id: str, quality: list[dict[str, Any]]) -> list[Any]:
    """Each `unique` rule over all partitions (the partitions' own checks saw duplicates within them only)."""
    from pactline.checks.outcomes import unique_outcome
    from pactline.partition.uniqueness import count_duplicates

    outcomes = []
    for j, rule in unique_rules(ctx, dataset_id):
        parts = [q["unique"][str(j)] for q in sorted(quality, key=lambda q: q["index"]) if str(j) in q.get("unique", {})]
        if not parts:
            continue
        found = count_duplicates(ctx.root, rule.column, parts, buckets=quality[0].get("of", 1))
        outcomes.append(unique_outcome(rule, f"quality_rules[{j}]", element_count=found.rows,
                                       duplicated_rows=found.duplicated_rows,
                                       duplicated_values=found.duplicated_values, partitions=len(parts)))
    return outcomes
