"""Steward approval of a release, with Airflow's human-in-the-loop ApprovalOperator.

On Airflow 3.3 `execute` writes the HITL request and parks the task in AWAITING_INPUT (no trigger,
no triggerer). The steward answers in the Pactline review page (or Airflow's Required Actions
page); Airflow stores the answer on the HITL record and schedules the task again, which then runs
`execute_complete` with the answer. That is where the decision, who made it, their comment and the
agreement fingerprint go to the ledger (`approval.decided`). Rejection skips the publish task,
so nothing is released.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict

from operators.airflow_env import ledger
from operators.runtime import run_context
from pactline.pia.generate import write_pia

REVIEW_LINK = "\n\n[Open the Pactline review of this run](/pactline/runs/{{ dag.dag_id }}/{{ run_id | urlencode }})"


class PactlineApprovalOperator(ApprovalOperator):
    ui_color = "#fff4e5"

    def __init__(self, *, agreement_path: str, fingerprint: str, dataset_id: str, output_id: str,
                 body: str | None = None, **kwargs: Any):
        # The DAG's params arrive merged in (marked source="dag", so the HITL form leaves them out);
        # the steward's comment is this task's own form field.
        merged = kwargs.pop("params", None)
        params = merged if isinstance(merged, ParamsDict) else ParamsDict(merged or {})
        params["comment"] = Param("", type="string", title="Comment", source="task",
                                  description="Why you approve or reject; recorded in the ledger.")
        super().__init__(ignore_downstream_trigger_rules=True, body=(body or "") + REVIEW_LINK, params=params,
                         **kwargs)
        self.agreement_path = agreement_path
        self.fingerprint = fingerprint
        self.dataset_id = dataset_id
        self.output_id = output_id

    def execute(self, context: Any) -> Any:
        ctx = run_context(self.agreement_path, self.fingerprint, context, self.dataset_id)
        # the privacy impact assessment first: the request names the one the steward's decision rests on
        pia = write_pia(ctx, self.dataset_id, ledger(), trigger=context["ti"].task_id)
        ctx.record("approval.requested", dataset=self.dataset_id, output=self.output_id,
                   task_id=context["ti"].task_id, subject=self.subject, pia=pia["path"], pia_sha256=pia["sha256"])
        return super().execute(context)  # on Airflow 3.3: raises TaskAwaitingInput (the task waits for input)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        ctx = run_context(self.agreement_path, self.fingerprint, context, self.dataset_id)
        chosen = (event.get("chosen_options") or [None])[0]
        user = event.get("responded_by_user") or {}
        responded_at = event.get("responded_at")
        ctx.record(
            "approval.decided", dataset=self.dataset_id, output=self.output_id, task_id=context["ti"].task_id,
            decision=chosen, user=user.get("name") or user.get("id"), user_id=user.get("id"),
            comment=(event.get("params_input") or {}).get("comment") or None,
            responded_at=responded_at.isoformat() if isinstance(responded_at, dt.datetime) else responded_at,
            timed_out=bool(event.get("timedout")), error=event.get("error_type"),
        )
        return super().execute_complete(context, event)
