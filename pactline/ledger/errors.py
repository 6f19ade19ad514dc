"""Errors the ledger raises on purpose. Each says what went wrong and what to do next."""

from __future__ import annotations

from pactline.errors import PactlineError


class LedgerError(PactlineError):
    """Base class for every ledger error."""


class LedgerConfigError(LedgerError):
    """The ledger URL, signing key or public key given is unusable."""


class LedgerStorageError(LedgerError):
    """The ledger database cannot be reached, created or written (locked, down, no permission)."""


class InvalidEntryError(LedgerError, ValueError):
    """An append was refused because an argument is not a valid entry field.

    Messages name the field path and the offending type, never the value: payloads may hold
    data the caller did not mean to show in a log.
    """


class EntryNotFoundError(LedgerError, LookupError):
    """No entry (or checkpoint) exists at the index or tree size asked for."""


class LedgerCorruptError(LedgerError):
    """Stored ledger data no longer matches what was recorded; run `pactline ledger verify`."""


class ProofError(LedgerError):
    """An inclusion or consistency proof does not verify (or cannot be read)."""
