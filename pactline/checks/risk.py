"""Re-identification risk of a released table, from the sizes of its equivalence classes.

An equivalence class is the set of released rows sharing every quasi-identifier value (nulls are a value of
their own). Only the class sizes count, so the one-file check (a GX metric over the released table) and the
partitioned one (the size histogram k_classes keeps of the classes suppression leaves) compute the same numbers
from the same histogram {size: number of classes of that size}. With n released rows in C classes and f_j the
size of the class of record j:

- prosecutor risk of record j = 1 / f_j. The attacker knows the target is in the release and knows the
  target's quasi-identifiers (El Emam & Dankar 2008, "Protecting privacy using k-anonymity"; ARX's
  "prosecutor attacker model").
- maximum prosecutor risk = max_j 1/f_j = 1 / min_j f_j (ARX: "highest risk"). k-anonymity with k bounds it
  by 1/k.
- records at risk = |{j : 1/f_j > t}| / n, the share of records whose prosecutor risk is above the agreed
  threshold t (ARX: "records at risk"; strictly above, so a class of exactly 1/t rows is not at risk).
- average prosecutor risk = (1/n) * sum_j 1/f_j = C / n (each class of f rows adds f * 1/f = 1; ARX:
  "average prosecutor risk", El Emam's "average risk").
- marketer risk = the expected share of records an attacker who links every record of the release
  re-identifies. With the release taken as the population (the sample is the population: the attacker holds
  an identified table of exactly these people) it is sum over classes of 1 / f * f / n = C / n, equal to the
  average prosecutor risk (El Emam 2013, "Guide to the De-Identification of Personal Health Information",
  ch. 14; ARX's marketer risk in the "sample is population" setting).
- journalist risk (the attacker does not know whether the target is in the release) needs the size of each
  class in the population the release was drawn from (a population table or a population model such as
  ARX's Pitman / Zayatz / SNB estimators). Pactline has no population table, so it is NOT computed; the
  prosecutor risk is an upper bound of it.

An empty release has no class and no record at risk: every measure is None, and the verdicts pass it (it
singles no one out), as k-anonymity does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MEASURES = ("max_prosecutor_risk", "records_at_risk", "average_prosecutor_risk", "marketer_risk")


@dataclass(frozen=True)
class ReidentificationRisk:
    """The measures of one release (see the module docstring), with the counts they come from."""

    rows: int
    classes: int
    min_class_size: int | None
    risk_threshold: float
    rows_at_risk: int  # records whose prosecutor risk is above risk_threshold
    max_prosecutor_risk: float | None
    records_at_risk: float | None  # rows_at_risk / rows
    average_prosecutor_risk: float | None
    marketer_risk: float | None

    def measure(self, name: str) -> float | None:
        if name not in MEASURES:
            raise ValueError(f"unknown re-identification measure {name!r}; known: {', '.join(MEASURES)}")
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "journalist_risk": "not computed: it needs a population table"}


def at_risk(size: int, risk_threshold: float) -> bool:
    """Whether the records of a class of `size` rows are at risk: prosecutor risk 1/size above the threshold."""
    return 1.0 / size > risk_threshold


def reidentification_risk(class_sizes: Mapping[Any, int], risk_threshold: float) -> ReidentificationRisk:
    """The measures from a histogram {class size: number of classes of that size} (keys may be text, as
    pactline.protect.suppression.size_histogram writes them)."""
    sizes = {int(size): int(count) for size, count in class_sizes.items() if int(count) > 0}
    if any(size < 1 for size in sizes):
        raise ValueError("an equivalence class has at least one row")
    rows = sum(size * count for size, count in sizes.items())
    classes = sum(sizes.values())
    if not rows:
        return ReidentificationRisk(0, 0, None, risk_threshold, 0, None, None, None, None)
    smallest = min(sizes)
    risky = sum(size * count for size, count in sizes.items() if at_risk(size, risk_threshold))
    average = classes / rows
    return ReidentificationRisk(rows, classes, smallest, risk_threshold, risky, 1.0 / smallest, risky / rows,
                                average, average)


__all__ = ["MEASURES", "ReidentificationRisk", "at_risk", "reidentification_risk"]
