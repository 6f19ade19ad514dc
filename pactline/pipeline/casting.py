"""Cast a partner's column to the type the agreement declares, or say exactly which row is wrong.

Values of personal columns never appear in an error message (only the row number); values of
non-personal columns do, because they help the engineer fix the file.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pactline.errors import DataError

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


def _fail(name: str, declared: str, arr: pa.Array, idx: int, offset: int, personal: bool, why: str = "") -> DataError:
    value = "" if personal else f" value {str(arr[idx].as_py())[:60]!r}"
    return DataError(
        f"column {name!r} is declared {declared} but row {offset + idx + 1}{value} is not a {declared}"
        f"{why}; fix the data or the column's type in the agreement"
    )


def _parse_strings(arr: pa.Array, declared: str, name: str, offset: int, personal: bool) -> pa.Array:
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    if declared == "boolean":
        low = pc.utf8_lower(arr)
        is_true, is_false = pc.is_in(low, pa.array(_TRUE)), pc.is_in(low, pa.array(_FALSE))
        ok = pc.or_(is_true, is_false)
        if not pc.all(pc.or_(ok, pc.is_null(arr))).as_py():
            raise _fail(name, declared, arr, _first_bad(arr, ok), offset, personal, " (use true/false)")
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
    # find the first value that does not convert, to point at it
    for i, v in enumerate(arr.to_pylist()):
        if v is None:
            continue
        try:
            pc.cast(pa.array([v]), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise _fail(name, declared, arr, i, offset, personal) from None
    raise DataError(f"column {name!r} cannot be cast to {declared}")


def cast_column(arr: pa.Array, declared: str, name: str, *, offset: int = 0, personal: bool = True) -> pa.Array:
    """Cast one batch's column to the declared type. `offset` is the batch's first row, for messages."""
    target = ARROW_TYPES[declared]
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if arr.type == target:
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        if declared in ("string", "text", "categorical"):
            return arr.cast(target)
        return _parse_strings(arr.cast(pa.large_string()), declared, name, offset, personal)
    if declared in ("string", "text", "categorical"):
        return pc.cast(arr, target)
    if declared == "date" and pa.types.is_timestamp(arr.type):
        return pc.cast(arr, pa.date32())
    try:
        return pc.cast(arr, target)  # safe cast: 1.5 -> integer fails instead of truncating
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise DataError(
            f"column {name!r} is declared {declared} but holds {arr.type}: {str(e).splitlines()[0]}; "
            "fix the data or the column's type in the agreement"
        ) from None
