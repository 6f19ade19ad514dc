"""Where data lives: the data root (local folder or any fsspec URI), its versions, their keys.

    DataRoot     the root; encrypts on write, decrypts on read (root.py)
    Vault        keyring + catalog (vault.py)
    Keyring      one data key per version, wrapped under the KEK; destroy() crypto-shreds (keyring.py)
    Catalog      every version, its files, hashes and state (catalog.py)
    envelope     streaming AES-GCM for non-Parquet files; parquet_crypto: Parquet modular encryption
"""

from pactline.store.catalog import Catalog, FileRecord, VersionRecord
from pactline.store.errors import (
    DataKeyNotFoundError,
    KeyShreddedError,
    StoreConfigError,
    StoreError,
    TamperedDataError,
    VersionStateError,
    WrongKekError,
)
from pactline.store.keyring import Keyring
from pactline.store.root import DataRoot, data_root_url
from pactline.store.vault import Vault, default_vault

__all__ = [
    "Catalog",
    "DataKeyNotFoundError",
    "DataRoot",
    "FileRecord",
    "KeyShreddedError",
    "Keyring",
    "StoreConfigError",
    "StoreError",
    "TamperedDataError",
    "Vault",
    "VersionRecord",
    "VersionStateError",
    "WrongKekError",
    "data_root_url",
    "default_vault",
]
