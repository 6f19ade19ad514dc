"""Each incident in the ledger, what has been sent about it, and which notice it is due.

An `incident.opened` entry is notified once to the agreement's incident_response.contacts (`incident.notified`).
While no `incident.acknowledged` entry names it, it is escalated once when half its notification deadline has
gone and once when the deadline has passed (`incident.escalated` with that `stage`). A check that runs late sends
only the latest stage reached: a reminder at half time is moot once the deadline is gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pactline.pia.measured import ACK_KEYS, INCIDENT_OPENED
from pactline.pia.measured import ACKNOWLEDGED as ACK_EVENTS

OPENED = INCIDENT_OPENED
ACKNOWLEDGED = ACK_EVENTS[0]
NOTIFIED, ESCALATED = "incident.notified", "incident.escalated"
FIRST = "opened"
STAGES = ("half_deadline", "deadline_passed")  # escalation stages, in the order they fall due
INCIDENT_INDEX = "incident_index"  # the key every follow-up entry names its incident.opened entry by


def _time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def named_incident(payload: Mapping[str, Any] | None) -> int | None:
    """The incident.opened index a follow-up entry names (pactline.pia's keys), if any."""
    return next((v for k in ACK_KEYS if isinstance(v := (payload or {}).get(k), int)), None)


@dataclass
class TrackedIncident:
    index: int  # of its incident.opened entry
    agreement_id: str
    fingerprint: str | None
    kind: str
    dataset: str | None
    run_id: str | None
    opened_at: dt.datetime
    notify_by: dt.datetime | None
    contacts: list[str]
    acknowledged: Any = None  # the incident.acknowledged entry
    notified: bool = False
    escalated: list[str] = field(default_factory=list)  # stages sent

    @property
    def deadline_hours(self) -> float | None:
        return None if self.notify_by is None else (self.notify_by - self.opened_at).total_seconds() / 3600

    def stage_at(self, now: dt.datetime) -> str | None:
        """The escalation stage reached at `now` (None before half the deadline or without one)."""
        if self.notify_by is None:
            return None
        if now >= self.notify_by:
            return STAGES[1]
        return STAGES[0] if now >= self.opened_at + (self.notify_by - self.opened_at) / 2 else None


@dataclass(frozen=True)
class Notice:
    incident: TrackedIncident
    stage: str  # FIRST or one of STAGES

    @property
    def event(self) -> str:
        return NOTIFIED if self.stage == FIRST else ESCALATED


def track(entries: Iterable[Any], contacts_of: Mapping[str, Sequence[str]] | None = None) -> list[TrackedIncident]:
    """Every incident.opened entry with its acknowledgement and the notices recorded for it, oldest first.

    `contacts_of` gives an agreement's current incident_response contacts (an amendment may have changed them);
    an agreement not in it keeps the contacts its incident entry recorded."""
    entries = sorted(entries, key=lambda x: x.index)
    found: dict[int, TrackedIncident] = {}
    for x in entries:
        if x.event != OPENED:
            continue
        p = x.payload or {}
        opened = _time(p.get("opened_at")) or _time(x.timestamp)
        contacts = (contacts_of or {}).get(x.agreement_id)
        found[x.index] = TrackedIncident(
            x.index, x.agreement_id, x.fingerprint, str(p.get("kind") or "incident"), p.get("dataset"),
            p.get("run_id"), opened, _time(p.get("notify_by")) if p.get("notify_by") else None,
            [str(c) for c in (contacts if contacts is not None else p.get("contacts") or [])])
    for x in entries:
        inc = found.get(named_incident(x.payload)) if x.event in (*ACK_EVENTS, NOTIFIED, ESCALATED) else None
        if inc is None or x.agreement_id != inc.agreement_id:
            continue
        if x.event in ACK_EVENTS:
            inc.acknowledged = inc.acknowledged or x
        elif x.event == NOTIFIED:
            inc.notified = True
        elif (stage := (x.payload or {}).get("stage")) in STAGES:
            inc.escalated.append(stage)
    return list(found.values())


def due_notifications(incidents: Iterable[TrackedIncident]) -> list[Notice]:
    """The first notice of every incident not notified yet (acknowledged or not: the contacts are told)."""
    return [Notice(i, FIRST) for i in incidents if not i.notified and i.contacts]


def due_escalations(incidents: Iterable[TrackedIncident], now: dt.datetime) -> list[Notice]:
    """One notice per unacknowledged incident whose latest stage reached has not been sent (nor a later one)."""
    out = []
    for i in incidents:
        stage = i.stage_at(now)
        if i.acknowledged is not None or stage is None or not i.contacts:
            continue
        if not any(STAGES.index(s) >= STAGES.index(stage) for s in i.escalated):
            out.append(Notice(i, stage))
    return out


__all__ = ["ACKNOWLEDGED", "ACK_EVENTS", "ESCALATED", "FIRST", "INCIDENT_INDEX", "NOTIFIED", "OPENED", "STAGES",
           "Notice",
           "TrackedIncident", "due_escalations", "due_notifications", "named_incident", "track"]
