"""Cast a partner's column to the type the agreement declares, or say exactly which row is wrong.

No value appears in an error message, only the column and the row number: every column of a
partner file is partner data (a "non-personal" column may still hold an email address typed in
the wrong place), and error messages end up in logs, the ledger and the steward's pages.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pactline.errors import DataError
from pactline.store.source import nested_kind

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "text": pa.string(),
    "categorical": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
_TRUE = ["true", "t", "yes", "y", "1", "ja", "wahr"]
_FALSE = ["false", "f", "no", "n", "0", "nein", "falsch"]


def _first_bad(arr: pa.Array, ok: pa.Array) -> int:
    bad = pc.and_(pc.is_valid(arr), pc.invert(pc.fill_null(ok, False)))
    return pc.index(bad, True).as_py()


def _fail(name: str, declared: str, idx: int | None, offset: int, why: str = "") -> DataError:
    where = f"row {offset + idx + 1}" if idx is not None and idx >= 0 else "a row"
    return DataError(
        f"column {name!r} is declared {declared} but the value in {where} is not {_a(declared)}"
        f"{why}; fix the data or the column's type in the agreement"
    )


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _first_uncastable(arr: pa.Array, target: pa.DataType) -> int | None:
    """Index of the first non-null value that does not cast (safely) to `target`, or None."""
    for i in range(len(arr)):
        if not arr[i].is_valid:
            continue
        try:
            pc.cast(arr.slice(i, 1), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return i
    return None


def _parse_strings(arr: pa.Array, declared: str, name: str, offset: int) -> pa.Array:
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    if declared == "boolean":
        low = pc.utf8_lower(arr)
        is_true, is_false = pc.is_in(low, pa.array(_TRUE)), pc.is_in(low, pa.array(_FALSE))
        ok = pc.or_(is_true, is_false)
        if not pc.all(pc.or_(ok, pc.is_null(arr))).as_py():
            raise _fail(name, declared, _first_bad(arr, ok), offset, " (use true/false)")
        return pc.if_else(pc.is_null(arr), pa.scalar(None, pa.bool_()), is_true)
    target = ARROW_TYPES[declared]
    if declared == "date":
        # accept a date-time string whose time part is midnight-free noise, e.g. 2024-01-31 00:00:00
        arr = pc.utf8_slice_codeunits(arr, 0, 10)
    try:
        return pc.cast(arr, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if declared == "integer":
        try:
            as_float = pc.cast(arr, pa.float64())
        except pa.ArrowInvalid:
            as_float = None
        if as_float is not None:
            whole = pc.equal(pc.floor(as_float), as_float)
            if pc.all(pc.or_(whole, pc.is_null(as_float))).as_py():
                return pc.cast(as_float, pa.int64())
    # find the first value that does not convert, to point at its row
    raise _fail(name, declared, _first_uncastable(arr, target), offset)


def cast_column(arr: pa.Array, declared: str, name: str, *, offset: int = 0) -> pa.Array:
    """Cast one batch's column to the declared type. `offset` is the batch's first row, for messages."""
    out = _cast(arr, declared, name, offset)
    if pa.types.is_string(out.type):
        _refuse_nul(out, name, offset)
    return out


def _refuse_nul(arr: pa.Array, name: str, offset: int) -> None:
    """A NUL byte in text is a binary or UTF-16 file read as text, or a truncated string in most consumers
    (C libraries, PostgreSQL refuse it): it must not reach a release, where nobody could see it."""
    has_nul = pc.match_substring(arr, "\x00")
    if pc.any(has_nul).as_py():
        row = offset + pc.index(has_nul, True).as_py() + 1
        raise DataError(f"column {name!r}: the value in row {row} holds a NUL byte (\\0); NUL bytes are not allowed "
                        "in text (is it a binary or UTF-16 file?): remove them from the data")


def _cast(arr: pa.Array, declared: str, name: str, offset: int) -> pa.Array:
    target = ARROW_TYPES[declared]
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if arr.type == target:
        return arr
    kind = nested_kind(arr.type)
    if kind:  # named by kind only: a nested type's text spells out the partner's field names
        raise DataError(
            f"column {name!r} (declared {declared}) holds nested values ({kind}); nested types (struct, list, map) "
            "are not supported: flatten it into plain columns, one value per cell")
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        if declared in ("string", "text", "categorical"):
            return arr.cast(target)
        return _parse_strings(arr.cast(pa.large_string()), declared, name, offset)
    try:
        if declared == "date" and pa.types.is_timestamp(arr.type):
            return pc.cast(arr, pa.date32())
        return pc.cast(arr, target)  # safe cast: 1.5 -> integer fails instead of truncating
    except pa.ArrowNotImplementedError:
        raise DataError(
            f"column {name!r} is declared {declared} but holds {arr.type}, which does not convert to {declared}; "
            "fix the data or the column's type in the agreement"
        ) from None
    except pa.ArrowInvalid:  # Arrow's message quotes the value ("Float value 1.5 was truncated"): point at the row
        if declared in ("string", "text", "categorical"):  # binary that is not UTF-8 text
            idx = _first_uncastable(arr, target)
            where = f"row {offset + idx + 1}" if idx is not None else "a row"
            raise DataError(f"column {name!r} is declared {declared} but the value in {where} is not UTF-8 text; "
                            "fix the data or the column's type in the agreement") from None
        raise _fail(name, declared, _first_uncastable(arr, target), offset,
                    f" (the file holds {arr.type}; it does not convert without loss)") from None
