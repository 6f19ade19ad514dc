"""`pactline draft`: a dataset block drafted from a partner's file, validated as agreement text, merged with
--into as an unsigned change (issue 17). Real Presidio/spaCy scan on the generator's seeded sample data."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from pactline.agreement import load_agreement, load_text
from pactline.cli.main import main
from pactline.draft import check_fragment
from tests.conftest import AGREEMENTS, load_generator


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("partner-data")
    load_generator().generate(folder, rows=300, seed=11)
    return folder


def draft(path, capsys, *extra, dataset="ds", provider="nordbank"):
    assert main(["draft", str(path), "--dataset", dataset, "--provider", provider, *extra]) == 0
    return capsys.readouterr().out


def comments(text):
    """{column: its comment} of the drafted columns (the comment lines right above each column key)."""
    out, pending = {}, []
    for line in text.splitlines():
        if re.match(r"^      # ", line):
            pending.append(line.strip()[2:])
        elif re.match(r"^      [^ #-][^:]*:$", line):
            out[line.strip().rstrip(":").strip("'\"")] = " ".join(pending)
            pending = []
    return out


def personal_values(path, sep):
    """Every raw value of the file's personal and free-text columns (at least 4 characters)."""
    df = pd.read_csv(path, sep=sep, dtype=str)
    truth = load_generator().COLUMN_CATEGORIES[f"{path.parent.name}/{path.name}"]
    return {str(v).strip() for col, cat in truth.items() if cat not in ("non_personal", "label")
            for v in df[col].dropna() if len(str(v).strip()) >= 4}


def test_draft_of_a_bank_file(data, capsys):
    path = data / "fraud" / "transactions.csv"
    text = draft(path, capsys, dataset="transactions")
    check_fragment(text, "nordbank")  # it loads as agreement text as it is
    fragment = yaml.safe_load(text)
    (ds,) = fragment["datasets"]
    assert ds["source"] == {"uri": ds["source"]["uri"], "format": "csv", "delimiter": ";"}
    assert ds["schema_mapping"]["KLANT_EMAIL"] == "klant_email"
    cols = ds["columns"]
    assert cols["klant_email"] == {"type": "string", "category": "direct_identifier",
                                   "legal_basis": "legitimate_interests", "pii_entity": "EMAIL_ADDRESS",
                                   "transformation": {"kind": "pseudonymise", "normalise": ["strip", "lower"]}}
    assert cols["kaartnummer"]["transformation"] == {"kind": "mask", "mode": "keep_last", "n": 4}
    assert cols["iban"]["transformation"] == {"kind": "redact"}
    assert (cols["leeftijd"]["category"], cols["leeftijd"]["transformation"]["method"]) == ("quasi_identifier", "bands")
    assert cols["geslacht"]["category"] == "protected_attribute" and cols["geslacht"]["type"] == "categorical"
    assert cols["fraude"] == {"type": "boolean", "category": "label", "transformation": {"kind": "keep"}}
    assert cols["bedrag_eur"]["category"] == "non_personal" and cols["tijdstip"]["type"] == "timestamp"

    rules = {(r.get("column"), r["rule"]): r for r in fragment["quality_rules"]}
    assert {("txn_id", "not_null"), ("txn_id", "unique"), ("txn_id", "regex"), ("bedrag_eur", "range"),
            ("mcc", "allowed_values"), (None, "row_count")} <= set(rules)
    assert rules[("txn_id", "regex")]["pattern"] == "^[A-Z]{1}[0-9]{6}$"  # a shape, not a value
    assert ("leeftijd", "not_null") not in rules  # some ages are missing
    raw = pd.read_csv(path, sep=";")
    amount = rules[("bedrag_eur", "range")]
    assert amount["min"] <= raw["BEDRAG_EUR"].min() and amount["max"] >= raw["BEDRAG_EUR"].max()
    assert amount["max"] not in set(raw["BEDRAG_EUR"]) and re.fullmatch(r"[1-9]0*\.0", str(amount["max"]))
    assert sorted(rules[("mcc", "allowed_values")]["values"]) == sorted(raw["MCC"].unique().tolist())
    assert rules[(None, "row_count")]["min"] == 300
    assert not any(r[1] == "allowed_values" for r in rules if r[0] in ("klant_email", "geslacht", "leeftijd"))

    why = comments(text)
    assert set(why) == set(cols)  # a comment on every column
    assert "EMAIL_ADDRESS" in why["klant_email"] and "KLANT_EMAIL" in why["klant_email"]
    assert "label candidate" in why["fraude"] and "7 of 300 rows empty" in why["leeftijd"]
    # comments say why with names, counts and shapes: no value of the data in any of them
    blob = "\n".join(why.values())
    leaked = [v for v in personal_values(path, ";") | {str(v) for v in raw["MCC"].unique()} if v in blob]
    assert not leaked, f"{len(leaked)} values in the comments"
    # and no personal value anywhere in the draft
    assert not [v for v in personal_values(path, ";") if v in text]


def test_free_text_and_undeclared_columns(data, capsys):
    path = data / "readmission" / "admissions.csv"
    text = draft(path, capsys, dataset="admissions", provider="klinikum-nord")
    check_fragment(text, "klinikum-nord")
    cols = yaml.safe_load(text)["datasets"][0]["columns"]
    assert cols["entlassbrief"]["type"] == "text" and cols["entlassbrief"]["transformation"] == {"kind": "redact_text"}
    assert cols["stationsarzt"]["category"] == "direct_identifier" and cols["stationsarzt"]["transformation"] == {
        "kind": "drop"}
    assert cols["ethnie"]["category"] == "protected_attribute" and cols["icd10"]["category"] == "sensitive"
    assert cols["icd10"]["legal_basis"].startswith("art9_")
    assert cols["plz"]["type"] == "string"  # a postcode read as a number is still text
    assert not [v for v in personal_values(path, ",") if v in text]


def test_draft_merged_into_an_agreement_is_an_unsigned_change(workspace, capsys):
    path = workspace / "agreements" / "fraud.yaml"
    before = path.read_text()
    assert main(["signatures", str(path)]) == 0
    capsys.readouterr()
    out = draft(workspace / "data" / "fraud" / "orders.csv", capsys, "--into", str(path), dataset="orders-v2",
                provider="shopco")
    assert "merged as version 2.2.0 (was 2.1.0)" in out and "unsigned" in out
    text = path.read_text()
    assert text.startswith(before.splitlines()[0])  # the agreement's own comments and layout are kept
    loaded = load_agreement(path)
    assert loaded.agreement.metadata.version == "2.2.0"
    ds = loaded.agreement.dataset("orders-v2")
    assert ds.source.uri == "../data/fraud/orders.csv" and ds.provider == "shopco"
    assert ds.columns["customer_mail"].transformation.kind == "pseudonymise"
    assert any(r.dataset == "orders-v2" and r.rule == "unique" for r in loaded.agreement.quality_rules)
    assert "# unsigned: dataset orders-v2 drafted by `pactline draft`" in text
    assert main(["signatures", str(path)]) == 1  # every party signed 2.1.0; nobody has signed 2.2.0
    assert main(["diff", str(AGREEMENTS / "fraud.yaml"), str(path)]) == 0
    assert "datasets" in capsys.readouterr().out


def test_bad_input_exits_2(workspace, capsys, tmp_path):
    path = workspace / "agreements" / "fraud.yaml"
    orders = workspace / "data" / "fraud" / "orders.csv"
    assert main(["draft", str(orders), "--dataset", "orders", "--provider", "shopco", "--into", str(path)]) == 2
    assert "already declared" in capsys.readouterr().err
    assert main(["draft", str(orders), "--dataset", "x", "--provider", "nobody", "--into", str(path)]) == 2
    assert "no party" in capsys.readouterr().err
    assert main(["draft", str(tmp_path / "missing.csv"), "--dataset", "x", "--provider", "shopco"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert load_text(path.read_text(), str(path)).agreement.metadata.version == "2.1.0"  # left as it was


def test_shapes_never_hold_a_character_of_a_value():
    from pactline.draft.profile import round_out, shapes_of

    values = ["Zoë-12", "Ünal#7", "AB 1234", "CD 5678"]
    found = shapes_of(values)
    assert [n for _, n in found] == [2, 1, 1]
    for value in values:  # each value matches its shape, which names classes and separators only
        assert any(re.fullmatch(regex, value) for regex, _ in found)
    assert not [ch for regex, _ in found for ch in "ëÜ" if ch in regex]
    assert (round_out(4873.21, down=False), round_out(0.37, down=True), round_out(-12, down=True)) == (
        5000.0, 0.3, -20.0)
