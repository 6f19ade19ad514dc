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
    group_share(metrics, min_share)                      smallest group share >= min_share
    disparate_impact(metrics, min_ratio)                 lowest positive rate / highest >= min_ratio
    parity_difference(metrics, max_difference)           highest positive rate - lowest <= max_difference
    drift(raw, released, max_drift)                      no share, rate, DI or parity difference moved > max_drift
    k_anonymity(min_class_size, k)                       smallest equivalence class >= k
    l_diversity(min_distinct, l)                         fewest distinct sensitive values in a class >= l
    pii_rate(rows_with_pii, rows_checked) -> float       the residual-PII rate
    residual_pii(rows_with_pii, rows_checked, max_rate)  residual-PII rate <= max_rate

A measurement that could not be made (None) fails where the rule needs it (no group share, no disparate
impact, no parity difference, no row count) and passes where its absence means nothing is at risk (no
equivalence class: an empty release singles no one out). Nothing here imports GX.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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


def group_share(metrics: GroupMetrics, min_share: float) -> Verdict:
    """Every group of the protected attribute holds at least `min_share` of the rows; no group (no rows) fails.
    details["below"]: the groups under the threshold."""
    observed = metrics.min_share
    below = sorted(g for g, s in metrics.groups.items() if s.share < min_share)
    return Verdict(observed is not None and observed >= min_share, observed, {"below": below})


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


def pii_rate(rows_with_pii: int, rows_checked: int) -> float:
    """Share of the checked (non-null) values in which PII was still found; 0.0 when none was checked."""
    return rows_with_pii / rows_checked if rows_checked else 0.0


def residual_pii(rows_with_pii: int, rows_checked: int, max_rate: float) -> Verdict:
    """The residual-PII rate of a column is at most `max_rate`."""
    rate = pii_rate(rows_with_pii, rows_checked)
    return Verdict(rate <= max_rate, rate)


__all__ = ["Verdict", "disparate_impact", "drift", "group_share", "k_anonymity", "l_diversity", "parity_difference",
           "passing_share", "pii_rate", "residual_pii", "row_count", "row_count_bounds", "unique"]
