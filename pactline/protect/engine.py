"""Dispatch: exactly the one transformation the agreement allows for each column.

Input types each transformation accepts (anything else is refused with a DataError that names
the column, the type it got and what the transformation needs):

    keep, drop              any type
    redact                  any type -> text placeholder; nulls stay null
    mask, pseudonymise,     text or integer (an integer is read as its canonical decimal text,
    encrypt, truncate       so 42 and "42" give the same result, "042" does not)
    generalise date         date, timestamp, or ISO 8601 text
    generalise bands        integer, float or decimal
    rare_to_other           text or integer
    date_shift              date or timestamp (the type is kept); subject column text or integer
    redact_text             text

Categorical (dictionary) columns are accepted wherever their value type is. Text output is
large_string when the input was large_string and string otherwise, so the output schema depends
only on the input schema (a streamed file gets one schema for all its batches).

Nulls: a null value is null after every transformation (the absence of a value is kept, never
turned into a placeholder or a token). Two transformations add nulls of their own, on purpose:
pseudonymise turns a value that normalises to "" into null, and date_shift nulls a date whose
subject is null (or normalises to ""), because dates shifted without a per-subject key could be
recovered by averaging over many rows.

Data errors name the column and a 1-based row number, never the value (messages end up in logs
and the ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement.model import Column, Dataset
from pactline.errors import DataError, PolicyViolation
from pactline.keys import KeyStore
from pactline.protect import generalise as gen
from pactline.protect import hashing, text_ops
from pactline.protect.arrays import (
    ArrayLike,
    BadValue,
    as_text,
    decode,
    family,
    first_row,
    map_values,
    require,
    text_type,
)

TEXT_OR_INT = ("text", "integer")
Counts = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class ColumnAction:
    """What protect did to one column: for the ledger and the release manifest (never any values or secrets).

    params are the transformation's parameters as the agreement states them (key *names*, not keys).
    distinct is how many distinct values the transformation was computed for one by one (None when
    an Arrow kernel transformed the rows directly); for streamed input it is summed over batches.
    """

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    rows: int = 0
    nulls: int = 0
    nulls_out: int | None = 0
    distinct: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def merged(self, other: ColumnAction) -> ColumnAction:
        """Totals over two batches of the same column."""

        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return ColumnAction(
            self.name, self.kind, self.params, self.rows + other.rows, self.nulls + other.nulls,
            add(self.nulls_out, other.nulls_out), add(self.distinct, other.distinct),
        )


def describe(column: Column) -> tuple[str, dict[str, Any]]:
    """(kind, params) of a column's transformation, without examples."""
    spec = column.transformation
    params = spec.model_dump(exclude={"kind", "examples"}, mode="json")
    if spec.kind == "redact":
        params["placeholder"] = placeholder(column)
    return spec.kind, params


def placeholder(column: Column) -> str:
    spec = column.transformation
    return getattr(spec, "placeholder", None) or f"<{column.pii_entity or 'REDACTED'}>"


def protect_column(
    values: ArrayLike,
    name: str,
    column: Column,
    *,
    keys: KeyStore,
    subject: ArrayLike | None = None,
    subject_normalise: Sequence[str] = (),
    counts: Mapping[str, int] | None = None,
) -> ArrayLike | None:
    """The column as the agreement allows it to be released; None when it is dropped.

    A ChunkedArray comes back as a ChunkedArray, an Array as an Array. date_shift only: `subject`
    is the subject column's raw values, `subject_normalise` the normalisers of the subject
    column's pseudonymisation (protect_table passes them, so the same pseudonymised subject gets
    the same offset however it was spelled). rare_to_other only: `counts` are category counts
    over the whole input (computed from `values` when not given; see streaming.count_categories).
    """
    out, _ = _protect(
        values, name, column, keys=keys, subject=subject, subject_normalise=subject_normalise, counts=counts
    )
    return out


def protect_table(
    table: pa.Table, dataset: Dataset, *, keys: KeyStore, counts: Counts | None = None
) -> tuple[pa.Table, list[ColumnAction]]:
    """Protect every column of a (schema-mapped) table; undeclared columns are refused.

    The result keeps the input's column order minus dropped columns, and carries no schema
    metadata (partner metadata can hold anything, including PII).
    """
    names, arrays, actions = protect_columns(table.column_names, table.column, dataset, keys=keys, counts=counts)
    return pa.Table.from_arrays(arrays, names=names), actions


def protect_columns(
    names: list[str],
    get: Callable[[str], ArrayLike],
    dataset: Dataset,
    *,
    keys: KeyStore,
    counts: Counts | None = None,
    row_offset: int = 0,
) -> tuple[list[str], list[ArrayLike], list[ColumnAction]]:
    """Shared by protect_table and protect_batches: (kept names, arrays, one action per input column)."""
    check_columns(names, dataset)
    out_names: list[str] = []
    arrays: list[ArrayLike] = []
    actions: list[ColumnAction] = []
    for name in names:
        column = dataset.columns[name]
        spec = column.transformation
        values = get(name)
        subject, subject_normalise = None, ()
        if spec.kind == "date_shift":
            subject = get(spec.subject_column)
            subject_normalise = _pseudonym_normalisers(dataset.columns[spec.subject_column])
        col_counts = None
        if counts is not None and spec.kind == "generalise" and spec.method == "rare_to_other":
            col_counts = counts.get(name)
        out, distinct = _protect(
            values, name, column, keys=keys, subject=subject, subject_normalise=subject_normalise,
            counts=col_counts, row_offset=row_offset,
        )
        kind, params = describe(column)
        actions.append(ColumnAction(
            name=name, kind=kind, params=params, rows=len(values), nulls=values.null_count,
            nulls_out=None if out is None else out.null_count, distinct=distinct,
        ))
        if out is not None:
            out_names.append(name)
            arrays.append(out)
    return out_names, arrays, actions


def _pseudonym_normalisers(column: Column) -> Sequence[str]:
    spec = column.transformation
    return spec.normalise if spec.kind == "pseudonymise" else ()


def check_columns(names: list[str], dataset: Dataset) -> None:
    """Default deny: every column must be declared, and every declared column present once."""
    undeclared = [n for n in names if n not in dataset.columns]
    if undeclared:
        raise PolicyViolation(
            "datasets[].columns",
            f"dataset {dataset.id!r}: columns {undeclared} are not declared in the agreement; "
            "schema mapping should have dropped them, nothing undeclared is released",
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"dataset {dataset.id!r}: columns {repeated} appear more than once; fix the schema mapping")
    missing = [n for n in dataset.columns if n not in names]
    if missing:
        raise DataError(
            f"dataset {dataset.id!r}: declared columns {missing} are missing from the data; "
            "fix the schema mapping or the source file"
        )


def decrypt_column(values: ArrayLike, name: str, column: Column, *, keys: KeyStore) -> ArrayLike:
    """For the key holder: the text each 'enc:' value was encrypted from (integers come back as text)."""
    spec = column.transformation
    if spec.kind != "encrypt":
        raise DataError(f"column {name!r} is transformed with {spec.kind!r}, not 'encrypt'; it cannot be decrypted")
    require(values, name, "decrypt", ("text",))
    siv = hashing.Siv(keys.secret(spec.key))
    out_type = text_type(values.type)
    try:
        out, _ = map_values(values, lambda a: siv.decrypt(a, out_type), dedupe=True)
    except BadValue as bad:
        raise _located(bad, values, name, "decrypt", 0) from None
    return out


# -- dispatch -------------------------------------------------------------------------------


def _protect(
    values: ArrayLike,
    name: str,
    column: Column,
    *,
    keys: KeyStore,
    subject: ArrayLike | None = None,
    subject_normalise: Sequence[str] = (),
    counts: Mapping[str, int] | None = None,
    row_offset: int = 0,
) -> tuple[ArrayLike | None, int | None]:
    spec = column.transformation
    kind = spec.kind
    if kind == "drop":
        return None, None
    if kind == "keep":
        return values, None
    what = kind if kind != "generalise" else f"generalise ({spec.method})"
    try:
        out, distinct = _dispatch(values, name, column, keys, subject, subject_normalise, counts)
    except BadValue as bad:
        raise _located(bad, values, name, what, row_offset) from None
    expected = values.type if kind == "date_shift" else text_type(values.type)
    if kind == "date_shift" and pa.types.is_dictionary(expected):
        expected = expected.value_type
    if out.type != expected:
        out = out.cast(expected)
    return out, distinct


def _dispatch(
    values: ArrayLike,
    name: str,
    column: Column,
    keys: KeyStore,
    subject: ArrayLike | None,
    subject_normalise: Sequence[str],
    counts: Mapping[str, int] | None,
) -> tuple[ArrayLike, int | None]:
    spec = column.transformation
    out_type = text_type(values.type)
    if spec.kind == "redact":
        return text_ops.redact(values, placeholder(column), out_type), None
    if spec.kind == "date_shift":
        return _date_shift(values, name, column, keys, subject, subject_normalise)
    if family(values.type) == "null":  # an all-null column of Arrow null type: nothing to transform
        return pa.nulls(len(values), out_type), 0

    if spec.kind == "mask":
        require(values, name, "mask", TEXT_OR_INT)
        return map_values(values, lambda a: text_ops.mask(as_text(a), spec), dedupe=False)
    if spec.kind == "pseudonymise":
        require(values, name, "pseudonymise", TEXT_OR_INT)
        secret = keys.secret(spec.key)
        return map_values(
            values,
            lambda a: hashing.pseudonymise(a, secret, spec.normalise, spec.prefix, spec.length, out_type),
            dedupe=True,
        )
    if spec.kind == "encrypt":
        require(values, name, "encrypt", TEXT_OR_INT)
        siv = hashing.Siv(keys.secret(spec.key))
        return map_values(values, lambda a: siv.encrypt(a, out_type), dedupe=True)
    if spec.kind == "redact_text":
        require(values, name, "redact_text", ("text",))
        return map_values(values, lambda a: _redact_text(a, spec, out_type), dedupe=True)

    # generalise
    if spec.method == "date":
        fam = require(values, name, "generalise (date)", ("date", "timestamp", "text"))
        if fam == "text":
            return map_values(values, lambda a: gen.text_date_period(a, spec, out_type), dedupe=True)
        return map_values(values, lambda a: gen.date_period(a, spec.granularity), dedupe=False)
    if spec.method == "bands":
        require(values, name, "generalise (bands)", ("integer", "float", "decimal"))
        return map_values(values, lambda a: gen.bands(a, spec), dedupe=False)
    if spec.method == "truncate":
        require(values, name, "generalise (truncate)", TEXT_OR_INT)
        return map_values(values, lambda a: gen.truncate(a, spec.keep), dedupe=False)
    # rare_to_other: needs counts over the whole input, not just this array
    require(values, name, "generalise (rare_to_other)", TEXT_OR_INT)
    text = as_text(decode(values))
    if counts is None:
        counts = gen.category_counts(text)
    return gen.rare_to_other(text, counts, spec.min_count, spec.other), None


def _date_shift(
    values: ArrayLike,
    name: str,
    column: Column,
    keys: KeyStore,
    subject: ArrayLike | None,
    subject_normalise: Sequence[str],
) -> tuple[ArrayLike, int | None]:
    spec = column.transformation
    require(values, name, "date_shift", ("date", "timestamp"))
    if subject is None:
        raise DataError(f"column {name!r}: date_shift needs the values of subject column {spec.subject_column!r}")
    if len(subject) != len(values):
        raise DataError(
            f"column {name!r}: date_shift got {len(subject)} subject values for {len(values)} dates"
        )
    require(subject, spec.subject_column, f"date_shift subject of {name!r}", TEXT_OR_INT)
    values = decode(values)
    if family(values.type) == "null":
        return values, 0
    if family(subject.type) == "null":
        return pa.nulls(len(values), values.type), 0
    secret = keys.secret(spec.key)
    offsets, distinct = map_values(
        subject, lambda a: hashing.shift_offsets(a, secret, spec.max_days, subject_normalise), dedupe=True
    )
    return _add_days(values, offsets, name), distinct


_UNITS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _add_days(values: ArrayLike, days: ArrayLike, name: str) -> ArrayLike:
    """Dates/timestamps plus whole days, keeping the exact type (unit, time zone)."""
    t = values.type
    if pa.types.is_date32(t):
        storage, per_day = pa.int32(), 1
    elif pa.types.is_date64(t):
        storage, per_day = pa.int64(), 86_400_000
    else:
        storage, per_day = pa.int64(), _UNITS_PER_DAY[t.unit]
    delta = pc.cast(days, storage) if per_day == 1 else pc.multiply(pc.cast(days, storage), per_day)
    try:
        shifted = pc.add_checked(pc.cast(values, storage), delta)
    except pa.ArrowInvalid:
        raise DataError(f"column {name!r}: shifting a date overflows its type {t}; check for out-of-range dates") from None
    return pc.cast(shifted, t)


def _redact_text(arr: pa.Array, spec: Any, out_type: pa.DataType) -> pa.Array:
    if len(arr) == 0:
        return pa.array([], type=out_type)
    # Imported here: Presidio and spaCy take seconds to load and only free-text columns need them.
    from pactline.pii.text import redact_text

    out = redact_text(arr, entities=spec.entities, placeholder=spec.placeholder)
    if not isinstance(out, pa.Array):
        out = pa.array(out, type=out_type)
    return out


def _located(bad: BadValue, values: ArrayLike, name: str, what: str, row_offset: int) -> DataError:
    # The value itself stays out of the message: error messages end up in logs and the ledger.
    idx = first_row(values, bad.value)
    where = f"row {row_offset + idx + 1}" if idx is not None else "a row"
    return DataError(
        f"column {name!r}: cannot {what}: the value in {where} {bad.reason}; fix the source data "
        "or the column's transformation in the agreement"
    )
