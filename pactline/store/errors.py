"""Errors of the encrypted, versioned store. Each says what happened to which version and what to do."""

from __future__ import annotations

from pactline.errors import DataError, KeyStoreError, PactlineError


class StoreError(PactlineError):
    """The data root, the catalog or the keyring cannot do what was asked."""


class StoreConfigError(StoreError):
    """A store URL or setting is unusable (the message names the variable to fix)."""


class KeyShreddedError(KeyStoreError):
    """The version's data key was destroyed: every copy of its files is unreadable, by design."""

    def __init__(self, version_id: str, destroyed_at: str | None, reason: str | None):
        self.version_id = version_id
        self.destroyed_at = destroyed_at
        self.reason = reason
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"version {version_id} was crypto-shredded at {destroyed_at}{why}: its data key is destroyed "
            "and its files can no longer be decrypted by anyone"
        )


class DataKeyNotFoundError(KeyStoreError):
    """No data key was ever created for this version id in the configured keyring."""


class WrongKekError(KeyStoreError):
    """The key-encryption key configured here is not the one the keyring's keys were wrapped with."""


class TamperedDataError(DataError):
    """An encrypted file failed authentication: truncated, reordered, altered, or from another version."""


class VersionStateError(StoreError):
    """A version is not in the state the operation needs (e.g. writing into a shredded version)."""
