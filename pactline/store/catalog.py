"""The catalog: every version written, its files and hashes, and where it is in its life.

Retention reads this table instead of listing the object store. States:

    writing -> live -> purging -> purged        (writing: an ingest still hashing its copy)

A version is `purging` from the moment its purge was decided and recorded until its receipt is
stored, so a purge killed halfway is found and finished by the next run. Nothing here holds
personal data or secrets: ids, relative paths, hashes, dates.

URL: PACTLINE_CATALOG_URL; else the ledger's PostgreSQL database when PACTLINE_LEDGER_URL is
one; else sqlite:///$PACTLINE_HOME/catalog.sqlite.
"""

# Table and column names in SQL text are module constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from typing import Any

from pactline.store.errors import StoreError, VersionStateError
from pactline.store.sql import Database, Tx, store_url

ENV_URL = "PACTLINE_CATALOG_URL"
VERSIONS, FILES = "pactline_versions", "pactline_version_files"
LIVE_STATES = ("writing", "live")
STATES = ("writing", "live", "purging", "purged")


def catalog_url(url: str | None = None) -> str:
    return store_url(url, ENV_URL, "catalog.sqlite")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_version_id(now: dt.datetime | None = None) -> str:
    """Sortable by creation time, unique, and free of content: it is written in clear in file headers."""
    return f"v{(now or utc_now()):%Y%m%d%H%M%S}-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class VersionRecord:
    version_id: str
    agreement_id: str
    area: str  # landing | staging | reports | shared (the top-level folder)
    zone: str  # landing | staging | sandbox | production (the retention clause that applies)
    name: str  # dataset id, or output id for shared versions
    base: str  # the version's folder, relative to the data root
    state: str
    created_at: str  # ISO UTC; retention counts from here
    run_id: str | None = None
    fingerprint: str | None = None
    replaces: str | None = None  # the version this one was rewritten from (subject erasure)
    purge_clause: str | None = None
    purge_due: str | None = None
    purge_reason: str | None = None
    receipt_id: str | None = None
    intent_index: int | None = None
    receipt_index: int | None = None
    purged_at: str | None = None

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FileRecord:
    version_id: str
    path: str  # relative to the data root
    sha256: str  # of the bytes as stored (encrypted)
    bytes: int
    encryption: str | None  # "parquet" (modular encryption), "envelope" (AES-GCM stream) or None (clear)
    plaintext_sha256: str | None = None  # blobs only: of the bytes before encryption
    rows: int | None = None  # Parquet only

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "version_id"}


_VCOLS = [f.name for f in fields(VersionRecord)]
_FCOLS = [f.name for f in fields(FileRecord)]


class Catalog:
    def __init__(self, url: str | None = None):
        self.db = Database(catalog_url(url))

    @property
    def url(self) -> str:
        return self.db.display_url

    def _tx(self, write: bool = True) -> AbstractContextManager[Tx]:
        self.db.ensure(VERSIONS, self._schema())
        return self.db.transaction(write)

    def _schema(self) -> list[str]:
        big = "INTEGER" if self.db.kind == "sqlite" else "BIGINT"
        return [
            f"""CREATE TABLE IF NOT EXISTS {VERSIONS} (
                version_id TEXT PRIMARY KEY, agreement_id TEXT NOT NULL, area TEXT NOT NULL, zone TEXT NOT NULL,
                name TEXT NOT NULL, base TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL,
                run_id TEXT, fingerprint TEXT, replaces TEXT, purge_clause TEXT, purge_due TEXT,
                purge_reason TEXT, receipt_id TEXT, intent_index {big}, receipt_index {big}, purged_at TEXT)""",
            # one version per folder at a time: two writers racing for a folder get the same version
            f"CREATE UNIQUE INDEX IF NOT EXISTS {VERSIONS}_base ON {VERSIONS} (base) "
            "WHERE state IN ('writing', 'live', 'purging')",
            f"CREATE INDEX IF NOT EXISTS {VERSIONS}_agreement ON {VERSIONS} (agreement_id, state)",
            f"""CREATE TABLE IF NOT EXISTS {FILES} (
                version_id TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, bytes {big} NOT NULL,
                encryption TEXT, plaintext_sha256 TEXT, rows {big}, PRIMARY KEY (version_id, path))""",
            f"CREATE INDEX IF NOT EXISTS {FILES}_path ON {FILES} (path)",
        ]

    # -- versions ---------------------------------------------------------------------------
    def create(self, record: VersionRecord) -> VersionRecord:
        with self._tx() as tx:
            self._insert(tx, record)
        return record

    def _insert(self, tx: Tx, record: VersionRecord, on_conflict_do_nothing: bool = False) -> None:
        tail = " ON CONFLICT DO NOTHING" if on_conflict_do_nothing else ""
        tx.run(f"INSERT INTO {VERSIONS} ({', '.join(_VCOLS)}) VALUES ({', '.join('?' * len(_VCOLS))}){tail}",
               [getattr(record, c) for c in _VCOLS])

    def get_or_create(self, record: VersionRecord) -> VersionRecord:
        """The version currently occupying record.base, else `record`, inserted.

        ON CONFLICT DO NOTHING against the one-version-per-folder index: of two nodes racing for a
        folder, both end up with the version that won.
        """
        with self._tx() as tx:
            self._insert(tx, record, on_conflict_do_nothing=True)
            existing = self._at(tx, record.base)
        if existing is None:
            raise StoreError(f"the catalog {self.url} lost version {record.version_id} of {record.base}")
        if existing.state not in LIVE_STATES:
            raise VersionStateError(f"{record.base} belongs to version {existing.version_id}, which is being "
                                    "purged; nothing may be written into it")
        return existing

    def _at(self, tx: Tx, base: str) -> VersionRecord | None:
        rows = tx.run(f"SELECT {', '.join(_VCOLS)} FROM {VERSIONS} WHERE base = ? "
                      "AND state IN ('writing', 'live', 'purging')", (base,))
        return VersionRecord(*rows[0]) if rows else None

    def at(self, base: str) -> VersionRecord | None:
        """The version occupying folder `base` (not yet purged), if any."""
        with self._tx(write=False) as tx:
            return self._at(tx, base)

    def get(self, version_id: str) -> VersionRecord:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {', '.join(_VCOLS)} FROM {VERSIONS} WHERE version_id = ?", (version_id,))
        if not rows:
            raise StoreError(f"the catalog {self.url} has no version {version_id}")
        return VersionRecord(*rows[0])

    def versions(self, agreement_id: str | None = None, states: Iterable[str] | None = None) -> list[VersionRecord]:
        where, params = [], []
        if agreement_id is not None:
            where.append("agreement_id = ?")
            params.append(agreement_id)
        if states is not None:
            states = list(states)
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params += states
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {', '.join(_VCOLS)} FROM {VERSIONS}{clause} ORDER BY created_at, version_id", params)
        return [VersionRecord(*r) for r in rows]

    def replacement_of(self, version_id: str) -> VersionRecord | None:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {', '.join(_VCOLS)} FROM {VERSIONS} WHERE replaces = ? "
                          "AND state IN ('writing', 'live')", (version_id,))
        return VersionRecord(*rows[0]) if rows else None

    def update(self, version_id: str, *, expect: Iterable[str] | None = None, **changes: Any) -> VersionRecord:
        """Change fields of a version; with `expect`, only if its state is one of those (else VersionStateError)."""
        bad = set(changes) - set(_VCOLS)
        if bad:
            raise ValueError(f"unknown version fields {sorted(bad)}")
        sets = ", ".join(f"{k} = ?" for k in changes)
        params: list[Any] = [*changes.values(), version_id]
        cond = ""
        if expect is not None:
            expect = list(expect)
            cond = f" AND state IN ({', '.join('?' * len(expect))})"
            params += expect
        with self._tx() as tx:
            if changes:
                n = tx.rowcount(f"UPDATE {VERSIONS} SET {sets} WHERE version_id = ?{cond}", params)
                if expect is not None and n != 1:
                    current = tx.run(f"SELECT state FROM {VERSIONS} WHERE version_id = ?", (version_id,))
                    state = current[0][0] if current else "missing"
                    raise VersionStateError(f"version {version_id} is {state}, expected one of {expect}")
            rows = tx.run(f"SELECT {', '.join(_VCOLS)} FROM {VERSIONS} WHERE version_id = ?", (version_id,))
        return VersionRecord(*rows[0])

    def delete(self, version_id: str) -> None:
        """Forget a version that never held anything but a duplicate (an ingest of bytes already landed)."""
        with self._tx() as tx:
            tx.run(f"DELETE FROM {FILES} WHERE version_id = ?", (version_id,))
            tx.run(f"DELETE FROM {VERSIONS} WHERE version_id = ? AND state = 'writing'", (version_id,))

    # -- files ------------------------------------------------------------------------------
    def add_file(self, record: FileRecord) -> None:
        with self._tx() as tx:
            tx.run(f"DELETE FROM {FILES} WHERE version_id = ? AND path = ?", (record.version_id, record.path))
            tx.run(f"INSERT INTO {FILES} ({', '.join(_FCOLS)}) VALUES ({', '.join('?' * len(_FCOLS))})",
                   [getattr(record, c) for c in _FCOLS])

    def files(self, version_id: str) -> list[FileRecord]:
        with self._tx(write=False) as tx:
            rows = tx.run(f"SELECT {', '.join(_FCOLS)} FROM {FILES} WHERE version_id = ? ORDER BY path", (version_id,))
        return [FileRecord(*r) for r in rows]

    def file(self, path: str) -> FileRecord | None:
        """The record of the file at `path` in a version that is not purged."""
        with self._tx(write=False) as tx:
            rows = tx.run(
                f"SELECT {', '.join('f.' + c for c in _FCOLS)} FROM {FILES} f JOIN {VERSIONS} v "
                "ON v.version_id = f.version_id WHERE f.path = ? AND v.state IN ('writing', 'live', 'purging')",
                (path,))
        return FileRecord(*rows[0]) if rows else None

    def move_file(self, old: str, new: str) -> None:
        record = self.file(old)
        if record is None:
            return
        with self._tx() as tx:
            tx.run(f"DELETE FROM {FILES} WHERE version_id = ? AND path = ?", (record.version_id, new))
            tx.run(f"UPDATE {FILES} SET path = ? WHERE version_id = ? AND path = ?", (new, record.version_id, old))

    @staticmethod
    def new_record(agreement_id: str, area: str, zone: str, name: str, base: str, *, state: str = "live",
                   run_id: str | None = None, fingerprint: str | None = None, replaces: str | None = None,
                   created_at: dt.datetime | None = None) -> VersionRecord:
        created = created_at or utc_now()
        return VersionRecord(new_version_id(), agreement_id, area, zone, name, base, state, created.isoformat(),
                             run_id, fingerprint, replaces)

