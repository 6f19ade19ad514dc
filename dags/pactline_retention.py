"""Retention and data-subject erasure (Pactline). The logic is in pactline.retention; this file schedules it.

pactline_retention  daily: finish any interrupted purge, then crypto-shred every version past its
                    zone's retention or its agreement's expiry plus grace, one signed receipt each.
                    The clock is the run's logical date (or the `as_of` param).
pactline_erasure    triggered with `agreement` (id) and `subject`: rewrites every live version
                    without the subject's rows, shreds the old ones, one receipt each.

The purge judges each version under the agreement text it was made under, as the store recorded it
(pactline.retention.made_under): moving or deleting an agreement file changes nothing. Agreement files
are read from $PACTLINE_AGREEMENTS (default: include/agreements next to this folder): by the purge only
for a version whose text the store did not keep, and by the delivery and erasure tasks.
Secrets (the KEK, pseudonymisation keys) come through Airflow Variables/Connections.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, task

from operators.airflow_env import agreements_folder, keystore, ledger

with DAG(
    dag_id="pactline_retention",
    description="Crypto-shred every version past its retention; signed deletion receipts in the ledger.",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,  # retention is a promise of the agreement: it runs without anyone unpausing it
    tags=["pactline", "retention"],
    params={
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="Retention clock (YYYY-MM-DD); default: the run's logical date."),
        "dry_run": Param(False, type="boolean", description="List what is due; change nothing."),
    },
) as retention_dag:

    @task(task_id="purge_due_versions")
    def purge_due_versions(**context: Any) -> dict[str, Any]:
        from operators.runtime import as_of_date
        from pactline.errors import PactlineError
        from pactline.retention import run_purge

        report = run_purge(as_of_date(context), agreements=[agreements_folder()],
                           dry_run=bool(context["params"].get("dry_run")), keystore=keystore(),
                           actor="airflow:pactline_retention.purge_due_versions")
        if report.errors:  # the others were purged; the next run finishes these
            raise PactlineError(f"{len(report.errors)} version(s) could not be purged: " + "; ".join(report.errors))
        if report.kept:  # the others were purged; these wait for their agreement text (a failed task, not a log line)
            why: dict[str, list[str]] = {}
            for k in report.kept:
                why.setdefault(k["reason"], []).append(k["version_id"])
            raise PactlineError(f"{len(report.kept)} version(s) kept: "
                                + "; ".join(f"{', '.join(ids)}: {reason}" for reason, ids in why.items()))
        return report.to_dict()

    @task(task_id="settle_deliveries", trigger_rule="all_done")
    def settle_deliveries(**context: Any) -> dict[str, Any]:
        """Attest the received releases purged here; record recipients' attestations; open an incident per
        release overdue for one (pactline.delivery.attest)."""
        from operators.runtime import as_of_date
        from pactline.delivery.attest import settle
        from pactline.parties import PartyKeys
        from pactline.retention.due import load_agreements
        from pactline.store import Vault

        agreements, _ = load_agreements([agreements_folder()])
        return settle(agreements, catalog=Vault.open(keystore()).catalog, ledger=ledger(),
                      today=as_of_date(context), party_keys=PartyKeys(keystore()),
                      actor="airflow:pactline_retention.settle_deliveries")

    @task(task_id="witness_ledgers", trigger_rule="all_done")
    def witness_ledgers() -> dict[str, Any]:
        """Witness every other party's ledger published on the exchange (truncation, forks: an incident)."""
        from pactline.ledger.witness import witness
        from pactline.plan import deployment_party
        from pactline.store.exchange import open_exchange

        own = deployment_party() or "embedded"
        results = {p: witness(p, own_party=own, actor="airflow:pactline_retention.witness_ledgers")
                   for p in open_exchange().ls("ledgers") if p != own}
        return {p: {"ok": r.ok, "problem": r.problem} for p, r in results.items()}

    purge_due_versions() >> settle_deliveries() >> witness_ledgers()


with DAG(
    dag_id="pactline_erasure",
    description="Erase a data subject from every live version of an agreement; shred the old versions.",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["pactline", "erasure"],
    params={
        "agreement": Param("", type="string", minLength=1, description="Agreement id (metadata.id)."),
        # Airflow keeps run parameters in its metadata database: restrict who may trigger this DAG
        "subject": Param("", type="string", minLength=1, description="The subject's identifier value."),
        "column": Param(None, type=["null", "string"],
                        description="Canonical column the value is from; default: every pseudonymised identifier."),
    },
) as erasure_dag:

    @task(task_id="erase_subject")
    def erase_subject(**context: Any) -> dict[str, Any]:
        from airflow.sdk.log import mask_secret

        from pactline.retention import find_agreement, run_erasure

        params = context["params"]
        mask_secret(params["subject"])  # never in the task log
        loaded = find_agreement(params["agreement"], [agreements_folder()])
        report = run_erasure(loaded, params["subject"], column=params.get("column") or None,
                             keystore=keystore(), actor="airflow:pactline_erasure.erase_subject")
        return report.to_dict()

    erase_subject()
