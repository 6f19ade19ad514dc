"""A ledger entry, its canonical byte encoding and the validation of what callers append."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pactline.ledger.errors import InvalidEntryError
from pactline.ledger.merkle import leaf_hash

# The event types Pactline itself writes. Others are allowed (a plugin may add its own) as
# long as they are non-empty strings; these are listed so callers share one spelling.
EVENT_TYPES = (
    "agreement.loaded",
    "data.ingested",
    "data.read",
    "data.read_refused",
    "transform.applied",
    "policy.violation",
    "check.result",
    "approval",
    "release",
    "purge",
    "erasure",
    "kek.rotated",
    "agreement.signed",
    "secret.shared",
    "key.released",
    "key.refused",
    "release.received",
    "release.refused",
    "deletion.attestation_sent",
    "deletion.attested",
    "deletion.attestation_refused",
    "task.state",
    "run.finished",
    "ledger.witnessed",
    "ledger.witness_failed",
)
MAX_TEXT_FIELD = 512


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept as is: the one text form that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Entry:
    index: int
    timestamp: str
    event: str
    agreement_id: str
    fingerprint: str | None
    actor: str | None
    payload: dict[str, Any]
    leaf_hash: bytes

    def content(self) -> dict[str, Any]:
        """Every field except the stored leaf hash: exactly what the leaf hash commits to."""
        return entry_content(
            self.index, self.timestamp, self.event, self.agreement_id, self.fingerprint, self.actor, self.payload
        )

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.content()).encode("utf-8")

    def computed_leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical_bytes())

    def to_dict(self) -> dict[str, Any]:
        return {**self.content(), "leaf_hash": self.leaf_hash.hex()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        """Read an entry back from `to_dict` output (e.g. inside a proof); the leaf hash is kept as given."""
        try:
            payload = data["payload"]
            if not isinstance(payload, dict):
                raise TypeError("payload is not an object")
            return cls(
                index=_int(data["index"]),
                timestamp=str(data["timestamp"]),
                event=str(data["event"]),
                agreement_id=str(data["agreement_id"]),
                fingerprint=_opt_str(data["fingerprint"]),
                actor=_opt_str(data["actor"]),
                payload=payload,
                leaf_hash=bytes.fromhex(str(data["leaf_hash"])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidEntryError(f"not a ledger entry: {e.__class__.__name__}: {e}") from None


def entry_content(
    index: int,
    timestamp: str,
    event: str,
    agreement_id: str,
    fingerprint: str | None,
    actor: str | None,
    payload: Any,
) -> dict[str, Any]:
    return {
        "index": index,
        "timestamp": timestamp,
        "event": event,
        "agreement_id": agreement_id,
        "fingerprint": fingerprint,
        "actor": actor,
        "payload": payload,
    }


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("index is not an integer")
    return value


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("expected a string or null")
    return value


def check_fields(event: Any, agreement_id: Any, fingerprint: Any, actor: Any) -> None:
    for name, value, required in (
        ("event", event, True),
        ("agreement_id", agreement_id, True),
        ("fingerprint", fingerprint, False),
        ("actor", actor, False),
    ):
        if value is None and not required:
            continue
        if not isinstance(value, str) or (required and not value.strip()):
            what = "a non-empty string" if required else "a string or None"
            raise InvalidEntryError(f"ledger entry field {name!r} must be {what}, got {type(value).__name__}")
        if len(value) > MAX_TEXT_FIELD:
            raise InvalidEntryError(f"ledger entry field {name!r} is longer than {MAX_TEXT_FIELD} characters")


def payload_json(payload: Mapping[str, Any] | None) -> str:
    """Validate a payload and return its canonical JSON text.

    Only plain JSON types are accepted (str keys, finite floats; tuples become lists): what
    JSON would coerce silently (int keys, NaN) could make two different payloads hash the
    same, or make the stored text decode to something other than what was appended.
    """
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise InvalidEntryError(f"ledger payload must be a mapping, got {type(payload).__name__}")
    _check_json(payload, "payload")
    text = canonical_json(dict(payload))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEntryError("ledger payload holds a string that is not valid Unicode") from None
    return text


def _check_json(value: Any, path: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEntryError(f"{path}: NaN and infinity cannot be stored in JSON")
        return
    if isinstance(value, (list, tuple)):  # a tuple is stored, and read back, as a list
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEntryError(f"{path}: keys must be strings, got {type(key).__name__}")
            _check_json(item, f"{path}.{key}")
        return
    # Name the type only: the value may be a secret the caller should not have passed.
    raise InvalidEntryError(f"{path}: {type(value).__name__} is not a JSON type (use str, number, list, dict)")
