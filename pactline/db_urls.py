"""Database URLs shared by the ledger and the store's own tables (keyring, catalog, erasure register).

Both speak the same URLs (sqlite:///relative/path, sqlite:////absolute/path, a bare file path,
postgresql://user:pass@host:port/db); the store's tables default to the ledger's PostgreSQL database when
it has one, and both print URLs with the password withheld. This module sits below both and imports
nothing of Pactline's, so the store never imports the ledger for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

LEDGER_URL_ENV = "PACTLINE_LEDGER_URL"


def is_postgres(url: str) -> bool:
    """postgresql:// or postgres://, SQLAlchemy-style driver suffixes (postgresql+psycopg://) included."""
    return url.split("://", 1)[0].split("+", 1)[0].lower() in ("postgresql", "postgres") and "://" in url


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to print and log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
