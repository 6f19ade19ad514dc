"""Arrow plumbing shared by the transformations: type families, and transforming each distinct value once.

The speed trick of the whole engine lives in `map_values(..., dedupe=True)`: a column is
dictionary-encoded, the transformation runs in Python on the (usually much smaller) dictionary,
and the result is spread back over the rows with one `take`. Transformations that Arrow can
compute itself (regex masking, strftime, banding) run as kernels over the rows with
`dedupe=False`, which skips the hashing pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.errors import DataError

ArrayLike = pa.Array | pa.ChunkedArray
Kernel = Callable[[pa.Array], pa.Array]


class BadValue(Exception):  # internal signal, turned into a DataError with a row number
    """Raised by a kernel for a value it cannot transform; the engine locates the row and reports it."""

    def __init__(self, value: Any, reason: str):
        self.value = value
        self.reason = reason
        super().__init__(reason)


def value_type(t: pa.DataType) -> pa.DataType:
    """The type of the values themselves (a categorical column's dictionary type)."""
    return t.value_type if pa.types.is_dictionary(t) else t


def family(t: pa.DataType) -> str:
    """A coarse name for what an Arrow type holds, used to accept or refuse a transformation."""
    t = value_type(t)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_null(t):
        return "null"
    return str(t)


def require(values: ArrayLike, name: str, what: str, allowed: tuple[str, ...]) -> str:
    """The column's type family, or a DataError saying what the transformation needs instead.

    An all-null column of Arrow's null type is accepted everywhere (there is nothing to transform).
    """
    fam = family(values.type)
    if fam not in allowed and fam != "null":
        needs = " or ".join(allowed)
        raise DataError(
            f"column {name!r}: {what} needs {needs} values but the column is Arrow type {values.type}; "
            "cast it at schema mapping or declare a transformation that fits this type"
        )
    return fam


def text_type(t: pa.DataType) -> pa.DataType:
    """String output keeps large_string when the input was large (so 64-bit offsets are never narrowed)."""
    return pa.large_string() if pa.types.is_large_string(value_type(t)) else pa.string()


def as_text(arr: ArrayLike) -> ArrayLike:
    """Text view of a plain (non-dictionary) array: integers become their canonical decimal form."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr
    return pc.cast(arr, pa.string())  # int -> "123" / "-42", string_view -> string


def decode(values: ArrayLike) -> ArrayLike:
    """Plain values of a categorical (dictionary) column; other columns unchanged."""
    if pa.types.is_dictionary(values.type):
        return pc.cast(values, values.type.value_type)
    return values


def map_values(values: ArrayLike, kernel: Kernel, *, dedupe: bool) -> tuple[ArrayLike, int | None]:
    """Apply `kernel` to `values` and return (result, number of distinct values it was run on).

    The kernel takes a plain array and returns an array of the same length; nulls in, nulls out.
    With dedupe=True it sees only the distinct non-null values. Dictionary columns are always
    transformed through their dictionary. The distinct count is None when the kernel ran over
    the rows directly.
    """
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type) or not dedupe:
            # Chunks of a categorical column may each carry their own dictionary.
            parts = [map_values(c, kernel, dedupe=dedupe) for c in values.chunks]
            if not parts:
                empty = kernel(pa.array([], type=value_type(values.type)))
                return pa.chunked_array([], type=empty.type), (0 if dedupe else None)
            counts = [n for _, n in parts if n is not None]
            distinct = sum(counts) if counts else None
            return pa.chunked_array([p for p, _ in parts], type=parts[0][0].type), distinct
        encoded = pc.dictionary_encode(values)
        chunks = encoded.chunks
        # Arrow encodes a chunked array against one memo table, so every chunk carries the same
        # (final) dictionary; check the cheap invariant and fall back to chunk by chunk otherwise.
        if not chunks or any(len(c.dictionary) != len(chunks[-1].dictionary) for c in chunks):
            return map_values(pa.chunked_array(chunks, type=encoded.type), kernel, dedupe=True)
        out = _checked(kernel, chunks[-1].dictionary)
        return pa.chunked_array([out.take(c.indices) for c in chunks], type=out.type), len(out)

    if pa.types.is_dictionary(values.type):
        if values.dictionary.null_count:
            return map_values(decode(values), kernel, dedupe=dedupe)
        out = _checked(kernel, values.dictionary)
        return out.take(values.indices), len(out)
    if dedupe:
        encoded = pc.dictionary_encode(values)
        out = _checked(kernel, encoded.dictionary)
        return out.take(encoded.indices), len(out)
    return _checked(kernel, values), None


def _checked(kernel: Kernel, arr: pa.Array) -> pa.Array:
    out = kernel(arr)
    if len(out) != len(arr):  # a kernel bug must never misalign rows
        raise AssertionError(f"kernel returned {len(out)} values for {len(arr)}")
    return out


def first_row(values: ArrayLike, value: Any) -> int | None:
    """0-based index of the first row holding `value` (for error messages), or None."""
    plain = decode(values)
    try:
        if (pa.types.is_integer(plain.type) and isinstance(value, str)) or pa.types.is_string_view(plain.type):
            plain = pc.cast(plain, pa.string())
        idx = pc.index(plain, pa.scalar(value, type=plain.type)).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return None if idx is None or idx < 0 else idx
