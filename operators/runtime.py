"""Build a core RunContext from an Airflow task context: agreement, clock, data root, keys, ledger."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from pactline.agreement import LoadedAgreement, load_agreement
from pactline.errors import PolicyViolation
from pactline.keys import KeyStore, decode_secret
from pactline.pipeline.context import RunContext
from pactline.policy import Policy
from pactline.recording import ledger_recorder
from pactline.store import DataRoot


def airflow_secret(name: str) -> bytes | None:
    """Secrets through Airflow: a Variable, else a Connection's password, so any secrets backend works."""
    from airflow.sdk import Connection, Variable

    try:
        value = Variable.get(name, default=None)
    except Exception:
        value = None
    if value is None:
        try:
            value = Connection.get(name).password
        except Exception:
            value = None
    return decode_secret(value, name) if value else None


def load_checked(agreement_path: str, parsed_fingerprint: str) -> LoadedAgreement:
    """The agreement as it is now; refuse to act if it changed since the DAG was parsed."""
    loaded = load_agreement(agreement_path)
    if loaded.fingerprint != parsed_fingerprint:
        raise PolicyViolation(
            "metadata.version",
            f"agreement {loaded.id} changed since this DAG was parsed (fingerprint {parsed_fingerprint[:12]} -> "
            f"{loaded.fingerprint[:12]}); let Airflow re-parse the DAG and trigger a new run",
        )
    return loaded


def as_of_date(context: dict[str, Any]) -> dt.date:
    """The run's clock: the `as_of` param if set (used by `pactline run --as-of`), else the run's logical date."""
    params = context.get("params") or {}
    # the human-in-the-loop approval step drops DAG params, so the run's conf is read as well
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    as_of = params.get("as_of") or conf.get("as_of")
    if as_of:
        return dt.date.fromisoformat(str(as_of))
    logical = context.get("logical_date") or context.get("data_interval_start")
    return logical.date() if logical else dt.datetime.now(dt.UTC).date()


def run_context(agreement_path: str, parsed_fingerprint: str, context: dict[str, Any]) -> RunContext:
    loaded = load_checked(agreement_path, parsed_fingerprint)
    as_of = as_of_date(context)
    ti = context["ti"]
    actor = f"airflow:{ti.dag_id}.{ti.task_id}"
    run_id = context["run_id"]
    recorder = ledger_recorder(loaded, actor=actor, run_id=run_id)
    Policy(loaded).require_in_force(as_of)
    return RunContext(
        loaded=loaded,
        run_id=run_id,
        as_of=as_of,
        root=DataRoot(os.environ.get("PACTLINE_DATA_ROOT")),
        keystore=KeyStore(resolver=airflow_secret),
        recorder=recorder,
        actor=actor,
    )
