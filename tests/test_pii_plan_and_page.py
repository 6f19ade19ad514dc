"""The quasi-identifier combinations and the scan's evidence where people read them: `pactline plan --scan`
and the steward's review page. Counts and column names only."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from pactline.cli.main import main
from pactline.pii.classify import classify_table
from pactline.store import DataRoot
from pactline.store.layout import safe_run_id
from pactline.ui import reviews
from tests.conftest import REPO, load_generator


def _copy(tmp_path: Path) -> Path:
    agreements = tmp_path / "agreements"
    shutil.copytree(REPO / "include" / "agreements", agreements)
    load_generator().generate(tmp_path / "data", rows=150, seed=5)
    return agreements


def test_plan_scan_shows_combinations_next_to_the_declared_quasi_identifiers(tmp_path, capsys):
    agreements = _copy(tmp_path)
    assert main(["plan", str(agreements / "readmission.yaml"), "--scan"]) == 0
    out = capsys.readouterr().out
    assert "dataset admissions: quasi-identifiers" in out
    assert "declared: case_id, birth_date, postcode, admission_date (together they single out" in out
    assert "found: birth_date:" in out
    with (tmp_path / "data" / "readmission" / "admissions.csv").open() as f:
        rows = list(csv.DictReader(f))
    for r in rows[:20]:  # no value of the source reaches the output
        assert r["Geburtsdatum"] not in out and r["PLZ"] not in out and r["Patientenname"] not in out

    assert main(["plan", str(agreements / "readmission.yaml"), "--scan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    scans = {s["dataset"]: s for s in data["quasi_identifier_scan"]}
    adm = scans["admissions"]
    assert adm["rows"] == 150 and adm["declared_unique_rows"] <= 150
    assert all(q["rows"] == 150 and 0 <= q["unique_rows"] <= 150 for q in adm["found"])
    assert main(["plan", str(agreements / "readmission.yaml"), "--json"]) == 0
    assert "quasi_identifier_scan" not in json.loads(capsys.readouterr().out)  # no data read unless asked


def test_steward_page_shows_evidence_and_combinations(tmp_path):
    import pyarrow as pa

    table = pa.table({
        "LNAME": ["White", "Borden", "Young", "King", "Hill", "Wood"] * 10,
        "birth_date": [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}" for i in range(60)],
        "gender": ["f", "m"] * 30,
    })
    report = classify_table(table).to_dict()
    assert report["quasi_identifiers"]
    root = DataRoot(str(tmp_path / "data"))
    run_id = "manual__2026-11-30T10:00:00+00:00"
    folder = f"ag/reports/people/{safe_run_id(run_id)}"
    root.write_json(f"{folder}/pii_scan.json", {"dataset": "people", "run_id": run_id, "fingerprint": "f" * 64,
                                                "findings": [], "report": report,
                                                "declared_quasi_identifiers": ["birth_date", "gender"]})
    review = reviews.load_run(root, "ag", run_id)
    html = reviews.render_run(review, fingerprint="f" * 64, report_url=lambda *a: "/x")
    assert "Quasi-identifier combinations" in html
    assert "Declared quasi-identifiers: <code>birth_date</code>, <code>gender</code>" in html
    assert "<code>birth_date</code>" in html and "unique rows" in html
    assert "name~lname-&gt;PERSON" in html and "direct_identifier" in html
    for v in ("White", "Borden", "1950-01-10"):
        assert v not in html
