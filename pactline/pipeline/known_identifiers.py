"""Redact a row's own identifiers wherever they appear in that row's free text.

Statistical NER misses names it has not seen (a German name in an English model, a title
like "Dipl.-Ing."). But the row itself says who the subject is: its direct-identifier
columns. Any exact occurrence of those values in the row's free-text columns is replaced
by the typed placeholder before Presidio runs, so recall on the subject never depends on NER.
"""

from __future__ import annotations

import pyarrow as pa

from pactline.agreement.model import Dataset

MIN_LEN = 4  # shorter values ("Li", "42") would redact ordinary words and numbers


def text_columns(ds: Dataset) -> list[str]:
    return [n for n, c in ds.columns.items() if c.transformation.kind == "redact_text"]


def identifier_columns(ds: Dataset) -> list[tuple[str, str]]:
    return [
        (n, c.pii_entity or "REDACTED")
        for n, c in ds.columns.items()
        if c.category == "direct_identifier" and c.type in ("string", "text", "categorical")
    ]


def redact_known_identifiers(table: pa.Table, ds: Dataset, placeholder: str = "<{entity}>") -> tuple[pa.Table, int]:
    """Returns the table with identifiers redacted in its free-text columns, and how many were replaced."""
    texts = [c for c in text_columns(ds) if c in table.column_names]
    ids = [(n, e) for n, e in identifier_columns(ds) if n in table.column_names]
    if not texts or not ids:
        return table, 0
    id_values = [(table[n].to_pylist(), placeholder.format(entity=e)) for n, e in ids]
    replaced = 0
    for name in texts:
        values = table[name].to_pylist()
        for i, text in enumerate(values):
            if not text:
                continue
            for column_values, mark in id_values:
                v = column_values[i]
                if isinstance(v, str):
                    v = v.strip()
                    if len(v) >= MIN_LEN and v in text:
                        replaced += text.count(v)
                        text = text.replace(v, mark)
            values[i] = text
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, table[name].type))
    return table, replaced
