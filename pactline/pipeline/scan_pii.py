"""scan_pii: classify every column and compare what was found with what the agreement declares.

A finding is a policy violation when PII turns up in a column the agreement declares
non-personal (or a label): an entity found by its values or by a strong column name the values do
not contradict, or a near-unique high-entropy identifier candidate (kind `identifier`); or when the
values show a different entity than declared (a related one, e.g. ZIP_CODE for a declared
LOCATION, or a name-only guess, is no mismatch). Every finding carries the scan's evidence. The
agreement's privacy.on_undeclared_pii then decides: fail the run, drop the column, or redact
it (span by span for free text). Every violation is recorded; the full report is saved.
"""

from __future__ import annotations

from typing import Any

from pactline.errors import PolicyViolation
from pactline.pipeline.context import RunContext
from pactline.pipeline.parts import part
from pactline.store.layout import PII_SCAN

NOT_PERSONAL = {"non_personal", "label"}
# Transformations after which nothing of the original value is released.
REMOVES_VALUE = {"drop", "redact", "pseudonymise", "encrypt"}


def findings(report: dict[str, Any], dataset) -> list[dict[str, Any]]:
    from pactline.pii.classify import related

    out = []
    for col in report["columns"]:
        name = col["name"]
        decl = dataset.columns.get(name)
        if decl is None:
            continue
        found = col.get("entity")
        evidence = col.get("evidence") or {}
        spans = {k: v for k, v in (col.get("entity_counts") or {}).items() if v}
        common = {"share": col.get("share"), "free_text": bool(col.get("is_free_text")),
                  "category": col.get("category"), "sensitive": bool(col.get("sensitive")),
                  "confidence": col.get("confidence"), "evidence": evidence}
        if decl.category in NOT_PERSONAL and (found or spans):
            what = found or ", ".join(f"{k} x{v}" for k, v in sorted(spans.items()))
            out.append({"column": name, "kind": "undeclared_pii", "declared": decl.category, "found": what, **common})
        elif decl.category in NOT_PERSONAL and col.get("identifier_candidate"):
            out.append({"column": name, "kind": "identifier", "declared": decl.category,
                        "found": f"identifier candidate ({col.get('uniqueness') or 0:.0%} distinct)"
                        if evidence.get("rule") == "uniqueness" else "a person's record key (by its name)", **common})
        elif (decl.pii_entity and found and found != decl.pii_entity and evidence.get("rule") != "name"
              and not related(found, decl.pii_entity) and decl.transformation.kind not in REMOVES_VALUE):
            out.append({"column": name, "kind": "entity_mismatch", "declared": decl.pii_entity, "found": found,
                        **common})
    return out


def scan_pii(ctx: RunContext, dataset_id: str, mapped: str, *, on_undeclared_pii: str = "fail",
             sample_size: int = 1000, report_name: str = PII_SCAN, dataset_rows: int | None = None) -> dict[str, Any]:
    from pactline.pii.classify import classify_table

    ds = ctx.agreement.dataset(dataset_id)
    table = ctx.root.read_table(mapped)
    declared_qis = [n for n, c in ds.columns.items() if c.category == "quasi_identifier"]
    # the scan's combinations with the declared quasi-identifiers among the candidates (counts only)
    scan = classify_table(table, sample_size=sample_size, dataset_rows=dataset_rows, quasi_identifiers=declared_qis)
    report = scan.to_dict()
    found = findings(report, ds)
    report_rel = ctx.reports(dataset_id, report_name)
    ctx.root.write_json(report_rel, {"dataset": dataset_id, "fingerprint": ctx.loaded.fingerprint,
                                     "run_id": ctx.run_id, "findings": found, "report": report,
                                     "declared_quasi_identifiers": declared_qis})
    overrides: dict[str, str] = {}
    for f in found:
        ctx.record("policy.violation", dataset=dataset_id, clause="privacy.on_undeclared_pii", action=on_undeclared_pii,
                   report=report_rel, **f)
        if on_undeclared_pii == "drop":
            overrides[f["column"]] = "drop"
        elif on_undeclared_pii == "redact":
            overrides[f["column"]] = "redact_text" if f["free_text"] else "redact"
    ctx.record("pii.scanned", dataset=dataset_id, report=report_rel, violations=len(found), overrides=overrides)
    if found:
        from pactline.pipeline.gates import open_incident

        where = "; ".join(f"{f['column']}: {f['kind']} ({f['found']})" for f in found)
        open_incident(ctx, dataset_id, "policy.undeclared_pii", f"PII where the agreement declares none: {where}; "
                      f"action: {on_undeclared_pii}", report_rel)
    if found and on_undeclared_pii == "fail":
        where = "; ".join(f"{f['column']}: {f['kind']} ({f['found']})" for f in found)
        raise PolicyViolation(
            "privacy.on_undeclared_pii",
            f"dataset {dataset_id}: PII where the agreement declares none: {where}. Report: {report_rel}",
        )
    return {"dataset": dataset_id, "staging": mapped, "report": report_rel, "findings": found,
            "overrides": overrides}


def scan_partition(ctx: RunContext, dataset_id: str, mapped: dict[str, Any], *,
                   on_undeclared_pii: str = "fail", sample_size: int = 1000) -> dict[str, Any]:
    out = scan_pii(ctx, dataset_id, mapped["staging"], on_undeclared_pii=on_undeclared_pii, sample_size=sample_size,
                   report_name=f"pii_scan/{part(mapped['index'])}.json",
                   dataset_rows=mapped["rows"] * mapped.get("of", 1))  # about the dataset's rows
    return {**out, "index": mapped["index"], "partition": mapped["partition"]}
