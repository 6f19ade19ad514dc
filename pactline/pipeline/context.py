"""What every step needs to know about the run it belongs to.

The run's data root is bound to a vault (keyring + catalog built from the run's key store) and to
`version_for`, which maps every path of the layout to its version: the first write into a
version's folder creates the version (catalog row and data key), and every file in it is then
encrypted with that key. Steps only name paths; none of them sees a key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.errors import KeyStoreError, PactlineError
from pactline.keys import KeyStore
from pactline.store import Catalog, DataRoot, Vault, VersionRecord

MANIFEST = "manifest.json"
# top-level folder -> the retention zone its versions count under (shared: the output's zone)
AREA_ZONES = {"landing": "landing", "staging": "staging", "reports": "staging"}

# record(event, payload): writes one entry to the ledger. Payloads never hold secrets or raw values.
Recorder = Callable[[str, dict[str, Any]], None]


class AgreementKeys:
    """Resolves the key names a transformation uses (e.g. 'pseudonymisation') to the agreement's secret.

    The agreement is untrusted: the name it gives under `keys:` is looked up in its own namespace
    (`<agreement id>__<name>`), so naming another agreement's secret reaches nothing of theirs. Only the
    deployment's sharing configuration (PACTLINE_SHARED_SECRETS) lets listed agreements resolve the
    un-namespaced secret; that is written to the ledger (`secret.shared`, names only) once per run.
    """

    def __init__(self, loaded: LoadedAgreement, store: KeyStore, record: Callable[..., None] | None = None):
        self.loaded = loaded
        self.store = store
        self.record = record  # RunContext.record(event, **payload); None outside a run
        self._secrets: dict[str, bytes] = {}

    def secret(self, name: str) -> bytes:
        secret_name = getattr(self.loaded.agreement.keys, name, None)
        if secret_name is None:
            raise KeyStoreError(f"the agreement names no secret for key {name!r}; add it under keys:")
        if name not in self._secrets:
            value, shared_with = self.store.agreement_secret(self.loaded.id, secret_name)
            if shared_with is not None and self.record is not None:
                self.record("secret.shared", key=name, secret=secret_name, shared_with=list(shared_with))
            self._secrets[name] = value
        return self._secrets[name]


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
    vault: Vault | None = None
    _versions: dict[str, VersionRecord] = field(default_factory=dict, repr=False)
    _keys: AgreementKeys | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.vault is None:
            self.vault = Vault.open(self.keystore)
        self.root = self.root.bound(vault=self.vault, resolver=self.version_for)

    @property
    def agreement(self):
        return self.loaded.agreement

    @property
    def keys(self) -> AgreementKeys:
        if self._keys is None:  # one per run context: each secret is resolved, and a sharing recorded, once
            self._keys = AgreementKeys(self.loaded, self.keystore, record=self.record)
        return self._keys

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

    # -- versions ----------------------------------------------------------------------------
    def zone_of(self, area: str, name: str) -> str:
        if area == "shared":
            output = next((o for o in self.agreement.outputs if o.id == name), None)
            if output is None:
                raise PactlineError(f"{self.loaded.id}: no output {name!r} in the agreement; nothing is shared")
            return output.zone
        return AREA_ZONES[area]

    def new_record(self, area: str, name: str, base: str, *, state: str = "live",
                   replaces: str | None = None, created_at: dt.datetime | None = None) -> VersionRecord:
        return Catalog.new_record(self.loaded.id, area, self.zone_of(area, name), name, base, state=state,
                                  run_id=self.run_id, fingerprint=self.loaded.fingerprint, replaces=replaces,
                                  created_at=created_at)

    def version_for(self, rel: str) -> VersionRecord | None:
        """The version a path belongs to (created on first use); None for manifests and paths outside zones.

        A path inside a zone that does not fit the layout is refused rather than written in clear.
        """
        parts = rel.split("/")
        if len(parts) < 2 or parts[0] != self.loaded.id or parts[1] not in (*AREA_ZONES, "shared"):
            return None
        if parts[-1] == MANIFEST:
            return None
        if len(parts) < 5 or any(not p or p.startswith(".") for p in parts[2:4]):
            raise PactlineError(f"{rel}: not a file of a version folder <agreement>/<zone>/<name>/<version>/; "
                                "refusing to write it unencrypted")
        base = "/".join(parts[:4])
        if base not in self._versions:
            assert self.vault is not None
            self._versions[base] = self.vault.version_at(self.new_record(parts[1], parts[2], base))
        return self._versions[base]


def safe_run_id(run_id: str) -> str:
    """Airflow run ids hold ':' and '+'; keep paths portable across file systems and object stores."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
