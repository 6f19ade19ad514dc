"""Whole-dataset Outcomes from summed aggregates, for the gates a partitioned dataset cannot run on one table.

Each helper decides through pactline.checks.verdicts (the functions the GX expectations call) and dresses the
verdict as the Outcome GX would report: the same expectation name, the agreement clause, the threshold in the
agreement's terms and a steward's one-line description (shared with expectations.suites, so both paths read
alike). Every outcome's details are the path's own counts plus the verdict's details (`below`, `drift`,
`exceeded`), so the steward's report shows the same reasons whichever path decided.

    row_count_outcome(rule, where, rows, *, partitions)
    unique_outcome(rule, where, *, element_count, duplicated_rows, duplicated_values, partitions, missing_count=None)
    bias_outcomes(check, attribute, raw, released, where) -> [group share, disparate impact, parity difference, drift]
    k_anonymity_outcome(k, quasi_identifiers, min_class_size, *, classes, suppressed)
    l_diversity_outcome(l, sensitive_column, quasi_identifiers, summary)
    reidentification_outcomes(limits, quasi_identifiers, class_sizes, risk_threshold) -> one per agreed maximum
    residual_pii_outcome(column, max_rate, *, rows_with_pii, rows_checked, partitions)
    label_leakage_outcome(column, label, max_auc, max_nmi, scores, *, partitions)
    unique_row_share_outcome(columns, max_share, *, unique_rows, rows, partitions)
    identifier_leakage_outcome(column, findings, max_carried_rate, *, one_to_one, partitions)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pactline.agreement.model import REIDENTIFICATION_LIMITS
from pactline.checks import verdicts
from pactline.checks.metrics import GroupMetrics
from pactline.checks.result import Outcome
from pactline.checks.risk import reidentification_risk

if TYPE_CHECKING:
    from pactline.agreement.model import BiasCheck, QualityRule

OVER_ALL = " over all partitions"


# -- descriptions (the GX suites use the same) -----------------------------------------------


def mostly_text(mostly: float) -> str:
    return "" if mostly == 1 else f" in at least {mostly:.0%} of rows"


def row_count_description(lo: int | None, hi: int | None) -> str:
    return f"row count between {lo} and {hi}"


def unique_description(column: str, mostly: float, *, over_all: bool = False) -> str:
    return f"{column} is unique{OVER_ALL if over_all else ''}{mostly_text(mostly)}"


def bias_description(check: BiasCheck, attribute: str, threshold: str) -> str:
    """The line for one of a bias check's thresholds: min_group_share, min_disparate_impact,
    max_parity_difference or max_drift."""
    b = check
    return {
        "min_group_share": f"each {attribute} group holds at least {b.min_group_share:.0%} of rows",
        "min_disparate_impact": f"{b.label} rate of the lowest {attribute} group / highest is at least "
                                f"{b.min_disparate_impact}",
        "max_parity_difference": f"{b.label} rate of the highest {attribute} group - lowest is at most "
                                 f"{b.max_parity_difference}",
        "max_drift": f"{attribute} shares, {b.label} rates, DI and parity difference move by at most {b.max_drift} "
                     "from raw to released",
    }[threshold]


def k_anonymity_description(quasi_identifiers: Sequence[str], k: int, *, over_all: bool = False) -> str:
    return (f"every combination of {', '.join(quasi_identifiers)} is shared by at least {k} rows"
            f"{OVER_ALL if over_all else ''}")


def l_diversity_description(sensitive_column: str, l: int, quasi_identifiers: Sequence[str], *,  # noqa: E741
                            over_all: bool = False) -> str:
    return (f"{sensitive_column} takes at least {l} distinct values among rows sharing "
            f"{', '.join(quasi_identifiers)}{OVER_ALL if over_all else ''}")


# -- outcomes --------------------------------------------------------------------------------


def row_count_outcome(rule: QualityRule, where: str, rows: int, *, partitions: int) -> Outcome:
    """A `row_count` rule on the dataset's total rows (where = "quality_rules[j]")."""
    lo, hi = verdicts.row_count_bounds(rule.min, rule.max)
    v = verdicts.row_count(rows, lo, hi)
    return Outcome("expect_table_row_count_to_be_between", [], v.observed, {"min": lo, "max": hi}, v.success,
                   {"partitions": partitions, **v.details}, where, row_count_description(lo, hi))


def unique_outcome(rule: QualityRule, where: str, *, element_count: int, duplicated_rows: int,
                   duplicated_values: int, partitions: int, missing_count: int | None = None) -> Outcome:
    """A `unique` rule over all partitions: `element_count` non-null rows, `duplicated_rows` of them holding a
    value seen more than once, in `duplicated_values` distinct values. Given the null rows (`missing_count`),
    the details count as GX's do: element_count all rows, missing_count the nulls (neither changes the verdict)."""
    v = verdicts.unique(element_count, duplicated_rows, rule.mostly)
    counts = ({"element_count": element_count} if missing_count is None
              else {"element_count": element_count + missing_count, "missing_count": missing_count})
    details = {**counts, "unexpected_count": duplicated_rows, "duplicated_values": duplicated_values,
               "partitions": partitions, **v.details}
    return Outcome("expect_column_values_to_be_unique", [rule.column], v.observed, {"mostly": rule.mostly},
                   v.success, details, where, unique_description(rule.column, rule.mostly, over_all=True))


def bias_outcomes(check: BiasCheck, attribute: str, raw: GroupMetrics, released: GroupMetrics,
                  where: str) -> list[Outcome]:
    """The four bias outcomes of one protected attribute of a bias check (where = "bias_checks[j]"): group
    shares, disparate impact and parity difference of `released`, and their drift from `raw`."""
    b, m, cols = check, released, [attribute, check.label]
    share = verdicts.group_share(m, b.min_group_share, raw.groups)  # every raw group counts, a vanished one fails
    di = verdicts.disparate_impact(m, b.min_disparate_impact)
    parity = verdicts.parity_difference(m, b.max_parity_difference)
    moved = verdicts.drift(raw, m, b.max_drift)
    return [
        Outcome("expect_group_shares_to_be_at_least", cols, share.observed, {"min_share": b.min_group_share},
                share.success, {"rows": m.rows, **share.details}, f"{where}.min_group_share",
                bias_description(b, attribute, "min_group_share")),
        Outcome("expect_disparate_impact_to_be_at_least", cols, di.observed, {"min_ratio": b.min_disparate_impact},
                di.success, dict(di.details), f"{where}.min_disparate_impact",
                bias_description(b, attribute, "min_disparate_impact")),
        Outcome("expect_parity_difference_to_be_at_most", cols, parity.observed,
                {"max_difference": b.max_parity_difference}, parity.success, dict(parity.details),
                f"{where}.max_parity_difference", bias_description(b, attribute, "max_parity_difference")),
        Outcome("expect_group_metrics_to_not_drift", cols, moved.observed, {"max_drift": b.max_drift},
                moved.success, dict(moved.details), f"{where}.max_drift", bias_description(b, attribute, "max_drift")),
    ]


def k_anonymity_outcome(k: int, quasi_identifiers: Sequence[str], min_class_size: int | None, *, classes: int,
                        suppressed: Any) -> Outcome:
    """k-anonymity over all partitions from the summed class sizes (`min_class_size`: the smallest class kept
    after suppression, None when none is)."""
    qis = list(quasi_identifiers)
    v = verdicts.k_anonymity(min_class_size, k)
    return Outcome("expect_quasi_identifiers_to_be_k_anonymous", qis, v.observed,
                   {"k": k, "quasi_identifiers": list(qis)}, v.success,
                   {"classes": classes, "suppressed": suppressed, **v.details}, "privacy.k_anonymity",
                   k_anonymity_description(qis, k, over_all=True))


def l_diversity_outcome(l: int, sensitive_column: str, quasi_identifiers: Sequence[str],  # noqa: E741
                        summary: Mapping[str, Any]) -> Outcome:
    """Distinct l-diversity over all partitions; `summary` as SensitiveValues.summary() gives it (min_distinct
    is the observed value, the rest are the details). Columns as GX lists them: the quasi-identifiers, then the
    sensitive column."""
    qis = list(quasi_identifiers)
    details = {k: v for k, v in summary.items() if k != "min_distinct"}
    v = verdicts.l_diversity(summary.get("min_distinct"), l)
    return Outcome("expect_sensitive_column_to_be_l_diverse", [*qis, sensitive_column], v.observed,
                   {"l": l, "sensitive_column": sensitive_column, "quasi_identifiers": list(qis)}, v.success,
                   {**details, **v.details}, "privacy.l_diversity",
                   l_diversity_description(sensitive_column, l, qis, over_all=True))


REIDENTIFICATION_WORDS = {
    "max_prosecutor_risk": "highest re-identification risk of any record (1 / smallest class)",
    "max_records_at_risk": "share of records whose re-identification risk is above {t}",
    "max_average_risk": "average re-identification risk (classes / records)",
    "max_marketer_risk": "marketer re-identification risk (classes / records)",
}


def reidentification_description(limit: str, max_risk: float, quasi_identifiers: Sequence[str], risk_threshold: float,
                                  *, over_all: bool = False) -> str:
    """The line for one of privacy.reidentification's maxima (`limit` is its field name)."""
    what = REIDENTIFICATION_WORDS[limit].format(t=risk_threshold)
    return f"{what} over {', '.join(quasi_identifiers)} is at most {max_risk}{OVER_ALL if over_all else ''}"


def reidentification_threshold(limit: str, max_risk: float, risk_threshold: float) -> dict[str, float]:
    """The threshold as the agreement words it: the maximum, and for records at risk the risk threshold too."""
    return {limit: max_risk, **({"risk_threshold": risk_threshold} if limit == "max_records_at_risk" else {})}


def reidentification_outcomes(limits: Mapping[str, float], quasi_identifiers: Sequence[str],
                              class_sizes: Mapping[Any, int], risk_threshold: float) -> list[Outcome]:
    """One outcome per agreed maximum of privacy.reidentification (`limits`: field name -> maximum), over all
    partitions from the histogram of the released classes' sizes (k_classes keeps it)."""
    qis = list(quasi_identifiers)
    risk = reidentification_risk(class_sizes, risk_threshold)
    out = []
    for limit, max_risk in limits.items():
        v = verdicts.reidentification_risk(risk.measure(REIDENTIFICATION_LIMITS[limit]), max_risk)
        out.append(Outcome("expect_reidentification_risk_to_be_at_most", qis, v.observed,
                           reidentification_threshold(limit, max_risk, risk_threshold), v.success,
                           {**risk.to_dict(), **v.details}, f"privacy.reidentification.{limit}",
                           reidentification_description(limit, max_risk, qis, risk_threshold, over_all=True)))
    return out


def residual_pii_description(column: str, max_rate: float, *, over_all: bool = False) -> str:
    return f"{column}: share of values with residual PII at most {max_rate}{OVER_ALL if over_all else ''}"


def residual_pii_outcome(column: str, max_rate: float, *, rows_with_pii: int, rows_checked: int,
                         partitions: int) -> Outcome:
    """A column's residual-PII rate over all partitions, from the partitions' summed counts (each partition
    counts its own values; the rate is a whole-dataset rule, decided here as the GX expectation decides it)."""
    v = verdicts.residual_pii(rows_with_pii, rows_checked, max_rate)
    return Outcome("expect_column_values_to_have_no_residual_pii", [column], v.observed, {"max_rate": max_rate},
                   v.success, {"rows_checked": rows_checked, "rows_with_pii": rows_with_pii,
                               "partitions": partitions, **v.details}, "privacy.max_residual_pii_rate",
                   residual_pii_description(column, max_rate, over_all=True))



# -- feature leakage (privacy.feature_leakage) -----------------------------------------------

LABEL_LEAKAGE = "expect_column_to_not_predict_label"
UNIQUE_ROWS = "expect_unique_row_share_to_be_at_most"
IDENTIFIER_LEAKAGE = "expect_column_to_not_reveal_identifiers"


def label_leakage_threshold(max_auc: float | None, max_nmi: float | None) -> dict[str, float | None]:
    return {"max_single_feature_auc": max_auc, "max_normalised_mutual_information": max_nmi}


def label_leakage_description(column: str, label: str, max_auc: float | None, max_nmi: float | None, *,
                              over_all: bool = False) -> str:
    limits = [f"{name} at most {limit}" for name, limit in (("single-feature AUC", max_auc),
                                                            ("normalised mutual information", max_nmi))
              if limit is not None]
    return f"{column} alone predicts {label} with {' and '.join(limits)}{OVER_ALL if over_all else ''}"


def unique_rows_description(columns: Sequence[str], max_share: float, *, over_all: bool = False) -> str:
    return (f"at most {max_share:.0%} of rows are the only one with their {', '.join(columns)}"
            f"{OVER_ALL if over_all else ''}")


def identifier_leakage_threshold(max_carried_rate: float | None, one_to_one: bool) -> dict[str, Any]:
    return {"max_carried_identifier_rate": max_carried_rate, "one_to_one": one_to_one}


def identifier_leakage_description(column: str, identifiers: Sequence[str], max_carried_rate: float | None,
                                   one_to_one: bool, *, over_all: bool = False) -> str:
    rules = (["maps one-to-one onto"] if one_to_one else []) + (
        [f"holds in more than {max_carried_rate:.0%} of rows"] if max_carried_rate is not None else [])
    return (f"{column} neither {' nor '.join(rules) or 'reveals'} {', '.join(identifiers)}"
            f"{OVER_ALL if over_all else ''}")


def label_leakage_outcome(column: str, label: str, max_auc: float | None, max_nmi: float | None,
                          scores: Mapping[str, Any], *, partitions: int) -> Outcome:
    """A column's label leakage over all partitions; `scores` are the highest AUC and NMI any partition measured
    (a score is not a sum: the worst partition decides) and the labelled rows of all of them."""
    auc, nmi = scores.get("single_feature_auc"), scores.get("normalised_mutual_information")
    v = verdicts.label_leakage(auc, nmi, max_auc, max_nmi)
    return Outcome(LABEL_LEAKAGE, [column, label], v.observed, label_leakage_threshold(max_auc, max_nmi), v.success,
                   {"rows": scores.get("rows", 0), "partitions": partitions, **v.details}, "privacy.feature_leakage",
                   label_leakage_description(column, label, max_auc, max_nmi, over_all=True))


def unique_row_share_outcome(columns: Sequence[str], max_share: float, *, unique_rows: int, rows: int,
                             partitions: int) -> Outcome:
    """The unique-row share over all partitions from the partitions' summed counts of rows unique within their own
    partition: a row unique in the dataset is unique in its partition, so the sum bounds the dataset's from above."""
    cols = list(columns)
    v = verdicts.unique_row_share(unique_rows, rows, max_share)
    return Outcome(UNIQUE_ROWS, cols, v.observed, {"max_unique_row_share": max_share}, v.success,
                   {"rows": rows, "unique_rows": unique_rows, "partitions": partitions, **v.details},
                   "privacy.feature_leakage.max_unique_row_share",
                   unique_rows_description(cols, max_share, over_all=True))


def identifier_leakage_outcome(column: str, findings: Mapping[str, Mapping[str, Any]],
                               max_carried_rate: float | None, *, one_to_one: bool, partitions: int) -> Outcome:
    """A column against the raw identifiers over all partitions; `findings` per identifier: carried and checked
    rows summed, one_to_one when every partition found the mapping one-to-one (a mapping one-to-one over the
    dataset is one-to-one in each partition)."""
    v = verdicts.identifier_leakage(findings, max_carried_rate)
    return Outcome(IDENTIFIER_LEAKAGE, [column], v.observed, identifier_leakage_threshold(max_carried_rate, one_to_one),
                   v.success, {"identifiers": {k: dict(f) for k, f in findings.items()}, "partitions": partitions,
                               **v.details}, "privacy.feature_leakage.identifiers",
                   identifier_leakage_description(column, list(findings), max_carried_rate, one_to_one, over_all=True))

__all__ = ["bias_description", "bias_outcomes", "k_anonymity_description", "k_anonymity_outcome",
           "l_diversity_description", "l_diversity_outcome", "mostly_text", "reidentification_description",
           "reidentification_outcomes", "reidentification_threshold", "residual_pii_description", "residual_pii_outcome",
           "row_count_description", "row_count_outcome", "unique_description", "unique_outcome"]
__all__ += ["identifier_leakage_description", "identifier_leakage_outcome", "identifier_leakage_threshold",
            "label_leakage_description", "label_leakage_outcome", "label_leakage_threshold", "unique_row_share_outcome",
            "unique_rows_description"]  # feature leakage
