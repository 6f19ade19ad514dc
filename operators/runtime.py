"""Build a core RunContext from an Airflow task context: agreement, clock, data root, keys, ledger (the last three
through operators.airflow_env, shared with the DAG files and the plugin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from operators.airflow_env import data_root, keystore
from pactline.agreement import LoadedAgreement, load_agreement
from pactline.errors import PolicyViolation
from pactline.parties import PartyKeys
from pactline.parties.consent import require_consent
from pactline.pipeline.context import RunContext
from pactline.pipeline.gates import open_incident
from pactline.policy import Policy
from pactline.recording import ledger_recorder


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


def run_context(agreement_path: str, parsed_fingerprint: str, context: dict[str, Any],
                dataset_id: str | None = None) -> RunContext:
    """The run's context, once the agreement is in force and every party signed this version.

    A refusal is a step.failed entry and an incident (the notification clock starts), then it raises.
    """
    loaded = load_checked(agreement_path, parsed_fingerprint)
    as_of = as_of_date(context)
    ti = context["ti"]
    actor = f"airflow:{ti.dag_id}.{ti.task_id}"
    run_id = context["run_id"]
    recorder = ledger_recorder(loaded, actor=actor, run_id=run_id)
    keys = keystore()
    ctx = RunContext(
        loaded=loaded,
        run_id=run_id,
        as_of=as_of,
        root=data_root(),  # the run binds it to a vault over its own key store
        keystore=keys,
        recorder=recorder,
        actor=actor,
    )
    try:
        Policy(loaded).require_in_force(as_of)
        signatures = require_consent(loaded, recorder, party_keys=PartyKeys(keys))
    except PolicyViolation as e:
        ctx.record("step.failed", dataset=dataset_id, step=ti.task_id, error=str(e), error_type=type(e).__name__)
        open_incident(ctx, dataset_id, f"policy.{e.clause}", str(e), "")
        raise
    ctx.extra["signatures"] = [s.summary() for s in signatures]  # publish lists them in the manifest
    return ctx
