"""The retention and erasure DAGs through real Airflow (dag.test on SQLite).

With a clock past the fraud agreement's expiry plus grace, the daily retention DAG removes every
fraud version (its agreement file moved out of the DAG's folder meanwhile) and nothing of the
readmission agreement (whose retention runs for years), and its receipts verify. The erasure DAG
does what `pactline erase` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os

import pytest

from pactline.recording import open_ledger
from pactline.retention import subject_report, verify_receipts
from pactline.store import DataRoot, default_vault
from tests.conftest import REPO, amend, populate, total

pytestmark = pytest.mark.slow


def load_dags():
    spec = importlib.util.spec_from_file_location("pactline_retention_dags", REPO / "dags" / "pactline_retention.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def long_retention(workspace):
    """The readmission agreement with years of retention in every zone: nothing of it is due in 2028."""
    path = workspace / "agreements" / "readmission.yaml"
    text = path.read_text()
    for zone, days in (("landing", 14), ("staging", 30), ("sandbox", 90), ("production", 365)):
        text = text.replace(f"{zone}_days: {days}", f"{zone}_days: 3650")
    amend(path, text)


def ok(run) -> bool:
    return str(run.state) in ("success", "DagRunState.SUCCESS")


def test_retention_dag_past_expiry_removes_every_due_version_and_nothing_else(airflow_home, workspace):
    long_retention(workspace)
    fraud = populate(workspace, "fraud")
    readmission = populate(workspace, "readmission")
    vault = default_vault()
    fraud_versions = vault.catalog.versions(fraud.loaded.id)
    kept = vault.catalog.versions(readmission.loaded.id)
    assert len(fraud_versions) == total(fraud) and len(kept) == total(readmission)
    assert {v.zone for v in kept} >= {"landing", "staging", "sandbox", "production"}

    os.environ["PACTLINE_AGREEMENTS"] = str(workspace / "agreements")  # read by the task at run time
    # moved out of the folder the DAG reads: the purge follows the text the store kept for each version
    (workspace / "agreements" / "fraud.yaml").rename(workspace / "fraud-moved.yaml")
    dags = load_dags()
    # fraud expires 2027-12-31 with 14 days of grace: due from 2028-01-15
    run = dags.retention_dag.test(logical_date=dt.datetime(2028, 1, 15, 3, tzinfo=dt.UTC))
    assert ok(run)

    assert {v.state for v in vault.catalog.versions(fraud.loaded.id)} == {"purged"}
    assert {v.state for v in vault.catalog.versions(readmission.loaded.id)} == {"live"}
    root = DataRoot()
    assert not any(root.exists(v.base) for v in fraud_versions)
    for v in kept:
        for f in vault.catalog.files(v.version_id):
            if f.path.endswith(".parquet"):  # untouched, still decrypts
                assert root.read_table(f.path).num_rows > 0
            else:
                assert hashlib.sha256(root.read_bytes(f.path)).hexdigest() == f.plaintext_sha256
    receipts = root.ls("fraud-detection/receipts")
    assert len(receipts) == total(fraud) and not root.exists("readmission-risk/receipts")
    bodies = [root.read_json(f"fraud-detection/receipts/{r}")["body"] for r in receipts]
    assert {b["clause"] for b in bodies} <= {"retention.after_termination_days", "retention.landing_days",
                                            "retention.staging_days", "retention.sandbox_days"}
    assert {b["actor"] for b in bodies} == {"airflow:pactline_retention.purge_due_versions"}
    assert verify_receipts().ok
    assert open_ledger().verify().ok

    # the next day's run finds nothing more to do
    assert ok(dags.retention_dag.test(logical_date=dt.datetime(2028, 1, 16, 3, tzinfo=dt.UTC)))
    assert len(root.ls("fraud-detection/receipts")) == total(fraud)


def test_retention_dag_fails_naming_versions_whose_agreement_text_is_known_nowhere(airflow_home, workspace):
    """No stored text and no agreement file with the version's fingerprint: the versions are kept and the
    purge task fails (a log line is easy to miss); the file back in $PACTLINE_AGREEMENTS stands in for the text."""
    from pactline.parties.history import SignedVersions

    fraud = populate(workspace, "fraud")
    vault = default_vault()
    with SignedVersions(vault.catalog.db.url).db.transaction() as tx:  # a store whose history was lost
        tx.run("DELETE FROM pactline_agreement_texts")
    path = workspace / "agreements" / "fraud.yaml"
    path.rename(workspace / "fraud.yaml")
    os.environ["PACTLINE_AGREEMENTS"] = str(workspace / "agreements")
    dags = load_dags()
    run = dags.retention_dag.test(logical_date=dt.datetime(2028, 1, 15, 3, tzinfo=dt.UTC))
    assert "fail" in str(run.get_task_instance("purge_due_versions").state).lower()
    assert {v.state for v in vault.catalog.versions(fraud.loaded.id)} == {"live"}

    (workspace / "fraud.yaml").rename(path)
    assert ok(dags.retention_dag.test(logical_date=dt.datetime(2028, 1, 16, 3, tzinfo=dt.UTC)))
    assert {v.state for v in vault.catalog.versions(fraud.loaded.id)} == {"purged"}
    assert verify_receipts().ok


def test_erasure_dag(airflow_home, workspace, subject):
    ctx = populate(workspace, "fraud")
    assert subject_report(ctx.loaded, subject)
    os.environ["PACTLINE_AGREEMENTS"] = str(workspace / "agreements")
    dags = load_dags()
    run = dags.erasure_dag.test(run_conf={"agreement": "fraud-detection", "subject": subject})
    assert ok(run)
    assert subject_report(ctx.loaded, subject) == []
    assert len(DataRoot().ls("fraud-detection/receipts")) == total(ctx)
    assert verify_receipts().ok
