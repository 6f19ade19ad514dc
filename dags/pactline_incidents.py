"""Incident notices (Pactline): every 15 minutes, mail (and Slack, where its connection exists) the first notice of
each new incident to the agreement's incident_response.contacts, and escalate once at half the notification
deadline and once past it while nobody acknowledged it on the Incidents page. The logic is in pactline.incidents;
the notifiers in operators.incident_notify; `pactline incidents notify|escalate` does the same by hand.

The clock is the `as_of` param (an ISO date-time, for a replay), else the run's logical date. Every notice sent is a
ledger entry, so a rerun or an overlapping check sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, task

from operators.airflow_env import agreements_folder

with DAG(
    dag_id="pactline_incidents",
    description="Notify incidents to the agreements' contacts; escalate the unacknowledged ones.",
    schedule="*/15 * * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,  # the notification deadline is a promise of the agreement
    tags=["pactline", "incidents"],
    params={"as_of": Param(None, type=["null", "string"],
                           description="Clock (ISO date-time, UTC unless zoned); default: the run's logical date.")},
) as incidents_dag:

    @task(task_id="notify_and_escalate")
    def notify_and_escalate(**context: Any) -> dict[str, Any]:
        from operators.incident_notify import check_incidents
        from pactline.errors import PactlineError

        as_of = (context.get("params") or {}).get("as_of")
        now = dt.datetime.fromisoformat(as_of) if as_of else (context.get("logical_date") or dt.datetime.now(dt.UTC))
        now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
        report = check_incidents(now, agreements=agreements_folder(), actor="airflow:pactline_incidents")
        if report.failed:  # the others went out; the next run retries these (a failed task, not a log line)
            raise PactlineError(f"{len(report.failed)} incident notice(s) not sent: " + "; ".join(
                f"incident #{f['incident_index']} {f['stage']} ({f['error']})" for f in report.failed)
                + ": check the SMTP connection ([email] email_conn_id)")
        return report.to_dict()

    notify_and_escalate()
