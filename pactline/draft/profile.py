"""What the draft learns from the data itself, column by column: counts, a type, bounds, a shape.

Everything here is computed on the partner's file and stays in memory; what leaves it goes into the drafted
agreement: counts and shapes for the comments, rules (rounded bounds, a regex of character classes, and for
low-cardinality non-personal columns the allowed values) for the steward to review.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SHAPE_SAMPLE = 5000  # values looked at for a column's shape
MAX_SHAPES = 3  # a code column has at most this many distinct shapes (e.g. with or without a check letter)
CODE_COVERAGE = 0.99  # share of values its shapes must cover for a regex rule


@dataclass
class Profile:
    name: str
    arrow_type: str
    rows: int
    nulls: int
    distinct: int
    numeric: bool = False
    low: float | None = None
    high: float | None = None
    words: float = 0.0  # mean words per value (strings)
    shapes: list[tuple[str, int]] = field(default_factory=list)  # (regex of a shape, values with it)
    top: list[tuple[Any, int]] = field(default_factory=list)  # the values of a low-cardinality column, by count

    @property
    def non_null(self) -> int:
        return self.rows - self.nulls


PUNCTUATION = frozenset(" -./_:,#+()")  # separators a code's shape may name literally; anything else is a class


def _class(ch: str) -> str:
    if ch.isascii() and ch.isupper():
        return "A"
    if ch.isascii() and ch.islower():
        return "a"
    if ch.isascii() and ch.isdigit():
        return "9"
    if ch in PUNCTUATION:
        return ch
    return "L" if ch.isalpha() else "?"  # other letters, other marks: a class, never the character itself


def _runs(value: str) -> list[tuple[str, int]]:
    """A value as runs of character classes (upper, lower, digit, other letter, other mark) and separators."""
    out: list[tuple[str, int]] = []
    for ch in value:
        cls = _class(ch)
        if out and out[-1][0] == cls and cls in CLASS:
            out[-1] = (cls, out[-1][1] + 1)
        else:
            out.append((cls, 1))
    return out


CLASS = {"A": "[A-Z]", "a": "[a-z]", "9": "[0-9]", "L": r"[^\W\d_]", "?": r"[^\w\s]"}


def _regex(runs_list: list[list[tuple[str, int]]]) -> str:
    """One regex for values of the same class sequence, each run's length from its shortest to its longest."""
    parts = []
    for i, (cls, _) in enumerate(runs_list[0]):
        lengths = [r[i][1] for r in runs_list]
        low, high = min(lengths), max(lengths)
        if cls in CLASS:
            parts.append(CLASS[cls] + (f"{{{low}}}" if low == high else f"{{{low},{high}}}"))
        else:
            parts.append(re.escape(cls) + ("" if low == high == 1 else f"{{{low},{high}}}"))
    return "".join(parts)


def shapes_of(values: list[str]) -> list[tuple[str, int]]:
    """The values' shapes as regexes (character classes and punctuation, never a character of a value), most
    common first; values whose class sequences differ only in run lengths share one shape."""
    groups: dict[tuple[str, ...], list[list[tuple[str, int]]]] = {}
    for v in values:
        runs = _runs(v)
        groups.setdefault(tuple(c for c, _ in runs), []).append(runs)
    found = [(_regex(runs), len(runs)) for runs in groups.values()]
    return sorted(found, key=lambda s: -s[1])


def round_out(value: float, down: bool) -> float:
    """A bound rounded outward to one significant digit: the range says the magnitude, not a value in the data."""
    if value == 0:
        return 0.0
    step = 10 ** math.floor(math.log10(abs(value)))
    return float(f"{(math.floor if down else math.ceil)(value / step) * step:.12g}")  # no 0.30000000000000004


def profile_column(name: str, column: pa.ChunkedArray, low_cardinality: int) -> Profile:
    rows, nulls = len(column), column.null_count
    valid = pc.drop_null(column)
    distinct = len(pc.unique(valid)) if len(valid) else 0
    prof = Profile(name, str(column.type), rows, nulls, distinct)
    t = column.type
    if (pa.types.is_integer(t) or pa.types.is_floating(t)) and len(valid):
        bounds = pc.min_max(valid)
        prof.numeric, prof.low, prof.high = True, float(bounds["min"].as_py()), float(bounds["max"].as_py())
    if distinct <= low_cardinality and len(valid):
        prof.top = [(v, n) for v, n in Counter(valid.to_pylist()).most_common()]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        sample = [str(v) for v in valid.slice(0, SHAPE_SAMPLE).to_pylist()]
        prof.words = sum(len(v.split()) for v in sample) / len(sample) if sample else 0.0
        prof.shapes = shapes_of(sample)
    elif pa.types.is_integer(t):
        prof.shapes = shapes_of([str(v) for v in valid.slice(0, SHAPE_SAMPLE).to_pylist()])
    return prof


def code_pattern(prof: Profile) -> tuple[str, float] | None:
    """(regex, share of values it covers) when the column's values have few shapes, as codes do."""
    if not prof.shapes or prof.words > 1.5:
        return None
    kept = prof.shapes[:MAX_SHAPES]
    covered = sum(n for _, n in kept) / sum(n for _, n in prof.shapes)
    if covered < CODE_COVERAGE:
        return None
    body = "|".join(s for s, _ in kept)
    return (f"^({body})$" if len(kept) > 1 else f"^{body}$"), covered
