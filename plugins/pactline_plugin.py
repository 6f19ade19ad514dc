"""The Pactline Airflow plugin: the steward pages, and listeners that write task states and run ends to the ledger.

- Steward pages: a FastAPI app under /pactline (plugins/pactline_web.py) and external views in the
  navigation (Agreements, Reviews, Ledger, Incidents), on each agreement's DAG (its agreement) and
  on each DAG run (its reviews and release approval). Every route requires an authenticated user
  through Airflow's own security dependencies; see pactline_web.py.
- Ledger listener: runs where the task runs, so on a worker it appends to the ledger configured
  there (PACTLINE_LEDGER_URL), like the operators do.
- Run listener: when a run of a Pactline DAG ends (where its state is decided: the scheduler, or the
  process running dag.test) it records `run.finished`, signs a checkpoint and publishes it.

The web app is imported on its first request only, so schedulers, DAG processors and task
processes, which load this plugin for its listener, never import FastAPI for it.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)
MAX_ERROR = 500


def error_text(error: Any) -> str:
    """A failed task's error as the ledger keeps it. Pactline's own errors name columns, rows and counts
    and are kept whole; any other exception (a library's, which may quote the cell it choked on) keeps
    its type and its message with every value withheld (pactline.withheld)."""
    from pactline.errors import PactlineError
    from pactline.withheld import exception_text, withhold_values

    if isinstance(error, PactlineError):
        return f"{type(error).__name__}: {error}"[:MAX_ERROR]
    if isinstance(error, BaseException):
        return exception_text(error)[:MAX_ERROR]
    return withhold_values(str(error))[:MAX_ERROR]


class LedgerListener:
    """Records task.state entries for tasks built from an agreement (they carry its fingerprint)."""

    def _record(self, ti: Any, state: str, previous: Any, error: Any = None) -> None:
        task = getattr(ti, "task", None)
        fingerprint = getattr(task, "fingerprint", None)
        if not fingerprint:
            return  # not a Pactline task
        try:
            from operators.airflow_env import ledger

            payload = {"run_id": ti.run_id, "task_id": ti.task_id, "state": state,
                       "previous_state": str(previous) if previous else None,
                       "try_number": getattr(ti, "try_number", None)}
            map_index = getattr(ti, "map_index", -1)
            if isinstance(map_index, int) and map_index >= 0:  # one entry per partition of a mapped step
                payload["map_index"] = map_index
            if getattr(ti, "hostname", None):  # which worker ran it, for a distributed deployment
                payload["hostname"] = ti.hostname
            if error is not None:
                payload["error"] = error_text(error)
            ledger().append("task.state", agreement_id=ti.dag_id, fingerprint=fingerprint,
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


def run_fingerprint(dag_run: Any) -> tuple[bool, str | None]:
    """(is this a Pactline DAG, the agreement fingerprint if it is an agreement's DAG).

    An agreement's DAG carries its fingerprint (as an attribute where the DAG was built, as a param once
    serialised, which is what the scheduler holds); Pactline's own DAGs (retention, erasure) are tagged.
    """
    dag = getattr(dag_run, "dag", None)
    fingerprint = getattr(dag, "fingerprint", None)
    if not fingerprint:
        try:
            fingerprint = dag.params["fingerprint"] if dag is not None and "fingerprint" in dag.params else None
        except Exception:  # params of another shape: not an agreement's DAG
            fingerprint = None
    if isinstance(fingerprint, str) and fingerprint:
        return True, fingerprint
    tags = getattr(dag, "tags", None)
    if dag is None:  # e.g. a run the scheduler reloaded to time it out: its DAG model still has the tags
        try:
            tags = [t.name for t in dag_run.dag_model.tags]
        except Exception:
            tags = None
    return "pactline" in set(tags or ()), None


class RunLedgerListener:
    """At the end of every run of a Pactline DAG: record how an agreement's run ended, then sign a checkpoint
    over the whole ledger and publish it (pactline.ledger.witness.seal), so no run leaves an unsigned tail.

    Runs where the run's state is decided: the scheduler (or the process running dag.test)."""

    def _finish(self, dag_run: Any, state: str, msg: Any) -> None:
        try:
            pactline, fingerprint = run_fingerprint(dag_run)
            if not pactline:
                return
            from operators.airflow_env import ledger as process_ledger
            from pactline.ledger.witness import seal

            ledger = process_ledger()
            if fingerprint:
                ledger.append("run.finished", agreement_id=dag_run.dag_id, fingerprint=fingerprint,
                              actor=f"airflow:{dag_run.dag_id}",
                              payload={"run_id": dag_run.run_id, "state": state, "reason": str(msg or "")[:200]})
            seal(ledger)
        except Exception:  # must be visible, but never break the scheduler loop
            log.exception("Pactline: could not seal the ledger at the end of run %s",
                          getattr(dag_run, "run_id", "?"))

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._finish(dag_run, "success", msg)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._finish(dag_run, "failed", msg)


run_listener = RunLedgerListener()


class LazyWebApp:
    """An ASGI app that builds the Pactline FastAPI app (pactline_web.build_app) on first use."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = _web_module().build_app()
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # nothing to start or stop
            return
        await self.load()(scope, receive, send)

    def __repr__(self) -> str:
        return "pactline_web.build_app()"


def _web_module() -> Any:
    """plugins/pactline_web.py, which Airflow's plugin loader skips (.airflowignore)."""
    if "pactline_web" in sys.modules:
        return sys.modules["pactline_web"]
    path = Path(__file__).resolve().parent / "pactline_web.py"
    spec = importlib.util.spec_from_file_location("pactline_web", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pactline_web"] = module
    spec.loader.exec_module(module)
    return module


web_app = LazyWebApp()
URL_PREFIX = "/pactline"


def _icon(path_d: str) -> str:
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='%232f6db5' "
           f"stroke-width='2' stroke-linecap='round' stroke-linejoin='round'><path d='{path_d}'/></svg>")
    return "data:image/svg+xml;utf8," + svg.replace("<", "%3C").replace(">", "%3E").replace("#", "%23")


def _view(name: str, page: str, icon: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "href": f"{URL_PREFIX}/{page}", "url_route": f"pactline-{page.split('/')[0]}",
            "icon": _icon(icon), **extra}


class PactlinePlugin(AirflowPlugin):
    name = "pactline"
    listeners = [ledger_listener, run_listener]
    fastapi_apps = [{"app": web_app, "url_prefix": URL_PREFIX, "name": "Pactline steward pages"}]
    external_views = [
        _view("Agreements", "agreements", "M6 2h9l5 5v15H6z M14 2v6h6 M9 13h8 M9 17h8", nav_top_level=True),
        _view("Reviews", "reviews", "M9 11l3 3 8-8 M20 12v8H4V4h11", nav_top_level=True),
        _view("Ledger", "ledger", "M4 4h16v16H4z M4 9h16 M4 14h16 M9 4v16", nav_top_level=True),
        _view("Incidents", "incidents", "M12 3l10 18H2z M12 10v5 M12 18v.5", nav_top_level=True),
        {**_view("Agreement", "agreements/{DAG_ID}", "M6 2h9l5 5v15H6z M14 2v6h6"), "url_route": "pactline-agreement",
         "destination": "dag"},
        {**_view("Pactline review", "runs/{DAG_ID}/{RUN_ID}", "M9 11l3 3 8-8 M20 12v8H4V4h11"),
         "url_route": "pactline-run", "destination": "dag_run"},
    ]
