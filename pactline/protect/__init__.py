"""The protect engine: exactly the transformation the agreement allows for each column, vectorised.

    protect_column(values, name, column, *, keys, subject=None, counts=None) -> array | None
    protect_table(table, dataset, *, keys, counts=None) -> (table, [ColumnAction])
    protect_batches(batches, dataset, *, keys, counts=None, actions=None) -> Iterator[RecordBatch]
    count_categories(batches, dataset) -> counts          # pass 1 for rare_to_other when streaming
    protect_parquet(src, dst, dataset, *, keys) -> [ColumnAction]
    decrypt_column(values, name, column, *, keys) -> array  # for the holder of the encryption key
    check_examples(name, column, keys=None) -> [mismatch]

Where each transformation lives: text_ops (redact, mask, normalisers), hashing (HMAC pseudonyms,
date-shift offsets, AES-SIV), generalise (periods, bands, truncation, rare categories), engine
(type checks and dispatch), arrays (each distinct value transformed once), streaming, examples.
"""

from pactline.protect.engine import ColumnAction, decrypt_column, protect_column, protect_table
from pactline.protect.examples import check_examples
from pactline.protect.streaming import count_categories, output_schema, protect_batches, protect_parquet

__all__ = [
    "ColumnAction",
    "check_examples",
    "count_categories",
    "decrypt_column",
    "output_schema",
    "protect_batches",
    "protect_column",
    "protect_parquet",
    "protect_table",
]
