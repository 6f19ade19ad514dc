"""The vault: the keyring and the catalog together, so a version and its data key are made as one."""

from __future__ import annotations

import threading

from pactline.keys import KeyStore
from pactline.store.catalog import Catalog, VersionRecord, catalog_url
from pactline.store.keyring import Keyring, keyring_url


class Vault:
    def __init__(self, keyring: Keyring, catalog: Catalog):
        self.keyring = keyring
        self.catalog = catalog

    @classmethod
    def open(cls, keystore: KeyStore | None = None, *, keyring_url: str | None = None,
             catalog_url: str | None = None) -> Vault:
        return cls(Keyring(keyring_url, keystore=keystore), Catalog(catalog_url))

    def data_key(self, version_id: str) -> bytes:
        """Only the store's encryption layer calls this; pipeline steps never see a key."""
        return self.keyring.get(version_id)

    def new_version(self, record: VersionRecord) -> VersionRecord:
        self.catalog.create(record)
        self.keyring.create(record.version_id)
        return record

    def version_at(self, record: VersionRecord) -> VersionRecord:
        """The version occupying record.base (created from `record` if there is none), with its key."""
        version = self.catalog.get_or_create(record)
        self.keyring.create(version.version_id)  # idempotent; also heals a crash between the two inserts
        return version


_lock = threading.Lock()
_defaults: dict[tuple[str, str, str], Vault] = {}


def default_vault() -> Vault:
    """The vault the environment configures (local key store), one per configuration per process."""
    keystore = KeyStore()
    key = (keyring_url(), catalog_url(), str(keystore.home))
    with _lock:
        if key not in _defaults:
            _defaults[key] = Vault(Keyring(key[0], keystore=keystore), Catalog(key[1]))
        return _defaults[key]
