"""The DAG factory with a real Airflow DagBag: one DAG per agreement, broken files become import errors."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import AGREEMENTS, agreement_dags, dagbag


def test_dagbag_imports_every_agreement(airflow_home, monkeypatch):
    bag = dagbag(AGREEMENTS, monkeypatch)
    assert bag.import_errors == {}
    assert agreement_dags(bag) == {"readmission-risk", "fraud-detection"}
    dag = bag.get_dag("readmission-risk")
    from pactline.agreement import load_agreement

    fp = load_agreement(AGREEMENTS / "readmission.yaml").fingerprint
    assert dag.params["fingerprint"] == fp
    assert fp in dag.doc_md
    assert "pactline" in dag.tags
    assert {t.task_id for t in dag.tasks} >= {
        "admissions.ingest", "admissions.map_schema", "admissions.scan_pii", "admissions.check_quality",
        "admissions.protect", "admissions.suppress", "admissions.check_privacy", "admissions.check_bias",
        "admissions.approve_admissions-release", "admissions.publish_admissions-release",
        "claims.publish_claims-release"}
    assert "claims.approve_claims-release" not in dag.task_ids  # sandbox release without approval
    publish = dag.get_task("admissions.publish_admissions-release")
    assert publish.upstream_task_ids == {"admissions.approve_admissions-release"}
    assert all(getattr(t, "fingerprint", fp) == fp for t in dag.tasks)


def test_broken_agreement_is_an_import_error_and_others_still_load(airflow_home, monkeypatch, tmp_path):
    folder = tmp_path / "agreements"
    shutil.copytree(AGREEMENTS, folder)
    text = (AGREEMENTS / "fraud.yaml").read_text()
    (folder / "broken.yaml").write_text(
        text.replace("id: fraud-detection", "id: fraud-copy").replace("{kind: redact}", "{kind: shred}", 1))
    (folder / "junk.yaml").write_bytes(b"\x00\xff\xfe not yaml")
    bag = dagbag(folder, monkeypatch)
    assert agreement_dags(bag) == {"readmission-risk", "fraud-detection"}
    [(path, message)] = bag.import_errors.items()
    # reported by a file of its own: an import error of the factory file would disable every agreement's DAG
    assert path.endswith("pactline_agreement_errors.py")
    assert "broken.yaml" in message and "'shred'" in message and "datasets[0].columns.iban.transformation" in message
    assert "junk.yaml" in message


@pytest.mark.parametrize("name", ["fraud", "readmission"])
def test_task_ids_are_stable(name, airflow_home):
    from operators.render import render
    from pactline.agreement import load_agreement

    dag = render(load_agreement(AGREEMENTS / f"{name}.yaml"))
    assert all("." in t for t in dag.task_ids)  # every task sits in its dataset's group
