"""Parquet modular encryption (pyarrow.parquet.encryption) with the keyring as the KMS.

Every column and the footer are encrypted (AES_GCM_V1) with a random data encryption key
(DEK) per file; the DEK is wrapped by the version's data key, whose id (the version id) is the
"master key id" written in the file's key metadata. Files stay columnar and readable by any
Parquet engine that can reach the keyring; destroying the version's key in the keyring makes
every copy unreadable, a copy made before the shred included, because each read unwraps the
DEK again (single wrapping; no KEK cache is kept between reads).
"""

from __future__ import annotations

import base64
import datetime as dt
import os

import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pactline.store.envelope import KeyLookup
from pactline.store.errors import TamperedDataError

ENCRYPTED_FOOTER_MAGIC = b"PARE"
_AAD = b"pactline-parquet-dek/v1|"
_CACHE = dt.timedelta(seconds=1)  # pyarrow's minimum practical lifetime; factories are per call anyway


class KeyringKms(pe.KmsClient):
    """Wraps and unwraps Parquet DEKs with the data key of the version named as master key id."""

    def __init__(self, keys: KeyLookup):
        super().__init__()
        self._keys = keys

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._keys(master_key_identifier)).encrypt(
            nonce, key_bytes, _AAD + master_key_identifier.encode())
        return base64.b64encode(nonce + sealed).decode("ascii")

    def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
        raw = base64.b64decode(wrapped_key)
        try:
            return AESGCM(self._keys(master_key_identifier)).decrypt(
                raw[:12], raw[12:], _AAD + master_key_identifier.encode())
        except InvalidTag:
            raise TamperedDataError(
                f"the Parquet file's key metadata for version {master_key_identifier} does not authenticate"
            ) from None


def _factory(keys: KeyLookup) -> pe.CryptoFactory:
    return pe.CryptoFactory(lambda _config: KeyringKms(keys))


def encryption_properties(keys: KeyLookup, version_id: str) -> pe.FileEncryptionProperties:
    config = pe.EncryptionConfiguration(
        footer_key=version_id, uniform_encryption=True, plaintext_footer=False, double_wrapping=False,
        encryption_algorithm="AES_GCM_V1", data_key_length_bits=256, cache_lifetime=_CACHE,
    )
    return _factory(keys).file_encryption_properties(pe.KmsConnectionConfig(), config)


def decryption_properties(keys: KeyLookup) -> pe.FileDecryptionProperties:
    return _factory(keys).file_decryption_properties(
        pe.KmsConnectionConfig(), pe.DecryptionConfiguration(cache_lifetime=_CACHE))
