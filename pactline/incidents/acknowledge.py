"""A steward's acknowledgement of an incident: an `incident.acknowledged` entry naming its incident.opened entry.

The Incidents page writes it (behind the same CSRF and permission checks as release approvals); it stops the
escalations (pactline.incidents.stages) and takes the incident off the assessment's open list (pactline.pia).
"""

from __future__ import annotations

from typing import Any

from pactline.comments import clean_comment
from pactline.errors import PactlineError
from pactline.incidents.stages import ACK_EVENTS, ACKNOWLEDGED, INCIDENT_INDEX, OPENED, named_incident


class IncidentNotFound(PactlineError):
    """The ledger entry named is not an incident of that agreement."""


def acknowledgement_of(ledger: Any, agreement_id: str, index: int) -> Any:
    """The first acknowledgement of incident `index`, or None."""
    return next((x for ev in ACK_EVENTS for x in ledger.entries(agreement_id=agreement_id, event=ev)
                 if named_incident(x.payload) == index), None)


def acknowledge(ledger: Any, agreement_id: str, index: int, *, user: str, user_id: str, comment: str = "",
                actor: str, via: str) -> tuple[Any, bool]:
    """(the acknowledgement entry, whether it was written now): an incident is acknowledged once."""
    try:
        opened = ledger.get(index)
    except Exception:
        opened = None
    if opened is None or opened.event != OPENED or opened.agreement_id != agreement_id:
        raise IncidentNotFound(f"ledger entry #{index} is not an incident of {agreement_id}: open the Incidents page "
                               "and acknowledge one listed there")
    earlier = acknowledgement_of(ledger, agreement_id, index)
    if earlier is not None:
        return earlier, False
    p = opened.payload or {}
    entry = ledger.append(ACKNOWLEDGED, agreement_id=agreement_id, fingerprint=opened.fingerprint, actor=actor,
                          payload={INCIDENT_INDEX: index, "kind": p.get("kind"), "dataset": p.get("dataset"),
                                   "run_id": p.get("run_id"), "user": user, "user_id": user_id,
                                   "comment": clean_comment(comment), "via": via})
    return entry, True


__all__ = ["IncidentNotFound", "acknowledge", "acknowledgement_of"]
