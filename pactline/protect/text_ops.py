"""Text transformations: redact, mask, and the normalisers applied before pseudonymisation.

Masking is a numpy kernel over the UTF-8 bytes of a whole array (no Python per value). Its rules:
- the released value has exactly the original's length in characters (code points);
- with keep_separators, the characters in SEPARATORS stay where they are and are not counted
  by keep_last/keep_first: "+44 20 7946 0958" keep_last 4 -> "+** ** **** 0958";
- a value with no more than n maskable characters is masked entirely, so a mask never
  releases a short value unchanged ("123" keep_last 4 -> "***");
- email_domain masks everything before the last '@' and keeps the domain
  ("john.doe@example.com" -> "****.***@example.com"; n is not used); a value without '@' is
  masked entirely.

Normalisers are defined by Python's str methods so every party computes them identically:
strip = str.strip(), lower = str.lower(), upper = str.upper(), collapse_whitespace = every run
of whitespace becomes one space (no strip: add 'strip' for that), digits_only = keep 0-9,
alnum_only = keep characters for which str.isalnum() is true (Unicode letters and digits).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement.transformations import Mask

SEPARATORS = " -.@+()"
_SEP_LUT = np.zeros(256, dtype=bool)
_SEP_LUT[list(SEPARATORS.encode("ascii"))] = True


def redact(values: pa.Array | pa.ChunkedArray, placeholder: str, out_type: pa.DataType) -> pa.Array:
    """Every non-null value becomes the placeholder; nulls stay null (absence is not PII)."""
    return pc.if_else(pc.is_valid(values), pa.scalar(placeholder, out_type), pa.scalar(None, out_type))


def mask(arr: pa.Array, spec: Mask) -> pa.Array:
    """Format-keeping mask of a plain text array (see the module docstring for the rules).

    Works on the UTF-8 bytes with numpy: a fixed number of passes over the data whatever the
    values, no Python per value (Arrow regex kernels with capture groups are ~10x slower).
    """
    n = len(arr)
    large = pa.types.is_large_string(arr.type)
    raw_offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = raw_offsets[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)[offsets[0]: offsets[-1]]
    offsets = offsets - offsets[0]
    idx = np.int64 if len(data) >= 2**31 else np.int32  # 32-bit indices halve the memory traffic
    row = np.repeat(np.arange(n, dtype=idx), np.diff(offsets))  # row of every byte

    start = (data & 0xC0) != 0x80  # first byte of a character (UTF-8 continuation bytes are 10xxxxxx)
    ascii_only = bool(start.all())
    maskable = start & ~_SEP_LUT[data] if spec.keep_separators else start
    if spec.mode == "email_domain":
        pos = np.arange(len(data), dtype=idx)
        at = data == ord("@")
        last_at = np.full(n, -1, dtype=idx)
        np.maximum.at(last_at, row[at], pos[at])  # byte position of each row's last '@'
        last_at[last_at < 0] = np.iinfo(idx).max  # no '@': everything is masked
        masked = maskable & (pos < last_at[row])
    else:
        count = np.bincount(row[maskable], minlength=n)  # maskable characters per row
        cum = np.cumsum(maskable, dtype=idx)
        before = np.concatenate((np.zeros(1, idx), cum))[offsets[:-1]]  # maskable characters before each row
        rank = cum - before[row] - 1  # 0-based rank of a maskable character within its row
        keep = rank >= (count - spec.n)[row] if spec.mode == "keep_last" else rank < spec.n
        keep &= (count > spec.n)[row]  # too few characters: mask them all
        masked = maskable & ~keep

    char = spec.char.encode("utf-8")
    validity = pc.is_valid(arr).buffers()[1] if arr.null_count else None
    offsets_type = np.int64 if large else np.int32
    if ascii_only and len(char) == 1:  # one byte in, one byte out: offsets are unchanged
        out = np.where(masked, np.uint8(char[0]), data)
        new_offsets = offsets.astype(offsets_type)
    else:
        # a character's continuation bytes follow the decision made at its first byte
        masked_byte = masked if ascii_only else masked[start][np.cumsum(start, dtype=idx) - 1]
        emit = np.where(masked_byte, np.where(start, len(char), 0), 1).astype(idx)
        out = np.repeat(data, emit)
        first = (np.cumsum(emit, dtype=np.int64) - emit)[masked_byte & start]  # where each mask character goes
        for j, b in enumerate(char):
            out[first + j] = b
        per_row = np.bincount(row, weights=emit, minlength=n).astype(np.int64)
        new_offsets = np.concatenate(([0], np.cumsum(per_row))).astype(offsets_type)
    return pa.Array.from_buffers(
        arr.type, n, [validity, pa.py_buffer(new_offsets), pa.py_buffer(out)], null_count=arr.null_count
    )


_WHITESPACE = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"[^0-9]")

NORMALISERS: dict[str, Callable[[str], str]] = {
    "strip": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "collapse_whitespace": lambda s: _WHITESPACE.sub(" ", s),
    "digits_only": lambda s: _NON_DIGIT.sub("", s),
    "alnum_only": lambda s: "".join(ch for ch in s if ch.isalnum()),
}


def normaliser(names: Sequence[str]) -> Callable[[str], str]:
    """One function applying the named normalisers in order."""
    fns = [NORMALISERS[n] for n in names]
    if len(fns) == 1:
        return fns[0]

    def apply(s: str) -> str:
        for fn in fns:
            s = fn(s)
        return s

    return apply
