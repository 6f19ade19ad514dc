"""PostgreSQL backend: the multi-node ledger, shared by every worker that can reach the database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from pactline.ledger.errors import LedgerStorageError
from pactline.ledger.store import CHECKPOINTS, ENTRIES, META, Queries, Store


class PostgresStore(Store):
    placeholder = "%s"
    database_errors = (psycopg.Error,)

    def __init__(self, conninfo: str, display_url: str) -> None:
        super().__init__(display_url)
        self.conninfo = conninfo
        self._lock_key = 0

    def _connect(self) -> Any:
        # autocommit: reads need no transaction; writes open one explicitly in _transaction.
        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10)
        row = conn.execute("SELECT current_schema()").fetchone()
        schema = str(row[0] if row else "")
        # One advisory lock per schema, so two ledgers in one database do not queue behind each other.
        digest = hashlib.sha256(f"pactline-ledger:{schema}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)
        return conn

    @contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        # The transaction-level advisory lock is released by COMMIT/ROLLBACK, so it can never
        # leak; taken first, it makes MAX(idx)+1 and the INSERT one atomic step across nodes.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            yield

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own, so appends on the shared one go on meanwhile.

        Closing that connection releases the lock, even if this process dies holding it.
        """
        with super().exclusive(name):
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10)
            except psycopg.Error as e:
                raise LedgerStorageError(f"ledger database {self.display_url}: {e}".strip()) from e
            with conn:
                try:
                    row = conn.execute("SELECT current_schema()").fetchone()
                    digest = hashlib.sha256(f"pactline-ledger-{name}:{row[0] if row else ''}".encode()).digest()
                    conn.execute("SELECT pg_advisory_lock(%s)", (int.from_bytes(digest[:8], "big", signed=True),))
                except psycopg.Error as e:
                    raise LedgerStorageError(f"ledger database {self.display_url}: {e}".strip()) from e
                yield

    def _has_schema(self, q: Queries) -> bool:
        return q.run("SELECT to_regclass(?)", (META,))[0][0] is not None

    def _schema(self) -> list[str]:
        statements = [
            f"""CREATE TABLE IF NOT EXISTS {ENTRIES} (
                idx BIGINT PRIMARY KEY, ts TEXT NOT NULL, event TEXT NOT NULL,
                agreement_id TEXT NOT NULL, fingerprint TEXT, actor TEXT,
                payload TEXT NOT NULL, leaf_hash BYTEA NOT NULL)""",
            f"CREATE INDEX IF NOT EXISTS {ENTRIES}_agreement ON {ENTRIES} (agreement_id, idx)",
            f"""CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (
                tree_size BIGINT PRIMARY KEY, origin TEXT NOT NULL, root_hash BYTEA NOT NULL,
                ts TEXT NOT NULL, key_id TEXT NOT NULL, signature BYTEA NOT NULL, frontier BYTEA NOT NULL)""",
            f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            # Guards against accidental edits only; tamper evidence comes from verify().
            """CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
        ]
        for table in (ENTRIES, CHECKPOINTS):
            statements += [
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
                f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()",
            ]
        return statements
