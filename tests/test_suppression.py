"""k-anonymity by record suppression, and the suppress step's bound."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pactline.checks.metrics import group_metrics
from pactline.protect.suppression import suppress_small_classes


def test_rows_of_small_classes_are_removed_and_order_kept():
    t = pa.table({"decade": ["1960s", "1960s", "1960s", "1970s", "1970s", None, None, None],
                  "region": ["2", "2", "2", "2", "2", "9", "9", "9"], "v": list(range(8))})
    out, report = suppress_small_classes(t, ["decade", "region", "not_a_column"], k=3)
    assert out["v"].to_pylist() == [0, 1, 2, 5, 6, 7]  # the null decade is a class of its own, of 3
    assert report.quasi_identifiers == ["decade", "region"]
    assert (report.suppressed, report.classes, report.classes_below_k) == (2, 3, 1)
    assert report.rate == pytest.approx(0.25)
    # sizes and counts only: the rarest classes' quasi-identifier values are the people most at risk
    assert report.class_sizes_below_k == {"2": 1}
    assert "1970s" not in str(report.to_dict())


def test_nothing_to_do_without_quasi_identifiers():
    t = pa.table({"x": [1, 2, 3]})
    out, report = suppress_small_classes(t, ["age"], k=5)
    assert out.equals(t) and report.suppressed == 0


def test_k_anonymous_after_suppression():
    ages = [f"[{10 * (i % 7)}, {10 * (i % 7) + 10})" for i in range(50)] + ["[90, 100)"]
    t = pa.table({"age": ages, "sex": ["f", "m"] * 25 + ["x"]})
    out, _ = suppress_small_classes(t, ["age", "sex"], k=3)
    counts = {}
    for row in zip(out["age"].to_pylist(), out["sex"].to_pylist(), strict=True):
        counts[row] = counts.get(row, 0) + 1
    assert min(counts.values()) >= 3 and ("[90, 100)", "x") not in counts


def test_tiny_groups_are_left_out_of_parity_numbers():
    # A: 10/40 positive, B: 5/60, C: 0/3 (too few rows to say anything about its rate)
    groups = ["A"] * 40 + ["B"] * 60 + ["C"] * 3
    labels = [i < 10 for i in range(40)] + [i < 5 for i in range(60)] + [False] * 3
    t = pa.table({"g": groups, "y": labels})
    m = group_metrics(t, "g", "y", True, min_group_size=20)
    assert m.small_groups == ["C"]
    assert m.disparate_impact == pytest.approx((5 / 60) / (10 / 40))
    assert m.parity_difference == pytest.approx(10 / 40 - 5 / 60)
    assert m.groups["C"].share == pytest.approx(3 / 103)  # still reported
    assert group_metrics(t, "g", "y", True).disparate_impact == 0.0  # without the floor C's 0/3 decides
