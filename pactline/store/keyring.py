"""The keyring: one random data key per version, stored only wrapped under the key-encryption key.

- Data key: 32 random bytes per version id (AES-256). It encrypts that version's files and
  nothing else, so destroying it crypto-shreds every copy of them, backups included.
- Wrapping: AES-256-GCM under a key derived (HKDF-SHA256) from the KEK, the KeyStore secret
  named `pactline_kek` (env PACTLINE_SECRET_PACTLINE_KEK, an Airflow Variable/Connection of
  that name through the operators' resolver, or the local key file). The version id is the
  associated data, so a wrapped key cannot be moved to another version.
- KEK rotation: configure the new KEK as `pactline_kek` and the old one as `pactline_kek_previous`;
  reads keep working with either while rotate() re-wraps every live data key under the new one
  (`pactline rotate-kek`), after which the previous KEK can be retired. The data keys, and so the
  encrypted files, never change.
- destroy() overwrites the wrapped key with NULL and records when and why. SQLite runs with
  secure_delete so the freed bytes are zeroed; PostgreSQL keeps dead row versions until
  VACUUM, but what it keeps is wrapped under the KEK, never a key in clear.

URL: PACTLINE_KEYRING_URL; else the ledger's PostgreSQL database when PACTLINE_LEDGER_URL is
one (tables are separate); else sqlite:///$PACTLINE_HOME/keyring.sqlite.
"""

# Table and column names in SQL text are module constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactline.keys import KeyStore
from pactline.store.errors import DataKeyNotFoundError, KeyShreddedError, WrongKekError
from pactline.store.sql import Database, store_url

ENV_URL = "PACTLINE_KEYRING_URL"
KEK_NAME = "pactline_kek"
PREVIOUS = "_previous"  # suffix of the secret holding the KEK being rotated out
TABLE = "pactline_data_keys"
DATA_KEY_BYTES = 32
_WRAP_INFO = b"pactline-keyring-kek/v1"
_AAD = b"pactline-data-key/v1|"


def keyring_url(url: str | None = None) -> str:
    return store_url(url, ENV_URL, "keyring.sqlite")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _derive(secret: bytes) -> tuple[AESGCM, str]:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_INFO).derive(secret)
    # names the KEK without revealing it, so a node configured with another KEK fails clearly
    return AESGCM(key), hmac.new(key, b"pactline-kek-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Rotation:
    current: str  # KEK ids: derived names, not secrets
    previous: str | None
    rewrapped: int
    already_current: int
    other_kek: dict[str, int]  # keys wrapped under a KEK that is neither: kek id -> count

    @property
    def ok(self) -> bool:
        return not self.other_kek


@dataclass(frozen=True)
class KeyStatus:
    version_id: str
    created_at: str
    destroyed_at: str | None
    reason: str | None

    @property
    def destroyed(self) -> bool:
        return self.destroyed_at is not None


class Keyring:
    def __init__(self, url: str | None = None, *, keystore: KeyStore | None = None, kek_name: str = KEK_NAME):
        self.db = Database(keyring_url(url), secure_delete=True)
        self.keystore = keystore or KeyStore()
        self.kek_name = kek_name
        self._wrap: tuple[AESGCM, str] | None = None
        self._previous: tuple[AESGCM, str] | None = None
        self._previous_looked_up = False

    @property
    def url(self) -> str:
        return self.db.display_url

    # -- KEK --------------------------------------------------------------------------------
    def _kek(self) -> tuple[AESGCM, str]:
        if self._wrap is None:
            self._wrap = _derive(self.keystore.secret(self.kek_name))
        return self._wrap

    def _previous_kek(self) -> tuple[AESGCM, str] | None:
        if not self._previous_looked_up:  # once: it is only there during a rotation
            secret = self.keystore.find(self.kek_name + PREVIOUS)
            self._previous = _derive(secret) if secret is not None else None
            self._previous_looked_up = True
        return self._previous

    def _unwrap_aead(self, version_id: str, kek_id: str) -> AESGCM:
        aead, mine = self._kek()
        if kek_id == mine:
            return aead
        previous = self._previous_kek()
        if previous is not None and kek_id == previous[1]:
            return previous[0]
        raise WrongKekError(
            f"the data key of version {version_id} is wrapped with KEK {kek_id}, but the secret "
            f"{self.kek_name!r} configured here is KEK {mine}: give every node the same secret (during a "
            f"rotation, the old KEK as {self.kek_name + PREVIOUS!r})"
        )

    def _ensure(self) -> None:
        self.db.ensure(TABLE, [f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            version_id TEXT PRIMARY KEY, wrapped {{blob}}, kek_id TEXT NOT NULL,
            created_at TEXT NOT NULL, destroyed_at TEXT, reason TEXT)"""])

    # -- operations -------------------------------------------------------------------------
    def create(self, version_id: str) -> None:
        """Give `version_id` a fresh data key; a no-op if it has one. A destroyed key is never re-created."""
        self._ensure()
        aead, kek_id = self._kek()
        nonce = secrets.token_bytes(12)
        wrapped = nonce + aead.encrypt(nonce, secrets.token_bytes(DATA_KEY_BYTES), _AAD + version_id.encode())
        with self.db.transaction() as tx:
            tx.run(f"INSERT INTO {TABLE} (version_id, wrapped, kek_id, created_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (version_id) DO NOTHING", (version_id, wrapped, kek_id, utc_now()))
            row = tx.run(f"SELECT destroyed_at, reason FROM {TABLE} WHERE version_id = ?", (version_id,))
        if row and row[0][0] is not None:
            raise KeyShreddedError(version_id, row[0][0], row[0][1])

    def get(self, version_id: str) -> bytes:
        """The version's data key. Raises KeyShreddedError once it was destroyed."""
        self._ensure()
        with self.db.transaction(write=False) as tx:
            rows = tx.run(f"SELECT wrapped, kek_id, destroyed_at, reason FROM {TABLE} WHERE version_id = ?",
                          (version_id,))
        if not rows:
            raise DataKeyNotFoundError(
                f"no data key for version {version_id} in keyring {self.url}: the file was written with "
                f"another keyring (check {ENV_URL} and PACTLINE_HOME)"
            )
        wrapped, kek_id, destroyed_at, reason = rows[0]
        if destroyed_at is not None or wrapped is None:
            raise KeyShreddedError(version_id, destroyed_at, reason)
        aead = self._unwrap_aead(version_id, kek_id)
        wrapped = bytes(wrapped)
        try:
            return aead.decrypt(wrapped[:12], wrapped[12:], _AAD + version_id.encode())
        except InvalidTag:
            raise WrongKekError(f"the wrapped data key of version {version_id} does not authenticate "
                                "(altered in the keyring database, or another KEK)") from None

    def rotate(self) -> Rotation:
        """Re-wrap every live data key wrapped under the previous KEK with the current one. Idempotent and
        safe to interrupt: each key is swapped in its own transaction, only if it is still as read."""
        self._ensure()
        aead, mine = self._kek()
        previous = self._previous_kek()
        with self.db.transaction(write=False) as tx:
            rows = tx.run(f"SELECT version_id, wrapped, kek_id FROM {TABLE} WHERE wrapped IS NOT NULL")
        rewrapped, current, other = 0, 0, {}
        for version_id, wrapped, kek_id in rows:
            if kek_id == mine:
                current += 1
                continue
            if previous is None or kek_id != previous[1]:
                other[kek_id] = other.get(kek_id, 0) + 1
                continue
            wrapped = bytes(wrapped)
            aad = _AAD + version_id.encode()
            try:
                key = previous[0].decrypt(wrapped[:12], wrapped[12:], aad)
            except InvalidTag:
                raise WrongKekError(f"the wrapped data key of version {version_id} does not authenticate under "
                                    "the previous KEK (altered in the keyring database)") from None
            nonce = secrets.token_bytes(12)
            with self.db.transaction() as tx:
                rewrapped += tx.rowcount(
                    f"UPDATE {TABLE} SET wrapped = ?, kek_id = ? WHERE version_id = ? AND kek_id = ? "
                    "AND wrapped IS NOT NULL", (nonce + aead.encrypt(nonce, key, aad), mine, version_id, kek_id))
        return Rotation(mine, previous[1] if previous else None, rewrapped, current, other)

    def destroy(self, version_id: str, reason: str) -> str:
        """Destroy the version's data key (idempotent); returns when it was destroyed."""
        self._ensure()
        now = utc_now()
        with self.db.transaction() as tx:
            tx.run(f"UPDATE {TABLE} SET wrapped = NULL, destroyed_at = ?, reason = ? "
                   "WHERE version_id = ? AND destroyed_at IS NULL", (now, reason, version_id))
            rows = tx.run(f"SELECT destroyed_at FROM {TABLE} WHERE version_id = ?", (version_id,))
            if not rows:  # never had a key: record the destruction so nothing can create one later
                tx.run(f"INSERT INTO {TABLE} (version_id, wrapped, kek_id, created_at, destroyed_at, reason) "
                       "VALUES (?, NULL, '', ?, ?, ?)", (version_id, now, now, reason))
                return now
        return rows[0][0]

    def status(self, version_id: str) -> KeyStatus | None:
        self._ensure()
        with self.db.transaction(write=False) as tx:
            rows = tx.run(f"SELECT created_at, destroyed_at, reason FROM {TABLE} WHERE version_id = ?", (version_id,))
        return KeyStatus(version_id, *rows[0]) if rows else None
