"""The erasure register: subjects erased from an agreement's data stay erased on later runs.

Erasure rewrites every live version without the subject, but a partner may deliver the same file
again. The register keeps, per agreement, dataset and keyed identifier column, the subject's token
(the pseudonym the agreement's own key and transformation give it); map_schema drops every row
whose identifier transforms to a registered token, before anything is written to staging, and
records how many it dropped. The partner's landing copy is kept as delivered (it is purged on the
landing clock); nothing after it holds the subject.

Tokens are pseudonyms, personal data: the register is its own table, never the ledger or a log.
A subject identified only by a column that is not tokenised (--column on a kept column) is not
registered: its raw value would have to be stored, and the erasure says so.

URL: PACTLINE_ERASURES_URL; else the ledger's PostgreSQL database when PACTLINE_LEDGER_URL is one;
else sqlite:///$PACTLINE_HOME/erasures.sqlite.
"""

# Table and column names in SQL text are module constants; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.store.sql import Database, store_url

ENV_URL = "PACTLINE_ERASURES_URL"
TABLE = "pactline_erased_subjects"


class ErasureRegister:
    def __init__(self, url: str | None = None):
        self.db = Database(store_url(url, ENV_URL, "erasures.sqlite"), secure_delete=True)

    def _ensure(self) -> None:
        self.db.ensure(TABLE, [f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            agreement_id TEXT NOT NULL, dataset TEXT NOT NULL, column_name TEXT NOT NULL, token TEXT NOT NULL,
            request_id TEXT NOT NULL, erased_at TEXT NOT NULL, PRIMARY KEY (agreement_id, dataset, column_name, token))"""])

    def add(self, agreement_id: str, dataset: str, column: str, token: str, request_id: str) -> None:
        """Register a token (once; a second erasure of the same subject keeps the first request's id)."""
        self._ensure()
        now = dt.datetime.now(dt.UTC).isoformat()
        with self.db.transaction() as tx:
            tx.run(f"INSERT INTO {TABLE} (agreement_id, dataset, column_name, token, request_id, erased_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   (agreement_id, dataset, column, token, request_id, now))

    def tokens(self, agreement_id: str, dataset: str) -> dict[str, set[str]]:
        """Registered tokens of one dataset, by column."""
        self._ensure()
        with self.db.transaction(write=False) as tx:
            rows = tx.run(f"SELECT column_name, token FROM {TABLE} WHERE agreement_id = ? AND dataset = ?",
                          (agreement_id, dataset))
        out: dict[str, set[str]] = {}
        for column, token in rows:
            out.setdefault(column, set()).add(token)
        return out


def erased_rows(batch: pa.RecordBatch, tokens: dict[str, set[str]], dataset: Any, keys: Any) -> pa.Array:
    """True for the rows of a mapped batch whose identifier transforms to a registered token (the
    agreement's own transformation and key, as erasure computed the token)."""
    from pactline.protect import protect_column

    hit = pa.array([False] * batch.num_rows, pa.bool_())
    for column, registered in tokens.items():
        if column not in batch.schema.names or column not in dataset.columns:
            continue
        values = batch.column(column)
        text = values.cast(pa.large_string()) if values.type != pa.large_string() else values
        transformed = protect_column(text, column, dataset.columns[column], keys=keys)
        found = pc.is_in(transformed, value_set=pa.array(sorted(registered), transformed.type))
        hit = pc.or_(hit, pc.fill_null(found, False))
    return hit
