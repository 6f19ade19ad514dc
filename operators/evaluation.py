"""The operators of issue 15: the holdout split of a dataset's run, a model's evaluation when its predictions
arrive on the exchange, and the steward's promotion of an evaluated model version (HITL, like release approval)."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict

from operators.base import PactlineOperator
from pactline.pipeline.context import RunContext
from pactline.pipeline.holdout import split_holdout


class SplitHoldoutOperator(PactlineOperator):
    step_kind = "split_holdout"
    ui_color = "#e6f4ea"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        return split_holdout(ctx, self.dataset_id, upstream["released"]["staging"], **self.step_params)


class EvaluatePredictionsOperator(PactlineOperator):
    """Polls the exchange's predictions inbox of the agreement (<agreement>/predictions/<purpose>/<model type>/
    <model version>.csv|.parquet) and evaluates each file not evaluated or refused before (by its SHA-256). Every
    outcome is in the ledger; the task fails after the others when a file was refused, so the steward sees it."""

    step_kind = "evaluate"
    ui_color = "#fef7e0"

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        import hashlib

        from operators.airflow_env import ledger
        from pactline.errors import PactlineError
        from pactline.pipeline.evaluate_model import evaluate_model, handled
        from pactline.store import layout
        from pactline.store.exchange import open_exchange

        exchange, book = open_exchange(), ledger()
        inbox = layout.predictions_inbox(ctx.loaded.id)
        base = exchange.path(inbox).rstrip("/") + "/"
        found = sorted(f[len(base):] for f in exchange.fs.find(base)) if exchange.exists(inbox) else []
        results, refused = [], []
        for name in found:
            parts = name.split("/")
            if len(parts) != 3 or not name.endswith((".csv", ".parquet")):
                refused.append(f"{name}: not <purpose>/<model type>/<model version>.csv|.parquet")
                continue
            data = exchange.fs.cat_file(base + name)
            if handled(book, ctx.loaded.id, hashlib.sha256(data).hexdigest()):
                continue
            purpose, model_type, file = parts
            version = file.rsplit(".", 1)[0]
            try:
                report = evaluate_model(ctx, book, purpose=purpose, model_type=model_type, model_version=version,
                                        predictions=data, predictions_name=file)
            except PactlineError as e:
                refused.append(f"{name}: {e}")
                continue
            results.append({"file": name, "passed": report["passed"], "report": report["report"]})
        if refused:
            raise PactlineError(f"{len(refused)} predictions file(s) refused (recorded as model.refused): "
                                + "; ".join(refused))
        return {"evaluated": results}


class PromotionCheckOperator(PactlineOperator):
    """Before the steward is asked: the version was evaluated, passed, and is not decided yet (else refused)."""

    step_kind = "promotion_check"

    def execute(self, context: Any) -> Any:
        self._asked = {k: str((context.get("params") or {}).get(k) or "") for k in ("purpose", "model_version")}
        return super().execute(context)

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        from operators.airflow_env import ledger
        from pactline.pipeline.promote_model import promotion_candidate

        candidate = promotion_candidate(ctx, ledger(), self._asked["purpose"], self._asked["model_version"])
        ctx.record("model.promotion_requested", **candidate)
        return candidate


EVALUATION_LINK = ("\n\n[Open the evaluation report](/pactline/evaluations/{{ dag.dag_id.split('__')[0] }}/"
                   "{{ params.purpose | urlencode }}/{{ params.model_version | urlencode }})")


class PromotionApprovalOperator(ApprovalOperator):
    """The steward's decision (Airflow HITL, as for a release): Approve promotes the version to production
    (`model.promoted`), Reject keeps it out (`model.rejected`); user, comment and the evaluation go to the ledger."""

    ui_color = "#fff4e5"

    def __init__(self, *, agreement_path: str, fingerprint: str, **kwargs: Any):
        merged = kwargs.pop("params", None)
        params = merged if isinstance(merged, ParamsDict) else ParamsDict(merged or {})
        params["comment"] = Param("", type="string", title="Comment", source="task",
                                  description="Why you promote or reject the model; recorded in the ledger.")
        super().__init__(ignore_downstream_trigger_rules=True, params=params, **kwargs)
        self.body = (self.body or "") + EVALUATION_LINK
        self.agreement_path = agreement_path
        self.fingerprint = fingerprint

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from operators.airflow_env import ledger
        from operators.runtime import run_context
        from pactline.pipeline.promote_model import decide_promotion

        ctx = run_context(self.agreement_path, self.fingerprint, context)
        params = context.get("params") or {}
        chosen = (event.get("chosen_options") or [None])[0]
        user = event.get("responded_by_user") or {}
        decide_promotion(ctx, ledger(), purpose=str(params.get("purpose")), model_version=str(params.get("model_version")),
                         approve=chosen == "Approve", user=user.get("name") or user.get("id"),
                         comment=(event.get("params_input") or {}).get("comment"))
        return super().execute_complete(context, event)
