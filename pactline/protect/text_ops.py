"""Text transformations: redact, mask, and the normalisers applied before pseudonymisation.

Masking runs as Arrow regex kernels over whole arrays (no Python per value). Its rules:
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

import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement.transformations import Mask

SEPARATORS = " -.@+()"
_SEP = r"[ \-.@+()]"
_MASKABLE = r"[^ \-.@+()]"
_ANY = r"(?s:.)"


def redact(values: pa.Array | pa.ChunkedArray, placeholder: str, out_type: pa.DataType) -> pa.Array:
    """Every non-null value becomes the placeholder; nulls stay null (absence is not PII)."""
    return pc.if_else(pc.is_valid(values), pa.scalar(placeholder, out_type), pa.scalar(None, out_type))


def mask(arr: pa.Array, spec: Mask) -> pa.Array:
    """Format-keeping mask of a text array (see the module docstring for the rules)."""
    maskable, sep = (_MASKABLE, _SEP + "*") if spec.keep_separators else (_ANY, "")
    repl = spec.char.replace("\\", "\\\\")  # RE2 rewrite strings treat backslash specially
    full = pc.replace_substring_regex(arr, maskable, repl)
    if spec.mode == "email_domain":
        parts = pc.extract_regex(arr, r"(?s)^(?P<head>.*)(?P<tail>@[^@]*)$")
        head, tail = pc.struct_field(parts, "head"), pc.struct_field(parts, "tail")
        joined = pc.binary_join_element_wise(pc.replace_substring_regex(head, maskable, repl), tail, "")
        return pc.if_else(pc.is_valid(parts), joined, full)

    n = spec.n
    if spec.mode == "keep_last":
        pattern = rf"(?s)^(?P<head>.*?)(?P<tail>(?:{maskable}{sep}){{{n}}})$"
    else:
        pattern = rf"(?s)^(?P<head>(?:{sep}{maskable}){{{n}}})(?P<tail>.*)$"
    parts = pc.extract_regex(arr, pattern)
    head, tail = pc.struct_field(parts, "head"), pc.struct_field(parts, "tail")
    if spec.mode == "keep_last":
        joined = pc.binary_join_element_wise(pc.replace_substring_regex(head, maskable, repl), tail, "")
    else:
        joined = pc.binary_join_element_wise(head, pc.replace_substring_regex(tail, maskable, repl), "")
    maskable_count = (
        pc.utf8_length(pc.replace_substring_regex(arr, _SEP, "")) if spec.keep_separators else pc.utf8_length(arr)
    )
    enough = pc.and_(pc.is_valid(parts), pc.greater(maskable_count, n))
    return pc.if_else(enough, joined, full)


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

    def apply(s: str) -> str:
        for fn in fns:
            s = fn(s)
        return s

    return apply
