"""Steward approval of a release, with Airflow's human-in-the-loop ApprovalOperator.

The steward approves or rejects in the Airflow UI; the decision, who made it and the agreement
fingerprint go to the ledger. Rejection skips the publish task, so nothing is released.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from operators.runtime import run_context


class PactlineApprovalOperator(ApprovalOperator):
    ui_color = "#fff4e5"

    def __init__(self, *, agreement_path: str, fingerprint: str, dataset_id: str, output_id: str, **kwargs: Any):
        super().__init__(ignore_downstream_trigger_rules=True, **kwargs)
        self.agreement_path = agreement_path
        self.fingerprint = fingerprint
        self.dataset_id = dataset_id
        self.output_id = output_id

    def execute(self, context: Any) -> Any:
        ctx = run_context(self.agreement_path, self.fingerprint, context)
        ctx.record("approval.requested", dataset=self.dataset_id, output=self.output_id)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        ctx = run_context(self.agreement_path, self.fingerprint, context)
        chosen = (event.get("chosen_options") or [None])[0]
        user = event.get("responded_by_user") or {}
        ctx.record(
            "approval.decided", dataset=self.dataset_id, output=self.output_id, decision=chosen,
            user=user.get("name") or user.get("id"), comment=(event.get("params_input") or {}).get("comment"),
        )
        return super().execute_complete(context, event)
