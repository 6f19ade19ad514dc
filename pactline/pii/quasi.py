"""Quasi-identifier combinations: the smallest sets of columns that single out most rows.

Sweeney's birth date + zip + gender: no column names a person, together they pick one out. The
scan counts, for every combination of up to MAX_SIZE candidate columns, how many rows are the only
row with their values (pyarrow group-by over a seeded sample of at most ROWS rows), and reports the
minimal combinations (no reported combination contains another) that make at least UNIQUE_SHARE of
the rows unique. Counts and column names only, never a value.

Candidates are the columns the scan found to be quasi-identifiers or art. 9 attributes, plus
low-cardinality columns it found nothing in (an attacker may know a person's plan or branch);
direct identifiers, free text and decimals are left out: they single rows out on their own and are
reported as such. Callers add candidates (`extra`: the agreement's declared quasi-identifiers) or
give them all (`candidates`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from pactline.pii.report import ColumnReport

MAX_SIZE = 3
MAX_CANDIDATES = 10
UNIQUE_SHARE = 0.5  # "most rows"
ROWS = 50_000
REPORTED = 8
CATEGORICAL_MAX = 0.2  # distinct / sampled for a column the scan found nothing in to be a candidate


def candidates_from(columns: Sequence[ColumnReport]) -> list[str]:
    out = []
    for c in columns:
        if c.is_free_text or c.category == "direct_identifier":
            continue
        if c.dtype.startswith(("double", "float", "decimal")) or c.dtype == "bool":
            continue
        if c.category in ("quasi_identifier", "sensitive") or (c.category is None and c.entity is None and c.uniqueness is not None and c.distinct > 1 \
                and c.uniqueness <= CATEGORICAL_MAX):
            out.append(c.name)
    # the most varied columns first: they single rows out soonest
    rank = {c.name: c.distinct for c in columns}
    return sorted(out, key=lambda n: -rank.get(n, 0))[:MAX_CANDIDATES]


def _as_keys(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """Each column as text with nulls as a value of their own, so any types group alike."""
    return pa.table({n: pc.cast(table.column(n), pa.string()).fill_null("\x00") for n in columns})


def unique_rows(table: pa.Table, columns: Sequence[str], *, keyed: bool = False) -> int:
    """Rows whose values in `columns` no other row shares (nulls are a value of their own)."""
    keys = table if keyed else _as_keys(table, columns)
    sizes = keys.group_by(list(columns)).aggregate([([], "count_all")]).column("count_all")
    return int(pc.sum(pc.equal(sizes, 1)).as_py() or 0)


def quasi_identifier_combinations(table: pa.Table, columns: Sequence[ColumnReport] | None = None, *,
                                  candidates: Sequence[str] | None = None, extra: Sequence[str] = (),
                                  seed: int = 0, max_rows: int = ROWS, share: float = UNIQUE_SHARE) -> list[dict]:
    """[{"columns": [...], "unique_rows": n, "rows": N, "share": n / N}] smallest first."""
    names = list(candidates) if candidates is not None else [*extra, *candidates_from(columns or [])]
    names = [n for n in dict.fromkeys(names) if n in table.column_names][:MAX_CANDIDATES + len(extra)]
    if not names or table.num_rows < 2:
        return []
    if table.num_rows > max_rows:
        idx = np.sort(np.random.default_rng(seed).choice(table.num_rows, size=max_rows, replace=False))
        table = table.take(pa.array(idx))
    rows = table.num_rows
    keys = _as_keys(table, names)
    found: list[dict] = []
    for size in range(1, min(MAX_SIZE, len(names)) + 1):
        for combo in itertools.combinations(names, size):
            if any(set(f["columns"]) <= set(combo) for f in found):
                continue  # not minimal
            n = unique_rows(keys, combo, keyed=True)
            if n / rows >= share:
                found.append({"columns": list(combo), "unique_rows": n, "rows": rows, "share": round(n / rows, 3)})
    found.sort(key=lambda f: (len(f["columns"]), -f["share"]))
    return found[:REPORTED]
