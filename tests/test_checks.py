"""The gates end to end on small tables: quality suite from an example agreement, privacy and bias
checks, Data Docs, the steward summary, the no-network guarantee and `pactline bias`."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pytest

from pactline.agreement import load_agreement
from pactline.checks import (
    CheckFailed,
    check_bias,
    check_privacy,
    check_quality,
    docs_dir_for,
    gate,
    run_checks,
    write_summary,
)
from pactline.cli.main import main

# GX's regex expectation uses str.contains, which warns about the agreement's (optional) group.
pytestmark = pytest.mark.filterwarnings("ignore:This pattern is interpreted as a regular expression:UserWarning")

AGREEMENTS = Path(__file__).resolve().parent.parent / "include" / "agreements"
DIAGNOSES = ["I50.9", "J18.9", "C34.1", "K70.3", "E11.9"]


@pytest.fixture(scope="module")
def readmission():
    return load_agreement(AGREEMENTS / "readmission.yaml")


@pytest.fixture(scope="module")
def fraud():
    return load_agreement(AGREEMENTS / "fraud.yaml")


def admissions(n: int = 120) -> pa.Table:
    """Mapped admissions as map_schema leaves them: every declared column with its declared type."""
    return pa.table({
        "case_id": pa.array([f"FN-{i:05d}" for i in range(n)]),
        "full_name": pa.array(["Anna Weber"] * n),
        "email": pa.array(["anna@example.com"] * n),
        "phone": pa.array(["+49 40 1234567"] * n),
        "insurance_id": pa.array([f"K{i:09d}" for i in range(n)]),
        "birth_date": pa.array([dt.date(1950 + i % 3, 1 + i % 12, 1) for i in range(n)], pa.date32()),
        "postcode": pa.array([f"2{i % 2}307" for i in range(n)]),
        "sex": pa.array(["female" if i % 2 else "male" for i in range(n)]),
        "race": pa.array(["white"] * n),
        "diagnosis_code": pa.array([DIAGNOSES[i % 5] for i in range(n)]),
        "admission_date": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()),
        "length_of_stay": pa.array([i % 30 for i in range(n)], pa.int64()),
        "discharge_note": pa.array(["Discharged after treatment."] * n),
        "comments": pa.array([None] * n, pa.string()),
        "readmitted_30d": pa.array([i % 4 == 0 for i in range(n)]),
    })


def replace(table: pa.Table, name: str, values: list, type_: pa.DataType | None = None) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, pa.array(values, type_ or table.schema.field(name).type))


# -- quality ---------------------------------------------------------------------------------

def test_quality_suite_passes_on_a_good_table(readmission, tmp_path):
    result = check_quality(admissions(), readmission, "admissions", docs_dir=tmp_path / "docs", run_id="run-1")
    assert result.passed, result.failures_message()
    assert result.suite == "readmission-risk.admissions.quality"
    assert result.fingerprint == readmission.fingerprint
    kinds = {o.expectation for o in result.results}
    assert {"expect_column_to_exist", "expect_column_values_to_be_in_type_list", "expect_column_values_to_be_unique",
            "expect_column_values_to_be_between", "expect_column_values_to_be_in_set",
            "expect_column_values_to_match_regex", "expect_table_row_count_to_be_between"} <= kinds
    assert gate(result) is result
    assert (tmp_path / "docs" / "index.html").is_file()
    assert result.docs_index == str(tmp_path / "docs" / "index.html")
    assert list((tmp_path / "docs" / "validations").rglob("*.html"))


def test_quality_failure_names_expectation_observed_value_and_threshold(readmission):
    n = 120
    bad = admissions(n)
    bad = replace(bad, "length_of_stay", [400 if i < 12 else 3 for i in range(n)])  # 10% out of range
    bad = replace(bad, "sex", ["unknown"] + ["male"] * (n - 1))
    bad = replace(bad, "postcode", list(range(n)), pa.int64())  # declared string
    bad = bad.drop_columns(["race"])
    result = check_quality(bad, readmission, "admissions")
    assert not result.passed
    message = result.failures_message()
    assert "expect_column_values_to_be_between on length_of_stay [quality_rules[2]]: observed 0.9; " \
           "threshold max=365, min=0, mostly=1" in message
    assert "expect_column_values_to_be_in_set on sex" in message
    assert "expect_column_values_to_be_in_type_list on postcode" in message and "type=string" in message
    assert "expect_column_to_exist on race" in message
    between = next(o for o in result.failures if o.expectation == "expect_column_values_to_be_between")
    assert between.details["unexpected_count"] == 12
    with pytest.raises(CheckFailed) as err:
        gate(result)
    assert err.value.result is result and "length_of_stay" in str(err.value)
    # GX is told never to copy unexpected values into results (they may be personal data)
    assert "unknown" not in json.dumps(result.to_dict())


def test_quality_accepts_pandas_with_nullable_and_categorical_columns(readmission):
    frame = admissions().to_pandas().astype({"sex": "category", "race": "category"})
    frame.loc[3, "length_of_stay"] = None  # int column with a null arrives as float in plain pandas
    result = check_quality(frame, readmission, "admissions")
    assert [(o.expectation, o.columns) for o in result.failures] == [
        ("expect_column_values_to_be_in_type_list", ["length_of_stay"])]
    frame = admissions().to_pandas().astype({"sex": "category"})
    assert check_quality(frame, readmission, "admissions").passed


def test_regex_rule_honours_mostly(readmission):
    n = 120
    codes = ["??"] * 5 + [DIAGNOSES[0]] * (n - 5)  # 95.8% match, the agreement asks mostly 0.95
    assert check_quality(replace(admissions(n), "diagnosis_code", codes), readmission, "admissions").passed
    codes = ["??"] * 7 + [DIAGNOSES[0]] * (n - 7)
    result = check_quality(replace(admissions(n), "diagnosis_code", codes), readmission, "admissions")
    assert [o.expectation for o in result.failures] == ["expect_column_values_to_match_regex"]


def test_released_stage_expects_dropped_columns_gone_and_transformed_columns_as_text(readmission):
    released = admissions().drop_columns(["full_name"])
    released = replace(released, "birth_date", ["1950"] * released.num_rows, pa.string())
    assert check_quality(released, readmission, "admissions", stage="released").passed
    raw_view = check_quality(released, readmission, "admissions")
    assert {(o.expectation, o.columns[0]) for o in raw_view.failures} >= {
        ("expect_column_to_exist", "full_name"), ("expect_column_values_to_be_in_type_list", "birth_date")}


# -- privacy -----------------------------------------------------------------------------------

def released_admissions(n: int = 60) -> pa.Table:
    """What protect releases: generalised quasi-identifiers, redacted notes, masked phone numbers."""
    return pa.table({
        "case_id": [f"case_{i:032x}" for i in range(n)],
        "phone": ["+** ** *****67"] * n,
        "birth_date": ["1950", "1960", "1970"] * (n // 3),
        "postcode": ["22"] * n,
        "sex": ["female", "male"] * (n // 2),
        "diagnosis_code": [DIAGNOSES[i % 5] for i in range(n)],
        "discharge_note": ["<PERSON> (born <DATE_TIME>) was admitted with pneumonia."] * n,
        "comments": [None] * n,
        "readmitted_30d": [i % 4 == 0 for i in range(n)],
    })


def test_privacy_check_passes_on_a_protected_table(readmission, tmp_path):
    result = check_privacy(released_admissions(), readmission, "admissions", docs_dir=tmp_path / "docs")
    assert result.passed, result.failures_message()
    by_kind = {}
    for o in result.results:
        by_kind.setdefault(o.expectation, []).append(o)
    scanned = {o.columns[0] for o in by_kind["expect_column_values_to_have_no_residual_pii"]}
    assert scanned == {"phone", "diagnosis_code", "discharge_note", "comments"}
    (k,) = by_kind["expect_quasi_identifiers_to_be_k_anonymous"]
    assert k.columns == ["birth_date", "postcode", "sex"] and k.observed == 10 and k.threshold["k"] == readmission.agreement.privacy.k_anonymity.k
    (lv,) = by_kind["expect_sensitive_column_to_be_l_diverse"]
    assert lv.observed >= 2
    page = (tmp_path / "docs" / "index.html").read_text()
    assert "readmission-risk" in page
    (validation,) = (tmp_path / "docs" / "validations").rglob("*.html")
    text = " ".join(re.sub(r"<[^>]+>", " ", validation.read_text()).split())
    assert f"must be shared by at least {readmission.agreement.privacy.k_anonymity.k} rows (k-anonymity)" in text
    assert "diagnosis_code must take at least 2 distinct values" in text


def test_privacy_check_fails_on_residual_pii_and_a_unique_combination(readmission):
    table = released_admissions()
    notes = table.column("discharge_note").to_pylist()
    notes[4] = "Call back Peter Miller on +49 40 7654321 about the letter."
    table = replace(table, "discharge_note", notes)
    table = replace(table, "birth_date", ["1999", *table.column("birth_date").to_pylist()[1:]])
    result = check_privacy(table, readmission, "admissions")
    assert not result.passed
    failed = {o.expectation: o for o in result.failures}
    pii = failed["expect_column_values_to_have_no_residual_pii"]
    assert pii.columns == ["discharge_note"] and pii.observed == pytest.approx(1 / 60)
    assert pii.details["examples"][0]["row"] == 5 and "Miller" not in json.dumps(pii.details)
    k = failed["expect_quasi_identifiers_to_be_k_anonymous"]
    assert k.observed == 1
    assert k.details["sizes_below_k"]["1"] >= 1 and "1999" not in json.dumps(k.details)
    message = result.failures_message()
    assert f"observed 1; threshold k={readmission.agreement.privacy.k_anonymity.k}" in message and "max_rate=0.01" in message


def test_privacy_skips_what_does_not_apply(readmission):
    claims = pa.table({"insurance_id": ["ins_" + "ab" * 16] * 3, "plan_type": ["basic"] * 3, "zip": ["100"] * 3})
    result = check_privacy(claims, readmission, "claims")
    assert result.passed
    assert any("k-anonymity" in s for s in result.extras["skipped"])


# -- bias ------------------------------------------------------------------------------------

def transactions(b_positives: int = 5) -> pa.Table:
    """gender A: 10 of 40 fraud; gender B: b_positives of 60."""
    return pa.table({"gender": ["A"] * 40 + ["B"] * 60,
                     "is_fraud": [True] * 10 + [False] * 30 + [True] * b_positives + [False] * (60 - b_positives)})


def test_bias_check_numbers_and_drift(fraud, tmp_path):
    raw = transactions(5)
    result = check_bias(raw, raw, fraud, "transactions", docs_dir=tmp_path / "docs")
    observed = {o.expectation: o.observed for o in result.results}
    assert observed["expect_disparate_impact_to_be_at_least"] == pytest.approx(1 / 3)
    assert observed["expect_parity_difference_to_be_at_most"] == pytest.approx(1 / 6)
    assert observed["expect_group_shares_to_be_at_least"] == pytest.approx(0.4)
    assert observed["expect_group_metrics_to_not_drift"] == 0
    # the agreement asks DI >= 0.5 and parity difference <= 0.1: both fail on these rates
    assert {o.expectation for o in result.failures} == {"expect_disparate_impact_to_be_at_least",
                                                        "expect_parity_difference_to_be_at_most"}
    (groups,) = result.extras["groups"]
    assert groups["raw"]["groups"]["A"]["positive_rate"] == pytest.approx(0.25)
    assert (tmp_path / "docs" / "index.html").is_file()

    fair_raw, fair_released = transactions(14), transactions(10)  # B: 14/60 -> 10/60
    result = check_bias(fair_raw, fair_released, fraud, "transactions")
    assert [o.expectation for o in result.failures] == ["expect_group_metrics_to_not_drift"]
    (drift,) = result.failures
    assert drift.observed == pytest.approx(4 / 60 / 0.25)  # DI moved from 14/15 to 10/15
    # the fraud agreement allows 0.2 of drift: DI moved 0.27, B's positive rate only 4/60
    assert drift.details["exceeded"] == ["disparate_impact"]
    assert check_bias(fair_raw, fair_raw, fraud, "transactions").passed


# -- Data Docs, summary, network ---------------------------------------------------------------

def test_run_checks_layout_and_summary(readmission, tmp_path):
    raw = admissions()
    released = released_admissions(120)
    sex = ["<script>alert(1)</script>" if i % 2 else "female" for i in range(120)]
    raw = replace(raw, "sex", sex)
    released = replace(released, "sex", sex)
    results = run_checks(raw, released, readmission, "admissions", tmp_path / "out", run_id="run-7")
    out = tmp_path / "out"
    for kind in ("quality", "privacy", "bias"):
        assert (docs_dir_for(out, readmission, "admissions", kind) / "index.html").is_file()
        assert results[kind].docs_index.startswith(str(out / "data_docs"))
    data = json.loads((out / "summary.json").read_text())
    assert data["agreement"]["fingerprint"] == readmission.fingerprint and data["run_id"] == "run-7"
    assert set(data["checks"]) == {"quality", "privacy", "bias"}
    assert data["passed"] == all(r.passed for r in results.values())
    assert data["thresholds"]["privacy"]["k_anonymity"]["k"] == readmission.agreement.privacy.k_anonymity.k
    for c in data["checks"].values():
        assert (out / c["docs_link"]).is_file()

    page = (out / "summary.html").read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<link" not in page and "src=" not in page
    svgs = [page[i:page.index("</svg>", i) + 6] for i in range(len(page)) if page.startswith("<svg", i)]
    assert len(svgs) == 2  # positive rate and share, for sex (the agreement's bias check)
    for svg in svgs:
        ET.fromstring(svg)  # well-formed, so the escaping held
    assert "Positive rate of readmitted_30d by sex" in page
    assert "max_disparate_impact" not in page and "min_disparate_impact" in page


def test_summary_escapes_everything(fraud, tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    raw = pa.table({"gender": [evil] * 50 + ["B"] * 50, "is_fraud": [True, False] * 50})
    result = check_bias(raw, raw, fraud, "transactions")
    _, html_path = write_summary({"bias": result}, tmp_path, agreement=fraud, dataset_id="transactions",
                                 run_id="<run>")
    page = html_path.read_text()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;run&gt;" in page


def test_checks_touch_no_network(readmission, fraud, tmp_path, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access refused in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    check_quality(admissions(), readmission, "admissions", docs_dir=tmp_path / "q")
    check_privacy(released_admissions(), readmission, "admissions", docs_dir=tmp_path / "p")
    check_bias(transactions(), transactions(), fraud, "transactions", docs_dir=tmp_path / "b")
    assert attempts == []


def test_unknown_dataset_is_refused(readmission):
    from pactline.errors import PolicyViolation

    with pytest.raises(PolicyViolation, match="not declared"):
        check_quality(admissions(), readmission, "nope")


# -- CLI -----------------------------------------------------------------------------------------

@pytest.fixture
def bias_csv(tmp_path) -> Path:
    rows = ["group,label"] + ["A,yes"] * 10 + ["A,no"] * 30 + ["B,yes"] * 5 + ["B,no"] * 55 + [","]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_bias_cli_prints_rates(bias_csv, capsys):
    assert main(["bias", str(bias_csv), "--protected", "group", "--label", "label", "--positive", "yes"]) == 0
    out = capsys.readouterr().out
    assert "disparate impact (min rate / max rate): 0.3333" in out
    assert "(missing)" in out


def test_bias_cli_json(bias_csv, tmp_path, capsys):
    parquet = tmp_path / "data.parquet"
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    pq.write_table(pcsv.read_csv(bias_csv), parquet)
    for path in (bias_csv, parquet):
        assert main(["bias", str(path), "--protected", "group", "--label", "label", "--positive", "yes",
                     "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        (attr,) = data["attributes"]
        assert attr["groups"]["A"]["positive_rate"] == pytest.approx(0.25)
        assert attr["groups"]["B"]["positive_rate"] == pytest.approx(5 / 60)
        assert attr["groups"]["(missing)"]["count"] == 1
        assert attr["parity_difference"] == pytest.approx(1 / 6)


def test_bias_cli_bad_input(bias_csv, tmp_path, capsys):
    assert main(["bias", str(bias_csv), "--protected", "group,age", "--label", "label", "--positive", "yes"]) == 2
    err = capsys.readouterr().err
    assert "['age'] not found" in err and "group" in err
    assert main(["bias", str(tmp_path / "missing.csv"), "--protected", "g", "--label", "l", "--positive", "1"]) == 2
    assert "no such file" in capsys.readouterr().err
