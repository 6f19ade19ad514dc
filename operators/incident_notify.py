"""Incident notices through Airflow's notifiers (pactline.incidents decides what is due; this sends it).

Email goes to every contact through SmtpNotifier (apache-airflow-providers-smtp) over the SMTP connection Airflow
mails with ([email] email_conn_id, default `smtp_default`; its extra's `from_email` is the sender). Where a Slack
connection (`slack_api_default`) exists, SlackNotifier (apache-airflow-providers-slack) posts the same notice to
a channel. The link in each notice is the Incidents page under Airflow's [api] base_url.

Used by the `pactline_incidents` DAG (dags/pactline_incidents.py) and `pactline incidents notify|escalate`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pactline.incidents import Delivery, Notice, check
from pactline.incidents.message import Message

SLACK_CONN_ID = "slack_api_default"  # the Slack provider's default connection id
SLACK_CHANNEL = "#pactline-incidents"
INCIDENTS_PAGE = "/pactline/incidents"  # the plugin's URL prefix (plugins/pactline_plugin.py) and the page


def incidents_url() -> str:
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback=None) or "http://localhost:8080").rstrip("/") + INCIDENTS_PAGE


def has_connection(conn_id: str) -> bool:
    from airflow.providers.slack.hooks.slack import SlackHook

    try:
        SlackHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException, or no secrets backend holds it
        return False
    return True


def airflow_sender(*, smtp_conn_id: str | None = None, slack_conn_id: str = SLACK_CONN_ID,
                   slack_channel: str = SLACK_CHANNEL) -> Any:
    """A pactline.incidents Sender: email to every contact, and Slack when its connection exists."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    slack = has_connection(slack_conn_id)

    def send(notice: Notice, message: Message) -> list[str]:
        SmtpNotifier(to=list(notice.incident.contacts), subject=message.subject, html_content=message.html,
                     smtp_conn_id=smtp_conn_id).notify({})
        channels = ["email"]
        if slack:
            from airflow.providers.slack.notifications.slack import SlackNotifier

            SlackNotifier(slack_conn_id=slack_conn_id, channel=slack_channel, username="Pactline",
                          text=f"{message.subject}\n{message.text}", unfurl_links=False).notify({})
            channels.append("slack")
        return channels

    return send


def check_incidents(now: dt.datetime, *, agreements: Path | str, actor: str, notify: bool = True,
                    escalate: bool = True, smtp_conn_id: str | None = None, slack_channel: str = SLACK_CHANNEL
                    ) -> Delivery:
    """Send every notice due at `now` (first notices, escalations) and record each in the ledger."""
    from operators.airflow_env import ledger
    from pactline.retention.due import load_agreements

    loaded, _ = load_agreements([Path(agreements)])
    contacts = {i: [c.email for c in x.agreement.incident_response.contacts] for i, x in loaded.items()}
    return check(ledger(), contacts, airflow_sender(smtp_conn_id=smtp_conn_id, slack_channel=slack_channel),
                 now=now, incidents_url=incidents_url(), actor=actor, notify=notify, escalate=escalate)


__all__ = ["SLACK_CHANNEL", "SLACK_CONN_ID", "airflow_sender", "check_incidents", "incidents_url"]
