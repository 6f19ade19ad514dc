"""Render a plan into an Airflow DAG: a task group per dataset, one operator per step.

Decisions were made by the plan; this module only maps step kinds to operators.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from airflow.sdk import DAG, Param, TaskGroup

from operators.approve import PactlineApprovalOperator
from operators.evaluation import SplitHoldoutOperator
from operators.receive import ReceiveOperator
from operators.steps import (
    CheckBiasOperator,
    CheckPrivacyOperator,
    CheckQualityOperator,
    CheckSyntheticOperator,
    CombineOperator,
    IngestOperator,
    KClassesOperator,
    ListPartitionsOperator,
    MapSchemaOperator,
    PartitionCheckQualityOperator,
    PartitionCheckSyntheticOperator,
    PartitionIngestOperator,
    PartitionMapSchemaOperator,
    PartitionProtectOperator,
    PartitionScanPiiOperator,
    PartitionSynthesizeOperator,
    PrepareOperator,
    ProtectOperator,
    PublishOperator,
    PublishPartsOperator,
    ReleasePartitionOperator,
    ScanPiiOperator,
    SuppressOperator,
    SynthesizeOperator,
)
from pactline.agreement import LoadedAgreement, load_agreement
from pactline.errors import AgreementError
from pactline.plan import (
    APPROVE,
    LIST_PARTITIONS,
    RECEIVE_SCHEDULE,
    DatasetPlan,
    Plan,
    ReceivePlan,
    Step,
    build_plan,
    deployment_party,
)

log = logging.getLogger(__name__)

OPERATORS = {
    "ingest": IngestOperator,
    "map_schema": MapSchemaOperator,
    "scan_pii": ScanPiiOperator,
    "check_quality": CheckQualityOperator,
    "protect": ProtectOperator,
    "suppress": SuppressOperator,
    "check_privacy": CheckPrivacyOperator,
    "check_bias": CheckBiasOperator,
    "synthesize": SynthesizeOperator,
    "check_synthetic": CheckSyntheticOperator,
    "publish": PublishOperator,
    "split_holdout": SplitHoldoutOperator,
}
# A partitioned dataset's steps (the plan marks those that run once per partition as mapped).
PARTITIONED_OPERATORS = {
    "list_partitions": ListPartitionsOperator,
    "ingest": PartitionIngestOperator,
    "map_schema": PartitionMapSchemaOperator,
    "scan_pii": PartitionScanPiiOperator,
    "check_quality": PartitionCheckQualityOperator,
    "prepare": PrepareOperator,
    "protect": PartitionProtectOperator,
    "k_classes": KClassesOperator,
    "release": ReleasePartitionOperator,
    "combine": CombineOperator,
    "synthesize": PartitionSynthesizeOperator,
    "check_synthetic": PartitionCheckSyntheticOperator,
    "publish": PublishPartsOperator,
}


def doc_md(loaded: LoadedAgreement, plan: Plan) -> str:
    a = loaded.agreement
    parties = "\n".join(f"- **{p.name}** ({p.role}, {p.jurisdiction})" for p in a.parties)
    purposes = "\n".join(f"- `{p.id}`: {p.description}" for p in a.purposes)
    outputs = "\n".join(
        f"- `{o.id}`: {o.kind} release of `{o.dataset}` to {o.recipient} ({o.zone}"
        f"{', steward approval' if o.approval_required else ''})"
        for o in a.outputs
    )
    cols = []
    for ds in plan.datasets:
        cols.append(f"\n**{ds.id}** (from {ds.provider})\n\n| column | category | transformation |\n|---|---|---|")
        cols += [f"| {c.name} | {c.category} | {c.transformation['kind']} |" for c in ds.columns]
    return (
        f"# {a.metadata.title}\n\nAgreement `{a.metadata.id}` v{a.metadata.version}, in force "
        f"{a.metadata.effective} to {a.metadata.expires}.\n\nFingerprint `{loaded.fingerprint}`\n\n"
        f"## Parties\n{parties}\n\n## Purposes\n{purposes}\n\n## Outputs\n{outputs}\n\n## Columns\n"
        + "\n".join(cols)
    )


def render(loaded: LoadedAgreement, party: str | None = None) -> DAG:
    """The agreement's DAG: every dataset's steps, or with `party` only those of the datasets it provides."""
    plan = build_plan(loaded, party)
    a = loaded.agreement
    path = str(Path(loaded.source).resolve())
    dag = DAG(
        dag_id=plan.agreement_id,
        description=a.metadata.title[:200],
        schedule=None,
        start_date=dt.datetime.combine(a.metadata.effective, dt.time(), tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["pactline", f"v{plan.version}", *sorted({d.provider for d in plan.datasets})],
        doc_md=doc_md(loaded, plan),
        params={
            "fingerprint": Param(plan.fingerprint, type="string", const=plan.fingerprint,
                                 description="Agreement fingerprint this DAG was built from."),
            "as_of": Param(None, type=["null", "string"], format="date",
                           description="Policy clock (YYYY-MM-DD); default: the run's logical date."),
        },
    )
    common = {"agreement_path": path, "fingerprint": plan.fingerprint}
    for ds in plan.datasets:
        with TaskGroup(group_id=ds.id, dag=dag) as group:
            tasks = {}
            for step in ds.steps:
                inputs = {name: f"{ds.id}.{task_id}" for name, task_id in step.inputs.items()}
                if step.kind == APPROVE:
                    task = PactlineApprovalOperator(
                        task_id=step.task_id, dag=dag, dataset_id=ds.id, output_id=step.params["output"],
                        subject=f"Release {step.params['output']} of {ds.id} to {step.params['recipient']}?",
                        body=(f"Agreement {plan.agreement_id} v{plan.version} (fingerprint {plan.fingerprint[:12]}). "
                              f"Review the scan and check reports before approving a {step.params['zone']} release."),
                        **common,
                    )
                elif ds.partitioned:
                    task = _partitioned_task(dag, ds, step, tasks, inputs, common)
                else:
                    task = OPERATORS[step.kind](
                        task_id=step.task_id, dag=dag, dataset_id=ds.id, step_params=step.params,
                        upstream_steps=inputs, **common,
                    )
                tasks[step.task_id] = task
                for up in step.upstream:
                    tasks[up] >> task
        del group
    dag.fingerprint = plan.fingerprint  # type: ignore[attr-defined]
    return dag


def receive_dag_id(agreement_id: str, output: str) -> str:
    return f"{agreement_id}__receive__{output}"


def render_receive(loaded: LoadedAgreement, plan: Plan, receive: ReceivePlan) -> DAG:
    """A recipient's DAG for one output addressed to it: polls the exchange, fetches what is new."""
    a = loaded.agreement
    dag = DAG(
        dag_id=receive_dag_id(plan.agreement_id, receive.output),
        description=f"Receive {receive.output} of {a.metadata.title}"[:200],
        schedule=RECEIVE_SCHEDULE,
        start_date=dt.datetime.combine(a.metadata.effective, dt.time(), tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["pactline", "receive", f"v{plan.version}", receive.provider],
        params={"as_of": Param(None, type=["null", "string"], format="date",
                               description="Policy clock (YYYY-MM-DD); default: the run's logical date.")},
    )
    ReceiveOperator(task_id=f"receive_{receive.output}", dag=dag, dataset_id=receive.dataset,
                    step_params={"output": receive.output}, agreement_path=str(Path(loaded.source).resolve()),
                    fingerprint=plan.fingerprint)
    dag.fingerprint = plan.fingerprint  # type: ignore[attr-defined]
    return dag


def _partitioned_task(dag: DAG, ds: DatasetPlan, step: Step, tasks: dict, upstream: dict[str, str],
                      common: dict[str, str]):
    """One operator, or for a mapped step one task per partition: .partial(...).expand over list_partitions."""
    mapped_kinds = sorted({s.kind for s in ds.steps if s.params.get("mapped")})
    kwargs = dict(task_id=step.task_id, dag=dag, dataset_id=ds.id, step_params=step.params, upstream_steps=upstream,
                  mapped_upstream=mapped_kinds, **common)
    operator = PARTITIONED_OPERATORS[step.kind]
    if not step.params.get("mapped"):
        return operator(**kwargs)
    return operator.partial(**kwargs).expand(partition=tasks[LIST_PARTITIONS].output)


class InvalidAgreementFiles(Exception):
    """Raised by dags/pactline_agreement_errors.py: every broken agreement file with its problems.

    It is an import error of that file, which holds no DAG. Raising it from the factory file
    instead would make Airflow's DAG processor mark every agreement's DAG stale (an import error
    of a file disables all DAGs from that file), so one broken agreement would stop all of them.
    """


def agreement_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def build_dags(folder: Path) -> tuple[dict[str, DAG], list[str]]:
    """One DAG per valid agreement in `folder`, and a message for each file that could not become one."""
    dags: dict[str, DAG] = {}
    errors: list[str] = []
    for path in agreement_files(folder):
        try:
            loaded = load_agreement(path)
            if loaded.id in dags:
                raise AgreementError(str(path), [])  # reported below with the clash
            party = deployment_party()
            plan = build_plan(loaded, party)
            if plan.datasets:  # a party's deployment renders only its own datasets' steps
                dags[loaded.id] = render(loaded, party)
            for receive in plan.receives:
                dags[receive_dag_id(loaded.id, receive.output)] = render_receive(loaded, plan, receive)
        except AgreementError as e:
            msg = str(e) if e.problems else f"{path}: agreement id duplicates another file's metadata.id"
            errors.append(f"AgreementError: {msg}")
            log.error("Pactline: %s", msg)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {path}: {e}")
            log.exception("Pactline: cannot build a DAG from %s", path)
    return dags, errors


def raise_agreement_errors(folder: Path) -> None:
    """For the error-report DAG file: raise one import error naming every broken agreement file."""
    errors: list[str] = []
    ids: dict[str, Path] = {}
    for path in agreement_files(folder):
        try:
            loaded = load_agreement(path)
        except AgreementError as e:
            errors.append(f"AgreementError: {e}")
            continue
        if loaded.id in ids:
            errors.append(f"AgreementError: {path}: metadata.id {loaded.id!r} is also used by {ids[loaded.id]}")
        ids.setdefault(loaded.id, path)
    if errors:
        raise InvalidAgreementFiles("\n\n".join(errors))
