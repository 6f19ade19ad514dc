"""Amendments diffed and classified: each row edits an example agreement's YAML text and names
the change(s) that must come out, with their effect. Nothing but the agreement is involved."""

from __future__ import annotations

import json
import re

import pytest

from pactline.agreement import load_text
from pactline.agreement.diff import Change, diff_agreements, render_text
from pactline.cli.diff_cmd import releases_under
from pactline.cli.main import main
from pactline.store.catalog import Catalog

W, N, NEUTRAL = "widening", "narrowing", "neutral"

NEW_OUTPUT = """  - id: admissions-sandbox
    dataset: admissions
    kind: protected
    zone: sandbox
    recipient: klinikum-nord
    purpose: readmission-model
retention:"""
NEW_PURPOSE = """purposes:
  - id: capacity-planning
    description: Forecast bed occupancy.
    permitted_model_types: [arima]"""
NEW_COLUMN = """      plan_type:
        type: categorical
        category: non_personal
        transformation: {kind: keep}
      member_since:
        type: date
        category: non_personal
        transformation: {kind: keep}"""
COMMENTS_COLUMN = """      comments:
        type: text
        category: non_personal
        description: Free-text remarks of the coding staff; declared non-personal, scanned anyway.
        transformation: {kind: keep}
"""
BIAS_CHECK = """bias_checks:
  - dataset: admissions
    protected_attributes: [sex]
    label: readmitted_30d
    positive: true
    min_group_share: 0.01
    min_group_size: 30
    min_disparate_impact: 0.5
    max_parity_difference: 0.2
    max_drift: 0.05
"""
SEX_COLUMN = """category: protected_attribute
        legal_basis: art9_health_care
        transformation: {kind: keep}"""
KEY = "ed25519:" + "A" * 43

# (id, agreement, [(text, replacement)...], [(path substring, effect)...]): every change the diff
# reports must match one expected entry, and every expected entry must be reported.
AMENDMENTS = [
    ("redact->mask", "readmission", [("pii_entity: EMAIL_ADDRESS\n        transformation: {kind: redact}",
                                      "pii_entity: EMAIL_ADDRESS\n        transformation: {kind: mask}")],
     [("columns.email.transformation.kind", W)]),
    ("drop->redact", "readmission", [("{kind: drop}", "{kind: redact}")], [("full_name.transformation.kind", W)]),
    ("redact->drop", "readmission", [("pii_entity: EMAIL_ADDRESS\n        transformation: {kind: redact}",
                                      "pii_entity: EMAIL_ADDRESS\n        transformation: {kind: drop}")],
     [("columns.email.transformation.kind", N)]),
    ("pseudonymise->keep", "readmission", [('{kind: pseudonymise, normalise: [strip, upper], prefix: "case_"}',
                                            "{kind: keep}")], [("case_id.transformation.kind", W)]),
    ("keep->drop", "readmission", [("category: sensitive\n        legal_basis: art9_health_care\n"
                                    "        transformation: {kind: keep}",
                                    "category: sensitive\n        legal_basis: art9_health_care\n"
                                    "        transformation: {kind: drop}")],
     [("diagnosis_code.transformation.kind", N)]),
    ("generalise->date_shift unclassified", "readmission",
     [("kind: generalise\n          method: date\n          granularity: decade\n          examples:\n"
       '            - {input: "1961-07-14", output: "1960s"}\n', "kind: date_shift\n          subject_column: insurance_id\n"),
      ("          subject_column: insurance_id\n        # k-anonymity may generalise further, never erasing a protected "
       "group (issue 14): birth decade, then none\n        hierarchy: [{method: any}]\n",
       "          subject_column: insurance_id\n")],
     [("birth_date.transformation.kind", W), ("birth_date.hierarchy", W)]),
    ("mask keeps more", "readmission", [("n: 2\n", "n: 4\n")], [("phone.transformation.n", W)]),
    ("mask keeps fewer", "readmission", [("n: 2\n", "n: 0\n")], [("phone.transformation.n", N)]),
    ("mask separators hidden", "readmission", [("n: 2\n", "n: 2\n          keep_separators: false\n")],
     [("phone.transformation.keep_separators", N)]),
    ("finer date", "readmission", [("granularity: decade", "granularity: year")], [("birth_date.transformation.granularity", W)]),
    ("truncate keeps more", "readmission", [("keep: 1\n", "keep: 2\n")], [("postcode.transformation.keep", W)]),
    ("truncate keeps less", "readmission", [("keep: 3}", "keep: 2}")], [("zip.transformation.keep", N)]),
    ("finer bands", "readmission", [("edges: [0, 1000, 5000", "edges: [0, 1000, 2000, 5000")],
     [("paid_usd_12m.transformation.edges", W)]),
    ("coarser bands", "readmission", [("edges: [0, 1000, 5000", "edges: [0, 5000")],
     [("paid_usd_12m.transformation.edges", N)]),
    ("rare categories kept", "readmission", [("min_count: 5", "min_count: 2")], [("race.transformation.min_count", W)]),
    ("smaller date shift", "readmission", [("max_days: 14", "max_days: 7")], [("admission_date.transformation.max_days", W)]),
    ("larger date shift", "readmission", [("max_days: 14", "max_days: 60")], [("admission_date.transformation.max_days", N)]),
    ("fewer text entities", "readmission", [("{kind: redact_text}", "{kind: redact_text, entities: [PERSON]}")],
     [("discharge_note.transformation.entities", W)]),
    ("example text only", "readmission", [('output: "+** ** *****67"', 'output: "+** ** *** **67"')],
     [("phone.transformation.examples", NEUTRAL)]),
    ("new column", "readmission", [(NEW_COLUMN.split("      member_since")[0].rstrip("\n"), NEW_COLUMN)],
     [("datasets[claims].columns.member_since", W)]),
    ("removed column and its mapping", "readmission", [(COMMENTS_COLUMN, ""), ("      Bemerkung: comments\n", "")],
     [("datasets[admissions].columns.comments", N), ("schema_mapping.Bemerkung", NEUTRAL)]),
    ("remapped column", "readmission", [("Telefon: phone", "Mobil: phone")],
     [("schema_mapping.Mobil", W), ("schema_mapping.Telefon", W)]),
    ("category to non_personal", "readmission", [(SEX_COLUMN, SEX_COLUMN.replace("protected_attribute", "non_personal"))],
     [("columns.sex.category", W)]),
    ("category to direct identifier", "readmission",
     [("category: quasi_identifier\n        legal_basis: art9_health_care\n        transformation: {kind: pseudonymise",
       "category: direct_identifier\n        legal_basis: art9_health_care\n        transformation: {kind: pseudonymise")],
     [("columns.case_id.category", N)]),
    ("legal basis unclassified", "readmission", [("legal_basis: art9_explicit_consent", "legal_basis: consent")],
     [("columns.race.legal_basis", W)]),
    ("new output", "readmission", [("retention:", NEW_OUTPUT)], [("outputs[admissions-sandbox]", W)]),
    ("new recipient", "readmission", [("recipient: klinikum-nord", "recipient: atlantic-health")],
     [("outputs[claims-release].recipient", W)]),
    ("new purpose", "readmission", [("purposes:", NEW_PURPOSE)], [("purposes[capacity-planning]", W)]),
    ("new model type", "readmission", [("[logistic_regression, gradient_boosting]",
                                        "[logistic_regression, gradient_boosting, neural_network]")],
     [("permitted_model_types[neural_network]", W)]),
    ("fewer model types", "readmission", [("[logistic_regression, gradient_boosting]", "[logistic_regression]")],
     [("permitted_model_types[gradient_boosting]", N)]),
    ("new access grant", "readmission",
     [("incident_response:", "  - {principal: auditors, zone: sandbox, valid_until: 2027-01-31}\nincident_response:")],
     [("access[auditors/sandbox]", W)]),
    ("removed access grant", "readmission",
     [("  - {principal: klinikum-nord-ml-team, zone: sandbox, permissions: [read], valid_until: 2027-06-30}\n", "")],
     [("access[klinikum-nord-ml-team/sandbox]", N)]),
    ("new permission", "readmission", [("permissions: [read], valid_until: 2027", "permissions: [read, purge], valid_until: 2027")],
     [("access[klinikum-nord-ml-team/sandbox].permissions[purge]", W)]),
    ("fewer permissions", "readmission", [("[read, approve, purge]", "[read, purge]")],
     [("access[klinikum-nord-steward/production].permissions[approve]", N)]),
    ("grant runs longer", "readmission", [("valid_until: 2027-06-30", "valid_until: 2028-06-30")],
     [("access[klinikum-nord-ml-team/sandbox].valid_until", W)]),
    ("lower k", "readmission", [("k: 5,", "k: 3,")], [("privacy.k_anonymity.k", W)]),
    ("higher k", "readmission", [("k: 5,", "k: 10,")], [("privacy.k_anonymity.k", N)]),
    ("higher l", "readmission", [("l: 2,", "l: 3,")], [("privacy.l_diversity.l", N)]),
    ("more suppression", "readmission", [("max_suppressed_rate: 0.1", "max_suppressed_rate: 0.2")],
     [("k_anonymity.max_suppressed_rate", W)]),
    ("less residual pii", "readmission", [("max_residual_pii_rate: 0.01", "max_residual_pii_rate: 0.0")],
     [("privacy.max_residual_pii_rate", N)]),
    ("fewer quasi-identifiers", "readmission", [("[birth_date, postcode, sex]", "[birth_date, postcode]")],
     [("quasi_identifiers[sex]", W)]),
    ("no k-anonymity", "readmission",
     [("  k_anonymity: {k: 5, quasi_identifiers: [birth_date, postcode, sex], max_suppressed_rate: 0.1}\n", ""),
      ("then none\n        hierarchy: [{method: any}]\n", "then none\n"),
      ('output: "2"}\n        hierarchy: [{method: any}]\n', 'output: "2"}\n'),
      ("  reidentification: {risk_threshold: 0.2, ", "  # ")],
     [("privacy.k_anonymity", W), ("birth_date.hierarchy", W), ("postcode.hierarchy", W),
      ("privacy.reidentification", W)]),
    ("re-identification risk bounded", "readmission",
     [("max_average_risk: 0.1}", "max_average_risk: 0.1, max_marketer_risk: 0.05}"),
      ("{risk_threshold: 0.2,", "{risk_threshold: 0.1,")],
     [("reidentification.max_marketer_risk", N), ("reidentification.risk_threshold", N)]),
    ("hierarchy removed", "readmission", [("hierarchy: [{method: any}]\n      postcode:",
                                           "hierarchy: []\n      postcode:")], [("birth_date.hierarchy", W)]),
    ("undeclared pii fails", "readmission", [("on_undeclared_pii: redact", "on_undeclared_pii: fail")],
     [("privacy.on_undeclared_pii", N)]),
    ("undeclared pii dropped", "readmission", [("on_undeclared_pii: redact", "on_undeclared_pii: drop")],
     [("privacy.on_undeclared_pii", N)]),
    ("undeclared pii back to the default (fail)", "readmission",
     [("  on_undeclared_pii: redact\n", "")], [("privacy.on_undeclared_pii", N)]),
    ("undeclared pii dropped instead of failing", ("readmission", [("on_undeclared_pii: redact", "on_undeclared_pii: fail")]),
     [("on_undeclared_pii: fail", "on_undeclared_pii: drop")], [("privacy.on_undeclared_pii", W)]),
    ("undeclared pii redacted instead of dropped", ("readmission", [("on_undeclared_pii: redact", "on_undeclared_pii: drop")]),
     [("on_undeclared_pii: drop", "on_undeclared_pii: redact")], [("privacy.on_undeclared_pii", W)]),
    ("coarser date", ("readmission", [("granularity: decade", "granularity: month")]),
     [("granularity: month", "granularity: year")], [("birth_date.transformation.granularity", N)]),
    ("synthetic gate looser", "fraud", [("min_quality_score: 0.75", "min_quality_score: 0.6")],
     [("privacy.synthetic.min_quality_score", W)]),
    ("more exact copies", "fraud", [("max_exact_copies: 0", "max_exact_copies: 2")],
     [("privacy.synthetic.max_exact_copies", W)]),
    ("synthesizer trains on raw", "fraud", [("train_on: protected", "train_on: raw")],
     [("synthesizer.train_on", W)]),
    ("synthesizer tuning", "fraud", [("seed: 42", "seed: 7")], [("synthesizer.seed", NEUTRAL)]),
    ("longer retention", "readmission", [("production_days: 365", "production_days: 730")],
     [("retention.production_days", W)]),
    ("shorter retention", "readmission", [("landing_days: 14", "landing_days: 7")], [("retention.landing_days", N)]),
    ("later expiry", "readmission", [("expires: 2028-12-31", "expires: 2029-12-31")], [("metadata.expires", W)]),
    ("earlier expiry", "readmission", [("expires: 2028-12-31", "expires: 2027-12-31")], [("metadata.expires", N)]),
    ("earlier effective", "readmission", [("effective: 2026-01-01", "effective: 2025-06-01")],
     [("metadata.effective", W)]),
    ("removed quality rule", "readmission", [("  - {dataset: admissions, column: case_id, rule: unique}\n", "")],
     [("quality_rules[admissions/case_id/unique]", W)]),
    ("repeated quality rule", "readmission",
     [("quality_rules:\n", "quality_rules:\n  - {dataset: admissions, column: case_id, rule: not_null, mostly: 0.9}\n")],
     [("quality_rules[admissions/case_id/not_null#2]", N)]),
    ("looser range", "readmission", [("min: 0, max: 365}", "min: 0, max: 1000}")],
     [("quality_rules[admissions/length_of_stay/range].max", W)]),
    ("more allowed values", "readmission", [("[female, male, diverse]", "[female, male, diverse, unknown]")],
     [("allowed_values].values[unknown]", W)]),
    ("removed bias check", "readmission", [(BIAS_CHECK, "")], [("bias_checks[admissions]", W)]),
    ("stricter disparate impact", "readmission", [("min_disparate_impact: 0.5", "min_disparate_impact: 0.8")],
     [("bias_checks[admissions].min_disparate_impact", N)]),
    ("looser parity", "fraud", [("max_parity_difference: 0.1", "max_parity_difference: 0.3")],
     [("bias_checks[transactions].max_parity_difference", W)]),
    ("fewer forbidden transformations", "fraud", [("forbidden_transformations: [keep, encrypt]",
                                                   "forbidden_transformations: [keep]")],
     [("restrictions[no-raw-identifiers].forbidden_transformations[encrypt]", W)]),
    ("removed restriction", "fraud", [("restrictions:\n  - id: no-raw-identifiers\n    description: Direct identifiers never leave a "
                                       "provider in clear or reversible form.\n    categories: [direct_identifier]\n"
                                       "    forbidden_transformations: [keep, encrypt]\n    examples:\n      - Sending card "
                                       "numbers to the lab so it can call the card scheme.\n", "restrictions: []\n")],
     [("restrictions[no-raw-identifiers]", W)]),
    ("new restriction", "readmission", [("restrictions:\n", "restrictions:\n  - {id: no-resale, description: No resale.}\n")],
     [("restrictions[no-resale]", N)]),
    ("new bias check", "fraud", [("bias_checks:\n", "bias_checks:\n  - {dataset: orders, protected_attributes: [payment_method], "
                                                    "label: payment_method, positive: card}\n")],
     [("bias_checks[orders]", N)]),
    ("approval dropped", "readmission", [("approval_required: true", "approval_required: false")],
     [("outputs[admissions-release].approval_required", W)]),
    ("approval required", "readmission", [("approval_required: false", "approval_required: true")],
     [("outputs[claims-release].approval_required", N)]),
    ("zone to production", "readmission", [("zone: sandbox\n    recipient", "zone: production\n    recipient")],
     [("outputs[claims-release].zone", W)]),
    ("zone to sandbox", "readmission", [("zone: production\n    recipient", "zone: sandbox\n    recipient")],
     [("outputs[admissions-release].zone", N)]),
    ("synthetic instead of protected", "fraud",
     [("kind: protected\n    zone: sandbox\n    recipient: fraud-lab\n    purpose: fraud-model\n"
       "    approval_required: false\n  - id: transactions-synthetic",
       "kind: synthetic\n    zone: sandbox\n    recipient: fraud-lab\n    purpose: fraud-model\n"
       "    approval_required: false\n    synthesizer: {}\n  - id: transactions-synthetic")],
     [("outputs[transactions-release].kind", N), ("outputs[transactions-release].synthesizer", NEUTRAL)]),
    ("new transfer", "readmission", [("keys:\n", "  - {from: DE, to: CH, mechanism: adequacy_decision}\nkeys:\n")],
     [("transfers[DE->CH]", W)]),
    ("later incident notice", "readmission", [("notification_deadline_hours: 72", "notification_deadline_hours: 96")],
     [("incident_response.notification_deadline_hours", W)]),
    ("party key added", "readmission", [("    role: recipient\n", f"    role: recipient\n    public_key: {KEY}\n")],
     [("parties[atlantic-health].public_key", NEUTRAL)]),
    ("party key changed", ("readmission", [("    role: provider\n", "    role: provider\n    public_key: keys/a.pub\n")]),
     [("public_key: keys/a.pub", "public_key: keys/b.pub")], [("parties[klinikum-nord].public_key", NEUTRAL)]),
    ("title only", "readmission", [("title: Readmission-risk model", "title: Readmission risk model")],
     [("metadata.title", NEUTRAL)]),
    ("contacts and descriptions only", "readmission",
     [("{name: Mark Chen, email: privacy@atlantic-health.example, role: privacy officer}",
       "{name: Mark T. Chen, email: privacy@atlantic-health.example, role: privacy officer}"),
      ("description: Inpatient admissions 2024-2025", "description: Inpatient stays 2024-2025")],
     [("parties[atlantic-health].contacts", NEUTRAL), ("datasets[admissions].description", NEUTRAL)]),
]


@pytest.fixture
def example_text(example_text):
    """The example agreements without their parties' public_key lines, so rows can add or change them."""
    return lambda name="readmission": re.sub(r"(?m)^    public_key: .*\n", "", example_text(name))


def amend(text: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"the edit must match exactly once: {old!r}"
        text = text.replace(old, new)
    return text


def diff_texts(old: str, new: str) -> list[Change]:
    return diff_agreements(load_text(old).agreement, load_text(new).agreement)


@pytest.mark.parametrize(("name", "base", "edits", "expected"), AMENDMENTS, ids=[row[0] for row in AMENDMENTS])
def test_amendment_is_classified(example_text, name, base, edits, expected):
    # base: an example agreement, or (example, edits) giving the version being amended
    text = example_text(base) if isinstance(base, str) else amend(example_text(base[0]), base[1])
    changes = diff_texts(text, amend(text, edits))
    got = [(c.path, c.effect) for c in changes]
    for sub, effect in expected:
        assert any(sub in path and e == effect for path, e in got), f"{name}: no {effect} change at {sub}: {got}"
    for path, e in got:
        assert any(sub in path and e == effect for sub, effect in expected), f"{name}: unexpected {e} at {path}"
    assert all(c.why for c in changes)


def test_a_widening_reverted_is_a_narrowing(example_text):
    text = example_text()
    wider = amend(text, [("k: 5,", "k: 3,"), ("n: 2\n", "n: 4\n"), ("approval_required: true", "approval_required: false")])
    forward, back = diff_texts(text, wider), diff_texts(wider, text)
    assert [c.effect for c in forward] == ["widening"] * 3
    assert [c.effect for c in back] == ["narrowing"] * 3
    assert [c.path for c in forward] == [c.path for c in back]


def test_identical_relayout_is_no_change(example_text):
    text = example_text()
    relaid = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")) + "\n"
    relaid = amend(relaid, [
        # key order, flow style, quoting and defaults written out
        ("  id: readmission-risk\n  version: \"1.0.0\"\n", "  version: '1.0.0'\n  id: readmission-risk\n"),
        ("source: {uri: ../data/readmission/claims.parquet, format: parquet}",
         "source:\n      format: parquet\n      uri: \"../data/readmission/claims.parquet\"\n      delimiter: ','"),
        ("      readmitted_30d:\n        type: boolean\n",
         "      readmitted_30d:\n        nullable: true\n        type: boolean\n"),
        # list order of keyed items
        ("  - {dataset: admissions, column: case_id, rule: not_null}\n  - {dataset: admissions, column: case_id, rule: unique}\n",
         "  - {dataset: admissions, column: case_id, rule: unique}\n  - {rule: not_null, dataset: admissions, column: case_id, mostly: 1.0}\n"),
        ("  - {principal: atlantic-health-ml-team, zone: production, permissions: [read], valid_until: 2028-12-31}\n"
         "  - {principal: klinikum-nord-steward, zone: production, permissions: [read, approve, purge], valid_until: 2028-12-31}\n",
         "  - {principal: klinikum-nord-steward, zone: production, permissions: [purge, read, approve], valid_until: 2028-12-31}\n"
         "  - {principal: atlantic-health-ml-team, zone: production, valid_until: 2028-12-31}\n"),
    ])
    assert relaid != text
    assert diff_texts(text, relaid) == []


def test_neutral_wording_change_is_only_neutral(example_text):
    text = example_text()
    changes = diff_texts(text, amend(text, [("title: Readmission-risk model", "title: Readmission model")]))
    assert [(c.path, c.kind, c.effect) for c in changes] == [("metadata.title", "changed", "neutral")]


def test_party_key_change_says_every_party_signs_again(example_text):
    text = example_text()
    changes = diff_texts(text, amend(text, [("    role: provider\n", f"    role: provider\n    public_key: {KEY}\n")]))
    assert [c.effect for c in changes] == ["neutral"]
    assert "every party must sign again" in changes[0].why


def test_change_details_and_rendering(example_text):
    text = example_text()
    changes = diff_texts(text, amend(text, [("pii_entity: EMAIL_ADDRESS\n        transformation: {kind: redact}",
                                             "pii_entity: EMAIL_ADDRESS\n        transformation: {kind: mask}"),
                                            ("k: 5,", "k: 10,"), ("title: Readmission-risk", "title: Readmission")]))
    email = next(c for c in changes if "email" in c.path)
    assert email.to_dict() == {"path": "datasets[admissions].columns.email.transformation.kind", "kind": "changed",
                               "old": "redact", "new": "mask", "effect": "widening",
                               "why": "weaker transformation: redact -> mask"}
    assert [c.path for c in changes] == sorted(c.path for c in changes)
    out = render_text(changes)
    assert "WIDENING" in out and "narrowing" in out and "neutral" in out
    assert "redact -> mask" in out
    assert out.splitlines()[-1] == "3 change(s): 1 widening, 1 narrowing, 1 neutral"
    assert render_text([]) == "no change"


def test_unclassified_change_is_widening_and_says_so(example_text):
    text = example_text()
    changes = diff_texts(text, amend(text, [("mechanism: standard_contractual_clauses", "mechanism: derogation")]))
    assert [(c.path, c.effect) for c in changes] == [("transfers[DE->US].mechanism", "widening")]
    assert "unclassified change; treated as widening" in changes[0].why


def test_new_dataset_is_summarised(example_text):
    text = example_text("fraud")
    # an agreement without the orders dataset, its output and its rules, amended back to the full one
    without = amend(text, [
        ("  - {dataset: orders, column: order_id, rule: unique}\n", ""),
        ("  - {dataset: orders, column: payment_method, rule: allowed_values, values: [card, paypal, ideal, invoice]}\n", ""),
        ("  - id: orders-release\n    dataset: orders\n    kind: protected\n    zone: sandbox\n    recipient: fraud-lab\n"
         "    purpose: fraud-model\n    approval_required: false\n", ""),
    ])
    start = without.index("  - id: orders\n")
    without = without[:start] + without[without.index("restrictions:"):]
    changes = diff_texts(without, text)
    dataset = next(c for c in changes if c.path == "datasets[orders]")
    assert dataset.kind == "added" and dataset.effect == "widening" and dataset.old is None
    assert dataset.new["id"] == "orders" and dataset.new["columns"].endswith("keys}")
    assert {c.path for c in changes if c.effect == "widening"} >= {"datasets[orders]", "outputs[orders-release]"}


# -- CLI ----------------------------------------------------------------------------------------

def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def pair(tmp_path, example_text):
    text = example_text()
    old = write(tmp_path, "old.yaml", text)
    new = write(tmp_path, "new.yaml", amend(text, [("k: 5,", "k: 3,"), ("title: Readmission-risk", "title: Readmission")]))
    return old, new, load_text(text).fingerprint


def release(catalog: Catalog, output: str, fp: str, *, area: str = "shared", state: str = "live",
            agreement: str = "readmission-risk") -> str:
    record = catalog.create(Catalog.new_record(agreement, area, "production", output,
                                               f"{agreement}/{area}/{output}/{fp[:8]}-{state}", fingerprint=fp))
    if state != "live":
        catalog.update(record.version_id, state=state)
    return record.version_id


def test_cli_text_lists_releases_under_old_terms(pair, capsys):
    old, new, fp = pair
    catalog = Catalog()
    live = release(catalog, "admissions-release", fp)
    purged = release(catalog, "claims-release", fp, state="purged")
    release(catalog, "admissions-release", "f" * 64)  # other terms
    release(catalog, "admissions", fp, area="staging")  # not a release
    release(catalog, "admissions-release", fp, agreement="other")  # another agreement
    assert main(["diff", old, new]) == 0
    out = capsys.readouterr().out
    assert "WIDENING" in out and "privacy.k_anonymity.k" in out and "looser threshold: k 5 -> 3" in out
    assert "2 change(s): 1 widening, 0 narrowing, 1 neutral" in out
    assert "releases already made under the old terms" in out
    assert live in out and f"{purged}  claims-release" in out and "(purged)" in out
    assert sum(line.startswith("  v") for line in out.splitlines()) == 2


def test_cli_json(pair, capsys):
    old, new, fp = pair
    vid = release(Catalog(), "admissions-release", fp)
    assert main(["diff", old, new, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["old"] == {"id": "readmission-risk", "version": "1.0.0", "fingerprint": fp}
    assert report["new"]["fingerprint"] != fp
    assert (report["widening"], report["narrowing"], report["neutral"]) == (1, 0, 1)
    assert [c["path"] for c in report["changes"]] == ["metadata.title", "privacy.k_anonymity.k"]
    assert [(r["version_id"], r["output"], r["state"], r["purged"]) for r in report["releases_under_old_terms"]] == \
        [(vid, "admissions-release", "live", False)]


def test_cli_narrowing_only_lists_no_releases(tmp_path, example_text, capsys):
    text = example_text()
    old = write(tmp_path, "old.yaml", text)
    new = write(tmp_path, "new.yaml", amend(text, [("k: 5,", "k: 10,")]))
    release(Catalog(), "admissions-release", load_text(text).fingerprint)
    assert main(["diff", old, new, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["widening"] == 0 and report["releases_under_old_terms"] == []
    assert main(["diff", old, new]) == 0
    assert "releases already" not in capsys.readouterr().out


def test_cli_identical_files(tmp_path, example_text, capsys):
    path = write(tmp_path, "a.yaml", example_text())
    assert main(["diff", path, path]) == 0
    assert "no change" in capsys.readouterr().out


def test_cli_refuses_different_agreements(tmp_path, example_text, capsys):
    a = write(tmp_path, "a.yaml", example_text("readmission"))
    b = write(tmp_path, "b.yaml", example_text("fraud"))
    assert main(["diff", a, b]) == 2
    err = capsys.readouterr().err
    assert "readmission-risk" in err and "same metadata.id" in err


def test_cli_bad_input_exits_2(tmp_path, example_text, capsys):
    good = write(tmp_path, "a.yaml", example_text())
    bad = write(tmp_path, "b.yaml", amend(example_text(), [("k: 5,", "k: 1,")]))
    assert main(["diff", good, bad]) == 2
    assert "k_anonymity.k" in capsys.readouterr().err
    assert main(["diff", good, str(tmp_path / "missing.yaml")]) == 2


def test_cli_one_file_needs_a_signed_version(tmp_path, example_text, capsys):
    path = write(tmp_path, "a.yaml", example_text())
    assert main(["diff", path]) == 2
    assert "no earlier version of readmission-risk signed by every party" in capsys.readouterr().err


def test_cli_one_file_compares_with_the_last_signed_version(tmp_path, capsys):
    """Signed for real: every party signs 1.0.0; the file is then amended to 1.1.0 and compared with 1.0.0."""
    from tests.conftest import AGREEMENTS, sign_all

    path = tmp_path / "readmission.yaml"
    text = (AGREEMENTS / "readmission.yaml").read_text()
    path.write_text(text)
    sign_all(path)
    capsys.readouterr()
    path.write_text(amend(text, [("production_days: 365", "production_days: 400"),
                                 ('version: "1.0.0"', 'version: "1.1.0"')]))
    assert main(["diff", str(path)]) == 0
    assert "longer retention: production_days 365 -> 400" in capsys.readouterr().out


def test_releases_under_with_an_explicit_catalog(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path}/c.sqlite")
    vid = release(catalog, "out", "a" * 64)
    assert [r["version_id"] for r in releases_under("readmission-risk", "a" * 64, catalog)] == [vid]
    assert releases_under("readmission-risk", "b" * 64, catalog) == []
