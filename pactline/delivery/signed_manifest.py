"""A release manifest signed with the provider's party key (Ed25519 over its canonical JSON)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pactline.errors import PactlineError
from pactline.parties.party_keys import key_id, public_key_text, sign_statement, statement_verifies

CONTEXT = b"pactline-release-manifest/v1\n"
SIGNATURE = "provider_signature"


class ManifestRefused(PactlineError):
    """A manifest that does not verify: tampered, signed by someone else, or not a manifest."""


def _body(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != SIGNATURE}


def sign_manifest(manifest: dict[str, Any], party: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    public = public_key_text(key.public_key())
    value = sign_statement(key, CONTEXT, _body(manifest))
    return {**manifest, SIGNATURE: {"party": party, "key_id": key_id(public), "public_key": public, "value": value}}


def verify_manifest(manifest: Any, party: str, expected_key: str, where: str) -> dict[str, Any]:
    """The manifest, once its signature is the provider's (the key the signed agreement names for it)."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get(SIGNATURE), dict):
        raise ManifestRefused(f"{where}: not a signed release manifest")
    sig = manifest[SIGNATURE]
    if sig.get("party") != party or sig.get("public_key") != expected_key:
        raise ManifestRefused(f"{where}: signed by {sig.get('party')!r} with key {key_id(str(sig.get('public_key')))}, "
                              f"not by the provider {party} with the key the agreement names "
                              f"({key_id(expected_key)}); refused, nothing stored")
    if not statement_verifies(expected_key, CONTEXT, _body(manifest), str(sig.get("value"))):
        raise ManifestRefused(f"{where}: the provider's signature does not verify: the manifest was altered after "
                              "it was signed; refused, nothing stored")
    return manifest
