"""Write pipeline events to the ledger, stamped with the agreement, its fingerprint, the actor and the run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pactline.agreement import LoadedAgreement

# record(event, payload): writes one entry to the ledger. Payloads never hold secrets or raw values.
Recorder = Callable[[str, dict[str, Any]], None]

_lock = threading.Lock()
_ledgers: dict[str | None, Any] = {}


def open_ledger(url: str | None = None) -> Any:
    """One Ledger per URL per process (opening one creates its tables and signing key on first use)."""
    from pactline.ledger import Ledger
    from pactline.ledger.config import resolve_url

    resolved = resolve_url(url)  # keyed by the resolved URL: PACTLINE_HOME may change between runs
    with _lock:
        if resolved not in _ledgers:
            _ledgers[resolved] = Ledger.open(resolved)
        return _ledgers[resolved]


def ledger_recorder(loaded: LoadedAgreement, *, actor: str | None, run_id: str | None,
                    url: str | None = None) -> Recorder:
    ledger = open_ledger(url)

    def record(event: str, payload: dict[str, Any]) -> None:
        ledger.append(event, agreement_id=loaded.id, fingerprint=loaded.fingerprint, actor=actor,
                      payload={"run_id": run_id, **payload})

    return record
