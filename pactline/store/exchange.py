"""The exchange: a folder both parties can read (a local folder in tests, s3:// or any fsspec URL in
production), where releases, ledger checkpoints and deletion attestations are handed over.

Nothing on it is secret: releases are the encrypted files exactly as stored (their data keys never
travel here; the provider releases a key per request, wrapped to the recipient), manifests and
checkpoints are signed. The layout is defined here and nowhere else.

    <agreement>/releases/<output>/<version>/        the encrypted files and manifest.json (signed)
    <agreement>/attestations/<output>/<version>/<party>.json
    ledgers/<party>/                                published ledger checkpoints (pactline.ledger.witness)
"""

from __future__ import annotations

import os

from pactline.keys import pactline_home
from pactline.store.root import DataRoot

ENV_URL = "PACTLINE_EXCHANGE"


def exchange_url() -> str:
    """$PACTLINE_EXCHANGE, else (the embedded default) $PACTLINE_HOME/exchange."""
    return os.environ.get(ENV_URL) or str(pactline_home() / "exchange")


def open_exchange(url: str | None = None) -> DataRoot:
    """The exchange as a root that reads and writes bytes as they are (no vault: nothing is re-encrypted)."""
    return DataRoot(url or exchange_url(), storage_options={})


def release_dir(agreement_id: str, output: str, version: str) -> str:
    return f"{agreement_id}/releases/{output}/{version}"


def attestation_path(agreement_id: str, output: str, version: str, party: str) -> str:
    return f"{agreement_id}/attestations/{output}/{version}/{party}.json"


def ledger_dir(party: str) -> str:
    return f"ledgers/{party}"
