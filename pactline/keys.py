"""Secrets the agreement names (pseudonymisation and encryption keys), resolved without ever logging them.

Resolution order for a secret called NAME:
1. an extra resolver (operators pass one that reads Airflow variables/connections, so any
   Airflow secrets backend works);
2. the environment variable PACTLINE_SECRET_<NAME> (non-alphanumerics as '_', upper case);
3. the embedded default: a key file under $PACTLINE_HOME/keys/NAME.key, created on first use with
   mode 0600 (never inside the repo's tracked files).

Every secret is at least 32 random bytes, given as hex or base64url, and must look random: a
repeated pattern, a passphrase written as hex/base64url, or text a password checker (zxcvbn) finds
guessable is refused. Error messages name the secret, never its value.

An agreement names secrets in its own namespace only (it is untrusted input: a counterparty may
have written it). Agreement `fraud-detection` naming `fraud_pseudonym_key` resolves the secret
`fraud-detection__fraud_pseudonym_key` (env PACTLINE_SECRET_FRAUD_DETECTION__FRAUD_PSEUDONYM_KEY).
Only the deployment can let agreements share a secret (a cross-agreement join): PACTLINE_SHARED_SECRETS
(or the Airflow Variable `pactline_shared_secrets` through the resolver's `shared_secrets`) holds JSON
{"<secret name>": ["<agreement id>", ...]}; a listed agreement naming that secret resolves the
un-namespaced secret `<secret name>`. Names starting with "pactline" are Pactline's own keys: never an
agreement's, never shared.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pactline.agreement.model import RESERVED_SECRET_PREFIX
from pactline.errors import KeyStoreError

if TYPE_CHECKING:
    from pactline.agreement import LoadedAgreement

MIN_KEY_BYTES = 32
SecretResolver = Callable[[str], bytes | None]
# returns the sharing configuration's JSON text, or None when the source does not set it
SharingSource = Callable[[], str | None]

SHARED_SECRETS_ENV = "PACTLINE_SHARED_SECRETS"
SHARED_SECRETS_VARIABLE = "pactline_shared_secrets"  # the Airflow Variable operators read it from
NAMESPACE_SEPARATOR = "__"
GENERATE_HINT = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'

# What a password checker makes of the text. zxcvbn caps its brute-force estimate at 10 guesses per
# character, so random text scores ~1 order of magnitude per character; words, names, keyboard runs,
# dates and repeats score far less. Separators ('-', '_', '+', '/', '=') are scored once as written and
# once removed: zxcvbn counts each separator as a random character, which lifts 'words_joined_like_this'.
# Both must reach MIN_GUESSES_LOG10_PER_CHAR per character scored. Measured with zxcvbn 4.5.0 on random
# 32-byte keys: hex (64 chars, 10,000 keys) min 57.96 = 0.906 per char; base64url (43 chars, 30,000 keys)
# min 40.40 = 0.936 per char as written, 0.935 with separators removed. 2,000 passphrases of 43-55 chars
# (English words joined by '_', '-', CamelCase or nothing, some with digits) scored at most 0.763 per
# char with separators removed (median 0.535), so every one of them is refused.
MIN_GUESSES_LOG10_PER_CHAR = 0.8
ZXCVBN_MAX_CHARS = 72  # zxcvbn slows down on long input; the first 72 characters decide
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")
_SEPARATORS = re.compile(r"[-_+/=]")
_SECRET_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_AGREEMENT_ID = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_strong: set[bytes] = set()  # SHA-256 of texts already found strong: the check runs once per secret


def pactline_home() -> Path:
    return Path(os.environ.get("PACTLINE_HOME", Path.cwd() / ".pactline")).resolve()


def _refuse(name: str, why: str) -> KeyStoreError:
    return KeyStoreError(f"secret {name!r} is refused: {why}; a key must be at least {MIN_KEY_BYTES} random "
                         f"bytes given as hex or base64url, {GENERATE_HINT}")


def _smallest_period(text: str) -> int:
    """The length of the shortest unit that `text` repeats (len(text) when it repeats none)."""
    border = [0] * len(text)  # Knuth-Morris-Pratt failure function
    k = 0
    for i in range(1, len(text)):
        while k and text[i] != text[k]:
            k = border[k - 1]
        if text[i] == text[k]:
            k += 1
        border[i] = k
    return len(text) - (border[-1] if text else 0)


def guesses_log10(text: str) -> float:
    """zxcvbn's estimate of the guesses needed for (the first 72 characters of) `text`, as log10."""
    from zxcvbn import zxcvbn  # imported on first use: it builds its dictionaries at import

    return float(zxcvbn(text[:ZXCVBN_MAX_CHARS])["guesses_log10"])


def check_strength(text: str, raw: bytes, name: str) -> None:
    """Refuse a secret that does not look random. `text` is the secret as given, `raw` its decoded bytes."""
    digest = hashlib.sha256(text.encode()).digest()
    if digest in _strong:
        return
    if _smallest_period(text) <= len(text) // 2:
        raise _refuse(name, "it repeats a pattern")
    if all(b in _PRINTABLE for b in raw):
        raise _refuse(name, "it decodes to readable text (a passphrase written as hex or base64), not random bytes")
    joined = _SEPARATORS.sub("", text)
    if len(joined) < len(text) // 2:
        raise _refuse(name, "it is mostly separators ('-', '_', '+', '/', '=')")
    for scored in (text, joined) if joined != text else (text,):
        checked = min(len(scored), ZXCVBN_MAX_CHARS)
        estimate, needed = guesses_log10(scored), MIN_GUESSES_LOG10_PER_CHAR * checked
        if estimate < needed:
            raise _refuse(name, f"a password checker finds it guessable (words, names, keyboard runs, dates or "
                                f"repeats: about 10^{estimate:.1f} guesses, below the 10^{needed:.1f} required "
                                "at its length)")
    _strong.add(digest)


def decode_secret(text: str, name: str) -> bytes:
    text = text.strip()
    raw: bytes | None = None
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
    elif _BASE64.fullmatch(text):
        unpadded = text.rstrip("=")
        try:
            raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) < MIN_KEY_BYTES:
        raise KeyStoreError(
            f"secret {name!r} must be at least {MIN_KEY_BYTES} random bytes, given as hex or base64url; {GENERATE_HINT}"
        )
    check_strength(text, raw, name)
    return raw


def new_secret_text() -> str:
    """A fresh random key as hex (what the embedded default writes), one that passes check_strength."""
    while True:
        text = secrets.token_hex(MIN_KEY_BYTES)
        try:
            check_strength(text, bytes.fromhex(text), "new")
        except KeyStoreError:  # astronomically rare for random bytes; draw again rather than store it
            continue
        return text


def env_name(name: str) -> str:
    return "PACTLINE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


# -- agreement secrets: namespaces and deployment-configured sharing ---------------------------------

def check_agreement_secret_name(name: str) -> None:
    """A secret name an agreement may use: never Pactline's own, never one that could cross a namespace."""
    if name.lower().startswith(RESERVED_SECRET_PREFIX):
        raise KeyStoreError(f"secret name {name!r} is reserved: names starting with {RESERVED_SECRET_PREFIX!r} "
                            "are Pactline's own keys and never an agreement's")
    if not _SECRET_NAME.fullmatch(name) or NAMESPACE_SEPARATOR in name:
        raise KeyStoreError(f"secret name {name!r} must be lower-case letters, digits and single '_', "
                            "starting with a letter")


def namespaced(agreement_id: str, name: str) -> str:
    """The secret an agreement's key name N resolves to: `<agreement id>__<N>`."""
    if (not _AGREEMENT_ID.fullmatch(agreement_id) or NAMESPACE_SEPARATOR in agreement_id
            or agreement_id.startswith(RESERVED_SECRET_PREFIX)):
        raise KeyStoreError(f"agreement id {agreement_id!r} cannot hold secrets: it must be lower-case letters, "
                            f"digits, '-' and single '_', starting with a letter but not with {RESERVED_SECRET_PREFIX!r}")
    check_agreement_secret_name(name)
    return f"{agreement_id}{NAMESPACE_SEPARATOR}{name}"


def parse_shared_secrets(text: str, source: str) -> dict[str, tuple[str, ...]]:
    """{"<secret name>": ["<agreement id>", ...]} -> {name: ids}; KeyStoreError saying what is wrong."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise KeyStoreError(f"{source} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                            'expected {"<secret name>": ["<agreement id>", ...]}') from None
    if not isinstance(doc, dict):
        raise KeyStoreError(f'{source} must be a JSON object {{"<secret name>": ["<agreement id>", ...]}}, '
                            f"not a {type(doc).__name__}")
    out: dict[str, tuple[str, ...]] = {}
    for name, ids in doc.items():
        if name.lower().startswith(RESERVED_SECRET_PREFIX):
            raise KeyStoreError(f"{source}: secret {name!r} is reserved (names starting with "
                                f"{RESERVED_SECRET_PREFIX!r} are Pactline's own keys) and can never be shared")
        if not _SECRET_NAME.fullmatch(name) or NAMESPACE_SEPARATOR in name:
            raise KeyStoreError(f"{source}: {name!r} is not a secret name an agreement can use (lower-case "
                                "letters, digits and single '_', starting with a letter)")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise KeyStoreError(f"{source}: secret {name!r} must map to a non-empty list of agreement ids")
        bad = [i for i in ids if not _AGREEMENT_ID.fullmatch(i)]
        if bad:
            raise KeyStoreError(f"{source}: secret {name!r} lists {bad[0]!r}, which is not an agreement id")
        out[name] = tuple(dict.fromkeys(ids))
    return out


class KeyStore:
    def __init__(self, home: Path | None = None, resolver: SecretResolver | None = None,
                 sharing: SharingSource | None = None):
        """`sharing` returns the sharing configuration's JSON (e.g. from an Airflow Variable); when not given,
        a `shared_secrets` callable attached to the resolver is used. PACTLINE_SHARED_SECRETS comes after it."""
        self.home = home or pactline_home()
        self.resolver = resolver
        self.sharing = sharing if sharing is not None else getattr(resolver, "shared_secrets", None)

    def key_file(self, name: str) -> Path:
        """Where the embedded default keeps the secret `name` (whether or not it exists)."""
        return self._file(name)

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
        env = os.environ.get(env_name(name))
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
                fh.write(new_secret_text())
            try:
                os.link(tmp, path)  # atomic and never overwrites a key another process just made
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return decode_secret(path.read_text(), name)

    def shared_secrets(self) -> Mapping[str, tuple[str, ...]]:
        """The deployment's sharing configuration: secret name -> the agreement ids that share it."""
        text = self.sharing() if self.sharing is not None else None
        source = f"{SHARED_SECRETS_VARIABLE} (from the secrets resolver)"
        if text is None:
            text, source = os.environ.get(SHARED_SECRETS_ENV), SHARED_SECRETS_ENV
        if text is None or not text.strip():
            return {}
        return parse_shared_secrets(text, source)

    def agreement_secret(self, agreement_id: str, name: str) -> tuple[bytes, tuple[str, ...] | None]:
        """The secret agreement `agreement_id` means by `name`, and the other agreements it is shared with
        (None when it is the agreement's own, namespaced secret)."""
        check_agreement_secret_name(name)
        sharers = self.shared_secrets().get(name, ())
        if agreement_id in sharers:
            return self.secret(name), tuple(i for i in sharers if i != agreement_id)
        return self.secret(namespaced(agreement_id, name)), None


class AgreementKeys:
    """Resolves the key names a transformation uses (e.g. 'pseudonymisation') to the agreement's secret.

    The agreement is untrusted: the name it gives under `keys:` is looked up in its own namespace
    (`<agreement id>__<name>`), so naming another agreement's secret reaches nothing of theirs. Only the
    deployment's sharing configuration (PACTLINE_SHARED_SECRETS) lets listed agreements resolve the
    un-namespaced secret; that is written to the ledger (`secret.shared`, names only) once per run.
    """

    def __init__(self, loaded: LoadedAgreement, store: KeyStore, record: Callable[..., None] | None = None):
        self.loaded = loaded
        self.store = store
        self.record = record  # RunContext.record(event, **payload); None outside a run
        self._secrets: dict[str, bytes] = {}

    def secret(self, name: str) -> bytes:
        secret_name = getattr(self.loaded.agreement.keys, name, None)
        if secret_name is None:
            raise KeyStoreError(f"the agreement names no secret for key {name!r}; add it under keys:")
        if name not in self._secrets:
            value, shared_with = self.store.agreement_secret(self.loaded.id, secret_name)
            if shared_with is not None and self.record is not None:
                self.record("secret.shared", key=name, secret=secret_name, shared_with=list(shared_with))
            self._secrets[name] = value
        return self._secrets[name]
