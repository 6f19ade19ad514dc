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
    upstream task returned (pulled from XCom). For a partitioned dataset, a mapped task (one per
    partition, `partition` set by Airflow's expand) sees its own partition's result of each mapped
    upstream; an unmapped (reduce) task sees the list of all partitions' results.
    """

    ui_color = "#e8f0fe"
    step_kind = ""

    def __init__(self, *, agreement_path: str, fingerprint: str, dataset_id: str,
                 step_params: dict[str, Any] | None = None, upstream_steps: dict[str, str] | None = None,
                 mapped_upstream: list[str] | None = None, partition: dict[str, Any] | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.agreement_path = agreement_path
        self.fingerprint = fingerprint
        self.dataset_id = dataset_id
        self.step_params = {k: v for k, v in (step_params or {}).items() if k != "mapped"}
        self.upstream_steps = upstream_steps or {}  # step kind -> full task id
        self.mapped_upstream = set(mapped_upstream or ())  # kinds whose tasks run once per partition
        self.partition = partition  # this task's partition, when it is one of a mapped step's tasks

    def pull(self, context: Any, kind: str, task_id: str) -> Any:
        ti = context["ti"]
        if kind not in self.mapped_upstream:
            return ti.xcom_pull(task_ids=task_id)
        if self.partition is not None:  # the same partition's result
            return ti.xcom_pull(task_ids=task_id, map_indexes=ti.map_index)
        values = ti.xcom_pull(task_ids=task_id)  # every partition's result (a single one comes unwrapped)
        return values if isinstance(values, list) else [values]

    def execute(self, context: Any) -> Any:
        ctx = run_context(self.agreement_path, self.fingerprint, context, self.dataset_id)
        upstream = {kind: self.pull(context, kind, task_id) for kind, task_id in self.upstream_steps.items()}
        try:
            result = self.run(ctx, upstream)
        except PactlineError as e:
            ctx.record("step.failed", dataset=self.dataset_id, step=self.step_kind, error=str(e),
                       error_type=type(e).__name__)
            raise
        self._completed = (ctx, result)  # what OpenLineage asks about after execute (get_openlineage_facets_*)
        return result

    def run(self, ctx: RunContext, upstream: dict[str, Any]) -> Any:
        raise NotImplementedError
