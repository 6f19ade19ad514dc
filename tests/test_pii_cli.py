"""`pactline scan` on real files, and every kind of bad file."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pactline.cli.main import main
from pactline.errors import DataError
from pactline.pii.io import read_table

CSV = """id,full_name,email,amount,notes
1,John Smith,john.smith@example.com,12.50,Spoke to John Smith about the refund today
2,Maria Garcia,maria.garcia@example.org,99.00,refund processed without issues at all
3,Wei Zhang,wei.zhang@example.net,15.25,package arrived late but the contents were fine
4,Aisha Khan,aisha.khan@example.com,7.10,Customer asked Maria Lopez to call back on 212-555-0187
"""


@pytest.fixture
def csv_file(tmp_path):
    p = tmp_path / "customers.csv"
    p.write_text(CSV)
    return p


def test_scan_csv_prints_a_table(csv_file, capsys):
    assert main(["scan", str(csv_file)]) == 0
    out = capsys.readouterr().out
    assert "customers.csv" in out
    assert "EMAIL_ADDRESS" in out and "PERSON" in out
    assert "john.smith@example.com" not in out


def test_scan_json(csv_file, capsys):
    assert main(["scan", str(csv_file), "--json", "--sample", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    cols = {c["name"]: c for c in data["columns"]}
    assert cols["email"]["entity"] == "EMAIL_ADDRESS"
    assert cols["full_name"]["entity"] == "PERSON"
    assert cols["id"]["entity"] is None and cols["amount"]["entity"] is None
    assert data["sample_size"] == 3
    assert cols["email"]["sampled"] == 3


def test_scan_parquet(tmp_path, capsys):
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"mail": [f"u{i}@example.com" for i in range(20)]}), p)
    assert main(["scan", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["columns"][0]["entity"] == "EMAIL_ADDRESS"


def test_unknown_model_is_a_clear_error(csv_file, capsys):
    assert main(["scan", str(csv_file), "--model", "no_such_model_xyz"]) == 2
    err = capsys.readouterr().err
    assert "no_such_model_xyz" in err and "not installed" in err


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", b"", "empty"),
        ("ragged.csv", b"a,b\n1,2\n3\n", "ragged"),
        ("latin1.csv", "name\nJos\u00e9 M\u00fcller\n".encode("latin-1"), "UTF-8"),
        ("corrupt.parquet", b"PAR1 this is not really parquet", "Parquet"),
        ("blank.csv", b"\n", "no CSV header"),
    ],
)
def test_bad_files_are_data_errors_naming_file_and_problem(tmp_path, capsys, name, content, problem):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DataError, match=problem) as info:
        read_table(p)
    assert name in str(info.value)
    assert main(["scan", str(p)]) == 2
    err = capsys.readouterr().err
    assert name in err and problem in err


def test_missing_file(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_scan_json_carries_evidence_categories_and_combinations(tmp_path, capsys):
    rows = ["customer_id,LNAME,PLZ,Geschlecht,Blutgruppe,version"]
    surnames = ["White", "Borden", "Young", "King", "Hill", "Wood", "Stone", "Rose", "Long", "Hart"]
    for i in range(60):
        rows.append(f"{70000000 + i * 7919},{surnames[i % 10]},{10115 + (i * 37) % 900},{'mw'[i % 2]},"
                    f"{['A+', 'O-', 'B+', 'AB-'][i % 4]},{1 + i % 3}.{i % 5}.0")
    p = tmp_path / "kunden.csv"
    p.write_text("\n".join(rows) + "\n")
    assert main(["scan", str(p), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    cols = {c["name"]: c for c in data["columns"]}
    assert cols["LNAME"]["entity"] == "PERSON" and cols["LNAME"]["flagged"]
    assert cols["LNAME"]["evidence"]["name"]["pattern"] == "lname"
    assert cols["PLZ"]["entity"] == "ZIP_CODE" and cols["PLZ"]["category"] == "quasi_identifier"
    assert cols["Blutgruppe"]["sensitive"] and cols["Blutgruppe"]["entity"] == "BLOOD_TYPE"
    assert cols["customer_id"]["identifier_candidate"] and cols["customer_id"]["entity"] is None
    assert not cols["version"]["flagged"]
    for c in cols.values():
        assert {"rule", "name", "value_share", "uniqueness", "confidence"} <= set(c["evidence"])
    assert isinstance(data["quasi_identifiers"], list)
    assert "White" not in json.dumps(data) and "Borden" not in json.dumps(data)
    assert main(["scan", str(p)]) == 0
    out = capsys.readouterr().out
    assert "name~lname->PERSON" in out and "sensitive (art. 9)" in out and "White" not in out
