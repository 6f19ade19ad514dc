"""Policy engine (default deny, term, purpose, transfers) and the plan derived from an agreement."""

from __future__ import annotations

import datetime as dt

import pytest

from pactline.agreement import load_agreement, load_text
from pactline.cli.main import main
from pactline.errors import PolicyViolation
from pactline.plan import build_plan
from pactline.policy import Policy
from tests.conftest import AGREEMENTS


@pytest.fixture
def readmission():
    return load_agreement(AGREEMENTS / "readmission.yaml")


def test_may_is_default_deny(readmission):
    policy = Policy(readmission)
    assert policy.may("admissions", "email", "redact")
    assert not policy.may("admissions", "email", "keep")
    assert not policy.may("admissions", "email", "pseudonymise")
    assert not policy.may("admissions", "not_a_column", "keep")
    assert not policy.may("no_such_dataset", "email", "redact")
    with pytest.raises(PolicyViolation) as info:
        policy.require_transformation("admissions", "full_name", "keep")
    assert info.value.clause == "datasets[admissions].columns.full_name.transformation"
    assert "allows drop" in str(info.value)


@pytest.mark.parametrize(("day", "clause"), [("2025-12-31", "metadata.effective"), ("2029-01-01", "metadata.expires")])
def test_runs_outside_the_term_are_refused(readmission, day, clause):
    with pytest.raises(PolicyViolation) as info:
        Policy(readmission).require_release("claims-release", dt.date.fromisoformat(day))
    assert info.value.clause == clause
    Policy(readmission).require_release("claims-release", dt.date(2027, 1, 1))  # inside the term


def test_purpose_must_be_listed(readmission):
    policy = Policy(readmission)
    with pytest.raises(PolicyViolation) as info:
        policy.require_purpose("marketing")
    assert info.value.clause == "purposes"
    with pytest.raises(PolicyViolation):
        policy.require_purpose("readmission-model", model_type="large_language_model")
    policy.require_purpose("readmission-model", model_type="gradient_boosting")
    with pytest.raises(PolicyViolation) as info:
        policy.require_release("claims-release", dt.date(2027, 1, 1), purpose="marketing")
    assert "serves purpose 'readmission-model'" in str(info.value)


def test_undeclared_output_refused(readmission):
    with pytest.raises(PolicyViolation) as info:
        Policy(readmission).require_release("everything", dt.date(2027, 1, 1))
    assert info.value.clause == "outputs"


def test_cross_border_needs_a_mechanism(example_text):
    text = example_text()
    without_us_to_de = text.replace(
        "  - from: US\n    to: DE\n    mechanism: adequacy_decision\n    reference: EU-US Data Privacy Framework\n", "")
    loaded = load_text(without_us_to_de)
    policy = Policy(loaded)
    policy.require_release("admissions-release", dt.date(2027, 1, 1))  # DE -> US is declared
    with pytest.raises(PolicyViolation) as info:
        policy.require_release("claims-release", dt.date(2027, 1, 1))  # US -> DE is not
    assert info.value.clause == "transfers" and "US -> DE" in str(info.value)


def test_access_grants(readmission):
    policy = Policy(readmission)
    assert policy.may_access("klinikum-nord-steward", "production", "approve", dt.date(2027, 1, 1))
    assert not policy.may_access("atlantic-health-ml-team", "production", "approve", dt.date(2027, 1, 1))
    assert not policy.may_access("klinikum-nord-ml-team", "sandbox", "read", dt.date(2027, 7, 1))  # expired grant


def test_plan_steps_follow_the_agreement(readmission):
    plan = build_plan(readmission)
    assert plan.fingerprint == readmission.fingerprint
    adm = plan.dataset("admissions")
    assert [s.task_id for s in adm.steps] == [
        "ingest", "map_schema", "scan_pii", "check_quality", "protect", "suppress", "check_privacy", "check_bias",
        "approve_admissions-release", "publish_admissions-release"]
    # suppression may climb the agreed hierarchies, and keeps the bias check's protected groups (issue 14)
    assert adm.step("suppress").params == {"quasi_identifiers": ["birth_date", "postcode", "sex"], "k": 5,
                                           "max_suppressed_rate": 0.1,
                                           "hierarchies": {"birth_date": [{"kind": "generalise", "method": "any",
                                                                           "label": "*"}],
                                                           "postcode": [{"kind": "generalise", "method": "any",
                                                                         "label": "*"}]},
                                           "protected_groups": {"sex": 0.05}}
    assert adm.step("publish").upstream == ("approve_admissions-release",)
    # no quasi-identifier, no bias check agreed for claims, and no approval for its sandbox release
    claims = plan.dataset("claims")
    assert [s.kind for s in claims.steps] == [
        "ingest", "map_schema", "scan_pii", "check_quality", "protect", "check_privacy", "publish"]
    cols = {c.name: c for c in adm.columns}
    assert cols["full_name"].partner_name == "Patientenname"
    assert cols["insurance_id"].transformation["normalise"] == ["alnum_only", "upper"]
    assert not any("synthesize" in s.kind for d in plan.datasets for s in d.steps)
    # the plan says what each step reads; the renderer only wires it: the data to release is the last of
    # protect/suppress, and no step reads an approval or a publication
    assert adm.step("check_bias").inputs["released"] == "suppress"
    assert adm.step("check_bias").inputs["map_schema"] == "map_schema"
    assert claims.step("publish").inputs["released"] == "protect"
    assert adm.step("ingest").inputs == {}
    assert not any(t.startswith(("approve", "publish")) for s in adm.steps for t in s.inputs.values())


def test_cli_plan(capsys):
    assert main(["plan", str(AGREEMENTS / "fraud.yaml")]) == 0
    out = capsys.readouterr().out
    assert "orders.publish_orders-release after check_privacy" in out
    assert "customer_email" in out and "pseudonymise" in out and "<- customer_mail" in out


def test_synthetic_output_adds_synthesis_and_its_gate(example_text):
    text = example_text().replace("""    approval_required: false
retention:""", """    approval_required: false
  - id: admissions-synthetic
    dataset: admissions
    kind: synthetic
    zone: sandbox
    recipient: atlantic-health
    purpose: readmission-model
    approval_required: false
    synthesizer: {model: gaussian_copula, seed: 3}
retention:""")
    plan = build_plan(load_text(text))
    adm = plan.dataset("admissions")
    synth = adm.step("synthesize")
    assert synth.task_id == "synthesize_admissions-synthetic" and synth.upstream == ("check_bias",)
    assert synth.params["model"] == "gaussian_copula" and synth.params["seed"] == 3
    publish = next(s for s in adm.steps if s.task_id == "publish_admissions-synthetic")
    assert publish.upstream == ("check_synthetic_admissions-synthetic",)
    assert not any(s.kind == "synthesize" for s in plan.dataset("claims").steps)
