"""Messages of libraries that read partner data, with the data taken out.

Arrow, pandas, GX and friends quote the value or the whole row they choke on ("Expected 10
columns, got 11: R00017,ann@example.org,..."; "Failed to parse string: 'ann' as a scalar of type
int64"). Such text must not reach an error, the ledger, a log or a page: every message built from
a library's exception goes through `arrow_message` (Arrow readers) or `withhold_values` (anything
else) first. What survives is a generic description and the positions the library gave (column
and row numbers), never a value.
"""

from __future__ import annotations

import re

_QUOTED = re.compile(r"""(?<![A-Za-z])'[^']*'?|"[^"]*"?|`[^`]*`?""")  # an apostrophe (can't) opens nothing
_POSITION_WORDS = ("row", "rows", "column", "columns", "line", "lines", "position", "index", "chunk",
                   "offset", "byte", "bytes", "field", "fields", "page", "group", "base")
_POSITION = re.compile(r"^#?\d+$")
_TYPE_NAME = re.compile(r"^(u?int|float|date|time|decimal|utf-?)\d+(\[\w+\])?$", re.IGNORECASE)  # int64, date32[day]
WITHHELD = "…"  # stands where a library quoted the data


def withhold_values(text: str, *, limit: int = 200) -> str:
    """A library's message reduced to what cannot quote the data: its first line up to the first
    ': ' (libraries put the offending value after it), without quoted parts, and with every word
    that holds a digit or an '@' withheld unless it is a position ("row 7", "column #3")."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    head = first.split(": ", 1)[0].rstrip(":")
    head = _QUOTED.sub(WITHHELD, head)
    words = head.split(" ")
    out: list[str] = []
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w) or "@" in w:
            prev = words[i - 1].lower().strip("(,") if i else ""
            core = w.strip("().,;")
            if not ((prev in _POSITION_WORDS and _POSITION.match(core)) or _TYPE_NAME.match(core)):
                w = WITHHELD
        out.append(w)
    cleaned = " ".join(out).strip()
    return cleaned[:limit] if cleaned else "(no message)"


def exception_text(error: BaseException) -> str:
    """`Type: message` with the values withheld (for exceptions Pactline did not raise itself)."""
    return f"{type(error).__name__}: {withhold_values(str(error))}"


_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")
_COLUMN = re.compile(r"column #(\d+)")


def arrow_message(error: BaseException) -> str:
    """What Arrow's CSV or Parquet reader reported, as a generic description plus the position it gave.

    Arrow's CSV parser quotes the whole offending row after "got N:", and its conversion errors
    quote the value; neither gets through.
    """
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    ragged = _RAGGED.search(first)
    if ragged:
        expected, got = ragged.groups()
        return (f"a row has {got} columns where the header has {expected} (a ragged row: check quoting and "
                "delimiters)")
    column = _COLUMN.search(first)
    where = f" in column {int(column.group(1)) + 1} of the file" if column else ""
    if "utf8" in first.lower() or "utf-8" in first.lower():
        return f"invalid UTF-8 text{where} (the file is not UTF-8 text; save it as UTF-8)"
    if "conversion error" in first.lower():
        return f"a value{where} does not convert to the column's type"
    if first.startswith("CSV parse error"):
        return "the CSV parser rejected a row (check quoting and delimiters)"
    return withhold_values(first)
