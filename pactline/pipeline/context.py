"""What every step needs to know about the run it belongs to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.keys import KeyStore
from pactline.store import DataRoot

# record(event, payload): writes one entry to the ledger. Payloads never hold secrets or raw values.
Recorder = Callable[[str, dict[str, Any]], None]


class AgreementKeys:
    """Resolves the key names a transformation uses (e.g. 'pseudonymisation') to the agreement's secret."""

    def __init__(self, loaded: LoadedAgreement, store: KeyStore):
        self.loaded = loaded
        self.store = store

    def secret(self, name: str) -> bytes:
        secret_name = getattr(self.loaded.agreement.keys, name, None)
        if secret_name is None:
            from pactline.errors import KeyStoreError

            raise KeyStoreError(f"the agreement names no secret for key {name!r}; add it under keys:")
        return self.store.secret(secret_name)


@dataclass
class RunContext:
    loaded: LoadedAgreement
    run_id: str
    as_of: dt.date
    root: DataRoot
    keystore: KeyStore
    recorder: Recorder
    actor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def agreement(self):
        return self.loaded.agreement

    @property
    def keys(self) -> AgreementKeys:
        return AgreementKeys(self.loaded, self.keystore)

    def record(self, event: str, **payload: Any) -> None:
        self.recorder(event, payload)

    # -- layout ------------------------------------------------------------------------------
    def landing(self, dataset: str, sha: str) -> str:
        return f"{self.loaded.id}/landing/{dataset}/{sha}"

    def staging(self, dataset: str, name: str) -> str:
        return f"{self.loaded.id}/staging/{dataset}/{safe_run_id(self.run_id)}/{name}"

    def reports(self, dataset: str, name: str) -> str:
        return f"{self.loaded.id}/reports/{dataset}/{safe_run_id(self.run_id)}/{name}"

    def shared(self, output: str, version: str) -> str:
        return f"{self.loaded.id}/shared/{output}/{version}"


def safe_run_id(run_id: str) -> str:
    """Airflow run ids hold ':' and '+'; keep paths portable across file systems and object stores."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
