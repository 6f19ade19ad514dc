"""The Pactline Airflow plugin: a listener that writes every Pactline task's state change to the ledger.

(The steward pages join this plugin later.) The listener runs where the task runs, so on a
worker it appends to the ledger configured there (PACTLINE_LEDGER_URL), like the operators do.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)
MAX_ERROR = 500


class LedgerListener:
    """Records task.state entries for tasks built from an agreement (they carry its fingerprint)."""

    def _record(self, ti: Any, state: str, previous: Any, error: Any = None) -> None:
        task = getattr(ti, "task", None)
        fingerprint = getattr(task, "fingerprint", None)
        if not fingerprint:
            return  # not a Pactline task
        try:
            from pactline.recording import open_ledger

            payload = {"run_id": ti.run_id, "task_id": ti.task_id, "state": state,
                       "previous_state": str(previous) if previous else None,
                       "try_number": getattr(ti, "try_number", None)}
            if error is not None:
                payload["error"] = f"{type(error).__name__}: {error}"[:MAX_ERROR] if isinstance(error, BaseException) else str(error)[:MAX_ERROR]
            open_ledger().append("task.state", agreement_id=ti.dag_id, fingerprint=fingerprint,
                                 actor=f"airflow:{ti.dag_id}.{ti.task_id}", payload=payload)
        except Exception:  # a ledger problem must be visible but must not change the task's outcome
            log.exception("Pactline: could not record task state %s of %s to the ledger", state, ti.task_id)

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        self._record(task_instance, "running", previous_state)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._record(task_instance, "success", previous_state)

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        self._record(task_instance, "failed", previous_state, error)

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        self._record(task_instance, "skipped", previous_state)


ledger_listener = LedgerListener()


class PactlinePlugin(AirflowPlugin):
    name = "pactline"
    listeners = [ledger_listener]
