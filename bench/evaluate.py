"""The post-training audit's metric arithmetic against an independent computation, on a public dataset that ships
with scikit-learn (nothing is downloaded).

    python bench/evaluate.py [--repeat 20] [--threshold 0.5] [--recall 0.9] [--seed 0]

Data: scikit-learn's Wisconsin breast cancer dataset (`sklearn.datasets.load_breast_cancer`, 569 tumours, 30
features, label 1 = benign), read from the copy inside the scikit-learn package. It has no demographic column, so the
grouping column is documented and derived: `size_group` = "large" when a tumour's `mean area` is at or above the
dataset's median, else "small" (it is correlated with the label, so the groups' base rates differ, which exercises
every gap). A logistic regression is fitted on a seeded 60 % split; its probabilities on the other 40 % are the
"predictions" scored.

Pactline: pactline.evaluation.metrics (scikit-learn for ROC AUC, Brier score, calibration curve and precision-recall
curve; Fairlearn's MetricFrame for the per-group rates). Baseline, named: plain numpy written here from the
definitions (ROC AUC as the Mann-Whitney U statistic with ties counted half, Brier as the mean squared error,
expected calibration error over 10 equal-width bins, precision at recall from the sorted scores, and per-group
selection rate, TPR and FPR by boolean masks), run in the same process on the same arrays. Printed: every number
from both, whether each pair matches (to 1e-12), and both times with their ratio (the libraries' overhead).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pactline.evaluation import metrics

TOLERANCE = 1e-12


def data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ds = load_breast_cancer()
    area = ds.data[:, list(ds.feature_names).index("mean area")]
    groups = np.where(area >= np.median(area), "large", "small").astype(object)
    x_tr, x_te, y_tr, y_te, _, g_te = train_test_split(ds.data, ds.target, groups, test_size=0.4, random_state=seed,
                                                       stratify=ds.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_tr, y_tr)
    return y_te.astype(bool), model.predict_proba(x_te)[:, 1], g_te


# -- the baseline: plain numpy from the definitions ------------------------------------------------------------------

def auc_numpy(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y], s[~y]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def ece_numpy(y: np.ndarray, s: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(s, edges[1:-1], right=False), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.sum() / len(s) * abs(y[m].mean() - s[m].mean())
    return float(total)


def precision_at_recall_numpy(y: np.ndarray, s: np.ndarray, recall: float) -> float:
    best = 0.0
    for t in np.unique(s):
        pred = s >= t
        tp = (pred & y).sum()
        if tp / y.sum() >= recall:
            best = max(best, tp / pred.sum())
    return float(best)


def baseline(y: np.ndarray, s: np.ndarray, g: np.ndarray, threshold: float, recall: float) -> dict[str, float]:
    d = s >= threshold
    out = {"roc_auc": auc_numpy(y, s), "brier_score": float(np.mean((s - y) ** 2)),
           "calibration_error": ece_numpy(y, s), "precision_at_recall": precision_at_recall_numpy(y, s, recall),
           "accuracy": float(np.mean(d == y))}
    rates = {}
    for group in sorted(set(g)):
        m = g == group
        rates[group] = (d[m].mean(), d[m & y].mean(), d[m & ~y].mean())
    sel, tpr, fpr = (np.array([r[i] for r in rates.values()]) for i in range(3))
    out |= {f"selection_rate[{k}]": float(v[0]) for k, v in rates.items()}
    out |= {f"tpr[{k}]": float(v[1]) for k, v in rates.items()} | {f"fpr[{k}]": float(v[2]) for k, v in rates.items()}
    out |= {"selection_rate_ratio": float(sel.min() / sel.max()), "tpr_gap": float(tpr.max() - tpr.min()),
            "fpr_gap": float(fpr.max() - fpr.min()),
            "equalized_odds_difference": float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()))}
    return out


def pactline(y: np.ndarray, s: np.ndarray, g: np.ndarray, threshold: float, recall: float) -> dict[str, float]:
    perf = metrics.performance(y, s, threshold, recall)
    fair = metrics.fairness("size_group", y, s >= threshold, g, min_group_size=1)
    out = {k: getattr(perf, k) for k in ("roc_auc", "brier_score", "calibration_error", "precision_at_recall",
                                         "accuracy")}
    for r in fair.groups:
        out |= {f"selection_rate[{r.group}]": r.selection_rate, f"tpr[{r.group}]": r.tpr, f"fpr[{r.group}]": r.fpr}
    return out | {k: getattr(fair, k) for k in ("selection_rate_ratio", "tpr_gap", "fpr_gap",
                                                "equalized_odds_difference")}


def timed(fn, repeat: int, *args) -> tuple[dict[str, float], float]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--recall", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    y, s, g = data(args.seed)
    print(f"breast cancer holdout: {len(y)} rows, {int(y.sum())} positive; groups "
          + ", ".join(f"{k}={int((g == k).sum())}" for k in sorted(set(g))))
    ours, t_ours = timed(pactline, args.repeat, y, s, g, args.threshold, args.recall)
    base, t_base = timed(baseline, args.repeat, y, s, g, args.threshold, args.recall)
    mismatches = 0
    print(f"{'metric':<28} {'pactline':>20} {'numpy baseline':>20}  match")
    for key in base:
        a, b = ours[key], base[key]
        ok = a is not None and abs(a - b) <= TOLERANCE
        mismatches += not ok
        print(f"{key:<28} {a!r:>20} {b!r:>20}  {'yes' if ok else 'NO'}")
    print(f"time (best of {args.repeat}): pactline {t_ours * 1000:.2f} ms, numpy baseline {t_base * 1000:.2f} ms, "
          f"ratio {t_ours / t_base:.2f}x")
    print(f"{len(base) - mismatches}/{len(base)} metrics match" + ("" if not mismatches else f"; {mismatches} DIFFER"))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
