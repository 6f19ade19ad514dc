"""The custom GX expectations (privacy, bias) on small frames where they must pass and where they
must fail, with numbers checked against hand computation. Real GX, real Presidio, real Fairlearn."""

from __future__ import annotations

import json

import great_expectations as gx
import pandas as pd
import pytest
from great_expectations.expectations.registry import get_expectation_impl

from expectations import (
    ExpectColumnValuesToHaveNoResidualPii,
    ExpectDisparateImpactToBeAtLeast,
    ExpectGroupMetricsToNotDrift,
    ExpectGroupSharesToBeAtLeast,
    ExpectParityDifferenceToBeAtMost,
    ExpectQuasiIdentifiersToBeKAnonymous,
    ExpectSensitiveColumnToBeLDiverse,
)
from pactline.checks.metrics import MISSING, drift, group_metrics, normalise_label
from pactline.checks.runner import run_suite

TOKEN = "cust_" + "3f2a9c0d1e4b5a69" * 2


def validate(frame: pd.DataFrame, *expectations):
    suite = gx.ExpectationSuite(name="test.suite", expectations=list(expectations))
    return run_suite(frame, suite, kind="test", agreement_id="test", dataset_id="d")


def known_rates(label=(True, False)) -> pd.DataFrame:
    """Group A: 10 of 40 positive; group B: 5 of 60 positive."""
    pos, neg = label
    return pd.DataFrame({"group": ["A"] * 40 + ["B"] * 60,
                         "label": [pos] * 10 + [neg] * 30 + [pos] * 5 + [neg] * 55})


# -- registration ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [ExpectColumnValuesToHaveNoResidualPii, ExpectQuasiIdentifiersToBeKAnonymous,
                                 ExpectSensitiveColumnToBeLDiverse, ExpectGroupSharesToBeAtLeast,
                                 ExpectDisparateImpactToBeAtLeast, ExpectParityDifferenceToBeAtMost,
                                 ExpectGroupMetricsToNotDrift])
def test_custom_expectations_are_registered(cls):
    assert get_expectation_impl(cls.expectation_type) is cls


def test_custom_expectation_survives_a_configuration_round_trip():
    e = ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=["age", "sex"], k=3)
    again = e.configuration.to_domain_obj()
    assert isinstance(again, ExpectQuasiIdentifiersToBeKAnonymous)
    assert again.k == 3 and again.quasi_identifiers == ["age", "sex"]


# -- residual PII ----------------------------------------------------------------------------

def test_residual_pii_passes_on_placeholders_pseudonyms_and_clean_text():
    frame = pd.DataFrame({"note": ["<PERSON> called about <PHONE_NUMBER>", f"token {TOKEN} only",
                                   "Delivery left with neighbour.", None]})
    result = validate(frame, ExpectColumnValuesToHaveNoResidualPii(column="note", max_rate=0.0))
    assert result.passed, result.failures_message()
    (o,) = result.results
    assert o.observed == 0.0 and o.details["rows_checked"] == 3


def test_residual_pii_fails_and_reports_masked_rows_and_rate():
    frame = pd.DataFrame({"note": ["Please call back John Smith on +49 40 1234567 today.",
                                   "<PERSON> asked for a refund.",
                                   "Write to jane.doe@example.com about the invoice.",
                                   "Coding checked, no issues."]})
    result = validate(frame, ExpectColumnValuesToHaveNoResidualPii(column="note", max_rate=0.25))
    assert not result.passed
    (o,) = result.results
    assert o.observed == pytest.approx(0.5)
    assert o.threshold == {"max_rate": 0.25}
    assert o.details["rows_with_pii"] == 2
    rows = {e["row"]: e for e in o.details["examples"]}
    assert set(rows) == {1, 3}
    assert {"PERSON", "PHONE_NUMBER"} <= set(rows[1]["entities"])
    assert "<EMAIL_ADDRESS>" in rows[3]["masked"]
    dumped = json.dumps(result.to_dict())
    for raw in ("John", "Smith", "1234567", "jane.doe", "example.com"):
        assert raw not in dumped
    # the same data passes under a looser threshold
    assert validate(frame, ExpectColumnValuesToHaveNoResidualPii(column="note", max_rate=0.5)).passed


# -- k-anonymity and l-diversity ---------------------------------------------------------------

def qi_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "birth_year": ["1960"] * 3 + ["1970"] * 3 + ["1980"],
        "sex": ["female"] * 3 + ["male"] * 3 + ["female"],
        "diagnosis": ["I50.9", "J18.9", "I50.9", "C34.1", "C34.1", "C34.1", "K70.3"],
    })


def test_k_anonymity_reports_smallest_classes():
    result = validate(qi_frame(), ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=["birth_year", "sex"], k=2))
    assert not result.passed
    (o,) = result.results
    assert o.observed == 1
    assert o.columns == ["birth_year", "sex"]
    d = o.details
    assert (d["rows"], d["classes"], d["classes_below_k"], d["rows_below_k"]) == (7, 3, 1, 1)
    # how many classes of each size fall below k, never which: the lone 1980/female row stays unnamed
    assert d["sizes_below_k"] == {"1": 1}
    dumped = json.dumps(result.to_dict())
    assert "1980" not in dumped and "female" not in dumped


def test_k_anonymity_passes_and_nulls_form_their_own_class():
    frame = qi_frame().iloc[:6].copy()
    assert validate(frame, ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=["birth_year", "sex"], k=3)).passed
    frame.loc[0, "sex"] = None
    result = validate(frame, ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=["birth_year", "sex"], k=3))
    assert not result.passed
    assert result.results[0].details["sizes_below_k"] == {"1": 1, "2": 1}


def test_k_anonymity_with_a_missing_column_fails_with_a_clear_error():
    result = validate(qi_frame(), ExpectQuasiIdentifiersToBeKAnonymous(quasi_identifiers=["postcode"], k=2))
    assert not result.passed
    assert "postcode" in result.results[0].details["error"]


def test_l_diversity_fails_on_a_homogeneous_class_without_showing_sensitive_values():
    frame = qi_frame().iloc[:6]
    result = validate(frame, ExpectSensitiveColumnToBeLDiverse(quasi_identifiers=["birth_year", "sex"],
                                                              sensitive_column="diagnosis", l=2))
    assert not result.passed
    (o,) = result.results
    assert o.observed == 1
    assert o.details["classes_below_l"] == 1
    assert o.details["distinct_below_l"] == {"1": 1}
    assert "C34.1" not in json.dumps(o.details) and "1970" not in json.dumps(o.details)
    diverse = frame.assign(diagnosis=["I50.9", "J18.9", "I50.9", "C34.1", "K70.3", "C34.1"])
    assert validate(diverse, ExpectSensitiveColumnToBeLDiverse(quasi_identifiers=["birth_year", "sex"],
                                                               sensitive_column="diagnosis", l=2)).passed


# -- bias ------------------------------------------------------------------------------------

def test_group_metrics_match_hand_computation():
    m = group_metrics(known_rates(), "group", "label", True)
    assert m.rows == 100
    assert (m.groups["A"].count, m.groups["A"].positives, m.groups["A"].labelled) == (40, 10, 40)
    assert m.groups["A"].share == pytest.approx(0.4) and m.groups["B"].share == pytest.approx(0.6)
    assert m.groups["A"].positive_rate == pytest.approx(10 / 40)
    assert m.groups["B"].positive_rate == pytest.approx(5 / 60)
    assert m.disparate_impact == pytest.approx((5 / 60) / (10 / 40))  # 1/3
    assert m.parity_difference == pytest.approx(10 / 40 - 5 / 60)  # 1/6


@pytest.mark.parametrize(("labels", "positive"), [
    ((True, False), True), ((True, False), "yes"), ((1, 0), True), ((1, 0), "1"),
    (("yes", "no"), True), (("Yes", "No"), "yes"), (("true", "false"), 1), (("Y", "N"), "y"),
])
def test_positive_label_is_compared_robustly(labels, positive):
    m = group_metrics(known_rates(labels), "group", "label", positive)
    assert m.groups["A"].positive_rate == pytest.approx(0.25)
    assert m.groups["B"].positive_rate == pytest.approx(5 / 60)


def test_normalise_label():
    assert normalise_label(True) == normalise_label(1) == normalise_label(1.0) == normalise_label(" YES ") == "true"
    assert normalise_label(None) is None and normalise_label(float("nan")) is None and normalise_label("") is None
    assert normalise_label(2) == normalise_label("2") == "2"
    assert normalise_label("churned") == "churned"


def test_missing_attribute_values_form_their_own_group_and_null_labels_are_not_rated():
    frame = pd.concat([known_rates(), pd.DataFrame({"group": [None, None, ""], "label": [True, None, False]})],
                      ignore_index=True)
    m = group_metrics(frame, "group", "label", True)
    g = m.groups[MISSING]
    assert (g.count, g.labelled, g.positives) == (3, 2, 1)
    assert g.share == pytest.approx(3 / 103) and g.positive_rate == pytest.approx(0.5)


def test_bias_expectations_pass_and_fail_on_known_rates():
    frame = known_rates()
    common = {"column": "group", "label_column": "label", "positive": True}
    ok = validate(frame, ExpectGroupSharesToBeAtLeast(min_share=0.4, **common),
                  ExpectDisparateImpactToBeAtLeast(min_ratio=0.3, **common),
                  ExpectParityDifferenceToBeAtMost(max_difference=0.2, **common))
    assert ok.passed, ok.failures_message()
    bad = validate(frame, ExpectGroupSharesToBeAtLeast(min_share=0.5, **common),
                   ExpectDisparateImpactToBeAtLeast(min_ratio=0.8, **common),
                   ExpectParityDifferenceToBeAtMost(max_difference=0.1, **common))
    assert not bad.passed and len(bad.failures) == 3
    observed = {o.expectation: o.observed for o in bad.results}
    assert observed["expect_group_shares_to_be_at_least"] == pytest.approx(0.4)
    assert observed["expect_disparate_impact_to_be_at_least"] == pytest.approx(1 / 3)
    assert observed["expect_parity_difference_to_be_at_most"] == pytest.approx(1 / 6)
    share = next(o for o in bad.results if o.expectation == "expect_group_shares_to_be_at_least")
    assert share.details["below"] == ["A"]


def test_drift_between_raw_and_released_is_detected():
    raw = known_rates()
    released = raw.copy()
    released.loc[45:51, "label"] = True  # B: 5/60 -> 12/60 positive
    d = drift(group_metrics(raw, "group", "label"), group_metrics(released, "group", "label"))
    assert d["positive_rate"]["B"] == pytest.approx(7 / 60)
    assert d["positive_rate"]["A"] == pytest.approx(0.0) and d["share"] == {"A": 0.0, "B": 0.0}
    assert d["disparate_impact"] == pytest.approx((12 / 60) / (10 / 40) - (5 / 60) / (10 / 40))
    assert d["parity_difference"] == pytest.approx((10 / 40 - 5 / 60) - (10 / 40 - 12 / 60))

    reference = group_metrics(raw, "group", "label", True).to_dict()
    expectation = {"column": "group", "label_column": "label", "positive": True, "reference": reference,
                   "max_drift": 0.05}
    assert validate(raw, ExpectGroupMetricsToNotDrift(**expectation)).passed
    result = validate(released, ExpectGroupMetricsToNotDrift(**expectation))
    assert not result.passed
    (o,) = result.results
    assert o.observed == pytest.approx(max(7 / 60, d["disparate_impact"]))
    assert "positive_rate of B" in o.details["exceeded"]
    assert "disparate_impact" in o.details["exceeded"] and "parity_difference" in o.details["exceeded"]


def test_a_group_merged_away_drifts_in_share():
    raw = pd.DataFrame({"group": ["A"] * 8 + ["B"] * 2, "label": [True, False] * 5})
    released = raw.assign(group=["A"] * 8 + ["other"] * 2)
    d = drift(group_metrics(raw, "group", "label"), group_metrics(released, "group", "label"))
    assert d["share"] == {"A": 0.0, "B": pytest.approx(0.2), "other": pytest.approx(0.2)}
    assert sorted(d["unmatched_groups"]) == ["B", "other"]
