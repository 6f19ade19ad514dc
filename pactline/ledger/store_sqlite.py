"""SQLite backend: the embedded default, one file shared by every process on the machine."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy timeout alone still keeps appends correct
    fcntl = None  # type: ignore[assignment]

from pactline.ledger.errors import LedgerConfigError
from pactline.ledger.store import CHECKPOINTS, ENTRIES, META, Queries, Store

BUSY_TIMEOUT_S = 60.0


def _append_only(table: str) -> list[str]:
    # Guards against accidental edits through the normal API; tamper evidence does not rely on it
    # (whoever can write the file can drop a trigger), verify() does.
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for op in ("UPDATE", "DELETE")
    ]


class SqliteStore(Store):
    database_errors = (sqlite3.Error,)

    def __init__(self, path: str, display_url: str, create: bool = True) -> None:
        super().__init__(display_url)
        self.path = path
        self._fd: int | None = None
        self._fd_pid = 0
        if path != ":memory:":
            if create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            elif not Path(path).is_file():
                # sqlite3.connect would create an empty file, and verify() would call it valid.
                raise LedgerConfigError(f"no ledger at {display_url}: {path} does not exist")

    def _connect(self) -> Any:
        # isolation_level=None: no implicit transactions, so BEGIN IMMEDIATE below is the only one.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")  # readers never block the appender, nor it them
        conn.execute("PRAGMA synchronous = FULL")  # a committed entry survives a power cut
        return conn

    @contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        # IMMEDIATE takes the database write lock at BEGIN, before MAX(idx) is read; a DEFERRED
        # transaction would read, then fail to upgrade when another writer got there first.
        with self._writer_turn():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Queue writers on an flock beside the database before BEGIN IMMEDIATE.

        Correctness comes from BEGIN IMMEDIATE alone; this is for throughput. SQLite's busy
        handler polls with sleeps of up to 100 ms, so with many writers most of them sleep
        through the moments the lock is free; a blocking flock wakes the next writer at once.
        """
        fd = self._lock_fd()
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int | None:
        if fcntl is None or self.path == ":memory:":
            return None
        if self._fd is None or self._fd_pid != os.getpid():  # never share an inherited descriptor
            try:
                self._fd = os.open(f"{self.path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # e.g. a read-only directory: fall back to SQLite's own busy waiting
                return None
            self._fd_pid = os.getpid()
        return self._fd

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """An flock on a file beside the database: every process on this machine takes turns."""
        with super().exclusive(name):
            if fcntl is None or self.path == ":memory:":
                yield
                return
            fd = os.open(f"{self.path}-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock

    def close(self) -> None:
        super().close()
        fd, self._fd = self._fd, None
        if fd is not None and self._fd_pid == os.getpid():
            os.close(fd)

    def _has_schema(self, q: Queries) -> bool:
        return bool(q.run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META,)))

    def _schema(self) -> list[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {ENTRIES} (
                idx INTEGER PRIMARY KEY, ts TEXT NOT NULL, event TEXT NOT NULL,
                agreement_id TEXT NOT NULL, fingerprint TEXT, actor TEXT,
                payload TEXT NOT NULL, leaf_hash BLOB NOT NULL)""",
            f"CREATE INDEX IF NOT EXISTS {ENTRIES}_agreement ON {ENTRIES} (agreement_id, idx)",
            f"""CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (
                tree_size INTEGER PRIMARY KEY, origin TEXT NOT NULL, root_hash BLOB NOT NULL,
                ts TEXT NOT NULL, key_id TEXT NOT NULL, signature BLOB NOT NULL, frontier BLOB NOT NULL)""",
            f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            *_append_only(ENTRIES),
            *_append_only(CHECKPOINTS),
        ]
