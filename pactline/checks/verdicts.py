"""One pure function per gate rule: the numbers a check measured and the agreement's threshold in, a Verdict out.

Each rule's pass condition and observed value are decided here and nowhere else. The GX expectations
(expectations.bias, expectations.privacy) call these functions from their `_validate`, so a one-file
dataset's gates are validated, documented and reported by GX; the partitioned pipeline calls the same
functions on its summed per-partition aggregates (through pactline.checks.outcomes). The same numbers give
the same verdict on both paths.

    passing_share(considered, unexpected) -> float       GX's share of the considered rows that pass (map rules)
    row_count(rows, min, max)                            min <= rows <= max, inclusive, None = unbounded
    row_count_bounds(min, max) -> (int | None, int | None)  the agreement's bounds as whole rows
    unique(element_count, duplicated_rows, mostly)       share of non-null rows whose value occurs once >= mostly
    group_share(metrics, min_share, raw_groups=())       smallest group share >= min_share, counting every raw group
    disparate_impact(metrics, min_ratio)                 lowest positive rate / highest >= min_ratio
    parity_difference(metrics, max_difference)           highest positive rate - lowest <= max_difference
    drift(raw, released, max_drift)                      no share, rate, DI or parity difference moved > max_drift
    k_anonymity(min_class_size, k)                       smallest equivalence class >= k
    l_diversity(min_distinct, l)                         fewest distinct sensitive values in a class >= l
    reidentification_risk(risk, max_risk)                a re-identification risk measure <= max_risk
    suppressed_rate(suppressed, rows, max_rate)          share of rows suppression removes <= max_rate
    groups_kept(before, after, max_drift)                no protected group vanishes or loses > max_drift of share
    pii_rate(rows_with_pii, rows_checked) -> float       the residual-PII rate
    residual_pii(rows_with_pii, rows_checked, max_rate)  residual-PII rate <= max_rate
    label_leakage(auc, nmi, max_auc, max_nmi)            a column alone predicts the label no better than agreed
    unique_row_share(unique_rows, rows, max_share)       share of rows unique on the identity columns <= max_share
    one_to_one(pairs, distinct_column, distinct_identifier, rows) -> bool  a column's values name the identifier
    identifier_leakage(findings, max_carried_rate)       a column maps onto no identifier, carries none beyond the rate

A measurement that could not be made (None) fails where the rule needs it (no group share, no disparate
impact, no parity difference, no row count) and passes where its absence means nothing is at risk (no
equivalence class: an empty release singles no one out). Nothing here imports GX.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pactline.checks.metrics import GroupMetrics
from pactline.checks.metrics import drift as drift_of


@dataclass(frozen=True)
class Verdict:
    """A rule's decision: whether it passed, the number compared with the threshold, and what the report shows
    about why (e.g. `below` for group shares, `exceeded` for drift). `details` is read-only."""

    success: bool
    observed: Any
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


# -- quality ---------------------------------------------------------------------------------


def passing_share(considered: int, unexpected: int) -> float:
    """The share of the considered (non-null) rows that pass a row-by-row rule, computed as GX computes the
    one it compares with `mostly`: (considered - unexpected) / considered; 1.0 when nothing was considered."""
    if not considered:
        return 1.0
    return (float(considered) - float(unexpected)) / float(considered)


def row_count_bounds(min_rows: float | None, max_rows: float | None) -> tuple[int | None, int | None]:
    """The agreement's row-count bounds as whole rows: a count is at least 100.5 exactly when it is at least
    101, at most 200.5 exactly when at most 200. GX's built-in expectation is given these."""
    lo = None if min_rows is None else math.ceil(min_rows)
    hi = None if max_rows is None else math.floor(max_rows)
    return lo, hi


def row_count(rows: int | None, min_rows: float | None, max_rows: float | None) -> Verdict:
    """GX's expect_table_row_count_to_be_between: min <= rows <= max, both inclusive, a None bound unbounded;
    no row count fails."""
    if rows is None:
        return Verdict(False, None)
    ok = (min_rows is None or rows >= min_rows) and (max_rows is None or rows <= max_rows)
    return Verdict(bool(ok), rows)


def unique(element_count: int, duplicated_rows: int, mostly: float = 1.0) -> Verdict:
    """GX's expect_column_values_to_be_unique: of the `element_count` non-null rows, those whose value occurs
    more than once (`duplicated_rows`, every occurrence) are unexpected; the share of the others is at least
    `mostly`. No non-null row passes (vacuously, as GX has it)."""
    share = passing_share(element_count, duplicated_rows)
    return Verdict(share >= mostly, share)


# -- bias ------------------------------------------------------------------------------------


def group_share(metrics: GroupMetrics, min_share: float, raw_groups: Iterable[str] = ()) -> Verdict:
    """Every group of the protected attribute holds at least `min_share` of the rows; no group (no rows) fails.
    Every group of the raw data (`raw_groups`) counts: one absent from the released rows holds a share of 0 and
    fails by name whatever the threshold (a protected group must never silently vanish from training data).
    details["below"]: the groups under the threshold (vanished ones included); details["vanished"]: the raw
    groups with no released row."""
    vanished = sorted(set(raw_groups) - set(metrics.groups))
    shares = {g: s.share for g, s in metrics.groups.items()} | dict.fromkeys(vanished, 0.0)
    observed = min(shares.values(), default=None)
    below = sorted(g for g, s in shares.items() if s < min_share or g in vanished)
    return Verdict(observed is not None and observed >= min_share and not vanished, observed,
                   {"below": below, "vanished": vanished})


def disparate_impact(metrics: GroupMetrics, min_ratio: float) -> Verdict:
    """Lowest group positive rate / highest is at least `min_ratio`; not computable (no label, no group large
    enough) fails."""
    observed = metrics.disparate_impact
    return Verdict(observed is not None and observed >= min_ratio, observed)


def parity_difference(metrics: GroupMetrics, max_difference: float) -> Verdict:
    """Highest group positive rate - lowest is at most `max_difference`; not computable fails."""
    observed = metrics.parity_difference
    return Verdict(observed is not None and observed <= max_difference, observed)


def drift(raw: GroupMetrics, released: GroupMetrics, max_drift: float) -> Verdict:
    """Each group's share and positive rate, the disparate impact and the parity difference moved from raw to
    released by at most `max_drift` (a number missing on either side is not compared). Observed: the largest
    move. details: `drift` (every move, see pactline.checks.metrics.drift) and `exceeded` (what moved too far)."""
    d = drift_of(raw, released)
    exceeded = [f"{kind} of {g}" for kind in ("share", "positive_rate") for g, v in d[kind].items() if v > max_drift]
    exceeded += [kind for kind in ("disparate_impact", "parity_difference")
                 if d[kind] is not None and d[kind] > max_drift]
    return Verdict(not exceeded, d["max"], {"drift": d, "exceeded": exceeded})


# -- privacy ---------------------------------------------------------------------------------


def k_anonymity(min_class_size: int | None, k: int) -> Verdict:
    """Every equivalence class of the quasi-identifiers has at least `k` rows; no class (an empty release)
    singles no one out and passes."""
    return Verdict(min_class_size is None or min_class_size >= k, min_class_size)


def l_diversity(min_distinct: int | None, l: int) -> Verdict:  # noqa: E741 - the standard name of the parameter
    """Every equivalence class holds at least `l` distinct sensitive values; no class (an empty release) passes."""
    return Verdict(min_distinct is None or min_distinct >= l, min_distinct)


def reidentification_risk(risk: float | None, max_risk: float) -> Verdict:
    """A re-identification risk measure (pactline.checks.risk: maximum prosecutor risk, share of records at risk,
    average prosecutor risk, marketer risk) is at most `max_risk`; not measured (an empty release) passes."""
    return Verdict(risk is None or risk <= max_risk, risk)


def suppressed_rate(suppressed: int, rows: int, max_rate: float) -> Verdict:
    """Suppression removes at most `max_rate` of the rows (observed: the share it removes; 0.0 of no rows)."""
    rate = suppressed / rows if rows else 0.0
    return Verdict(rate <= max_rate, rate)


def groups_kept(before: Mapping[str, int], after: Mapping[str, int], max_drift: float) -> Verdict:
    """Suppression keeps every group of a protected attribute (rows per group `before` and `after` it) and shrinks
    no group's share of the rows by more than `max_drift` (the bias check's). Observed: the largest share a group
    lost. details: `vanished` (groups with no row left), `shrunk` (groups that lost more than max_drift) and
    `lost` (every group's lost share)."""
    total_before, total_after = sum(before.values()), sum(after.values())
    lost: dict[str, float] = {}
    for group, n in before.items():
        if n <= 0:
            continue
        share_after = after.get(group, 0) / total_after if total_after else 0.0
        lost[group] = max(0.0, n / total_before - share_after)
    vanished = sorted(g for g in lost if after.get(g, 0) <= 0)
    shrunk = sorted(g for g, v in lost.items() if v > max_drift and g not in vanished)
    return Verdict(not vanished and not shrunk, max(lost.values(), default=0.0),
                   {"vanished": vanished, "shrunk": shrunk, "lost": dict(sorted(lost.items()))})


def pii_rate(rows_with_pii: int, rows_checked: int) -> float:
    """Share of the checked (non-null) values in which PII was still found; 0.0 when none was checked."""
    return rows_with_pii / rows_checked if rows_checked else 0.0


def residual_pii(rows_with_pii: int, rows_checked: int, max_rate: float) -> Verdict:
    """The residual-PII rate of a column is at most `max_rate`."""
    rate = pii_rate(rows_with_pii, rows_checked)
    return Verdict(rate <= max_rate, rate)



# -- feature leakage (privacy.feature_leakage; the scores and counts: pactline.checks.leakage) ---------------


def label_leakage(auc: float | None, nmi: float | None, max_auc: float | None, max_nmi: float | None) -> Verdict:
    """A released column predicts the label on its own no better than agreed: single-feature AUC <= `max_auc`
    and normalised mutual information <= `max_nmi`. A threshold of None is not agreed; a score that could not be
    measured (no binary label, no labelled row) is not compared: there is nothing to leak. Observed: the AUC when
    measured, else the NMI. details: both scores and `exceeded` (the scores above their threshold)."""
    exceeded = [name for name, score, limit in (("single_feature_auc", auc, max_auc),
                                                 ("normalised_mutual_information", nmi, max_nmi))
                if score is not None and limit is not None and score > limit]
    return Verdict(not exceeded, auc if auc is not None else nmi,
                   {"single_feature_auc": auc, "normalised_mutual_information": nmi, "exceeded": exceeded})


def unique_row_share(unique_rows: int, rows: int, max_share: float) -> Verdict:
    """The share of rows whose combination of identity columns no other row shares is at most `max_share`
    (0.0 of no rows: an empty release singles no one out)."""
    share = unique_rows / rows if rows else 0.0
    return Verdict(share <= max_share, share)


def one_to_one(pairs: int, distinct_column: int, distinct_identifier: int, rows: int) -> bool:
    """A column maps one-to-one onto an identifier over `rows` rows: each value goes with one identifier and each
    identifier with one value (distinct pairs == distinct values == distinct identifiers), over at least two
    identifiers (with one person there is no one to tell apart) of which some has several rows. A column merely
    unique row by row maps one-to-one onto any identifier that is too: that is a row key (the unique-row share
    covers what singles rows out), not the identifier in disguise."""
    return 2 <= distinct_identifier < rows and pairs == distinct_column == distinct_identifier


def identifier_leakage(findings: Mapping[str, Mapping[str, Any]], max_carried_rate: float | None) -> Verdict:
    """A released column reconstructs no dropped or pseudonymised identifier. `findings`: identifier ->
    {"one_to_one": bool, "carried": rows holding their own identifier, "checked": rows looked at} (carried and
    checked absent when the column's values were not looked into). It fails when it maps one-to-one onto an
    identifier, or carries one in more than `max_carried_rate` of its rows (None: not agreed). Observed: the
    highest carried rate (0.0 when none was measured). details: `one_to_one_with`, `carried_in` (identifiers)."""
    rates = {name: f["carried"] / f["checked"] for name, f in findings.items() if f.get("checked")}
    mapped = sorted(name for name, f in findings.items() if f.get("one_to_one"))
    carried = sorted(name for name, rate in rates.items() if max_carried_rate is not None and rate > max_carried_rate)
    return Verdict(not mapped and not carried, max(rates.values(), default=0.0),
                   {"one_to_one_with": mapped, "carried_in": carried})

__all__ = ["Verdict", "disparate_impact", "drift", "group_share", "groups_kept", "k_anonymity", "l_diversity",
           "parity_difference", "passing_share", "pii_rate", "reidentification_risk", "residual_pii", "row_count",
           "row_count_bounds", "suppressed_rate", "unique"]
__all__ += ["identifier_leakage", "label_leakage", "one_to_one", "unique_row_share"]  # feature leakage
