"""Re-identification risk (pactline.checks.risk): each measure against an independent per-record computation on a
public table (scikit-learn's diabetes study, 442 patients, shipped in the wheel) and on constructed edge cases; the
GX expectation (one file) and the outcome from summed partition counts (partitioned) give the same numbers."""

from __future__ import annotations

import math

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pytest

from expectations import ExpectReidentificationRiskToBeAtMost
from expectations.privacy import class_sizes
from expectations.suites import reidentification_expectations
from pactline.agreement.model import REIDENTIFICATION_LIMITS, Reidentification
from pactline.checks import outcomes, verdicts
from pactline.checks.risk import MEASURES, reidentification_risk
from pactline.checks.runner import run_suite
from pactline.protect.generalise import bands
from pactline.protect.suppression import ClassCounts, size_histogram


def validate(frame: pd.DataFrame, *expectations):
    suite = gx.ExpectationSuite(name="test.reidentification", expectations=list(expectations))
    return run_suite(frame, suite, kind="test", agreement_id="test", dataset_id="d")


def diabetes() -> pd.DataFrame:
    """Efron et al.'s diabetes patients as a release would hold them: age in 10-year bands and BMI in bands of 5
    by Pactline's own generalisation, sex as coded (1/2)."""
    from sklearn.datasets import load_diabetes

    from pactline.agreement.transformations import GeneraliseNumber

    d = load_diabetes(as_frame=True, scaled=False).frame
    return pd.DataFrame({
        "age": bands(pa.array(d["age"]), GeneraliseNumber(width=10)).to_pylist(),
        "sex": d["sex"].astype(int).astype(str),
        "bmi": bands(pa.array(d["bmi"]), GeneraliseNumber(width=5)).to_pylist(),
    })


def independent(df: pd.DataFrame, qis: list[str], threshold: float) -> dict[str, float]:
    """The four measures record by record, written apart from pactline.checks.risk: each record's risk is 1 / the
    number of records sharing its quasi-identifiers; marketer risk is the expected share of records matched
    correctly when every record of the release is linked to one of its class at random (sum over records of
    1/f_j over n, which is what the population-equals-release model gives)."""
    size = df.groupby(qis, dropna=False)[qis[0]].transform("size").astype(float)
    risk = 1.0 / size
    matched = sum(1.0 / f for f in size)  # each record is correctly linked with probability 1/f
    return {"max_prosecutor_risk": float(risk.max()), "records_at_risk": float((risk > threshold).mean()),
            "average_prosecutor_risk": float(risk.mean()), "marketer_risk": matched / len(df)}


def summed_histogram(df: pd.DataFrame, qis: list[str], parts: int = 3) -> dict[str, int]:
    """The class-size histogram as a partitioned dataset gets it: per-part ClassCounts, summed."""
    total = ClassCounts(qis)
    size = -(-len(df) // parts)
    for i in range(parts):
        piece = ClassCounts(qis)
        piece.add(pa.Table.from_pandas(df.iloc[i * size:(i + 1) * size], preserve_index=False))
        total.merge(piece)
    return size_histogram(total.sizes.values())


@pytest.mark.parametrize("qis", [["age", "sex"], ["age", "sex", "bmi"], ["bmi"]])
@pytest.mark.parametrize("threshold", [0.05, 0.2, 0.5])
def test_measures_match_an_independent_computation_on_a_public_table(qis, threshold):
    df = diabetes()
    expected = independent(df, qis, threshold)
    one_file = reidentification_risk(class_sizes(df, qis)["sizes"], threshold)  # what the GX metric gives
    partitioned = reidentification_risk(summed_histogram(df, qis), threshold)  # what k_classes gives combine
    for risk in (one_file, partitioned):
        assert risk.rows == 442
        for name in MEASURES:
            assert risk.measure(name) == pytest.approx(expected[name], rel=1e-12), name
    assert one_file == partitioned
    # the real table is not trivially safe or unsafe: someone is alone on all three, most are not
    if qis == ["age", "sex", "bmi"]:
        assert one_file.max_prosecutor_risk == 1.0 and 0 < one_file.records_at_risk < 1


def test_edge_cases():
    # an empty release singles no one out: nothing measured, every verdict passes
    empty = reidentification_risk({}, 0.2)
    assert (empty.rows, empty.classes, empty.max_prosecutor_risk, empty.records_at_risk) == (0, 0, None, None)
    assert verdicts.reidentification_risk(empty.average_prosecutor_risk, 0.0).success
    # every record unique: every measure at its worst
    unique = reidentification_risk({"1": 7}, 0.2)
    assert (unique.max_prosecutor_risk, unique.records_at_risk, unique.average_prosecutor_risk,
            unique.marketer_risk) == (1.0, 1.0, 1.0, 1.0)
    # one class of everyone: risk 1/n for all
    one = reidentification_risk({"40": 1}, 0.2)
    assert one.max_prosecutor_risk == one.average_prosecutor_risk == one.marketer_risk == 1 / 40
    assert one.records_at_risk == 0.0
    # "above" the threshold is strict: a class of exactly 1/t rows is not at risk, one row fewer is
    at = reidentification_risk({"5": 2, "4": 1}, 0.2)
    assert at.rows_at_risk == 4 and at.records_at_risk == pytest.approx(4 / 14)
    assert reidentification_risk({"5": 2}, 0.2).rows_at_risk == 0
    assert reidentification_risk({"5": 2}, 0.19).rows_at_risk == 10
    # text and integer keys read alike (the histogram survives a JSON round trip)
    assert reidentification_risk({3: 2, "1": 1}, 0.2) == reidentification_risk({"3": 2, "1": 1}, 0.2)
    with pytest.raises(ValueError, match="at least one row"):
        reidentification_risk({"0": 1}, 0.2)


@pytest.mark.parametrize(("max_risk", "passed"), [(0.2, True), (0.19999, False)])
def test_verdict_at_its_threshold(max_risk, passed):
    risk = reidentification_risk({"5": 3, "9": 1}, 0.2)
    assert risk.max_prosecutor_risk == 0.2
    v = verdicts.reidentification_risk(risk.max_prosecutor_risk, max_risk)
    assert (v.success, v.observed) == (passed, 0.2)


def test_gx_expectation_and_partitioned_outcome_agree():
    """The one-file GX expectation and the outcome combine builds from the summed histogram: same observed values,
    same verdicts, same threshold and clause (the partitioned description says 'over all partitions')."""
    df = diabetes()
    qis = ["age", "sex", "bmi"]
    risk = Reidentification(risk_threshold=0.2, max_prosecutor_risk=0.5, max_records_at_risk=0.05,
                            max_average_risk=0.5, max_marketer_risk=0.1)
    expected = independent(df, qis, 0.2)
    result = validate(df, *reidentification_expectations(risk, qis))
    partitioned = outcomes.reidentification_outcomes(risk.limits(), qis, summed_histogram(df, qis), 0.2)
    assert [o.clause for o in result.results] == [o.clause for o in partitioned] == [
        f"privacy.reidentification.{f}" for f in REIDENTIFICATION_LIMITS]
    for one, part in zip(result.results, partitioned, strict=True):
        measure = REIDENTIFICATION_LIMITS[one.clause.rsplit(".", 1)[1]]
        assert one.observed == pytest.approx(expected[measure], rel=1e-12)
        assert part.observed == pytest.approx(one.observed, rel=1e-12)
        assert one.success == part.success == (expected[measure] <= risk.limits()[one.clause.rsplit(".", 1)[1]])
        assert one.threshold == part.threshold and one.expectation == part.expectation
        assert part.description == one.description + outcomes.OVER_ALL
        assert one.details["rows_at_risk"] == part.details["rows_at_risk"]
        assert "journalist_risk" in one.details  # said to be not computed, never silently absent
    # on this table some patients are alone in their class (risk 1 > 0.5): the prosecutor limit fails on both paths
    by_clause = {o.clause: o for o in partitioned}
    assert not result.passed and not by_clause["privacy.reidentification.max_prosecutor_risk"].success
    assert all(math.isfinite(o.observed) for o in result.results)


def test_expectation_refuses_an_unknown_measure():
    result = validate(diabetes(), ExpectReidentificationRiskToBeAtMost(quasi_identifiers=["age"],
                                                                          measure="journalist", max_risk=0.1))
    (o,) = result.results
    assert not o.success and "measure must be one of" in o.details["error"]


def test_agreement_fields():
    assert Reidentification(max_average_risk=0.1).limits() == {"max_average_risk": 0.1}
    with pytest.raises(ValueError, match="at least one of"):
        Reidentification(risk_threshold=0.1)
    with pytest.raises(ValueError):
        Reidentification(max_prosecutor_risk=1.5)
