"""The labels of a generalisation hierarchy's levels, computed from the labels of level 0 (the column's own
generalisation, as pactline.protect.generalise writes them).

Each level maps a label of the level below to its own (pactline.agreement.hierarchy says which levels nest):
"1961-07" -> "1961-Q3" -> "1961" -> "1960s"; "[30, 35)" -> "[30, 40)" -> "[20, 40)"; "223" -> "22" -> "2";
anything -> "*". Because a level is a function of the labels below it, the equivalence classes at any
combination of levels follow from the class sizes counted at level 0 (no second look at the raw data), which
is how the anonymisation search (pactline.protect.anonymise) tries levels on a file and on summed partitions
alike. The same functions rewrite the released rows, so the released labels are the ones the search counted.

Class keys carry a null as pactline.protect.suppression.NULL: it stays null at every level but `any`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter

from pactline.agreement.hierarchy import GeneraliseAny, HierarchyLevel
from pactline.agreement.transformations import GeneraliseDate, GeneraliseNumber, GeneralisePostcode
from pactline.errors import DataError
from pactline.protect.generalise import _period_label_of, band_labels, fmt_number
from pactline.protect.suppression import NULL

_LEVEL = TypeAdapter(HierarchyLevel)
_PERIOD = re.compile(r"^(\d{4})(?:(s)|-Q([1-4])|-(\d{2}))?$")
_BAND = re.compile(r"^\[(\S+), (\S+)\)$")


class NotALabel(DataError):
    """A value is not a label of the level below (the column was not generalised as its level 0 says)."""


def level_of(spec: Any) -> Any:
    """A hierarchy level from its model or its JSON form (as the plan carries it)."""
    return spec if not isinstance(spec, dict) else _LEVEL.validate_python(spec)


def _date(label: str, granularity: str) -> str:
    m = _PERIOD.match(label)
    if not m:
        raise NotALabel("a value is not a date period label (YYYY, YYYYs, YYYY-Qn or YYYY-MM)")
    year, decade, quarter, month = int(m[1]), m[2], m[3], m[4]
    if granularity in ("year", "decade"):
        return _period_label_of(year, granularity)
    if decade or (quarter is None and month is None):
        raise NotALabel("a value is coarser than the level asks")
    q = int(quarter) if quarter else (int(month) - 1) // 3 + 1
    return _period_label_of(year * 100 + (q if granularity == "quarter" else int(month)), granularity)


def _band(label: str, spec: GeneraliseNumber) -> str:
    if spec.edges is not None:
        if label.startswith(">="):
            return f">={fmt_number(spec.edges[-1])}"  # the edges nest: the last coarse edge is at most the fine one
        if label.startswith("<"):
            return f"<{fmt_number(spec.edges[0])}"
    m = _BAND.match(label)
    if not m:
        raise NotALabel("a value is not a band label '[low, high)'")
    low = float(m[1])
    if spec.edges is not None:
        return band_labels(spec.edges)[sum(1 for e in spec.edges if e <= low)]
    width = float(spec.width)  # type: ignore[arg-type]  # one of width and edges is given
    k = math.floor(low / width + 1e-9)  # 30/10 may be 2.9999999999999996
    return f"[{fmt_number(k * width)}, {fmt_number((k + 1) * width)})"


def label_function(spec: Any) -> Callable[[str], str]:
    """label of the level below -> label of this level (a null, NULL, passes through but at `any`)."""
    level = level_of(spec)
    if isinstance(level, GeneraliseAny):
        return lambda _label: level.label
    if isinstance(level, GeneraliseDate):
        one = lambda label: _date(label, level.granularity)  # noqa: E731
    elif isinstance(level, GeneraliseNumber):
        one = lambda label: _band(label, level)  # noqa: E731
    elif isinstance(level, GeneralisePostcode):
        one = lambda label: label.strip()[: level.keep].strip()  # noqa: E731
    else:
        raise ValueError(f"not a hierarchy level: {level!r}")
    return lambda label: label if label == NULL else one(label)


def climb(labels: pa.Array | pa.ChunkedArray, levels: Sequence[Any], *, keys: bool = False) -> pa.Array:
    """`labels` (text) moved up `levels` (the levels above the one they are at, in order), each distinct label
    mapped once. A null stays null but at `any`; with `keys`, `labels` are class-key parts, whose nulls are
    written NULL, and NULL is what comes out for them."""
    arr = labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels
    if not levels:
        return arr
    encoded = pc.dictionary_encode(pc.fill_null(pc.cast(arr, pa.string()), NULL))
    steps = [label_function(s) for s in levels]

    def up(label: str) -> str | None:
        for step in steps:
            label = step(label)
        return None if label == NULL and not keys else label

    mapped = pa.array([up(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return mapped.take(encoded.indices)


def generalise_columns(batch: pa.RecordBatch | pa.Table, levels: dict[str, list[Any]]) -> pa.RecordBatch | pa.Table:
    """`batch` with each column in `levels` moved up its levels (the released rows of a chosen node)."""
    if not any(levels.values()):
        return batch
    arrays = []
    for field in batch.schema:
        col = batch.column(field.name)
        if levels.get(field.name):
            col = climb(col, levels[field.name])
            col = col.cast(field.type) if col.type != field.type else col
        arrays.append(col)
    cls = pa.RecordBatch if isinstance(batch, pa.RecordBatch) else pa.Table
    return cls.from_arrays(arrays, schema=batch.schema)


__all__ = ["NotALabel", "climb", "generalise_columns", "label_function", "level_of"]
