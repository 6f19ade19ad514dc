"""combine: the reduce before publish. k-anonymity, l-diversity and bias over the whole dataset from the
partitions' aggregates; the released parts, in order, as one dataset."""

from __future__ import annotations

from typing import Any

from pactline.partition import GroupCounts, SensitiveValues
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import finish, local_reports
from pactline.pipeline.parts import merged_groups


def combine(ctx: RunContext, dataset_id: str, *, mapped: list[dict[str, Any]], released: list[dict[str, Any]],
            classes: dict[str, Any] | None = None) -> dict[str, Any]:
    """k-anonymity, l-diversity and bias over the whole dataset from the partitions' aggregates; the released
    parts, in order."""
    from pactline.checks.result import CheckResult, Outcome

    released = sorted(released, key=lambda r: r["index"])
    mapped = sorted(mapped, key=lambda m: m["index"])
    results: dict[str, CheckResult] = {}
    kanon = ctx.agreement.privacy.k_anonymity
    privacy: list[Outcome] = [Outcome("expect_column_values_to_have_no_residual_pii", [], len(released),
                                      {"max_rate": ctx.agreement.privacy.max_residual_pii_rate}, True,
                                      {"partitions_passed": len(released)}, "privacy.max_residual_pii_rate",
                                      "every released partition passed the residual-PII check")]
    if kanon and classes:
        smallest = classes["min_class_size"]
        privacy.append(Outcome("expect_quasi_identifiers_to_be_k_anonymous", list(classes["quasi_identifiers"]),
                               smallest, {"k": kanon.k, "quasi_identifiers": classes["quasi_identifiers"]},
                               smallest is None or smallest >= kanon.k,
                               {"classes": classes["classes"], "suppressed": classes["suppressed"]},
                               "privacy.k_anonymity", f"every combination of {', '.join(classes['quasi_identifiers'])} "
                               f"is shared by at least {kanon.k} rows over all partitions"))
    extras: dict[str, Any] = {"rows": sum(r["rows"] for r in released)}
    ldiv = ctx.agreement.privacy.l_diversity
    if ldiv and any("diversity" in r for r in released):
        privacy.append(l_diversity_outcome(ctx, released))
    elif ldiv:
        extras["skipped"] = [f"l-diversity: {ldiv.sensitive_column} or quasi-identifiers not in dataset {dataset_id}"]
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
    from pactline.checks.metrics import drift
    from pactline.checks.result import Outcome

    outcomes, groups = [], []
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
            d = drift(r, m)
            exceeded = [f"{kind} of {g}" for kind in ("share", "positive_rate") for g, v in d[kind].items()
                        if v > b.max_drift]
            exceeded += [kind for kind in ("disparate_impact", "parity_difference")
                         if d[kind] is not None and d[kind] > b.max_drift]
            outcomes += [
                Outcome("expect_group_shares_to_be_at_least", [attr, b.label], m.min_share,
                        {"min_share": b.min_group_share},
                        m.min_share is not None and m.min_share >= b.min_group_share, {"rows": m.rows},
                        f"{where}.min_group_share", f"each {attr} group holds at least {b.min_group_share:.0%} of rows"),
                Outcome("expect_disparate_impact_to_be_at_least", [attr, b.label], m.disparate_impact,
                        {"min_ratio": b.min_disparate_impact},
                        m.disparate_impact is not None and m.disparate_impact >= b.min_disparate_impact, {},
                        f"{where}.min_disparate_impact",
                        f"{b.label} rate of the lowest {attr} group / highest is at least {b.min_disparate_impact}"),
                Outcome("expect_parity_difference_to_be_at_most", [attr, b.label], m.parity_difference,
                        {"max_difference": b.max_parity_difference},
                        m.parity_difference is not None and m.parity_difference <= b.max_parity_difference, {},
                        f"{where}.max_parity_difference",
                        f"{b.label} rate of the highest {attr} group - lowest is at most {b.max_parity_difference}"),
                Outcome("expect_group_metrics_to_not_drift", [attr, b.label], d["max"], {"max_drift": b.max_drift},
                        not exceeded, {"exceeded": exceeded}, f"{where}.max_drift",
                        f"{attr} shares, {b.label} rates, DI and parity difference move by at most {b.max_drift} "
                        "from raw to released"),
            ]
    return outcomes, groups


def l_diversity_outcome(ctx: RunContext, released: list[dict[str, Any]]):
    """Distinct l-diversity over all partitions: the partitions' distinct sensitive values per class, united."""
    from pactline.checks.result import Outcome

    ldiv = ctx.agreement.privacy.l_diversity
    qis = next(r["diversity"]["quasi_identifiers"] for r in released if "diversity" in r)
    merged = SensitiveValues(qis, ldiv.sensitive_column, ldiv.l)
    for r in released:
        if "diversity" in r:
            merged.merge(SensitiveValues.from_table(qis, ldiv.sensitive_column, ldiv.l,
                                                    ctx.root.read_table(r["diversity"]["path"])))
    found = merged.summary()
    smallest = found.pop("min_distinct")
    return Outcome("expect_sensitive_column_to_be_l_diverse", qis, smallest,
                   {"l": ldiv.l, "sensitive_column": ldiv.sensitive_column, "quasi_identifiers": qis},
                   smallest is None or smallest >= ldiv.l, found, "privacy.l_diversity",
                   f"{ldiv.sensitive_column} takes at least {ldiv.l} distinct values among rows sharing "
                   f"{', '.join(qis)} over all partitions")
