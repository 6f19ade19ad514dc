"""Secrets the agreement names (pseudonymisation and encryption keys), resolved without ever logging them.

Resolution order for a secret called NAME:
1. an extra resolver (operators pass one that reads Airflow variables/connections, so any
   Airflow secrets backend works);
2. the environment variable PACTLINE_SECRET_<NAME> (hex or base64url of at least 32 bytes);
3. the embedded default: a key file under $PACTLINE_HOME/keys/, created on first use with
   mode 0600 (never inside the repo's tracked files).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from pactline.errors import KeyStoreError

MIN_KEY_BYTES = 32
SecretResolver = Callable[[str], bytes | None]


def pactline_home() -> Path:
    return Path(os.environ.get("PACTLINE_HOME", Path.cwd() / ".pactline")).resolve()


def decode_secret(text: str, name: str) -> bytes:
    text = text.strip()
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) < MIN_KEY_BYTES:
        raise KeyStoreError(
            f"secret {name!r} must be at least {MIN_KEY_BYTES} random bytes, given as hex or base64url"
        )
    return raw


class KeyStore:
    def __init__(self, home: Path | None = None, resolver: SecretResolver | None = None):
        self.home = home or pactline_home()
        self.resolver = resolver

    def _file(self, name: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", name) or name.startswith("."):
            raise KeyStoreError(f"secret name {name!r} may hold only letters, digits, '_', '-' and '.'")
        return self.home / "keys" / f"{name}.key"

    def find(self, name: str) -> bytes | None:
        """The secret called `name` if some source has it; never creates one."""
        if self.resolver is not None:
            value = self.resolver(name)
            if value is not None:
                return value
        env = os.environ.get("PACTLINE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper())
        if env:
            return decode_secret(env, name)
        path = self._file(name)
        return decode_secret(path.read_text(), name) if path.exists() else None

    def secret(self, name: str) -> bytes:
        """The secret called `name`; created locally on first use when no other source has it."""
        found = self.find(name)
        if found is not None:
            return found
        path = self._file(name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(MIN_KEY_BYTES))
            try:
                os.link(tmp, path)  # atomic and never overwrites a key another process just made
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return decode_secret(path.read_text(), name)
