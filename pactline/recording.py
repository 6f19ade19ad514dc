"""Write pipeline events to the ledger, stamped with the agreement, its fingerprint, the actor and the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pactline.agreement import LoadedAgreement

# record(event, payload): writes one entry to the ledger. Payloads never hold secrets or raw values.
Recorder = Callable[[str, dict[str, Any]], None]


def open_ledger(url: str | None = None) -> Any:
    """One Ledger per URL per process (pactline.ledger.ledger.open_ledger; imported here on first use)."""
    from pactline.ledger.ledger import open_ledger as shared_ledger

    return shared_ledger(url)


def ledger_recorder(loaded: LoadedAgreement, *, actor: str | None, run_id: str | None,
                    url: str | None = None) -> Recorder:
    ledger = open_ledger(url)

    def record(event: str, payload: dict[str, Any]) -> None:
        ledger.append(event, agreement_id=loaded.id, fingerprint=loaded.fingerprint, actor=actor,
                      payload={"run_id": run_id, **payload})

    return record
