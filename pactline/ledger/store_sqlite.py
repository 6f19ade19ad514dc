"""SQLite backend: the embedded default, one file shared by every process on the machine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pactline.ledger.store import CHECKPOINTS, ENTRIES, META, Store

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

    def __init__(self, path: str, display_url: str) -> None:
        super().__init__(display_url)
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

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
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

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
