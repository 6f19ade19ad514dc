"""A small SQL helper for the store's own tables (keyring, catalog), on SQLite or PostgreSQL.

URLs follow the ledger's convention: sqlite:///relative/path, sqlite:////absolute/path, a bare
file path, or postgresql://user:pass@host:port/db. Statements are written with `?` placeholders
and `{blob}` for the binary column type; both are translated per backend.

A connection is opened per operation and closed after it: Airflow forks task processes, and a
connection must never cross a fork; the store's operations are few and coarse, so this is cheap.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pactline.db_urls import LEDGER_URL_ENV, is_postgres, redact_url
from pactline.store.errors import StoreConfigError

BUSY_TIMEOUT_S = 60.0


def store_url(url: str | None, env_var: str, sqlite_name: str) -> str:
    """Where one of the store's tables lives: the explicit URL, else `env_var`, else the ledger's
    PostgreSQL database (several nodes share it), else a SQLite file under $PACTLINE_HOME."""
    if url or os.environ.get(env_var):
        return url or os.environ[env_var]
    ledger = os.environ.get(LEDGER_URL_ENV, "")
    if is_postgres(ledger):
        return ledger
    from pactline.keys import pactline_home

    return f"sqlite:///{pactline_home() / sqlite_name}"


class Database:
    def __init__(self, url: str, *, secure_delete: bool = False) -> None:
        self.url = url
        self.display_url = redact_url(url)
        self.secure_delete = secure_delete
        scheme, sep, rest = url.partition("://")
        driver = scheme.split("+", 1)[0].lower() if sep else "sqlite"
        if driver == "sqlite":
            self.kind = "sqlite"
            if sep:
                path = rest.split("?", 1)[0]
                if not path.startswith("/") or len(path) < 2:
                    raise StoreConfigError(f"SQLite URL {url!r} must look like sqlite:///path/to/file.sqlite")
                path = path[1:]
            else:
                path = url
            self.path = os.path.expanduser(path)
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        elif driver in ("postgresql", "postgres"):
            self.kind = "postgres"
            self.conninfo = f"postgresql://{rest}"
        else:
            raise StoreConfigError(f"URL {self.display_url!r}: unknown scheme {scheme!r} (use sqlite:/// or postgresql://)")
        self.blob = "BLOB" if self.kind == "sqlite" else "BYTEA"
        self._created: set[str] = set()

    def ensure(self, name: str, statements: Sequence[str]) -> None:
        """Run a table's CREATE ... IF NOT EXISTS statements once per object, serialised across nodes."""
        if name in self._created:
            return
        with self.transaction() as tx:
            tx.lock(name)
            for statement in statements:
                tx.run(statement)
        self._created.add(name)

    def _sql(self, statement: str) -> str:
        statement = statement.replace("{blob}", self.blob)
        return statement.replace("?", "%s") if self.kind == "postgres" else statement

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """A write transaction holding SQLite's write lock (PostgreSQL: row locks), or with
        write=False a read that takes no lock, so parallel tasks opening files never queue."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                if not write:
                    yield Tx(self, conn)
                    return
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                if self.secure_delete:
                    conn.execute("PRAGMA secure_delete = ON")  # freed content is overwritten with zeros
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self, conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                if self.secure_delete:
                    # the WAL still holds the pages as they were before this transaction; fold it into
                    # the (secure-deleting) database file and truncate it
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
        else:
            import psycopg

            with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10) as conn:
                if not write:
                    yield Tx(self, conn)
                    return
                with conn.transaction():
                    yield Tx(self, conn)


class Tx:
    def __init__(self, db: Database, conn: Any) -> None:
        self.db = db
        self.conn = conn

    def run(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(self.db._sql(statement), tuple(params))
        if cur.description is None:
            return []
        return [tuple(r) for r in cur.fetchall()]

    def lock(self, name: str) -> None:
        """Serialise schema creation across nodes (SQLite's BEGIN IMMEDIATE already does)."""
        if self.db.kind == "postgres":
            import hashlib

            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    def rowcount(self, statement: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.execute(self.db._sql(statement), tuple(params))
        return cur.rowcount
