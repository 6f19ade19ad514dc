"""Suite builders: an agreement's quality rules, privacy thresholds and bias checks for one dataset
become GX ExpectationSuites. Built-in expectations wherever GX has one; the custom ones otherwise.

Each expectation's `meta["pactline"]` records the agreement clause it comes from, the threshold in
the agreement's own terms and a one-line description, so results can be reported to a steward
without re-reading the suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations import expectations as gxe
from great_expectations.expectations.expectation import Expectation

from expectations.bias import (
    ExpectDisparateImpactToBeAtLeast,
    ExpectGroupMetricsToNotDrift,
    ExpectGroupSharesToBeAtLeast,
    ExpectParityDifferenceToBeAtMost,
)
from expectations.leakage import (
    ExpectColumnToNotPredictLabel,
    ExpectColumnToNotRevealIdentifiers,
    ExpectUniqueRowShareToBeAtMost,
)
from expectations.privacy import (
    DEFAULT_IGNORE,
    STRUCTURED_ENTITIES,
    ExpectColumnValuesToHaveNoResidualPii,
    ExpectQuasiIdentifiersToBeKAnonymous,
    ExpectReidentificationRiskToBeAtMost,
    ExpectSensitiveColumnToBeLDiverse,
)
from pactline.agreement.model import (
    REIDENTIFICATION_LIMITS,
    Agreement,
    Column,
    Dataset,
    QualityRule,
    Reidentification,
)
from pactline.checks import outcomes
from pactline.checks.leakage import NOT_GIVEN, leakage_columns
from pactline.checks.metrics import group_metrics
from pactline.checks.outcomes import (
    bias_description,
    k_anonymity_description,
    l_diversity_description,
    mostly_text,
    reidentification_description,
    reidentification_threshold,
    residual_pii_description,
    row_count_description,
    unique_description,
)
from pactline.checks.verdicts import row_count_bounds
from pactline.errors import PolicyViolation

_INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "UInt8Dtype", "UInt16Dtype", "UInt32Dtype",
         "UInt64Dtype"]
_DATETIMES = ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"]
_TEXT = ["str", "StringDtype"]  # never "object": GX would accept any Python value under it

# Declared type -> type names ExpectColumnValuesToBeInTypeList accepts for the pandas frame that
# pactline.checks.runner.to_pandas makes from the Arrow table (nullable ints and bools, dates as
# datetime64, categoricals decoded to text, time zones normalised to UTC).
ACCEPTED_DTYPES: dict[str, list[str]] = {
    "string": _TEXT,
    "text": _TEXT,
    "categorical": _TEXT,
    "integer": _INTS,
    "float": ["float16", "float32", "float64", "Float32Dtype", "Float64Dtype"],
    "boolean": ["bool", "BooleanDtype"],
    "date": _DATETIMES,
    "timestamp": _DATETIMES,
}

# What a transformation leaves of a column's type in released data.
_TYPE_KEPT = {"keep", "date_shift"}
# Columns whose released values may still carry PII and are text: scanned for residual PII. The
# others are tokens (pseudonymise, encrypt), placeholders (redact), generalised quasi-identifiers
# (k-anonymity covers them), dates, or dropped.
_SCANNED = {"keep", "mask", "redact_text"}
_NOT_SCANNED_CATEGORIES = {"protected_attribute", "label"}  # kept on purpose; "Asian" is an NRP to Presidio


def suite_name(agreement: Agreement, dataset_id: str, kind: str) -> str:
    return f"{agreement.metadata.id}.{dataset_id}.{kind}"


def dataset_of(agreement: Agreement, dataset_id: str) -> tuple[int, Dataset]:
    for i, d in enumerate(agreement.datasets):
        if d.id == dataset_id:
            return i, d
    raise PolicyViolation("datasets", f"dataset {dataset_id!r} is not declared in agreement "
                                      f"{agreement.metadata.id!r} (declared: {[d.id for d in agreement.datasets]})")


def _with(expectation: Expectation, clause: str, threshold: Mapping[str, Any], description: str) -> Expectation:
    expectation.meta = {"pactline": {"clause": clause, "threshold": dict(threshold), "description": description}}
    return expectation


def _suite(name: str, expectations: list[Expectation], **meta: Any) -> gx.ExpectationSuite:
    """A suite not bound to any context (the runner adds it to its own). Identical expectations
    (e.g. a not_null rule on a column also declared not nullable) are kept once, the first wins."""
    unique: list[Expectation] = []
    for e in expectations:
        if not any(type(e) is type(u) and e.dict(exclude={"meta"}) == u.dict(exclude={"meta"}) for u in unique):
            unique.append(e)
    return gx.ExpectationSuite(name=name, expectations=unique, meta=dict(meta))


def released_type(column: Column) -> str:
    return column.type if column.transformation.kind in _TYPE_KEPT else "string"


def rule_expectation(rule: QualityRule, clause: str) -> Expectation:
    """The GX built-in expectation for one quality rule."""
    col, mostly = rule.column, rule.mostly
    share = mostly_text(mostly)
    if rule.rule == "not_null":
        return _with(gxe.ExpectColumnValuesToNotBeNull(column=col, mostly=mostly), clause, {"mostly": mostly},
                     f"{col} is never null{share}")
    if rule.rule == "unique":
        return _with(gxe.ExpectColumnValuesToBeUnique(column=col, mostly=mostly), clause, {"mostly": mostly},
                     unique_description(col, mostly))
    if rule.rule == "range":
        return _with(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=rule.min, max_value=rule.max,
                                                       mostly=mostly),
                     clause, {"min": rule.min, "max": rule.max, "mostly": mostly},
                     f"{col} lies between {rule.min} and {rule.max}{share}")
    if rule.rule == "allowed_values":
        return _with(gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(rule.values or []), mostly=mostly),
                     clause, {"values": list(rule.values or []), "mostly": mostly},
                     f"{col} is one of {list(rule.values or [])}{share}")
    if rule.rule == "regex":
        return _with(gxe.ExpectColumnValuesToMatchRegex(column=col, regex=rule.pattern, mostly=mostly),
                     clause, {"pattern": rule.pattern, "mostly": mostly}, f"{col} matches {rule.pattern}{share}")
    if rule.rule == "row_count":
        lo, hi = row_count_bounds(rule.min, rule.max)  # whole rows: at least 100.5 rows is at least 101
        return _with(gxe.ExpectTableRowCountToBeBetween(min_value=lo, max_value=hi), clause,
                     {"min": lo, "max": hi}, row_count_description(lo, hi))
    raise ValueError(f"unknown quality rule {rule.rule!r}")


def quality_suite(agreement: Agreement, dataset_id: str, *, stage: str = "raw") -> gx.ExpectationSuite:
    """Schema (every declared column present with its declared type; non-nullable ones never null)
    plus the agreement's quality rules for the dataset.

    stage="raw" checks the mapped data against the declared types; stage="released" expects what
    the transformations leave: dropped columns absent, transformed columns as text.
    """
    if stage not in ("raw", "released"):
        raise ValueError("stage must be 'raw' or 'released'")
    i, ds = dataset_of(agreement, dataset_id)
    exps: list[Expectation] = []
    for name, col in ds.columns.items():
        where = f"datasets[{i}].columns.{name}"
        if stage == "released" and col.transformation.kind == "drop":
            continue
        declared = col.type if stage == "raw" else released_type(col)
        exps.append(_with(gxe.ExpectColumnToExist(column=name), where, {"present": True},
                                    f"{name} is present"))
        exps.append(_with(gxe.ExpectColumnValuesToBeInTypeList(column=name,
                                                                          type_list=ACCEPTED_DTYPES[declared]),
                                    f"{where}.type", {"type": declared}, f"{name} is of type {declared}"))
        if not col.nullable:
            exps.append(_with(gxe.ExpectColumnValuesToNotBeNull(column=name), f"{where}.nullable",
                                        {"nullable": False}, f"{name} is never null (declared not nullable)"))
    for j, rule in enumerate(agreement.quality_rules):
        if rule.dataset == dataset_id:
            exps.append(rule_expectation(rule, f"quality_rules[{j}]"))
    return _suite(suite_name(agreement, dataset_id, "quality"), exps)


def pseudonym_patterns(ds: Dataset) -> list[str]:
    """Exact token shapes of the dataset's pseudonymised columns, e.g. cust_ + 32 hex digits."""
    out = []
    for col in ds.columns.values():
        t = col.transformation
        if t.kind == "pseudonymise":
            out.append(rf"\b{re.escape(t.prefix)}[0-9a-f]{{{t.length}}}\b")
    return sorted(set(out))


def scanned_columns(ds: Dataset, present: Sequence[str]) -> list[str]:
    """Released columns to scan for residual PII: declared text columns that keep (part of) their
    content, and any column the agreement does not declare at all."""
    out = []
    for name in present:
        col = ds.columns.get(name)
        if col is None or (col.type in ("string", "text") and col.transformation.kind in _SCANNED
              and col.category not in _NOT_SCANNED_CATEGORIES):
            out.append(name)
    return out


def privacy_suite(agreement: Agreement, dataset_id: str, present: Sequence[str],
                  raw_identifiers: Sequence[str] | None = None) -> gx.ExpectationSuite:
    """Residual PII per scanned column, k-anonymity over the declared quasi-identifiers present in
    the data, and l-diversity of the sensitive column when the agreement asks for it; with
    privacy.feature_leakage, label and identity leakage (leakage_expectations; `raw_identifiers`: the raw
    identifier columns the batch holds beside the released ones, see pactline.checks.leakage.raw_column).

    What does not apply (no quasi-identifier in this dataset, ...) is listed in suite.meta["skipped"].
    """
    _, ds = dataset_of(agreement, dataset_id)
    p = agreement.privacy
    exps: list[Expectation] = []
    skipped: list[str] = []
    ignore = [*DEFAULT_IGNORE, *pseudonym_patterns(ds)]
    for name in scanned_columns(ds, present):
        # free text (and undeclared columns) get every entity; structured strings the identifier ones
        free = name not in ds.columns or ds.columns[name].type == "text"
        exps.append(_with(
            ExpectColumnValuesToHaveNoResidualPii(column=name, max_rate=p.max_residual_pii_rate,
                                                  entities=None if free else STRUCTURED_ENTITIES,
                                                  ignore_patterns=ignore),
            "privacy.max_residual_pii_rate", {"max_rate": p.max_residual_pii_rate},
            residual_pii_description(name, p.max_residual_pii_rate)))
    qis: list[str] = []
    if p.k_anonymity:
        qis = [q for q in p.k_anonymity.quasi_identifiers if q in present]
        if qis:
            k = p.k_anonymity.k
            exps.append(_with(ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=qis, k=k),
                                        "privacy.k_anonymity", {"k": k, "quasi_identifiers": qis},
                                        k_anonymity_description(qis, k)))
            exps += reidentification_expectations(p.reidentification, qis)
        else:
            skipped.append(f"k-anonymity: none of the quasi-identifiers {p.k_anonymity.quasi_identifiers} "
                           f"is in dataset {dataset_id}")
    if p.l_diversity:
        sensitive = p.l_diversity.sensitive_column
        qis = l_diversity_classes(agreement, dataset_id, present)
        if qis:
            lv = p.l_diversity.l
            exps.append(_with(
                ExpectSensitiveColumnToBeLDiverse(quasi_identifiers=qis, sensitive_column=sensitive, l=lv),
                "privacy.l_diversity", {"l": lv, "sensitive_column": sensitive, "quasi_identifiers": qis},
                l_diversity_description(sensitive, lv, qis)))
        else:
            skipped.append(f"l-diversity: {sensitive} or quasi-identifiers not in dataset {dataset_id}")
    exps += leakage_expectations(agreement, ds, present, raw_identifiers, skipped)
    return _suite(suite_name(agreement, dataset_id, "privacy"), exps, skipped=skipped)


def reidentification_expectations(risk: Reidentification | None, quasi_identifiers: list[str]) -> list[Expectation]:
    """One expectation per maximum of privacy.reidentification, over the released quasi-identifiers."""
    if not risk:
        return []
    t = risk.risk_threshold
    return [_with(ExpectReidentificationRiskToBeAtMost(quasi_identifiers=quasi_identifiers,
                                                       measure=REIDENTIFICATION_LIMITS[limit], max_risk=max_risk,
                                                       risk_threshold=t),
                  f"privacy.reidentification.{limit}", reidentification_threshold(limit, max_risk, t),
                  reidentification_description(limit, max_risk, quasi_identifiers, t))
            for limit, max_risk in risk.limits().items()]


def leakage_expectations(agreement: Agreement, ds: Dataset, present: Sequence[str],
                         raw_identifiers: Sequence[str] | None, skipped: list[str]) -> list[Expectation]:
    """privacy.feature_leakage over the released columns `present` (pactline.checks.leakage says which): one
    label-leakage expectation per released column, the unique-row share over the identity columns, and one
    identifier expectation per candidate column against the raw identifiers the batch holds beside them
    (`raw_identifiers`; None: none given, so the mapping is skipped and said so in `skipped`)."""
    fl = agreement.privacy.feature_leakage
    if fl is None:
        return []
    cols = leakage_columns(agreement, ds, present)
    skipped += cols.skipped
    auc, nmi = fl.max_single_feature_auc, fl.max_normalised_mutual_information
    exps: list[Expectation] = [
        _with(ExpectColumnToNotPredictLabel(column=c, label_column=cols.label, max_single_feature_auc=auc,
                                            max_normalised_mutual_information=nmi),
              "privacy.feature_leakage", outcomes.label_leakage_threshold(auc, nmi),
              outcomes.label_leakage_description(c, cols.label, auc, nmi))
        for c in cols.features if cols.label]
    if cols.identity_columns:
        share = fl.max_unique_row_share
        exps.append(_with(ExpectUniqueRowShareToBeAtMost(quasi_identifiers=cols.identity_columns, max_share=share),
                          "privacy.feature_leakage.max_unique_row_share", {"max_unique_row_share": share},
                          outcomes.unique_rows_description(cols.identity_columns, share)))
    given = [i for i in cols.identifiers if i in (raw_identifiers or ())]
    if cols.candidates and not given:
        skipped.append(NOT_GIVEN.format(dataset=ds.id))
    rate = fl.max_carried_identifier_rate
    for c in cols.candidates if given else []:
        one = c not in cols.free_text  # free text is unique row by row anyway: only what it carries counts
        exps.append(_with(ExpectColumnToNotRevealIdentifiers(column=c, identifiers=given, one_to_one=one,
                                                             max_carried_rate=rate),
                          "privacy.feature_leakage.identifiers", outcomes.identifier_leakage_threshold(rate, one),
                          outcomes.identifier_leakage_description(c, given, rate, one)))
    return exps


def l_diversity_classes(agreement: Agreement, dataset_id: str, present: Iterable[str]) -> list[str]:
    """The quasi-identifiers l-diversity is checked over: k-anonymity's that are present, else the dataset's
    declared quasi-identifiers; none when the sensitive column (or every quasi-identifier) is absent."""
    _, ds = dataset_of(agreement, dataset_id)
    p = agreement.privacy
    present = set(present)
    if not p.l_diversity or p.l_diversity.sensitive_column not in present:
        return []
    qis = [q for q in p.k_anonymity.quasi_identifiers if q in present] if p.k_anonymity else []
    return qis or [n for n, c in ds.columns.items() if c.category == "quasi_identifier" and n in present]


def bias_suite(agreement: Agreement, dataset_id: str, raw: pd.DataFrame | None = None) -> gx.ExpectationSuite:
    """Per bias check and protected attribute: representation, disparate impact, parity difference,
    and, given the raw data, drift of all of them between raw and released."""
    dataset_of(agreement, dataset_id)
    exps: list[Expectation] = []
    for j, b in enumerate(agreement.bias_checks):
        if b.dataset != dataset_id:
            continue
        where = f"bias_checks[{j}]"
        common = {"label_column": b.label, "positive": b.positive, "min_group_size": b.min_group_size}
        for attr in b.protected_attributes:
            raw_metrics = group_metrics(raw, attr, b.label, b.positive, b.min_group_size) if raw is not None else None
            # every raw group counts: one that vanished from the release fails by name
            raw_groups = sorted(raw_metrics.groups) if raw_metrics is not None else None
            exps.append(_with(ExpectGroupSharesToBeAtLeast(column=attr, min_share=b.min_group_share,
                                                           raw_groups=raw_groups, **common),
                                        f"{where}.min_group_share", {"min_share": b.min_group_share},
                                        bias_description(b, attr, "min_group_share")))
            exps.append(_with(ExpectDisparateImpactToBeAtLeast(column=attr, min_ratio=b.min_disparate_impact,
                                                                         **common),
                                        f"{where}.min_disparate_impact", {"min_ratio": b.min_disparate_impact},
                                        bias_description(b, attr, "min_disparate_impact")))
            exps.append(_with(ExpectParityDifferenceToBeAtMost(column=attr,
                                                                         max_difference=b.max_parity_difference,
                                                                         **common),
                                        f"{where}.max_parity_difference", {"max_difference": b.max_parity_difference},
                                        bias_description(b, attr, "max_parity_difference")))
            if raw_metrics is not None:
                exps.append(_with(ExpectGroupMetricsToNotDrift(column=attr, reference=raw_metrics.to_dict(),
                                                                         max_drift=b.max_drift, **common),
                                            f"{where}.max_drift", {"max_drift": b.max_drift},
                                            bias_description(b, attr, "max_drift")))
    return _suite(suite_name(agreement, dataset_id, "bias"), exps)
