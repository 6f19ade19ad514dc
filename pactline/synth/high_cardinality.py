"""High-cardinality columns, decided on the training rows before the synthesizer sees them.

The agreement decides each column's role (metadata.py); two cases only the data shows:

    ID-like      a modelled text column where at least ID_LIKE_SHARE of the non-null values are distinct (a
                 reference number the agreement did not declare `unique`): learned as categories it would be
                 copied row by row, so it is regenerated like a declared id (role `regenerated`, never learned)
    rare values  a modelled text column with more than MANY_CATEGORIES distinct values (a raw postcode, a
                 free-form code): values seen fewer than RARE_COUNT times single out the few people who hold
                 them, so they are pooled into one OTHER category before training (as the agreement's
                 rare_to_other generalisation does) and the synthetic rows hold OTHER for them. The kept
                 values are each held by at least RARE_COUNT training rows.

Both are recorded in the column plan (ColumnSpec.reason) and in the trained synthesizer's description, by
column name and counts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from pactline.synth.metadata import ColumnSpec

ID_LIKE_SHARE = 0.5
MANY_CATEGORIES = 500
RARE_COUNT = 5
OTHER = "other"


@dataclass(frozen=True)
class Pooled:
    """One column whose rare values were pooled into OTHER (counts only: which values stays in the model)."""

    column: str
    distinct: int
    kept: int
    pooled_rows: int


def _text(t: pa.DataType) -> bool:
    t = t.value_type if pa.types.is_dictionary(t) else t
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def plan(table: pa.Table, specs: Sequence[ColumnSpec]) -> tuple[list[ColumnSpec], list[Pooled]]:
    """The column plan with ID-like text columns regenerated, and the columns whose rare values are pooled."""
    out: list[ColumnSpec] = []
    pooled: list[Pooled] = []
    for s in specs:
        if s.role != "modelled" or s.sdtype != "categorical" or not _text(table.schema.field(s.name).type):
            out.append(s)
            continue
        counts = pc.value_counts(table[s.name].drop_null()).field("counts").to_numpy()
        present = int(counts.sum())
        if present and len(counts) >= ID_LIKE_SHARE * present and len(counts) > RARE_COUNT:
            out.append(replace(s, role="regenerated", sdtype="id", reason=(
                f"ID-like: {len(counts)} distinct values in {present} rows; regenerated, never learned")))
            continue
        if len(counts) > MANY_CATEGORIES:
            kept = int((counts >= RARE_COUNT).sum())
            rare_rows = int(counts[counts < RARE_COUNT].sum())
            pooled.append(Pooled(s.name, len(counts), kept, rare_rows))
            out.append(replace(s, reason=(f"{s.reason}; {len(counts)} distinct values: the {kept} held by at least "
                                          f"{RARE_COUNT} rows are modelled, the rest ({rare_rows} rows) become "
                                          f"{OTHER!r}")))
            continue
        out.append(s)
    return out, pooled


def pool(table: pa.Table, pooled: Sequence[Pooled]) -> pa.Table:
    """The table with each pooled column's rare values replaced by OTHER (nulls stay null)."""
    for p in pooled:
        col = table[p.column]
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        vc = pc.value_counts(col.drop_null())
        keep = vc.field("values").filter(pc.greater_equal(vc.field("counts"), RARE_COUNT))
        rare = pc.and_(pc.invert(pc.is_in(col, value_set=keep)), pc.is_valid(col))
        fixed = pc.if_else(rare, pa.scalar(OTHER, col.type), col)
        table = table.set_column(table.schema.get_field_index(p.column), p.column, fixed)
    return table
