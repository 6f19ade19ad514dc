"""Where the ledger lives and how often it checkpoints, from arguments or the environment.

PACTLINE_LEDGER_URL                  sqlite:///relative/path, sqlite:////absolute/path, a bare file
                                     path, or postgresql://user:pass@host:port/db (default:
                                     sqlite file $PACTLINE_HOME/ledger.sqlite)
PACTLINE_LEDGER_CHECKPOINT_EVERY     sign a checkpoint every N appends (default 100; 0 = only on demand)
PACTLINE_LEDGER_SIGNING_KEY          see pactline.ledger.signing
"""

from __future__ import annotations

import os

from pactline.db_urls import LEDGER_URL_ENV, redact_url
from pactline.keys import pactline_home
from pactline.ledger.errors import LedgerConfigError
from pactline.ledger.store import Store

ENV_URL = LEDGER_URL_ENV
ENV_CHECKPOINT_EVERY = "PACTLINE_LEDGER_CHECKPOINT_EVERY"
DEFAULT_CHECKPOINT_EVERY = 100


def resolve_url(url: str | None = None) -> str:
    return url or os.environ.get(ENV_URL) or f"sqlite:///{pactline_home() / 'ledger.sqlite'}"


def resolve_checkpoint_every(value: int | None = None) -> int:
    if value is None:
        text = os.environ.get(ENV_CHECKPOINT_EVERY, "").strip()
        if not text:
            return DEFAULT_CHECKPOINT_EVERY
        try:
            value = int(text)
        except ValueError:
            raise LedgerConfigError(f"{ENV_CHECKPOINT_EVERY} must be a whole number, got {text!r}") from None
    if value < 0:
        raise LedgerConfigError(f"checkpoint interval must be >= 0 (0 = only on demand), got {value}")
    return value


def open_store(url: str, create: bool = True) -> Store:
    """The store for `url`; with create=False a missing SQLite file is an error, not a new ledger."""
    scheme, sep, rest = url.partition("://")
    if not sep:  # a plain file path
        from pactline.ledger.store_sqlite import SqliteStore

        return SqliteStore(os.path.expanduser(url), url, create)
    driver = scheme.split("+", 1)[0].lower()  # accept SQLAlchemy-style postgresql+psycopg://
    if driver == "sqlite":
        from pactline.ledger.store_sqlite import SqliteStore

        path = rest.split("?", 1)[0]
        if not path.startswith("/") or len(path) < 2:
            raise LedgerConfigError(f"SQLite ledger URL {url!r} must look like sqlite:///path/to/ledger.sqlite")
        return SqliteStore(os.path.expanduser(path[1:]), url, create)
    if driver in ("postgresql", "postgres"):
        from pactline.ledger.store_postgres import PostgresStore

        return PostgresStore(f"postgresql://{rest}", redact_url(url))
    raise LedgerConfigError(f"ledger URL {redact_url(url)!r}: unknown scheme {scheme!r} (use sqlite:/// or postgresql://)")
