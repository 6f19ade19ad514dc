"""publish's hand-over: a release's encrypted files as stored, and its manifest signed by the provider,
copied to the exchange. Data keys never go there."""

from __future__ import annotations

import json
from typing import Any

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Output
from pactline.delivery.signed_manifest import sign_manifest
from pactline.parties import PartyKeys
from pactline.store import DataRoot
from pactline.store.exchange import open_exchange, release_dir
from pactline.store.layout import MANIFEST


def export_release(root: DataRoot, loaded: LoadedAgreement, output: Output, base: str, manifest: dict[str, Any],
                   party_keys: PartyKeys, exchange: DataRoot | None = None) -> dict[str, Any]:
    """Copy the version folder `base` (its files as listed in `manifest`) to the exchange with a signed
    manifest. Returns what the ledger records; `exported` False (and why) when this deployment does not
    hold the provider's key, so it cannot sign for it."""
    provider = loaded.agreement.dataset(output.dataset).provider
    key = party_keys.private(provider)
    if key is None:
        return {"exported": False, "why": f"no key of provider {provider} in this deployment to sign the manifest"}
    exchange = exchange or open_exchange()
    target = release_dir(loaded.id, output.id, manifest["version"])
    for f in manifest["files"]:
        exchange.write_bytes(f"{target}/{f['path']}", root.read_raw(f"{base}/{f['path']}"))
    signed = sign_manifest(manifest, provider, key)
    # last: a recipient that finds the manifest finds every file it lists
    exchange.write_bytes(f"{target}/{MANIFEST}", json.dumps(signed, indent=2, sort_keys=True).encode())
    return {"exported": True, "exchange": exchange.url,
            "path": target, "signed_by": provider, "key_id": signed["provider_signature"]["key_id"]}
