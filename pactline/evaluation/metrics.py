"""What a model's scores on the holdout measure: performance with scikit-learn, per-group rates with Fairlearn's
MetricFrame. Numbers only; whether they meet the agreement's targets is pactline.evaluation.verdicts'.

Scores are probabilities of the positive label in [0, 1]; a score at or above the decision threshold is a positive
decision. Groups of a protected attribute are the values of its protected column (a missing value is its own group,
MISSING); a group smaller than the agreed minimum size is reported but left out of the gaps and ratios.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MISSING = "(missing)"
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Performance:
    rows: int
    positives: int
    roc_auc: float | None  # None: the holdout holds only one class
    brier_score: float
    calibration_error: float
    precision_at_recall: float | None  # at the agreed recall; None when no recall target is agreed
    recall_target: float | None
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GroupRates:
    group: str
    rows: int
    base_rate: float | None  # share of positive labels in the group
    selection_rate: float | None
    tpr: float | None  # None: no positive label in the group
    fpr: float | None  # None: no negative label in the group
    gated: bool  # rows >= min_group_size


@dataclass(frozen=True)
class Fairness:
    attribute: str
    groups: tuple[GroupRates, ...]  # sorted by group, so a group's position (#1, #2, ...) is stable
    selection_rate_ratio: float | None  # lowest / highest selection rate of the gated groups
    tpr_gap: float | None
    fpr_gap: float | None
    equalized_odds_difference: float | None  # max(tpr_gap, fpr_gap)
    min_group_size: int

    def position(self, group: str) -> int:
        return next(i for i, g in enumerate(self.groups, 1) if g.group == group)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _float(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def calibration_error(y: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error over equal-width bins, binned as sklearn.calibration.calibration_curve bins."""
    from sklearn.calibration import calibration_curve

    prob_true, prob_pred = calibration_curve(y, scores, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], scores), minlength=bins)
    counts = counts[counts > 0]  # calibration_curve returns the non-empty bins only, in order
    return float(np.sum(counts / len(scores) * np.abs(prob_true - prob_pred)))


def precision_at_recall(y: np.ndarray, scores: np.ndarray, recall: float) -> float:
    """The highest precision at any threshold whose recall is at least `recall`."""
    from sklearn.metrics import precision_recall_curve

    precision, recalls, _ = precision_recall_curve(y, scores)
    return float(precision[recalls >= recall].max())


def performance(y: np.ndarray, scores: np.ndarray, threshold: float, recall_target: float | None) -> Performance:
    from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score

    both = 0 < int(y.sum()) < len(y)
    return Performance(
        rows=len(y), positives=int(y.sum()),
        roc_auc=float(roc_auc_score(y, scores)) if both else None,
        brier_score=float(brier_score_loss(y, scores)),
        calibration_error=calibration_error(y, scores),
        precision_at_recall=precision_at_recall(y, scores, recall_target) if recall_target and y.any() else None,
        recall_target=recall_target,
        accuracy=float(accuracy_score(y, scores >= threshold)),
    )


def _spread(values: list[float | None]) -> tuple[float | None, float | None]:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else (None, None)


def fairness(attribute: str, y: np.ndarray, decisions: np.ndarray, groups: np.ndarray,
             min_group_size: int) -> Fairness:
    """Per-group rates of the model's decisions (Fairlearn MetricFrame), and the gaps between the gated groups."""
    from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate

    def base_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean(y_true)) if len(y_true) else float("nan")

    labels = np.array([MISSING if g is None else str(g) for g in groups], dtype=object)
    with warnings.catch_warnings():  # a group without positives (or negatives) has no TPR (FPR): None below
        warnings.simplefilter("ignore")
        frame = MetricFrame(
            metrics={"rows": count, "base_rate": base_rate, "selection_rate": selection_rate,
                     "tpr": true_positive_rate, "fpr": false_positive_rate},
            y_true=y.astype(int), y_pred=decisions.astype(int), sensitive_features=labels)
        by_group = frame.by_group
    rows = []
    for group in sorted(by_group.index, key=str):
        r = by_group.loc[group]
        pos, neg = int(y[labels == group].sum()), int((~y[labels == group]).sum())
        rows.append(GroupRates(group=str(group), rows=int(r["rows"]), base_rate=_float(r["base_rate"]),
                               selection_rate=_float(r["selection_rate"]), tpr=_float(r["tpr"]) if pos else None,
                               fpr=_float(r["fpr"]) if neg else None, gated=int(r["rows"]) >= min_group_size))
    gated = [g for g in rows if g.gated]
    lo, hi = _spread([g.selection_rate for g in gated])
    ratio = None if hi is None or len(gated) < 2 else (1.0 if hi == 0 else lo / hi)
    gaps = []
    for name in ("tpr", "fpr"):
        known = [getattr(g, name) for g in gated if getattr(g, name) is not None]
        gaps.append(max(known) - min(known) if len(known) >= 2 else None)
    tpr_gap, fpr_gap = gaps
    eod = None if tpr_gap is None and fpr_gap is None else max(v for v in gaps if v is not None)
    return Fairness(attribute=attribute, groups=tuple(rows), selection_rate_ratio=ratio, tpr_gap=tpr_gap,
                    fpr_gap=fpr_gap, equalized_odds_difference=eod, min_group_size=min_group_size)


def label_rates(labels: list[Any], groups: list[Any], positive: Any) -> dict[str, float]:
    """Share of positive labels per group (MISSING for no group): the label's bias in a table of training rows."""
    counts: dict[str, list[int]] = {}
    for label, group in zip(labels, groups, strict=True):
        if label is None:
            continue
        c = counts.setdefault(MISSING if group is None else str(group), [0, 0])
        c[0] += label == positive
        c[1] += 1
    return {g: pos / n for g, (pos, n) in sorted(counts.items()) if n}
