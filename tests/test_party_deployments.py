"""Deployments scoped to a party (PACTLINE_PARTY): a provider renders only its own datasets' tasks; a
recipient renders one receive DAG per output addressed to it, which fetches and verifies the release."""

from __future__ import annotations

import pytest

from pactline.recording import open_ledger
from tests.conftest import AGREEMENTS, OUTPUT, Provider, agreement_dags, dagbag


def test_each_party_renders_only_its_own_part(airflow_home, monkeypatch):
    monkeypatch.setenv("PACTLINE_PARTY", "nordbank")
    bag = dagbag(AGREEMENTS, monkeypatch)
    assert bag.import_errors == {} and agreement_dags(bag) == {"fraud-detection"}  # no party to readmission
    tasks = {t.task_id for t in bag.get_dag("fraud-detection").tasks}
    assert tasks and all(t.startswith("transactions.") for t in tasks)  # not shopco's orders

    monkeypatch.setenv("PACTLINE_PARTY", "fraud-lab")
    bag = dagbag(AGREEMENTS, monkeypatch)
    assert agreement_dags(bag) == {f"fraud-detection__receive__{o}"
                                   for o in ("transactions-release", "transactions-synthetic", "orders-release")}
    receive = bag.get_dag("fraud-detection__receive__orders-release")
    assert [t.task_id for t in receive.tasks] == ["receive_orders-release"]

    monkeypatch.delenv("PACTLINE_PARTY")
    assert agreement_dags(dagbag(AGREEMENTS, monkeypatch)) == {"readmission-risk", "fraud-detection"}


@pytest.mark.slow
def test_the_receive_dag_fetches_the_newest_release_once(airflow_home, workspace, tmp_path, monkeypatch):
    from operators.render import build_dags

    provider = Provider(workspace, tmp_path)  # nordbank published transactions-release to the exchange
    monkeypatch.setenv("PACTLINE_AGREEMENTS", str(workspace / "agreements"))
    monkeypatch.setenv("PACTLINE_PARTY", "fraud-lab")
    monkeypatch.setenv("PACTLINE_PRINCIPAL", "fraud-lab-analysts")  # embedded default: the key is released locally
    dags, errors = build_dags(workspace / "agreements")
    assert not errors
    dag = dags[f"fraud-detection__receive__{OUTPUT}"]
    first = dag.test(run_conf={"as_of": "2027-01-01"})
    assert "success" in str(first.state).lower()
    received = [x.payload for x in open_ledger().entries(event="release.received")]
    assert [r["version"] for r in received] == [provider.release["version"]] and received[0]["rows"] == 300
    second = dag.test(run_conf={"as_of": "2027-01-02"})
    assert "success" in str(second.state).lower()
    assert len(list(open_ledger().entries(event="release.received"))) == 1  # nothing new: nothing fetched again
