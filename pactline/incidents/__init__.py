"""Incident notifications and escalation, without Airflow: who is told what about each `incident.opened`, and when.

    stages.py    the incidents in the ledger with their acknowledgement and what was already sent; which
                 notice each one is due (the first notice, then one escalation at half the deadline and one
                 past it, while nobody acknowledged it)
    message.py   the notice's text: clause, dataset, deadline, a link to the Incidents page; never a value
    deliver.py   send each due notice through a caller's sender (Airflow's notifiers, operators/incident_notify.py)
                 and record it (`incident.notified` / `incident.escalated`), so nothing is sent twice

Acknowledgements (`incident.acknowledged`, written by the Incidents page) name the opened entry by ledger index,
as pactline.pia reads them.
"""

from pactline.incidents.deliver import Delivery, Sender, check, deliver
from pactline.incidents.stages import (
    ACKNOWLEDGED,
    ESCALATED,
    NOTIFIED,
    OPENED,
    Notice,
    TrackedIncident,
    due_escalations,
    due_notifications,
    track,
)

__all__ = [
    "ACKNOWLEDGED",
    "ESCALATED",
    "NOTIFIED",
    "OPENED",
    "Delivery",
    "Notice",
    "Sender",
    "TrackedIncident",
    "check",
    "deliver",
    "due_escalations",
    "due_notifications",
    "track",
]
