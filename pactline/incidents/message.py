"""The text of an incident notice: the agreement clause, the dataset, the deadline and a link to the Incidents page.

Only what the agreement and the incident's kind say goes in: never the incident's summary (an error message is
the one text a step could have filled with a value from the data) and never a value from partner data.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from pactline.incidents.stages import FIRST, Notice
from pactline.ledger.witness import WITNESS_AGREEMENT

# The agreement clause an incident kind enforces (incident kinds: pactline.pipeline.gates, pactline.delivery.attest,
# pactline.ledger.witness); the longest matching prefix wins.
CLAUSES = {
    "gate.quality": "quality_rules",
    "gate.privacy": "privacy",
    "gate.bias": "bias_checks",
    "gate.synthetic": "outputs[].synthesizer",
    "gate.evaluation": "model_evaluation",
    "policy.undeclared_pii": "privacy.on_undeclared_pii",
    "policy.": "datasets[].columns",
    "deletion.overdue": "retention",
    "ledger.witness": "parties (ledger witnessing)",
}
WHY = {
    FIRST: "A new incident was opened.",
    "half_deadline": "ESCALATION: half of the notification deadline has passed and nobody has acknowledged it.",
    "deadline_passed": "ESCALATION: the notification deadline has passed and nobody has acknowledged it.",
}


def clause_of(kind: str) -> str:
    match = max((k for k in CLAUSES if kind == k or (k.endswith(".") and kind.startswith(k))), key=len, default=None)
    return CLAUSES[match] if match else "incident_response"


@dataclass(frozen=True)
class Message:
    subject: str
    text: str

    @property
    def html(self) -> str:
        return f'<pre style="font-family:sans-serif;white-space:pre-wrap">{html.escape(self.text)}</pre>'


def compose(notice: Notice, incidents_url: str) -> Message:
    inc = notice.incident
    where = ("a witnessed ledger" if inc.agreement_id == WITNESS_AGREEMENT
             else inc.agreement_id + (f" / {inc.dataset}" if inc.dataset else ""))
    deadline = inc.notify_by.strftime("%Y-%m-%d %H:%M UTC") if inc.notify_by else "not set"
    hours = f"{inc.deadline_hours:g} h" if inc.deadline_hours is not None else "unknown"
    prefix = "" if notice.stage == FIRST else "ESCALATION: "
    subject = f"[Pactline] {prefix}incident #{inc.index} ({inc.kind}) in {where}: notify by {deadline}"
    lines = [
        WHY[notice.stage],
        "",
        f"Incident:  #{inc.index} ({inc.kind}), opened {inc.opened_at.strftime('%Y-%m-%d %H:%M UTC')}",
        f"Agreement: {inc.agreement_id}",
        f"Clause:    {clause_of(inc.kind)}",
        f"Dataset:   {inc.dataset or '-'}",
        f"Run:       {inc.run_id or '-'}",
        f"Deadline:  notify within {hours} (incident_response.notification_deadline_hours), by {deadline}",
        "",
        f"Review and acknowledge it on the Incidents page: {incidents_url}#incident-{inc.index}",
        "",
        "This notice carries no data values; the evidence stays on the Incidents page and in the ledger.",
    ]
    return Message(subject, "\n".join(lines))


__all__ = ["CLAUSES", "Message", "clause_of", "compose"]
