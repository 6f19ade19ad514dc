"""Check the concrete input -> output examples an agreement promises for a column's transformation.

Each example is run through the real engine (protect_column on a one-row array typed from the
column's declared type) and compared with what the agreement says. What cannot be checked:
- keyed transformations (pseudonymise, encrypt, date_shift) without the key: skipped unless
  `keys` is given;
- date_shift's exact output, because an example does not name the subject: with keys, the
  output must be a date within max_days of the input;
- rare_to_other's choice, because it depends on the whole data set: the output must be the input
  or the `other` label;
- redact_text while pactline.pii.text (Presidio) is not importable: skipped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from pactline.agreement.model import Column
from pactline.errors import PactlineError
from pactline.keys import KeyStore
from pactline.protect.arrays import BadValue
from pactline.protect.engine import protect_column
from pactline.protect.generalise import parse_iso_date

KEYED = ("pseudonymise", "encrypt", "date_shift")


def check_examples(name: str, column: Column, keys: KeyStore | None = None) -> list[str]:
    """Human-readable mismatches between the column's examples and what the engine does (empty: all hold)."""
    spec = column.transformation
    if not spec.examples or (spec.kind in KEYED and keys is None):
        return []
    if spec.kind == "redact_text":
        try:
            import pactline.pii.text  # noqa: F401
        except ImportError:
            return []
    problems: list[str] = []
    for i, ex in enumerate(spec.examples, start=1):
        where = f"column {name!r}, example {i}"
        try:
            values = _one_row(ex.input, column.type)
        except (ValueError, TypeError, PactlineError, BadValue):
            problems.append(f"{where}: input {ex.input!r} is not a valid {column.type} value")
            continue
        subject = pa.array(["example-subject"]) if spec.kind == "date_shift" else None
        try:
            out = protect_column(values, name, column, keys=keys, subject=subject)  # type: ignore[arg-type]
        except PactlineError as exc:
            problems.append(f"{where}: {spec.kind} of {ex.input!r} fails: {exc}")
            continue
        actual = None if out is None else out[0].as_py()
        problem = _compare(spec, ex.input, actual, ex.output)
        if problem:
            problems.append(f"{where}: {spec.kind} of {ex.input!r} {problem}")
    return problems


def _compare(spec: Any, given: Any, actual: Any, expected: Any) -> str | None:
    if spec.kind == "drop":
        return None if expected is None else f"removes the column, but the agreement says {expected!r}"
    if spec.kind == "date_shift":
        if given is None or actual is None:
            return None if actual is None and expected is None else f"gives {actual!r}, the agreement says {expected!r}"
        try:
            promised = parse_iso_date(str(expected))
        except Exception:
            return f"must give a date, but the agreement says {expected!r}"
        start = parse_iso_date(str(given))
        if abs((promised - start).days) > spec.max_days:
            return f"shifts by at most {spec.max_days} days, but the agreement says {expected!r}"
        return None
    if spec.kind == "generalise" and spec.method == "rare_to_other":
        allowed = {None} if given is None else {str(given), spec.other}
        if (None if expected is None else str(expected)) not in allowed:
            return f"can only give {given!r} or {spec.other!r}, but the agreement says {expected!r}"
        return None
    if _same(actual, expected):
        return None
    return f"gives {actual!r}, but the agreement says {expected!r}"


def _same(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, dt.date | dt.datetime):
        return str(expected) in (actual.isoformat(), str(actual))
    return actual == expected or str(actual) == str(expected)


def _one_row(value: Any, declared: str) -> pa.Array:
    """A one-row array of the column's declared type holding the example's input."""
    if value is None:
        types = {"integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
                 "timestamp": pa.timestamp("us")}
        return pa.nulls(1, types.get(declared, pa.string()))
    if declared == "integer":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return pa.array([int(value)], pa.int64())
    if declared == "float":
        return pa.array([float(value)], pa.float64())
    if declared == "boolean":
        text = str(value).strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise ValueError(value)
        return pa.array([text in ("true", "1")], pa.bool_())
    if declared == "date":
        return pa.array([parse_iso_date(str(value))], pa.date32())
    if declared == "timestamp":
        ts = dt.datetime.fromisoformat(str(value))
        if ts.tzinfo is not None:
            return pa.array([ts], pa.timestamp("us", tz="UTC"))
        return pa.array([ts], pa.timestamp("us"))
    return pa.array([str(value)], pa.string())
