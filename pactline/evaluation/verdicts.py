"""Whether a model's holdout metrics meet the agreement's model_evaluation targets: one function per rule, in the
style of pactline.checks.verdicts (a Verdict out), and `judge`, which applies every agreed target and says for each
which clause it is, what was measured and, for a fairness rule, which groups sit at either end of the gap.

A measurement that could not be made (no ROC AUC on a one-class holdout, fewer than two gated groups) fails: a
model is promoted on evidence, not on its absence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pactline.agreement.model import ModelEvaluation
from pactline.checks.verdicts import Verdict
from pactline.evaluation.metrics import Fairness, GroupRates, Performance


def at_least(observed: float | None, minimum: float) -> Verdict:
    return Verdict(observed is not None and observed >= minimum, observed)


def at_most(observed: float | None, maximum: float) -> Verdict:
    return Verdict(observed is not None and observed <= maximum, observed)


@dataclass(frozen=True)
class Outcome:
    rule: str  # the agreement's field, e.g. min_roc_auc, max_tpr_gap
    clause: str  # where it is agreed, e.g. model_evaluation[0].fairness[1].max_tpr_gap
    observed: float | None
    threshold: float
    passed: bool
    attribute: str | None = None  # fairness rules: the protected attribute
    # fairness rules: the gated groups at either end, as (position among the attribute's groups, group)
    lowest: tuple[int, str] | None = None
    highest: tuple[int, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """For the ledger and messages: groups by position only (a group is a value of partner data)."""
        out = {k: v for k, v in self.to_dict().items() if k not in ("lowest", "highest")}
        for end in ("lowest", "highest"):
            if getattr(self, end) is not None:
                out[f"{end}_group"] = getattr(self, end)[0]
        return out

    def describe(self, *, with_groups: bool = False) -> str:
        """One line: the rule, its clause, observed vs threshold; groups by position (or named, for the report)."""
        seen = "not measurable" if self.observed is None else f"{self.observed:.4g}"
        op = ">=" if self.rule.startswith("min_") else "<="
        text = f"{self.clause}: {self.rule} {seen} (needs {op} {self.threshold:g})"
        if self.attribute is not None and self.lowest and self.highest:
            name = (lambda g: f"#{g[0]} {g[1]!r}") if with_groups else (lambda g: f"#{g[0]}")
            text += f"; {self.attribute} groups {name(self.lowest)} (lowest) and {name(self.highest)} (highest)"
        return text


def _ends(fair: Fairness, rate: str) -> tuple[tuple[int, str] | None, tuple[int, str] | None]:
    known = [g for g in fair.groups if g.gated and getattr(g, rate) is not None]
    if not known:
        return None, None

    def key(g: GroupRates) -> float:
        return getattr(g, rate)

    lo, hi = min(known, key=key), max(known, key=key)
    return (fair.position(lo.group), lo.group), (fair.position(hi.group), hi.group)


def judge(m: ModelEvaluation, index: int, perf: Performance, fairness: list[Fairness]) -> list[Outcome]:
    """Every agreed target of model_evaluation[index] against the measurements."""
    where = f"model_evaluation[{index}]"
    out: list[Outcome] = []
    p = m.performance
    for rule, observed, threshold in (("min_roc_auc", perf.roc_auc, p.min_roc_auc),
                                      ("max_brier_score", perf.brier_score, p.max_brier_score),
                                      ("max_calibration_error", perf.calibration_error, p.max_calibration_error)):
        if threshold is not None:
            v = at_least(observed, threshold) if rule.startswith("min_") else at_most(observed, threshold)
            out.append(Outcome(rule, f"{where}.performance.{rule}", observed, threshold, v.success))
    if p.precision_at_recall is not None:
        v = at_least(perf.precision_at_recall, p.precision_at_recall.min_precision)
        out.append(Outcome("min_precision", f"{where}.performance.precision_at_recall.min_precision",
                           perf.precision_at_recall, p.precision_at_recall.min_precision, v.success))
    by_attribute = {f.attribute: f for f in fairness}
    for j, f in enumerate(m.fairness):
        fair = by_attribute[f.protected_attribute]
        clause = f"{where}.fairness[{j}]"
        for rule, observed, threshold, rate in (
                ("min_selection_rate_ratio", fair.selection_rate_ratio, f.min_selection_rate_ratio, "selection_rate"),
                ("max_equalized_odds_difference", fair.equalized_odds_difference, f.max_equalized_odds_difference,
                 "tpr" if (fair.tpr_gap or 0) >= (fair.fpr_gap or 0) else "fpr"),
                ("max_tpr_gap", fair.tpr_gap, f.max_tpr_gap, "tpr"),
                ("max_fpr_gap", fair.fpr_gap, f.max_fpr_gap, "fpr")):
            if threshold is None:
                continue
            v = at_least(observed, threshold) if rule.startswith("min_") else at_most(observed, threshold)
            lo, hi = _ends(fair, rate)
            out.append(Outcome(rule, f"{clause}.{rule}", observed, threshold, v.success, f.protected_attribute, lo, hi))
    return out
