"""The storage interface both backends share, and the SQL they have in common.

A store knows nothing about hashing or signing: it keeps rows and gives the ledger two
kinds of access, `read()` and `write()`. `write()` is one transaction that holds the
ledger-wide write lock from its first statement, so the index the ledger reads with
`end_index()` is still free when it inserts: this is what keeps one total order with no
gaps when threads and processes append at once.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from pactline.ledger.checkpoint import SignedCheckpoint
from pactline.ledger.errors import LedgerConfigError, LedgerStorageError

ENTRIES, CHECKPOINTS, META = "ledger_entries", "ledger_checkpoints", "ledger_meta"
SCHEMA_VERSION = "1"
_ENTRY_COLUMNS = "idx, ts, event, agreement_id, fingerprint, actor, payload, leaf_hash"
_SELECT_CHECKPOINT = "SELECT origin, tree_size, root_hash, ts, key_id, signature FROM ledger_checkpoints"


@dataclass(frozen=True)
class StoredEntry:
    """An entry row exactly as stored; the payload stays text so verify sees every stored byte."""

    index: int
    timestamp: str
    event: str
    agreement_id: str
    fingerprint: str | None
    actor: str | None
    payload: str
    leaf_hash: bytes


class Queries:
    """The SQL both backends run, on one connection (inside or outside a transaction)."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self._conn = conn
        self._ph = placeholder

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        sql = sql.replace("?", self._ph)
        # No parameters: pass none, so a literal '%' (in DDL) is not read as a placeholder.
        cur = self._conn.execute(sql, params) if params else self._conn.execute(sql)
        return cur.fetchall() if cur.description is not None else []

    def end_index(self) -> int:
        """One past the highest stored index: the next index to assign."""
        (value,) = self.run("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries")[0]
        return int(value)

    def insert_entry(self, e: StoredEntry) -> None:
        self.run(
            "INSERT INTO ledger_entries (idx, ts, event, agreement_id, fingerprint, actor, payload, leaf_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e.index, e.timestamp, e.event, e.agreement_id, e.fingerprint, e.actor, e.payload, e.leaf_hash),
        )

    def entries(
        self, after: int, stop: int | None, limit: int, agreement_id: str | None = None, event: str | None = None
    ) -> list[StoredEntry]:
        """Up to `limit` rows with after < idx (< stop), in index order (keyset paging)."""
        where, params = ["idx > ?"], [after]
        for condition, value in (("idx < ?", stop), ("agreement_id = ?", agreement_id), ("event = ?", event)):
            if value is not None:
                where.append(condition)
                params.append(value)
        # Only the fixed fragments above are joined into the SQL; values go as parameters.
        sql = f"SELECT {_ENTRY_COLUMNS} FROM ledger_entries WHERE {' AND '.join(where)} ORDER BY idx LIMIT ?"  # noqa: S608
        rows = self.run(sql, (*params, limit))
        return [StoredEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7])) for r in rows]

    def entries_desc(self, before: int | None, limit: int, agreement_id: str | None = None) -> list[StoredEntry]:
        """Up to `limit` rows with idx < before (all when None), newest first, optionally of one agreement."""
        where, params = ["1 = 1"], []
        for condition, value in (("idx < ?", before), ("agreement_id = ?", agreement_id)):
            if value is not None:
                where.append(condition)
                params.append(value)
        sql = f"SELECT {_ENTRY_COLUMNS} FROM ledger_entries WHERE {' AND '.join(where)} ORDER BY idx DESC LIMIT ?"  # noqa: S608
        rows = self.run(sql, (*params, limit))
        return [StoredEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7])) for r in rows]

    def leaf_hashes(self, start: int, stop: int) -> list[bytes]:
        rows = self.run("SELECT leaf_hash FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop))
        return [bytes(r[0]) for r in rows]

    def insert_checkpoint(self, cp: SignedCheckpoint, frontier: bytes) -> None:
        self.run(
            "INSERT INTO ledger_checkpoints (origin, tree_size, root_hash, ts, key_id, signature, frontier) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cp.origin, cp.tree_size, cp.root_hash, cp.timestamp, cp.key_id, cp.signature, frontier),
        )

    def checkpoints(self) -> list[SignedCheckpoint]:
        rows = self.run(f"{_SELECT_CHECKPOINT} ORDER BY tree_size")
        return [_checkpoint(r) for r in rows]

    def checkpoint(self, tree_size: int) -> SignedCheckpoint | None:
        rows = self.run(f"{_SELECT_CHECKPOINT} WHERE tree_size = ?", (tree_size,))
        return _checkpoint(rows[0]) if rows else None

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        rows = self.run(f"{_SELECT_CHECKPOINT} ORDER BY tree_size DESC LIMIT 1")
        return _checkpoint(rows[0]) if rows else None

    def frontier_base(self, tree_size: int) -> tuple[SignedCheckpoint, bytes] | None:
        """The largest checkpoint at or below `tree_size`, with its stored frontier."""
        rows = self.run(
            "SELECT origin, tree_size, root_hash, ts, key_id, signature, frontier FROM ledger_checkpoints "
            "WHERE tree_size <= ? ORDER BY tree_size DESC LIMIT 1",
            (tree_size,),
        )
        return (_checkpoint(rows[0]), bytes(rows[0][6])) if rows else None

    def meta(self, key: str) -> str | None:
        rows = self.run("SELECT value FROM ledger_meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta_once(self, key: str, value: str) -> None:
        self.run("INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value))


def _checkpoint(r: tuple[Any, ...]) -> SignedCheckpoint:
    return SignedCheckpoint(
        origin=r[0], tree_size=int(r[1]), root_hash=bytes(r[2]), timestamp=r[3], key_id=r[4], signature=bytes(r[5])
    )


class Store(ABC):
    """One ledger database. Thread-safe: calls from threads of one process share a connection
    under a lock (writes are serialised by the database anyway); each process gets its own."""

    placeholder = "?"
    database_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, display_url: str) -> None:
        self.display_url = display_url  # with any password removed
        self._lock = threading.RLock()
        self._named_locks: dict[str, threading.Lock] = {}
        self._conn: Any = None
        self._pid = 0

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[None]:
        """A write transaction holding the ledger-wide write lock from its start."""

    @abstractmethod
    def _schema(self) -> list[str]:
        """Statements creating the tables and append-only triggers (idempotent)."""

    @abstractmethod
    def _has_schema(self, q: Queries) -> bool:
        """Whether the ledger tables exist (asked without failing when they do not)."""

    def _connection(self) -> Any:
        # A connection inherited through fork() is shared with the parent: never reuse it.
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._connect()
            self._pid = os.getpid()
        return self._conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self.database_errors as e:
            self._drop_connection()
            raise LedgerStorageError(f"ledger database {self.display_url}: {e}".strip()) from e

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # already failing: the original error is what matters
                conn.close()

    @contextmanager
    def read(self) -> Iterator[Queries]:
        with self._lock, self._guard():
            yield Queries(self._connection(), self.placeholder)

    @contextmanager
    def write(self) -> Iterator[Queries]:
        with self._lock, self._guard():
            conn = self._connection()
            with self._transaction(conn):
                yield Queries(conn, self.placeholder)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A lock named `name`, held across every process sharing this ledger, that does not block appends.

        Used to put steps that must not interleave in one order (publishing checkpoints, witnessing).
        This default only serialises threads of one process; the backends extend it to processes.
        """
        with self._named_lock(name):
            yield

    def _named_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._named_locks.setdefault(name, threading.Lock())

    def open_ledger(self, origin: str, create: bool) -> str:
        """The ledger's origin, creating tables and origin first when `create` and they are missing.

        The origin is set once, by whichever process creates the ledger; everyone else reads it.
        """
        with self.read() as q:
            exists = self._has_schema(q)
            existing, version = (q.meta("origin"), q.meta("schema_version")) if exists else (None, None)
        if version not in (None, SCHEMA_VERSION):
            raise LedgerConfigError(
                f"ledger at {self.display_url} has schema version {version}; this Pactline reads "
                f"version {SCHEMA_VERSION}: upgrade Pactline"
            )
        if existing is not None:
            return existing
        if not create:
            raise LedgerConfigError(f"no ledger at {self.display_url} (check the URL or PACTLINE_LEDGER_URL)")
        with self.write() as q:  # under the write lock, so concurrent creators take turns
            for statement in self._schema():
                q.run(statement)
            q.set_meta_once("schema_version", SCHEMA_VERSION)
            q.set_meta_once("origin", origin)
            value = q.meta("origin")
        assert value is not None
        return value

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._drop_connection()
            self._conn = None
