"""ODCS v3 contracts out of an agreement (`pactline export odcs`) and dataset blocks in (`pactline import odcs`),
validated with the open-data-contract-standard package (issue 17)."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from pactline.agreement import load_agreement, load_text
from pactline.cli.main import main
from pactline.draft import check_fragment
from pactline.odcs import draft_from_contract, export_contracts, read_contract
from tests.conftest import AGREEMENTS

SCHEMA = json.loads(files("open_data_contract_standard").joinpath("schema.json").read_text())


def export(path, tmp_path, *extra):
    out = tmp_path / "contracts"
    assert main(["export", "odcs", str(path), "--out-dir", str(out), *extra]) == 0
    return {p.name.removesuffix(".odcs.yaml"): yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))}


def props(contract):
    return {p["name"]: p for p in contract["schema"][0]["properties"]}


def rules_of(prop):
    return [q["customProperties"][0]["value"]["rule"] for q in prop.get("quality", [])]


def test_one_valid_contract_per_released_output(tmp_path):
    contracts = export(AGREEMENTS / "fraud.yaml", tmp_path)
    loaded = load_agreement(AGREEMENTS / "fraud.yaml")
    assert set(contracts) == {"transactions-release", "transactions-synthetic", "orders-release"}
    for contract in contracts.values():  # the standard's own model and JSON Schema both accept them
        OpenDataContractStandard.model_validate(contract)
        jsonschema.validate(contract, SCHEMA)
        assert {"property": "pactlineAgreement", "value": {"id": loaded.id, "version": "2.1.0",
                                                           "fingerprint": loaded.fingerprint}} \
            in contract["customProperties"]

    orders = contracts["orders-release"]
    columns = props(orders)
    assert "customer_name" not in columns  # dropped: not in the release
    assert columns["customer_email"]["logicalType"] == "string"
    assert columns["customer_email"]["transformLogic"].startswith("pseudonymise(")
    assert columns["customer_email"]["transformSourceObjects"] == ["orders.customer_mail"]
    assert columns["order_total_eur"]["logicalType"] == "number" and columns["order_id"]["classification"] == \
        "non_personal"
    pay = columns["payment_method"]["quality"][0]
    assert (pay["metric"], pay["arguments"]["validValues"], pay["mustBe"]) == (
        "invalidValues", ["card", "paypal", "ideal", "invoice"], 0)
    assert rules_of(columns["order_id"]) == ["unique"]
    assert {(s["property"], s["value"]) for s in orders["slaProperties"]} >= {
        ("retention", 60), ("generalAvailability", "2026-03-01"), ("endOfSupport", "2027-12-31"),
        ("endOfLife", "2028-01-14")}
    assert orders["roles"] == [{"role": "fraud-lab-analysts", "access": "read",
                                "description": "zone sandbox until 2027-12-31"}]
    assert [(m["username"], m["role"]) for m in orders["team"]["members"]] == [("shopco", "provider"),
                                                                               ("fraud-lab", "recipient")]
    assert "mailto:dpo@shopco.example" in {s["url"] for s in orders["support"]}

    txns = props(contracts["transactions-release"])
    # released as text after generalising; its range rule no longer holds on the release and is left out
    assert txns["age"]["logicalType"] == "string" and "quality" not in txns["age"]
    assert txns["amount_eur"]["quality"][0]["type"] == "sql" and rules_of(txns["amount_eur"]) == ["range"]
    assert rules_of(txns["is_fraud"]) == ["not_null"]
    # suppression removes rows: the row_count rule is not promised on the release
    assert "quality" not in contracts["transactions-release"]["schema"][0]


def test_only_one_output_and_unknown_output(tmp_path, capsys):
    contracts = export(AGREEMENTS / "readmission.yaml", tmp_path, "--output", "claims-release")
    assert list(contracts) == ["claims-release"]
    assert main(["export", "odcs", str(AGREEMENTS / "readmission.yaml"), "--output", "nope",
                 "--out-dir", str(tmp_path)]) == 2
    assert "no output 'nope'" in capsys.readouterr().err


def splice(agreement_text, fragment_text, dataset_id):
    """The agreement with one dataset and its quality rules replaced by an imported draft."""
    data, fragment = yaml.safe_load(agreement_text), yaml.safe_load(fragment_text)
    original = next(d for d in data["datasets"] if d["id"] == dataset_id)
    (imported,) = fragment["datasets"]
    imported["source"] = original["source"]  # the contract says nothing about where the provider's file is
    data["datasets"] = [imported if d["id"] == dataset_id else d for d in data["datasets"]]
    data["quality_rules"] = [r for r in data["quality_rules"] if r["dataset"] != dataset_id] + \
        fragment.get("quality_rules", [])
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(("name", "output", "provider"), [("fraud", "transactions-release", "nordbank"),
                                                          ("fraud", "orders-release", "shopco"),
                                                          ("readmission", "admissions-release", "klinikum-nord")])
def test_round_trip_export_import_export(tmp_path, name, output, provider):
    path = AGREEMENTS / f"{name}.yaml"
    first = export(path, tmp_path / "1", "--output", output)[output]
    draft = tmp_path / "draft.yaml"
    assert main(["import", "odcs", str(tmp_path / "1" / "contracts" / f"{output}.odcs.yaml"),
                 "--provider", provider, "--out", str(draft)]) == 0
    text = draft.read_text()
    check_fragment(text, provider)  # the draft loads as agreement text as it is
    assert "# declared by Pactline in the contract" in text
    amended = tmp_path / f"{name}.yaml"
    amended.write_text(splice(path.read_text(), text, first["customProperties"][1]["value"]["dataset"]))
    again = export(amended, tmp_path / "2", "--output", output)[output]
    # equivalent: the same contract, except the fingerprint of the (re-serialised, column-dropped) agreement
    first["customProperties"][0]["value"].pop("fingerprint")
    again["customProperties"][0]["value"].pop("fingerprint")
    assert again == first


FOREIGN = """
apiVersion: v3.0.2
kind: DataContract
id: 53581432-6c55-4ba2-a65f-72344a91553a
version: 1.1.0
status: active
name: seller payments
schema:
  - name: payments
    description: Payments per seller
    properties:
      - name: payment_id
        logicalType: string
        required: true
        quality:
          - {metric: duplicateValues, mustBe: 0}
      - name: amount
        logicalType: number
        quality:
          - {type: sql, query: "SELECT COUNT(*) FROM payments WHERE amount < 0", mustBe: 0}
      - name: status
        logicalType: string
        quality:
          - {metric: invalidValues, arguments: {validValues: [paid, open]}, mustBe: 0}
      - name: seller_email
        logicalType: string
        classification: direct_identifier
        quality:
          - {metric: nullValues, mustBe: 0}
      - name: paid_on
        logicalType: date
    quality:
      - {metric: rowCount, mustBeGreaterOrEqualTo: 100}
"""


def test_import_of_another_tools_contract(tmp_path, capsys):
    path = tmp_path / "payments.odcs.yaml"
    path.write_text(FOREIGN)
    assert main(["import", "odcs", str(path), "--provider", "shopco"]) == 0
    text = capsys.readouterr().out
    check_fragment(text, "shopco")
    fragment = yaml.safe_load(text)
    (ds,) = fragment["datasets"]
    assert ds["id"] == "payments" and ds["provider"] == "shopco"
    cols = ds["columns"]
    assert {n: c["type"] for n, c in cols.items()} == {"payment_id": "string", "amount": "float", "status": "string",
                                                       "seller_email": "string", "paid_on": "date"}
    assert cols["payment_id"]["nullable"] is False
    assert cols["seller_email"]["category"] == "direct_identifier" and cols["seller_email"]["transformation"] == {
        "kind": "redact"}
    assert fragment["quality_rules"] == [
        {"dataset": "payments", "column": "payment_id", "rule": "unique"},
        {"dataset": "payments", "column": "status", "rule": "allowed_values", "values": ["paid", "open"]},
        {"dataset": "payments", "column": "seller_email", "rule": "not_null"},
        {"dataset": "payments", "rule": "row_count", "min": 100}]
    assert "Not carried over: quality check 0 of amount (sql)" in " ".join(text.replace("\n# ", " ").split())


@pytest.mark.parametrize(("text", "says"), [
    ("a: &x [1, 2]\nb: *x\n", "anchors"),
    ("apiVersion: v3.0.2\napiVersion: v3.0.2\n", "duplicate key"),
    ("apiVersion: [v3\n", "not valid YAML"),
    ("- just\n- a list\n", "is a mapping"),
    ("apiVersion: v9\nkind: Contract\nid: x\n", "does not follow ODCS"),
    ("[" * 200 + "]" * 200, "nesting"),
])
def test_hostile_or_malformed_contracts_are_refused(tmp_path, capsys, text, says):
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(text)
    assert main(["import", "odcs", str(path), "--provider", "shopco"]) == 2
    err = capsys.readouterr().err
    assert says in err and str(path) in err


def test_huge_contract_is_refused_before_parsing(tmp_path, capsys):
    path = tmp_path / "huge.odcs.yaml"
    path.write_bytes(b"# " + b"x" * (3 * 1024 * 1024))
    assert main(["import", "odcs", str(path), "--provider", "shopco"]) == 2
    assert "MB" in capsys.readouterr().err


def test_exported_contracts_read_back_through_the_safe_reader(tmp_path):
    export(AGREEMENTS / "readmission.yaml", tmp_path)
    for path in (tmp_path / "contracts").glob("*.yaml"):
        contract = read_contract(path)
        draft = draft_from_contract(contract, "klinikum-nord")
        assert draft["skipped"] == []


def test_export_validates_before_writing(tmp_path, monkeypatch):
    """A contract the standard refuses is never written."""
    import pactline.odcs.export as export_module

    monkeypatch.setattr(export_module, "API_VERSION", "v9.9.9")
    loaded = load_text((AGREEMENTS / "fraud.yaml").read_text(), str(AGREEMENTS / "fraud.yaml"))
    with pytest.raises(Exception, match="does not follow ODCS"):
        export_contracts(loaded)
    assert main(["export", "odcs", str(AGREEMENTS / "fraud.yaml"), "--out-dir", str(tmp_path / "out")]) == 2
    assert not list((tmp_path / "out").glob("*.yaml"))


def test_an_evaluation_holdout_is_contracted_without_its_labels(tmp_path, example_text):
    text = example_text("fraud").replace("retention:\n", """  - id: transactions-holdout
    dataset: transactions
    kind: evaluation
    zone: sandbox
    recipient: fraud-lab
    purpose: fraud-model
    approval_required: false
model_evaluation:
  - {purpose: fraud-model, output: transactions-holdout, label: is_fraud, positive: true, max_iterations: 3}
retention:
""", 1)
    path = tmp_path / "fraud.yaml"
    path.write_text(text)
    contract = export(path, tmp_path, "--output", "transactions-holdout")["transactions-holdout"]
    columns = props(contract)
    assert "is_fraud" not in columns and "amount_eur" in columns  # the labels are withheld
    assert "quality" not in contract["schema"][0]  # a holdout split has its own row count
