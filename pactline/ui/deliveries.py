"""Deliveries on the Agreement page: each release as on the exchange, received (the recipient took its
key), deletion attested, or overdue (past its due date and the grace period with no attestation)."""

from __future__ import annotations

from collections.abc import Sequence

from pactline.delivery.attest import ATTESTATION_GRACE_DAYS, Delivery
from pactline.ui.html import Html, badge, code, e, table


def render_deliveries(found: Sequence[Delivery]) -> Html:
    if not found:
        return Html("<p>No release yet.</p>")
    rows = [(code(d.output), d.version, d.recipient, d.due.isoformat() if d.due else "unknown (agreement text not found)", _state(d)) for d in found]
    return Html(table(["output", "version", "recipient", "deletion due", "state"], rows)
                + f'<p class="meta">Overdue: due date plus {e(ATTESTATION_GRACE_DAYS)} days of grace passed, the '
                  "recipient took the key and sent no deletion attestation (an incident is opened).</p>")


def _state(d: Delivery) -> Html:
    if d.attested or d.overdue:
        return badge(d.attested, d.state, d.state)
    return badge(None, unknown=d.state)
