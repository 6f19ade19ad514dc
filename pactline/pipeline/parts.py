"""What the steps of a partitioned dataset share: partition names, the per-partition rule set, the
aggregates the reduce steps sum, and one partition's gate.

A partitioned dataset maps ingest, map_schema, scan_pii, check_quality, protect and release over its
partitions and reduces between them (prepare, k_classes, combine). Aggregates keyed by data values
(categories, classes, groups) are written encrypted to the run's staging version; XCom carries only
paths, counts and hashes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.partition import GroupCounts, SensitiveValues
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import open_incident
from pactline.store.layout import CHECKS_DIR, check_result


def part(i: int) -> str:
    return f"part-{i:05d}"


def partition_agreement(loaded: LoadedAgreement, dataset_id: str) -> LoadedAgreement:
    """The agreement as one partition is checked against: rules that hold row by row only.

    Row counts are checked on the total (prepare), k-anonymity on the summed class sizes (k_classes,
    combine), l-diversity and the residual-PII rate on the summed counts (combine), feature leakage on each
    partition's measurements (release, combine); the fingerprint stays the agreement's own, so results are recorded
    against it.
    """
    a = loaded.agreement
    rules = [r for r in a.quality_rules if not (r.dataset == dataset_id and r.rule == "row_count")]
    # the residual-PII rate too is a whole-dataset rule: each partition counts, combine decides
    privacy = a.privacy.model_copy(update={"k_anonymity": None, "l_diversity": None, "max_residual_pii_rate": 1.0})
    # feature leakage: release measures each partition without GX (pipeline.leakage), combine decides
    privacy = privacy.model_copy(update={"feature_leakage": None})
    return replace(loaded, agreement=a.model_copy(update={"quality_rules": rules, "privacy": privacy}))


def bias_counters(ctx: RunContext, dataset_id: str) -> list[GroupCounts]:
    return [GroupCounts(attr, b.label, b.positive) for b in ctx.agreement.bias_checks if b.dataset == dataset_id
            for attr in b.protected_attributes]


def sensitive_values(ctx: RunContext, dataset_id: str, columns: list[str]) -> SensitiveValues | None:
    """The l-diversity aggregate of the released columns, or None when the agreement asks none (or it does not apply)."""
    from expectations.suites import l_diversity_classes

    qis = l_diversity_classes(ctx.agreement, dataset_id, columns)
    ld = ctx.agreement.privacy.l_diversity
    return SensitiveValues(qis, ld.sensitive_column, ld.l) if qis else None


def unique_rules(ctx: RunContext, dataset_id: str) -> list[tuple[int, Any]]:
    """The agreement's `unique` rules on this dataset, with their index in quality_rules."""
    return [(j, r) for j, r in enumerate(ctx.agreement.quality_rules) if r.dataset == dataset_id and r.rule == "unique"]


def merged_groups(ctx: RunContext, paths: list[str]) -> list[GroupCounts]:
    merged: list[GroupCounts] = []
    for rel in paths:
        for i, g in enumerate(ctx.root.read_json(rel)["groups"]):
            counts = GroupCounts.from_dict(g)
            if i < len(merged):
                merged[i].merge(counts)
            else:
                merged.append(counts)
    return merged


def gate_partition(ctx: RunContext, dataset_id: str, kind: str, result: Any, partition: str, index: int) -> dict:
    """Record one partition's check; a failure opens an incident and stops that partition (and so the release)."""
    from pactline.checks import CheckFailed

    rel = ctx.reports(dataset_id, f"{CHECKS_DIR}/partitions/{part(index)}/{check_result(kind)}")
    ctx.root.write_json(rel, json.loads(result.to_json()))
    failures = [o.describe() for o in result.failures]
    ctx.record("check.result", dataset=dataset_id, check=kind, partition=partition, passed=result.passed,
               suite=result.suite, expectations=len(result.results), failures=failures[:20], report=rel)
    if not result.passed:
        open_incident(ctx, dataset_id, f"gate.{kind}", f"partition {partition}: "
                                  f"{result.failures_message()}", rel)
        raise CheckFailed(result)
    return {"check": kind, "passed": True, "report": rel, "expectations": len(result.results)}
