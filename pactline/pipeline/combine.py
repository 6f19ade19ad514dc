"""combine: the reduce before publish. k-anonymity, re-identification risk, l-diversity and bias over the whole
dataset from the partitions' aggregates; the released parts, in order, as one dataset."""

from __future__ import annotations

from typing import Any

from pactline.partition import GroupCounts, SensitiveValues
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports
from pactline.pipeline.leakage import leakage_outcomes
from pactline.pipeline.parts import merged_groups


def combine(ctx: RunContext, dataset_id: str, *, mapped: list[dict[str, Any]], released: list[dict[str, Any]],
            classes: dict[str, Any] | None = None) -> dict[str, Any]:
    """k-anonymity, l-diversity and bias over the whole dataset from the partitions' aggregates; the released
    parts, in order."""
    from pactline.checks import outcomes as gate_outcomes
    from pactline.checks.result import CheckResult, Outcome

    released = sorted(released, key=lambda r: r["index"])
    mapped = sorted(mapped, key=lambda m: m["index"])
    results: dict[str, CheckResult] = {}
    kanon = ctx.agreement.privacy.k_anonymity
    max_rate = ctx.agreement.privacy.max_residual_pii_rate
    privacy: list[Outcome] = [
        gate_outcomes.residual_pii_outcome(column, max_rate, rows_with_pii=found, rows_checked=checked,
                                           partitions=len(released))
        for column, (found, checked) in _summed_residual_pii(released).items()]
    if kanon and classes:
        privacy.append(gate_outcomes.k_anonymity_outcome(kanon.k, classes["quasi_identifiers"],
                                                         classes["min_class_size"], classes=classes["classes"],
                                                         suppressed=classes["suppressed"]))
    risk = ctx.agreement.privacy.reidentification
    if risk and classes:  # from the sizes of the classes suppression left, as the one-file GX metric counts them
        privacy += gate_outcomes.reidentification_outcomes(risk.limits(), classes["quasi_identifiers"],
                                                           classes["kept_class_sizes"], risk.risk_threshold)
    extras: dict[str, Any] = {"rows": sum(r["rows"] for r in released)}
    ldiv = ctx.agreement.privacy.l_diversity
    if ldiv and any("diversity" in r for r in released):
        privacy.append(l_diversity_outcome(ctx, released))
    elif ldiv:
        extras["skipped"] = [f"l-diversity: {ldiv.sensitive_column} or quasi-identifiers not in dataset {dataset_id}"]
    leaks, not_measured = leakage_outcomes(ctx, released)  # feature leakage from each partition's measurements
    privacy += leaks
    if not_measured:
        extras["skipped"] = [*extras.get("skipped", []), *not_measured]
    results["privacy"] = CheckResult("privacy", f"{ctx.loaded.id}.{dataset_id}.privacy", ctx.loaded.id, dataset_id,
                                     all(o.success for o in privacy), privacy, ctx.loaded.fingerprint, ctx.run_id,
                                     extras=extras)
    raw = merged_groups(ctx, [m["aggregates"] for m in mapped])
    rel = merged_groups(ctx, [r["aggregates"] for r in released])
    if raw:
        outcomes, groups = bias_outcomes(ctx, dataset_id, raw, rel)
        results["bias"] = CheckResult("bias", f"{ctx.loaded.id}.{dataset_id}.bias", ctx.loaded.id, dataset_id,
                                      all(o.success for o in outcomes), outcomes, ctx.loaded.fingerprint, ctx.run_id,
                                      extras={"rows": rel[0].metrics().rows if rel else 0, "groups": groups})
    out: dict[str, Any] = {}
    for kind, result in results.items():  # a failed gate records an incident and raises CheckFailed
        with local_reports(ctx, dataset_id) as folder:
            out[f"check_{kind}"] = finish(ctx, dataset_id, kind, result, folder)
    rows = sum(r["rows"] for r in released)
    result = {"dataset": dataset_id, "parts": [r["staging"] for r in released],
              "part_rows": [r["rows"] for r in released], "rows": rows,
              "rows_in": sum(m["rows"] for m in mapped), "partitions": len(released), **out}
    ctx.record("partitions.combined", **{k: v for k, v in result.items() if k not in ("parts", "part_rows")})
    return result


def bias_outcomes(ctx: RunContext, dataset_id: str, raw: list[GroupCounts], released: list[GroupCounts]):
    from pactline.checks import outcomes as gate_outcomes

    outcomes: list = []
    groups: list = []
    n = 0
    for j, b in enumerate(ctx.agreement.bias_checks):
        if b.dataset != dataset_id:
            continue
        where = f"bias_checks[{j}]"
        for attr in b.protected_attributes:
            r, m = raw[n].metrics(b.min_group_size), released[n].metrics(b.min_group_size)
            n += 1
            groups.append({"attribute": attr, "label": b.label, "positive": b.positive,
                           "raw": r.to_dict(), "released": m.to_dict()})
            outcomes += gate_outcomes.bias_outcomes(b, attr, r, m, where)
    return outcomes, groups


def l_diversity_outcome(ctx: RunContext, released: list[dict[str, Any]]):
    """Distinct l-diversity over all partitions: the partitions' distinct sensitive values per class, united."""
    from pactline.checks import outcomes as gate_outcomes

    ldiv = ctx.agreement.privacy.l_diversity
    qis = next(r["diversity"]["quasi_identifiers"] for r in released if "diversity" in r)
    merged = SensitiveValues(qis, ldiv.sensitive_column, ldiv.l)
    for r in released:
        if "diversity" in r:
            merged.merge(SensitiveValues.from_table(qis, ldiv.sensitive_column, ldiv.l,
                                                    ctx.root.read_table(r["diversity"]["path"])))
    return gate_outcomes.l_diversity_outcome(ldiv.l, ldiv.sensitive_column, qis, merged.summary())


def _summed_residual_pii(released: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Per scanned column, [rows with residual PII, rows checked] summed over the partitions, in column order."""
    total: dict[str, list[int]] = {}
    for r in released:
        for column, (found, checked) in r.get("residual_pii", {}).items():
            seen = total.setdefault(column, [0, 0])
            seen[0] += found
            seen[1] += checked
    return total
