"""Finding a subject: its identifier columns and tokens, the rows of a table and the texts that hold it.

The subject is identified by a value of one of the dataset's keyed identifier columns (those the
agreement pseudonymises or encrypts deterministically, or the one named with `column`). For each
such column the subject's token is computed with the agreement's own transformation and key
(pactline.protect), so a row holds the subject when, in any identifier column,

- the raw value transforms to the subject's token (landing and staging hold raw values), or
- the value is the token itself (released versions hold tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import Column, Dataset
from pactline.keys import AgreementKeys, KeyStore
from pactline.retention.erasure.errors import ErasureError

TOKEN_KINDS = ("pseudonymise", "encrypt")  # deterministic keyed transformations: the token finds the subject


@dataclass(frozen=True)
class Identifier:
    column: str  # canonical name
    partner: str  # the provider's name for it (landing copies use these)
    declaration: Column
    token: str | None  # the subject's released value, None if the column is not tokenised


class SubjectMatcher:
    """Finds a subject's rows in a dataset's tables (raw, mapped or released)."""

    def __init__(self, loaded: LoadedAgreement, keystore: KeyStore, subject: str, column: str | None = None):
        if not subject or not subject.strip():
            raise ErasureError("the subject value is empty")
        self.loaded = loaded
        self.subject = subject
        self.keys = AgreementKeys(loaded, keystore)
        self.identifiers: dict[str, list[Identifier]] = {}
        for ds in loaded.agreement.datasets:
            self.identifiers[ds.id] = self._identifiers(ds, column)
        if not any(self.identifiers.values()):
            what = f"column {column!r}" if column else "a pseudonymised or encrypted identifier column"
            raise ErasureError(f"agreement {loaded.id}: no dataset has {what}; name the subject's column with --column")

    def _identifiers(self, ds: Dataset, column: str | None) -> list[Identifier]:
        from pactline.protect import protect_column

        partner = {canonical: p for p, canonical in ds.schema_mapping.items()}
        out = []
        for name, decl in ds.columns.items():
            if (column is not None and name != column) or (column is None and decl.transformation.kind not in TOKEN_KINDS):
                continue
            token = None
            if decl.transformation.kind in TOKEN_KINDS:
                token = protect_column(pa.array([self.subject], pa.large_string()), name, decl, keys=self.keys)[0].as_py()
            out.append(Identifier(name, partner.get(name, name), decl, token))
        return out

    def needles(self, dataset_id: str) -> list[str]:
        """Strings whose presence in a report or blob means it mentions the subject (lower case: the
        search ignores case, as partners spell identifiers differently)."""
        tokens = {i.token for i in self.identifiers.get(dataset_id, []) if i.token}
        return sorted({self.subject.strip().lower(), *(t.lower() for t in tokens)} - {""}, key=len, reverse=True)

    def rows(self, table: pa.Table | pa.RecordBatch, dataset_id: str) -> pa.ChunkedArray | pa.Array:
        """A boolean mask: True for the rows that hold the subject."""
        from pactline.protect import protect_column

        hit = pa.array([False] * table.num_rows, pa.bool_())
        names = set(table.schema.names)
        for ident in self.identifiers.get(dataset_id, []):
            name = ident.column if ident.column in names else ident.partner if ident.partner in names else None
            if name is None:
                continue
            values = table.column(name)
            text = values.cast(pa.large_string()) if values.type != pa.large_string() else values
            if ident.token is not None:
                hit = pc.or_(hit, pc.fill_null(pc.equal(text, ident.token), False))
                transformed = protect_column(text, ident.column, ident.declaration, keys=self.keys)
                hit = pc.or_(hit, pc.fill_null(pc.equal(transformed, ident.token), False))
            else:
                hit = pc.or_(hit, pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), self.subject.strip()), False))
        return hit


def mentions(data: str | bytes, needles: list[str]) -> bool:
    """Whether a text or blob holds any of `needles` (matcher.needles), ignoring case."""
    if isinstance(data, bytes):
        low = data.lower()
        return any(n.encode() in low for n in needles)
    low = data.lower()
    return any(n in low for n in needles)


def json_mentions(data: Any, needles: list[str]) -> int:
    """How many strings (keys and values) of a JSON document mention the subject."""
    if isinstance(data, str):
        return int(mentions(data, needles))
    if isinstance(data, dict):
        return sum(json_mentions(v, needles) + json_mentions(k, needles) for k, v in data.items())
    if isinstance(data, list):
        return sum(json_mentions(v, needles) for v in data)
    return 0
