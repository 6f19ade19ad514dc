"""The provider's model DAGs of an agreement with model_evaluation (issue 15), rendered from the agreement: evaluate
each predictions file that arrives on the exchange, and promote an evaluated version on a steward's HITL decision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from airflow.sdk import DAG, Param

from operators.evaluation import EvaluatePredictionsOperator, PromotionApprovalOperator, PromotionCheckOperator
from operators.render import agreement_files
from pactline.agreement import LoadedAgreement, load_agreement
from pactline.errors import AgreementError
from pactline.plan import deployment_party


def evaluation_dag_id(agreement_id: str) -> str:
    return f"{agreement_id}__evaluate_models"


def promotion_dag_id(agreement_id: str) -> str:
    return f"{agreement_id}__promote_model"


EVALUATION_SCHEDULE = "*/10 * * * *"  # how often the provider looks for new predictions files on the exchange


def render_model_dags(loaded: LoadedAgreement) -> dict[str, DAG]:
    """The provider's two model DAGs of an agreement with model_evaluation: evaluate each predictions file that
    arrives on the exchange, and promote an evaluated version to production on a steward's HITL decision."""
    a = loaded.agreement
    if not a.model_evaluation:
        return {}
    path = str(Path(loaded.source).resolve())
    start = dt.datetime.combine(a.metadata.effective, dt.time(), tzinfo=dt.UTC)
    common = {"agreement_path": path, "fingerprint": loaded.fingerprint}
    as_of = Param(None, type=["null", "string"], format="date",
                  description="Policy clock (YYYY-MM-DD); default: the run's logical date.")
    evaluate = DAG(dag_id=evaluation_dag_id(a.metadata.id), schedule=EVALUATION_SCHEDULE, start_date=start,
                   catchup=False, max_active_runs=1, tags=["pactline", "model", f"v{a.metadata.version}"],
                   description=f"Evaluate model predictions for the holdout of {a.metadata.title}"[:200],
                   params={"as_of": as_of})
    EvaluatePredictionsOperator(task_id="evaluate_predictions", dag=evaluate, dataset_id=None, **common)
    purposes = [m.purpose for m in a.model_evaluation]
    promote = DAG(dag_id=promotion_dag_id(a.metadata.id), schedule=None, start_date=start, catchup=False,
                  tags=["pactline", "model", f"v{a.metadata.version}"],
                  description=f"Promote an evaluated model version of {a.metadata.title} to production"[:200],
                  params={"purpose": Param(purposes[0], type="string", enum=purposes),
                          "model_version": Param("", type="string", minLength=1), "as_of": as_of})
    check = PromotionCheckOperator(task_id="check_evaluation", dag=promote, dataset_id=None, **common)
    approve = PromotionApprovalOperator(
        task_id="approve_promotion", dag=promote,
        subject="Promote model version {{ params.model_version }} of {{ params.purpose }} to production?",
        body=(f"Agreement {a.metadata.id} v{a.metadata.version} (fingerprint {loaded.fingerprint[:12]}). The version "
              "passed its evaluation on the provider-held holdout; review the report before promoting it."),
        **common)
    check >> approve
    return {evaluate.dag_id: evaluate, promote.dag_id: promote}


def model_dags(folder: Path) -> dict[str, DAG]:
    """The model DAGs of every valid agreement in `folder` whose evaluated datasets this deployment provides."""
    party = deployment_party()
    dags: dict[str, DAG] = {}
    for path in agreement_files(folder):
        try:
            loaded = load_agreement(path)
        except AgreementError:
            continue  # reported by pactline_agreement_errors.py
        a = loaded.agreement
        providers = {a.dataset(o.dataset).provider for o in a.outputs if o.kind == "evaluation"}
        if party is None or party in providers:
            dags.update(render_model_dags(loaded))
    return dags
