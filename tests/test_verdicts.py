"""One verdict function per gate rule (pactline.checks.verdicts): each at and around its threshold; the GX
expectations agree with it on the same data; the whole-dataset outcomes the partitioned pipeline builds from
summed aggregates (pactline.checks.outcomes) read like the GX ones; and a partitioned run decides every gate as
the one-file run of the same rows does."""

from __future__ import annotations

import json
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pytest
from great_expectations import expectations as gxe

from expectations import (
    ExpectColumnValuesToHaveNoResidualPii,
    ExpectDisparateImpactToBeAtLeast,
    ExpectGroupMetricsToNotDrift,
    ExpectGroupSharesToBeAtLeast,
    ExpectParityDifferenceToBeAtMost,
    ExpectQuasiIdentifiersToBeKAnonymous,
    ExpectSensitiveColumnToBeLDiverse,
)
from expectations.privacy import equivalence_classes
from expectations.suites import rule_expectation
from pactline.agreement import load_agreement
from pactline.agreement.model import QualityRule
from pactline.checks import check_bias, check_privacy, check_quality, outcomes, verdicts
from pactline.checks.metrics import GroupMetrics, group_metrics
from pactline.checks.runner import run_suite
from pactline.partition import ClassCounts, GroupCounts, SensitiveValues

AGREEMENTS = Path(__file__).resolve().parent.parent / "include" / "agreements"


def validate(frame: pd.DataFrame, *expectations):
    suite = gx.ExpectationSuite(name="test.verdicts", expectations=list(expectations))
    return run_suite(frame, suite, kind="test", agreement_id="test", dataset_id="d")


def rates(a: tuple[int, int], b: tuple[int, int], label=(True, False)) -> pd.DataFrame:
    """Group A: a[0] positives of a[1] rows; group B likewise."""
    pos, neg = label
    rows = []
    for name, (p, n) in (("A", a), ("B", b)):
        rows += [(name, pos)] * p + [(name, neg)] * (n - p)
    return pd.DataFrame(rows, columns=["group", "label"])


def summed_metrics(frame: pd.DataFrame, attribute: str, label: str | None, positive=True, min_group_size: int = 1,
                   parts: int = 3) -> GroupMetrics:
    """GroupMetrics as the partitioned pipeline gets them: per-part counts, summed."""
    total = GroupCounts(attribute, label, positive)
    size = -(-len(frame) // parts)
    for i in range(parts):
        piece = GroupCounts(attribute, label, positive)
        piece.add(pa.Table.from_pandas(frame.iloc[i * size:(i + 1) * size], preserve_index=False))
        total.merge(piece)
    return total.metrics(min_group_size)


# -- (a) each verdict at and around its threshold ----------------------------------------------


def test_a_verdict_is_frozen_and_its_details_read_only():
    v = verdicts.group_share(group_metrics(rates((1, 4), (1, 6)), "group", "label"), 0.5)
    with pytest.raises(AttributeError):
        v.success = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        v.details["below"] = []  # type: ignore[index]
    assert v.details["below"] == ["A"]


def test_passing_share_is_the_share_gx_compares_with_mostly():
    assert verdicts.passing_share(10, 8) == 0.2  # 1 - 8/10 would be 0.19999999999999996
    assert verdicts.passing_share(0, 0) == 1.0
    assert verdicts.passing_share(4, 0) == 1.0 and verdicts.passing_share(4, 4) == 0.0


@pytest.mark.parametrize(("rows", "lo", "hi", "passed"), [
    (100, 100, None, True), (99, 100, None, False), (200, None, 200, True), (201, None, 200, False),
    (150, 100, 200, True), (100, 100, 100, True), (0, 0, None, True), (0, 1, None, False), (5, None, None, True),
    (None, 0, None, False),
])
def test_row_count(rows, lo, hi, passed):
    v = verdicts.row_count(rows, lo, hi)
    assert (v.success, v.observed) == (passed, rows)


def test_row_count_bounds_are_whole_rows():
    assert verdicts.row_count_bounds(100.0, None) == (100, None)
    assert verdicts.row_count_bounds(100.5, 200.5) == (101, 200)  # at least 100.5 rows is at least 101
    assert verdicts.row_count_bounds(None, 7.0) == (None, 7)
    for rows in (100, 101, 200, 201):
        lo, hi = verdicts.row_count_bounds(100.5, 200.5)
        assert verdicts.row_count(rows, lo, hi).success == verdicts.row_count(rows, 100.5, 200.5).success


@pytest.mark.parametrize(("elements", "duplicated", "mostly", "passed", "share"), [
    (10, 0, 1.0, True, 1.0), (10, 2, 1.0, False, 0.8), (10, 2, 0.8, True, 0.8), (10, 3, 0.8, False, 0.7),
    (10, 8, 0.2, True, 0.2), (10, 9, 0.1, True, 0.1), (10, 9, 0.11, False, 0.1), (0, 0, 1.0, True, 1.0),
])
def test_unique(elements, duplicated, mostly, passed, share):
    v = verdicts.unique(elements, duplicated, mostly)
    assert v.success is passed and v.observed == share


def test_group_share():
    m = group_metrics(rates((10, 40), (5, 60)), "group", "label")  # shares 0.4 and 0.6
    assert verdicts.group_share(m, 0.4).success and verdicts.group_share(m, 0.4).observed == pytest.approx(0.4)
    below = verdicts.group_share(m, 0.41)
    assert not below.success and below.details["below"] == ["A"]
    assert verdicts.group_share(m, 0.0).details["below"] == []
    empty = group_metrics(rates((0, 0), (0, 0)), "group", "label")
    assert empty.min_share is None
    v = verdicts.group_share(empty, 0.0)  # no group at all: nothing to show representation, it fails
    assert not v.success and v.observed is None


def test_group_share_counts_every_raw_group():
    """A group of the raw data with no released row holds a share of 0 and fails by name, whatever min_share."""
    m = group_metrics(rates((10, 40), (5, 60)), "group", "label")
    assert verdicts.group_share(m, 0.4, ["A", "B"]).success  # every raw group present: as before
    v = verdicts.group_share(m, 0.0, ["A", "B", "C"])
    assert not v.success and v.observed == 0.0
    assert v.details == {"below": ["C"], "vanished": ["C"]}
    assert verdicts.group_share(m, 0.41, ["A", "B", "C"]).details["below"] == ["A", "C"]
    gx = validate(rates((10, 40), (5, 60)), ExpectGroupSharesToBeAtLeast(column="group", min_share=0.0,
                                                                          raw_groups=["A", "B", "C"]))
    (o,) = gx.results
    assert (o.success, o.observed, o.details["vanished"], o.details["below"]) == (False, 0.0, ["C"], ["C"])


@pytest.mark.parametrize(("suppressed", "rows", "max_rate", "passed"), [
    (5, 100, 0.05, True), (6, 100, 0.05, False), (0, 0, 0.0, True), (1, 1, 1.0, True)])
def test_suppressed_rate(suppressed, rows, max_rate, passed):
    v = verdicts.suppressed_rate(suppressed, rows, max_rate)
    assert v.success is passed and v.observed == (suppressed / rows if rows else 0.0)


def test_groups_kept():
    before = {"f": 45, "m": 45, "x": 10}
    # x loses 8 of 10 rows: share 0.10 -> 2/82; f and m grow
    v = verdicts.groups_kept(before, {"f": 40, "m": 40, "x": 2}, 0.05)
    assert not v.success and v.observed == pytest.approx(0.1 - 2 / 82)
    assert v.details["shrunk"] == ["x"] and v.details["vanished"] == []
    assert v.details["lost"]["f"] == 0.0  # a group that grew lost nothing
    assert verdicts.groups_kept(before, {"f": 40, "m": 40, "x": 2}, 0.1 - 2 / 82 + 1e-12).success
    gone = verdicts.groups_kept(before, {"f": 45, "m": 45}, 0.5)
    assert not gone.success and gone.details["vanished"] == ["x"] and gone.details["shrunk"] == []
    everything = verdicts.groups_kept(before, {}, 1.0)  # nothing left: every group vanished
    assert everything.details["vanished"] == ["f", "m", "x"]
    assert verdicts.groups_kept({}, {}, 0.0).success  # no rows, no group to lose


def test_disparate_impact_and_parity_difference():
    m = group_metrics(rates((4, 20), (2, 20)), "group", "label")  # rates 0.2 and 0.1: DI 0.5, parity 0.1
    assert m.disparate_impact == 0.5 and m.parity_difference == pytest.approx(0.1)
    assert verdicts.disparate_impact(m, 0.5).success and not verdicts.disparate_impact(m, 0.51).success
    assert verdicts.parity_difference(m, m.parity_difference).success
    assert not verdicts.parity_difference(m, 0.09).success
    unlabelled = group_metrics(rates((0, 20), (0, 20)), "group", None)
    assert unlabelled.disparate_impact is None and unlabelled.parity_difference is None
    # not computable (no label, or no group with min_group_size labelled rows) fails, whatever the threshold
    assert verdicts.disparate_impact(unlabelled, 0.0) == verdicts.Verdict(False, None)
    assert verdicts.parity_difference(unlabelled, 1.0) == verdicts.Verdict(False, None)
    small = group_metrics(rates((4, 20), (2, 20)), "group", "label", min_group_size=50)
    assert not verdicts.disparate_impact(small, 0.0).success and not verdicts.parity_difference(small, 1.0).success


def test_drift():
    raw = group_metrics(rates((10, 40), (5, 60)), "group", "label")
    released = group_metrics(rates((10, 40), (12, 60)), "group", "label")  # B: 5/60 -> 12/60
    v = verdicts.drift(raw, released, 0.2)
    moved = v.details["drift"]
    assert moved["positive_rate"]["B"] == pytest.approx(7 / 60) and v.observed == moved["max"]
    assert v.observed == pytest.approx((12 / 60) / (10 / 40) - (5 / 60) / (10 / 40))  # DI moved most
    assert not v.success and v.details["exceeded"] == ["disparate_impact"]
    assert verdicts.drift(raw, released, v.observed).success  # a move of exactly max_drift is allowed
    tight = verdicts.drift(raw, released, 0.1)
    assert tight.details["exceeded"] == ["positive_rate of B", "disparate_impact", "parity_difference"]
    same = verdicts.drift(raw, raw, 0.0)
    assert same.success and same.observed == 0.0 and same.details["exceeded"] == []
    # a number missing on one side (no label on the released data) is not compared
    unlabelled = group_metrics(rates((10, 40), (5, 60)), "group", None)
    v = verdicts.drift(raw, unlabelled, 0.0)
    assert v.success and v.details["drift"]["disparate_impact"] is None


@pytest.mark.parametrize(("smallest", "threshold", "passed"), [
    (None, 2, True), (2, 2, True), (1, 2, False), (5, 5, True), (4, 5, False)])
def test_k_anonymity_and_l_diversity(smallest, threshold, passed):
    for verdict in (verdicts.k_anonymity(smallest, threshold), verdicts.l_diversity(smallest, threshold)):
        assert verdict.success is passed and verdict.observed == smallest


@pytest.mark.parametrize(("found", "checked", "max_rate", "passed", "rate"), [
    (0, 100, 0.0, True, 0.0), (1, 100, 0.0, False, 0.01), (1, 100, 0.01, True, 0.01), (2, 100, 0.01, False, 0.02),
    (0, 0, 0.0, True, 0.0)])
def test_residual_pii(found, checked, max_rate, passed, rate):
    v = verdicts.residual_pii(found, checked, max_rate)
    assert v.success is passed and v.observed == rate == verdicts.pii_rate(found, checked)


# -- (b) GX and the verdict agree on the same data -----------------------------------------------


def test_gx_row_count_agrees_with_the_verdict():
    frame = pd.DataFrame({"x": range(5)})
    bounds = [(5, None), (6, None), (None, 5), (None, 4), (5, 5), (0, 4), (4, 6), (0, None)]
    result = validate(frame, *[gxe.ExpectTableRowCountToBeBetween(min_value=lo, max_value=hi) for lo, hi in bounds])
    assert len(result.results) == len(bounds)
    for (lo, hi), o in zip(bounds, result.results, strict=True):
        v = verdicts.row_count(5, lo, hi)
        assert (o.success, o.observed) == (v.success, v.observed), (lo, hi)
    # through the agreement's rule: a fractional bound is whole rows on both paths
    for lo, passed in ((4.5, True), (5.0, True), (5.5, False)):
        rule = QualityRule(dataset="d", rule="row_count", min=lo)
        (o,) = validate(frame, rule_expectation(rule, "quality_rules[0]")).results
        partitioned = outcomes.row_count_outcome(rule, "quality_rules[0]", 5, partitions=3)
        assert o.success is partitioned.success is passed
        assert o.threshold == partitioned.threshold and o.description == partitioned.description


@pytest.mark.parametrize("mostly", [1.0, 0.8, 0.2, 0.21, 0.1])
def test_gx_unique_agrees_with_the_verdict(mostly):
    # 10 non-null values, 8 of them in a duplicated value; nulls are not counted (GX ignores them)
    values = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "f", None, None]
    frame = pd.DataFrame({"id": values})
    (o,) = validate(frame, gxe.ExpectColumnValuesToBeUnique(column="id", mostly=mostly)).results
    counts = frame["id"].dropna().value_counts()
    v = verdicts.unique(int(counts.sum()), int(counts[counts > 1].sum()), mostly)
    assert (o.success, o.observed) == (v.success, v.observed) == (mostly <= 0.2, 0.2)
    rule = QualityRule(dataset="d", column="id", rule="unique", mostly=mostly)
    partitioned = outcomes.unique_outcome(rule, "quality_rules[0]", element_count=10, duplicated_rows=8,
                                          duplicated_values=4, partitions=3)
    assert (partitioned.success, partitioned.observed) == (o.success, o.observed)


BIAS_FRAMES = {
    "uneven": rates((10, 40), (5, 60)),
    "at thresholds": rates((4, 20), (2, 20)),  # DI exactly 0.5, parity difference 0.1
    "even": rates((6, 30), (6, 30)),
    "no positives": rates((0, 30), (0, 30)),
    "one group": rates((3, 30), (0, 0)),
}


@pytest.mark.parametrize("name", sorted(BIAS_FRAMES))
def test_gx_bias_expectations_agree_with_the_verdicts(name):
    frame = BIAS_FRAMES[name]
    common = {"column": "group", "label_column": "label", "positive": True}
    grid = [0.0, 0.1, 0.2, 1 / 3, 0.4, 0.5, 0.6, 0.8, 1.0]
    exps = ([ExpectGroupSharesToBeAtLeast(min_share=t, **common) for t in grid]
            + [ExpectDisparateImpactToBeAtLeast(min_ratio=t, **common) for t in grid]
            + [ExpectParityDifferenceToBeAtMost(max_difference=t, **common) for t in grid])
    result = validate(frame, *exps)
    whole = group_metrics(frame, "group", "label")
    summed = summed_metrics(frame, "group", "label")  # what the partitioned pipeline decides on
    decide = {"expect_group_shares_to_be_at_least": (verdicts.group_share, "min_share"),
              "expect_disparate_impact_to_be_at_least": (verdicts.disparate_impact, "min_ratio"),
              "expect_parity_difference_to_be_at_most": (verdicts.parity_difference, "max_difference")}
    assert len(result.results) == len(exps)
    for o in result.results:
        verdict, key = decide[o.expectation]
        for metrics in (whole, summed):
            v = verdict(metrics, o.threshold[key])
            assert o.success is v.success, (o.expectation, o.threshold, o.observed, v.observed)
            assert o.observed == pytest.approx(v.observed)
        if o.expectation == "expect_group_shares_to_be_at_least":
            assert o.details["below"] == verdicts.group_share(whole, o.threshold["min_share"]).details["below"]


@pytest.mark.parametrize("released", ["same", "moved", "unlabelled"])
def test_gx_drift_agrees_with_the_verdict(released):
    raw = rates((10, 40), (5, 60))
    table = {"same": raw, "moved": rates((10, 40), (12, 60)), "unlabelled": raw.assign(label=None)}[released]
    reference = group_metrics(raw, "group", "label").to_dict()
    grid = [0.0, 0.05, 0.1, 7 / 60, 0.2, 0.3, 1.0]
    result = validate(table, *[ExpectGroupMetricsToNotDrift(column="group", label_column="label", positive=True,
                                                            reference=reference, max_drift=t) for t in grid])
    for t, o in zip(grid, result.results, strict=True):
        for r, m in ((group_metrics(raw, "group", "label"), group_metrics(table, "group", "label")),
                     (summed_metrics(raw, "group", "label"), summed_metrics(table, "group", "label"))):
            v = verdicts.drift(r, m, t)
            assert o.success is v.success, (t, o.observed, v.observed)
            assert o.observed == pytest.approx(v.observed)
            assert o.details["exceeded"] == v.details["exceeded"]


def qi_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "birth_year": ["1960"] * 3 + ["1970"] * 3 + ["1980"] * 2 + [None] * 2,
        "sex": ["female"] * 3 + ["male"] * 3 + ["female"] * 2 + ["male", None],
        "diagnosis": ["I50.9", "J18.9", "I50.9", "C34.1", "C34.1", "C34.1", "K70.3", "E11.9", "J18.9", None],
    })


@pytest.mark.parametrize("rows", [10, 8, 0])
def test_gx_k_anonymity_and_l_diversity_agree_with_the_verdicts(rows):
    frame = qi_frame().iloc[:rows]
    qis = ["birth_year", "sex"]
    result = validate(frame, *[ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=qis, k=k) for k in (1, 2, 3, 4)],
                      *[ExpectSensitiveColumnToBeLDiverse(quasi_identifiers=qis, sensitive_column="diagnosis", l=lv)
                        for lv in (1, 2, 3)])
    found = equivalence_classes(frame, qis, sensitive_column="diagnosis")
    # the partitioned pipeline's aggregates over three parts of the same rows
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if rows == 0:
        table = pa.table({c: pa.array([], pa.string()) for c in frame.columns})
    sizes = ClassCounts(qis)
    for i in range(3):
        piece = ClassCounts(qis)
        piece.add(table.slice(i * 4, 4))
        sizes.merge(piece)
    summed_min_size = min(sizes.sizes.values(), default=None)
    for o in result.results:
        if o.expectation == "expect_quasi_identifiers_to_be_k_anonymous":
            k = o.threshold["k"]
            v = verdicts.k_anonymity(found["min_size"], k)
            assert (o.success, o.observed) == (v.success, v.observed)
            partitioned = outcomes.k_anonymity_outcome(k, qis, summed_min_size, classes=len(sizes.sizes),
                                                       suppressed=0)
            assert (partitioned.success, partitioned.observed) == (o.success, o.observed)
        else:
            lv = o.threshold["l"]
            v = verdicts.l_diversity(found.get("min_distinct"), lv)
            assert (o.success, o.observed) == (v.success, v.observed)
            distinct = SensitiveValues(qis, "diagnosis", lv)
            for i in range(3):
                piece = SensitiveValues(qis, "diagnosis", lv)
                piece.add(table.slice(i * 4, 4))
                distinct.merge(piece)
            partitioned = outcomes.l_diversity_outcome(lv, "diagnosis", qis, distinct.summary())
            assert partitioned.success is o.success
            # the partitioned aggregate keeps at most l values per class: its observed value is capped at l
            assert partitioned.observed == (None if o.observed is None else min(o.observed, lv))
    if rows:  # nulls are a class of their own on both paths: 5 classes at 10 rows
        assert found["min_size"] == summed_min_size and found["classes"] == len(sizes.sizes)


def test_gx_residual_pii_agrees_with_the_verdict():
    notes = ["no personal data here", "write to jan.jansen@example.com", "order 12 shipped", "call +31 6 12345678",
             None, "all fine"]
    frame = pd.DataFrame({"note": notes})
    grid = [0.0, 0.2, 0.4, 0.5, 1.0]
    result = validate(frame, *[ExpectColumnValuesToHaveNoResidualPii(column="note", max_rate=t) for t in grid])
    for t, o in zip(grid, result.results, strict=True):
        v = verdicts.residual_pii(o.details["rows_with_pii"], o.details["rows_checked"], t)
        assert (o.success, o.observed) == (v.success, v.observed)
    assert result.results[0].details["rows_checked"] == 5 and result.results[0].observed == pytest.approx(0.4)
    assert [o.success for o in result.results] == [False, False, True, True, True]


# -- the partitioned outcomes read like GX's ---------------------------------------------------


@pytest.fixture(scope="module")
def fraud():
    return load_agreement(AGREEMENTS / "fraud.yaml")


def comparable(o) -> tuple:
    return (o.expectation, o.columns, o.threshold, o.success, o.clause, o.description.replace(outcomes.OVER_ALL, ""))


def transactions(b_positives: int, n: int = 60) -> pa.Table:
    """gender A: 10 of 40 fraud; gender B: b_positives of n."""
    return pa.table({"gender": ["A"] * 40 + ["B"] * n,
                     "is_fraud": [True] * 10 + [False] * 30 + [True] * b_positives + [False] * (n - b_positives)})


@pytest.mark.parametrize(("raw_b", "released_b"), [(5, 5), (14, 10), (14, 14)])
def test_bias_outcomes_match_the_gx_suite(fraud, raw_b, released_b):
    raw, released = transactions(raw_b), transactions(released_b)
    gx_result = check_bias(raw, released, fraud, "transactions")
    (j, b), = [(j, b) for j, b in enumerate(fraud.agreement.bias_checks) if b.dataset == "transactions"]
    ours = outcomes.bias_outcomes(b, "gender", summed_metrics(raw.to_pandas(), "gender", "is_fraud", True,
                                                              b.min_group_size),
                                  summed_metrics(released.to_pandas(), "gender", "is_fraud", True, b.min_group_size),
                                  f"bias_checks[{j}]")
    assert [comparable(o) for o in ours] == [comparable(o) for o in gx_result.results]
    for mine, theirs in zip(ours, gx_result.results, strict=True):
        assert mine.observed == pytest.approx(theirs.observed)
        for key in ("below", "exceeded"):  # the reasons the report shows, on both paths
            assert mine.details.get(key) == theirs.details.get(key)
    json.dumps([o.__dict__ for o in ours])  # plain JSON, as results are written


def test_quality_and_privacy_outcomes_match_the_gx_suites(fraud):
    n = 120
    table = pa.table({"transaction_id": [f"T{i % 110:04d}" for i in range(n)],
                      "age": [f"{20 + 10 * (i % 4)}-{29 + 10 * (i % 4)}" for i in range(n)],
                      "gender": ["F" if i % 3 else "M" for i in range(n)]})
    gx_quality = {o.clause: o for o in check_quality(table, fraud, "transactions").results}
    for j, rule in enumerate(fraud.agreement.quality_rules):
        where = f"quality_rules[{j}]"
        if rule.dataset != "transactions" or rule.rule not in ("row_count", "unique"):
            continue
        if rule.rule == "row_count":
            mine = outcomes.row_count_outcome(rule, where, n, partitions=3)
        else:
            mine = outcomes.unique_outcome(rule, where, element_count=n, duplicated_rows=20, duplicated_values=10,
                                           partitions=3)
        assert comparable(mine) == comparable(gx_quality[where]) and mine.observed == gx_quality[where].observed
    kanon = fraud.agreement.privacy.k_anonymity
    gx_k = next(o for o in check_privacy(table, fraud, "transactions").results
                if o.expectation == "expect_quasi_identifiers_to_be_k_anonymous")
    mine = outcomes.k_anonymity_outcome(kanon.k, ["age", "gender"], 10, classes=12, suppressed=0)
    assert comparable(mine) == comparable(gx_k) and mine.observed == gx_k.observed


def test_unique_outcome_counts_nulls_as_gx_does_when_told_them():
    rule = QualityRule(dataset="d", column="id", rule="unique")
    frame = pd.DataFrame({"id": ["a", "a", "b", None, None]})
    (gx_outcome,) = validate(frame, rule_expectation(rule, "quality_rules[0]")).results
    told = outcomes.unique_outcome(rule, "quality_rules[0]", element_count=3, duplicated_rows=2, duplicated_values=1,
                                   partitions=2, missing_count=2)
    for key in ("element_count", "unexpected_count", "missing_count"):
        assert told.details[key] == gx_outcome.details[key], key
    assert (told.observed, told.success) == (gx_outcome.observed, gx_outcome.success) == (1 / 3, False)
    untold = outcomes.unique_outcome(rule, "quality_rules[0]", element_count=3, duplicated_rows=2,
                                     duplicated_values=1, partitions=2)
    assert untold.details["element_count"] == 3 and "missing_count" not in untold.details
    assert (untold.observed, untold.success) == (told.observed, told.success)


def test_residual_pii_outcome_decides_on_the_summed_counts():
    """Two partitions over the rate on their own (2/100 and 3/100) and one clean: 5/300 passes 0.02 as the one-file
    check of the same 300 rows would, and fails 0.01."""
    o = outcomes.residual_pii_outcome("notes", 0.02, rows_with_pii=5, rows_checked=300, partitions=3)
    assert (o.expectation, o.columns, o.success, o.clause) == (
        "expect_column_values_to_have_no_residual_pii", ["notes"], True, "privacy.max_residual_pii_rate")
    assert o.observed == pytest.approx(5 / 300) and o.threshold == {"max_rate": 0.02}
    assert o.details == {"rows_checked": 300, "rows_with_pii": 5, "partitions": 3}
    assert not outcomes.residual_pii_outcome("notes", 0.01, rows_with_pii=5, rows_checked=300, partitions=3).success


# -- (c) one file and three partitions decide every gate alike ---------------------------------


NINE = ("expect_table_row_count_to_be_between", "expect_column_values_to_be_unique",
        "expect_group_shares_to_be_at_least", "expect_disparate_impact_to_be_at_least",
        "expect_parity_difference_to_be_at_most", "expect_group_metrics_to_not_drift",
        "expect_quasi_identifiers_to_be_k_anonymous", "expect_sensitive_column_to_be_l_diverse",
        "expect_column_values_to_have_no_residual_pii")
RISK = "expect_reidentification_risk_to_be_at_most"
# loose enough for the sample transactions to pass (k=2 makes the highest risk exactly 0.5), so the run goes on
REIDENTIFICATION = ("{risk_threshold: 0.2, max_prosecutor_risk: 0.5, max_records_at_risk: 0.05, max_average_risk: 0.1, "
                    "max_marketer_risk: 0.1}")


def gate_results(agreement_id: str, run_id: str) -> dict[str, list[dict]]:
    """The transactions gates' results of one run: {kind: outcomes}, and the partitions' own under
    "partitions/<kind>"."""
    from pactline.store import DataRoot
    from pactline.store.layout import reports

    root = DataRoot()
    base = reports(agreement_id, "transactions", run_id, "checks")
    out: dict[str, list[dict]] = {}
    for kind in ("quality", "privacy", "bias"):
        if root.exists(f"{base}/result_{kind}.json"):
            out[kind] = root.read_json(f"{base}/result_{kind}.json")["results"]
    if root.exists(f"{base}/partitions"):
        for part in sorted(root.ls(f"{base}/partitions")):
            for kind in ("quality", "privacy"):
                rel = f"{base}/partitions/{part}/result_{kind}.json"
                if root.exists(rel):
                    out.setdefault(f"partitions/{kind}", []).extend(root.read_json(rel)["results"])
    return out


@pytest.mark.slow
def test_one_file_and_three_partitions_decide_every_gate_alike(airflow_home, workspace, monkeypatch):
    from tests.conftest import PSEUDONYM_KEY, amend, partitioned_fraud, run_dag, split_csv

    monkeypatch.setenv("PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY", PSEUDONYM_KEY)
    data = workspace / "data" / "fraud"
    split_csv(data / "transactions.csv", data / "transactions_parts", 3)
    agreements = workspace / "agreements"

    def with_l_diversity(path: Path) -> Path:  # all nine whole-dataset gates, and the re-identification risks
        text = path.read_text()
        if "l_diversity:" not in text:
            text = text.replace("  k_anonymity: {k: 2, quasi_identifiers: [age, gender]}\n",
                                "  k_anonymity: {k: 2, quasi_identifiers: [age, gender]}\n"
                                "  l_diversity: {l: 2, sensitive_column: merchant_category}\n"
                                f"  reidentification: {REIDENTIFICATION}\n")
            amend(path, text)
        assert "l_diversity: {l: 2" in path.read_text() and "reidentification:" in path.read_text()
        return path

    one = with_l_diversity(partitioned_fraud(agreements, None))
    agreement_id = load_agreement(one).id
    single = run_dag(one)
    assert str(single.state).endswith("success"), single.state
    whole = gate_results(agreement_id, single.run_id)

    many = with_l_diversity(partitioned_fraud(agreements, "../data/fraud/transactions_parts/*.csv"))
    run = run_dag(many)
    assert str(run.state).endswith("success"), run.state
    parts = gate_results(agreement_id, run.run_id)

    def by_clause(results: list[dict], expectation: str) -> dict[tuple, dict]:
        return {(o["clause"], tuple(o["columns"])): o for o in results if o["expectation"] == expectation}

    differences: list[str] = []  # every disagreement at once, not just the first
    l_value = 2
    for kind, expectation in [("quality", NINE[0]), ("quality", NINE[1]), *[("bias", e) for e in NINE[2:6]],
                              ("privacy", NINE[6]), ("privacy", NINE[7]), ("privacy", NINE[8]), ("privacy", RISK)]:
        mine, theirs = by_clause(parts[kind], expectation), by_clause(whole[kind], expectation)
        if not mine or mine.keys() != theirs.keys():
            differences.append(f"{expectation}: partitioned {sorted(mine)} one-file {sorted(theirs)}")
        for key in mine.keys() & theirs.keys():
            o, t = mine[key], theirs[key]
            expected = t["observed"]
            if expectation == "expect_sensitive_column_to_be_l_diverse" and expected is not None:
                expected = min(expected, l_value)  # the partitions keep at most l values per class
            checks = {"success": (o["success"], t["success"]),
                      "threshold": (json.dumps(o["threshold"], sort_keys=True), json.dumps(t["threshold"], sort_keys=True)),
                      "description": (o["description"].replace(outcomes.OVER_ALL, ""), t["description"]),
                      "observed": (o["observed"], pytest.approx(expected, rel=1e-9, abs=1e-12)),
                      **{f"details.{d}": (o["details"].get(d), t["details"].get(d))
                         for d in ("below", "exceeded", "vanished",
                                   *(("rows", "classes", "rows_at_risk") if expectation == RISK else ()))}}
            differences += [f"{expectation} {key} {name}: partitioned {a!r} one-file {b!r}"
                            for name, (a, b) in checks.items() if a != b]
    # residual PII: each partition counted its own values (passing at any rate); combine decided on the sums
    for column_key in by_clause(whole["privacy"], NINE[8]):
        per_part = [o for o in parts["partitions/privacy"]
                    if o["expectation"] == NINE[8] and tuple(o["columns"]) == column_key[1]]
        if len(per_part) != 3 or not all(o["success"] and o["threshold"] == {"max_rate": 1.0} for o in per_part):
            differences.append(f"{NINE[8]} {column_key}: partitions {per_part}")
    # the four agreed re-identification maxima were measured on both paths (and compared above)
    assert {o["clause"] for o in whole["privacy"] if o["expectation"] == RISK} == {
        f"privacy.reidentification.{f}" for f in ("max_prosecutor_risk", "max_records_at_risk", "max_average_risk",
                                                  "max_marketer_risk")}
    assert not differences, "\n".join(differences)
