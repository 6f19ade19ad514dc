"""The shared shell of every Pactline step operator."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from operators.runtime import run_context
from pactline.errors import PactlineError
from pactline.pipeline.context import RunContext


class PactlineOperator(BaseOperator):
    """Loads the agreement at run time, checks it is the version the DAG was built from, runs one step.

    Subclasses implement `run(ctx, upstream)` where `upstream` maps a step kind to what that
    upstream task returned (pulled from XCom).
    """

    ui_color = "#e8f0fe"
    step_kind = ""

    def __init__(self, *, agreement_path: str, fingerprint: str, dataset_id: str,
                 step_params: dict[str, Any] | None = None, upstream_steps: dict[str, str] | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.agreement_path = agreement_path
        self.fingerprint = fingerprint
        self.dataset_id = dataset_id
        self.step_params = step_params or {}
        self.upstream_steps = upstream_steps or {}  # step kind -> full task id

    def execute(self, context: Any) -> Any:
        ctx = run_context(self.agreement_path, self.fingerprint, context)
        upstream = {kind: context["ti"].xcom_pull(task_ids=task_id) for kind, task_id in self.upstream_steps.items()}
        try:
            result = self.run(ctx, upstream)
        except PactlineError as e:
            ctx.record("step.failed", dataset=self.dataset_id, step=self.step_kind, error=str(e),
                       error_type=type(e).__name__)
            raise
        return result

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        raise NotImplementedError
