"""Send each due notice and record it, so a notice is sent once: recorded only after its sender succeeded."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pactline.incidents.message import Message, clause_of, compose
from pactline.incidents.stages import (
    ACK_EVENTS,
    ESCALATED,
    INCIDENT_INDEX,
    NOTIFIED,
    OPENED,
    Notice,
    due_escalations,
    due_notifications,
    track,
)

log = logging.getLogger(__name__)

# send(notice, message) -> the channels it went out on (e.g. ["email", "slack"]); raises when it could not be sent.
Sender = Callable[[Notice, Message], list[str]]


@dataclass
class Delivery:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # incident index, stage, error type (no message)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed}


def deliver(notices: Iterable[Notice], send: Sender, ledger: Any, *, incidents_url: str, actor: str,
            now: dt.datetime) -> Delivery:
    """Send every notice (one failing does not stop the others) and append its ledger entry once sent."""
    out = Delivery()
    for n in notices:
        inc = n.incident
        what = {INCIDENT_INDEX: inc.index, "stage": n.stage}
        try:
            channels = send(n, compose(n, incidents_url))
        except Exception as err:  # the next check tries again; an SMTP error may quote an address, so type only
            log.warning("Pactline: the %s notice of incident #%s could not be sent (%s)", n.stage, inc.index,
                        type(err).__name__)
            out.failed.append({**what, "error": type(err).__name__})
            continue
        payload = {**what, "kind": inc.kind, "clause": clause_of(inc.kind), "dataset": inc.dataset,
                   "run_id": inc.run_id, "recipients": list(inc.contacts), "channels": channels,
                   "notify_by": inc.notify_by.isoformat() if inc.notify_by else None, "as_of": now.isoformat()}
        ledger.append(n.event, agreement_id=inc.agreement_id, fingerprint=inc.fingerprint, actor=actor,
                      payload=payload)
        out.sent.append({**what, "channels": channels, "recipients": len(inc.contacts)})
    return out


def check(ledger: Any, contacts_of: dict[str, list[str]], send: Sender, *, now: dt.datetime, incidents_url: str,
          actor: str, notify: bool = True, escalate: bool = True) -> Delivery:
    """What the scheduled check and `pactline incidents notify|escalate` do: read the ledger, send what is due."""
    entries = [x for ev in (OPENED, *ACK_EVENTS, NOTIFIED, ESCALATED) for x in ledger.entries(event=ev)]
    found = track(entries, contacts_of)
    notices = (due_notifications(found) if notify else []) + (due_escalations(found, now) if escalate else [])
    return deliver(notices, send, ledger, incidents_url=incidents_url, actor=actor, now=now)


__all__ = ["Delivery", "Sender", "check", "deliver"]
