"""The recipient's fetch: a release from the exchange, verified, its key requested, stored in the
recipient's own encrypted store. Every check comes before anything is stored.

1. the manifest is signed by the dataset's provider with the key the signed agreement names for it;
2. its agreement fingerprint is a version the recipient itself signed;
3. every file's hash is the one the manifest lists;
4. the provider releases the data key (wrapped to the recipient; opened in memory for this fetch only);
5. the rows are re-encrypted under a version of the recipient's own store; `release.received` is recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq

from pactline.agreement import LoadedAgreement
from pactline.delivery.key_release import unwrap_key
from pactline.delivery.signed_manifest import ManifestRefused, verify_manifest
from pactline.errors import PactlineError
from pactline.parties import PartyKeys, SignedVersions
from pactline.parties.party_keys import declared_keys
from pactline.store import Catalog, DataRoot
from pactline.store.exchange import open_exchange, release_dir
from pactline.store.layout import MANIFEST
from pactline.store.parquet_crypto import decryption_properties

KeyRequester = Callable[[str], dict[str, Any]]  # provider version id -> the key release response
Record = Callable[[str, dict[str, Any]], None]
RECEIVED = "received"  # the recipient's store area for releases it fetched


def received_dir(agreement_id: str, output: str, version: str) -> str:
    return f"{agreement_id}/{RECEIVED}/{output}/{version}"


def latest_version(loaded: LoadedAgreement, output: str, exchange: DataRoot | None = None) -> str:
    exchange = exchange or open_exchange()
    versions = [v for v in exchange.ls(f"{loaded.id}/releases/{output}")
                if exchange.exists(f"{release_dir(loaded.id, output, v)}/{MANIFEST}")]
    if not versions:
        raise PactlineError(f"no release of {output} on the exchange {exchange.url} yet")
    return versions[-1]  # version names start with their UTC time


def fetch_release(loaded: LoadedAgreement, output_id: str, version: str, *, request_key: KeyRequester,
                  root: DataRoot, record: Record, party_keys: PartyKeys | None = None,
                  exchange: DataRoot | None = None, history: SignedVersions | None = None) -> dict[str, Any]:
    exchange = exchange or open_exchange()
    party_keys = party_keys or PartyKeys()
    output = next((o for o in loaded.agreement.outputs if o.id == output_id), None)
    if output is None:
        raise PactlineError(f"{loaded.id} has no output {output_id!r}")
    src = release_dir(loaded.id, output_id, version)
    where = f"release {output_id}/{version} on the exchange"
    try:
        manifest = verify(loaded, output_id, exchange, src, where, history)
        files = {f["path"]: exchange.read_raw(f"{src}/{f['path']}") for f in manifest["files"]}
        for f in manifest["files"]:
            if hashlib.sha256(files[f["path"]]).hexdigest() != f["sha256"]:
                raise ManifestRefused(f"{where}: {f['path']} does not have the hash its manifest lists; "
                                      "refused, nothing stored")
    except (ManifestRefused, FileNotFoundError) as e:
        record("release.refused", {"output": output_id, "version": version, "reason": str(e)})
        if isinstance(e, FileNotFoundError):
            raise PactlineError(f"{where}: a file is missing; refused, nothing stored") from None
        raise
    response = request_key(manifest["version_id"])
    data_key = unwrap_key(response, loaded.id, party_keys, output.recipient)  # in memory, this fetch only
    props = decryption_properties(lambda vid: _only(vid, manifest["version_id"], data_key))
    tables = {name: pq.read_table(io.BytesIO(raw), decryption_properties=props) for name, raw in files.items()}
    catalog = root.vault.catalog
    base = received_dir(loaded.id, output_id, version)
    # dated like the provider's release, so the recipient's retention deletes its copy on the same day
    created = dt.datetime.fromisoformat(manifest["created_at"]) if manifest.get("created_at") else None
    record_ = Catalog.new_record(loaded.id, RECEIVED, output.zone, output_id, base,
                                 fingerprint=manifest["agreement"]["fingerprint"], created_at=created)
    local = root.vault.new_version(record_)
    rows = 0
    try:
        for name, table in tables.items():
            root.write_table(f"{base}/{name}", table, version=local)
            rows += table.num_rows
        root.write_json(f"{base}/{MANIFEST}", manifest)  # the provider's signed manifest, as received
    except BaseException:
        with contextlib.suppress(Exception):
            root.delete(base, recursive=True)
        root.vault.keyring.destroy(local.version_id, "fetch failed before the release was stored")
        catalog.delete(local.version_id)
        raise
    result = {"output": output_id, "version": version, "provider_version_id": manifest["version_id"],
              "version_id": local.version_id, "rows": rows, "files": len(tables), "path": base,
              "fingerprint": manifest["agreement"]["fingerprint"], "key_expires": response.get("expires"),
              "received_at": dt.datetime.now(dt.UTC).isoformat()}
    record("release.received", result)
    return result


def verify(loaded: LoadedAgreement, output_id: str, exchange: DataRoot, src: str, where: str,
           history: SignedVersions | None) -> dict[str, Any]:
    """The manifest, checked against the provider's key and the versions the recipient signed."""
    output = next(o for o in loaded.agreement.outputs if o.id == output_id)
    provider = loaded.agreement.dataset(output.dataset).provider
    declared = declared_keys(loaded)[provider]
    if declared.text is None:
        raise ManifestRefused(f"{where}: the agreement gives no usable key for the provider {provider}")
    try:
        raw = json.loads(exchange.read_raw(f"{src}/{MANIFEST}"))
    except ValueError:
        raise ManifestRefused(f"{where}: the manifest is not JSON; refused, nothing stored") from None
    manifest = verify_manifest(raw, provider, declared.text, where)
    agreement = manifest.get("agreement") or {}
    fingerprint = agreement.get("fingerprint")
    signed = {v.fingerprint for v in (history or SignedVersions()).versions(loaded.id)
              if output.recipient in v.signed_by}
    if agreement.get("id") != loaded.id or fingerprint not in signed:
        raise ManifestRefused(f"{where}: made under agreement {agreement.get('id')} fingerprint "
                              f"{str(fingerprint)[:12]}, which {output.recipient} never signed; refused, nothing stored")
    if manifest.get("output", {}).get("id") != output_id:
        raise ManifestRefused(f"{where}: the manifest is for output {manifest.get('output', {}).get('id')!r}")
    return manifest


def _only(version_id: str, expected: str, key: bytes) -> bytes:
    if version_id != expected:
        raise PactlineError(f"a file of the release names key {version_id}, not the release's {expected}")
    return key


def receive_newest(loaded: LoadedAgreement, output_id: str, *, request_key: KeyRequester, root: DataRoot,
                   record: Record, party_keys: PartyKeys | None = None,
                   exchange: DataRoot | None = None) -> dict[str, Any]:
    """What a recipient's receive DAG does each time it polls: fetch the newest release on the exchange
    unless it was received already ({"received": None} when there is nothing new)."""
    exchange = exchange or open_exchange()
    try:
        version = latest_version(loaded, output_id, exchange)
    except PactlineError:
        return {"output": output_id, "received": None, "why": "no release on the exchange yet"}
    if root.vault.catalog.at(received_dir(loaded.id, output_id, version)) is not None:
        return {"output": output_id, "received": None, "why": f"{version} was received already"}
    got = fetch_release(loaded, output_id, version, request_key=request_key, root=root, record=record,
                        party_keys=party_keys, exchange=exchange)
    return {"output": output_id, "received": got}
