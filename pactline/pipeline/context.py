"""What every step needs to know about the run it belongs to.

The run's data root is bound to a vault (keyring + catalog built from the run's key store) and to
`version_for`, which maps every path of the layout to its version: the first write into a
version's folder creates the version (catalog row and data key), and every file in it is then
encrypted with that key. Steps only name paths; none of them sees a key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.errors import PactlineError
from pactline.keys import AgreementKeys, KeyStore
from pactline.recording import Recorder
from pactline.store import Catalog, DataRoot, Vault, VersionRecord, layout

BATCH_ROWS = 65_536  # rows per record batch of every streaming step: memory stays flat whatever the size


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
        return layout.landing(self.loaded.id, dataset, sha)

    def staging(self, dataset: str, name: str) -> str:
        return layout.staging(self.loaded.id, dataset, self.run_id, name)

    def reports(self, dataset: str, name: str) -> str:
        return layout.reports(self.loaded.id, dataset, self.run_id, name)

    def shared(self, output: str, version: str) -> str:
        return layout.shared(self.loaded.id, output, version)

    # -- versions ----------------------------------------------------------------------------
    def zone_of(self, area: str, name: str) -> str:
        if area == "shared":
            output = next((o for o in self.agreement.outputs if o.id == name), None)
            if output is None:
                raise PactlineError(f"{self.loaded.id}: no output {name!r} in the agreement; nothing is shared")
            return output.zone
        return layout.AREA_ZONES[area]

    def new_record(self, area: str, name: str, base: str, *, state: str = "live",
                   replaces: str | None = None, created_at: dt.datetime | None = None) -> VersionRecord:
        return Catalog.new_record(self.loaded.id, area, self.zone_of(area, name), name, base, state=state,
                                  run_id=self.run_id, fingerprint=self.loaded.fingerprint, replaces=replaces,
                                  created_at=created_at)

    def version_for(self, rel: str) -> VersionRecord | None:
        """The version a path belongs to (created on first use); None for manifests and paths outside zones.

        A path inside a zone that does not fit the layout is refused rather than written in clear.
        """
        try:
            found = layout.version_base(self.loaded.id, rel)
        except ValueError:
            raise PactlineError(f"{rel}: not a file of a version folder <agreement>/<zone>/<name>/<version>/; "
                                "refusing to write it unencrypted") from None
        if found is None:
            return None
        area, name, base = found
        if base not in self._versions:
            assert self.vault is not None
            self._versions[base] = self.vault.version_at(self.new_record(area, name, base))
        return self._versions[base]

