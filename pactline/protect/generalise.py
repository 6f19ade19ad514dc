"""Generalisation: dates to periods, numbers to bands, postcodes truncated, rare categories pooled.

Label formats (all strings):
- date:     decade "2020s", year "2024", quarter "2024-Q2", month "2024-05" (zero-padded 4-digit year). Dates and
            timestamps are read as stored (a timestamp with a time zone in that zone's local
            time); text must be an ISO 8601 date or date-time ("2024-05-03", "2024-05-03T10:00Z").
- bands:    half-open intervals "[30, 40)"; with explicit edges e0 < ... < en, values below e0
            are "<e0" and values at or above en are ">=en" (the last edge is exclusive, so
            edges [0, 18, 65] give "<0", "[0, 18)", "[18, 65)", ">=65"). Whole numbers print
            without a decimal point, others with up to 12 significant digits. NaN is treated as
            missing (null).
- truncate: the first `keep` characters after trimming surrounding whitespace, trimmed again and
            not padded: "SW1A 1AA" keep 3 -> "SW1", "B1 1AA" keep 3 -> "B1".
- rare_to_other: a category seen fewer than min_count times (over the whole input) becomes
            `other`; the rest are released as text. Integer categories are compared and
            released in their canonical decimal form.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement.transformations import GeneraliseDate, GeneraliseNumber
from pactline.protect.arrays import BadValue, as_text


def date_period(arr: pa.Array, granularity: str) -> pa.Array:
    """Date/timestamp array -> period labels: Arrow computes a period number per row, Python labels
    each distinct period once (strftime per row is ten times slower)."""
    year = pc.year(arr)
    if granularity == "year":
        period = year
    elif granularity == "decade":
        period = pc.multiply(pc.divide(year, 10), 10)  # integer division: 1967 -> 1960
    else:
        part = pc.month(arr) if granularity == "month" else pc.quarter(arr)
        period = pc.add(pc.multiply(year, 100), part)
    encoded = pc.dictionary_encode(period)
    labels = [_period_label_of(p, granularity) for p in encoded.dictionary.to_pylist()]
    return pa.array(labels, type=pa.string()).take(encoded.indices)


def _period_label_of(period: int, granularity: str) -> str:
    if granularity == "year":
        return f"{period:04d}"
    if granularity == "decade":
        return f"{period // 10 * 10:04d}s"
    year, part = divmod(period, 100)
    return f"{year:04d}-{part:02d}" if granularity == "month" else f"{year:04d}-Q{part}"


def parse_iso_date(raw: str) -> dt.date:
    text = raw.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise BadValue(raw, "is not an ISO 8601 date (YYYY-MM-DD)") from None


def _period_label(d: dt.date, granularity: str) -> str:
    if granularity == "decade":
        return _period_label_of(d.year, granularity)
    part = d.month if granularity == "month" else (d.month - 1) // 3 + 1
    return _period_label_of(d.year if granularity == "year" else d.year * 100 + part, granularity)


def text_date_period(arr: pa.Array, spec: GeneraliseDate, out_type: pa.DataType) -> pa.Array:
    """Distinct ISO date strings -> period labels (Python: only the distinct values are parsed)."""
    out = [None if v is None else _period_label(parse_iso_date(v), spec.granularity) for v in arr.to_pylist()]
    return pa.array(out, type=out_type)


def fmt_number(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return format(x, ".12g")


def band_labels(edges: list[float]) -> list[str]:
    """Label of band index i, where i = number of edges <= x."""
    inner = [f"[{fmt_number(a)}, {fmt_number(b)})" for a, b in itertools.pairwise(edges)]
    return [f"<{fmt_number(edges[0])}", *inner, f">={fmt_number(edges[-1])}"]


def bands(arr: pa.Array, spec: GeneraliseNumber) -> pa.Array:
    """Numeric array -> band labels; band membership is computed by Arrow kernels over the rows."""
    x = pc.cast(arr, pa.float64())
    x = pc.if_else(pc.is_nan(x), pa.scalar(None, pa.float64()), x)
    if spec.edges is not None:
        # band index = number of edges <= x (nulls stay null); a handful of vectorised compares
        idx = pc.cast(pc.greater_equal(x, spec.edges[0]), pa.int32())
        for edge in spec.edges[1:]:
            idx = pc.add(idx, pc.cast(pc.greater_equal(x, edge), pa.int32()))
        return pa.array(band_labels(spec.edges), type=pa.string()).take(idx)

    width = float(spec.width)  # type: ignore[arg-type]  # the model guarantees width when edges is None
    infinite = pc.is_inf(x)
    if pc.any(infinite).as_py():
        raise BadValue(x.filter(infinite)[0].as_py(), "is infinite and falls in no band")
    band = pc.cast(pc.floor(pc.divide(x, width)), pa.int64())
    encoded = pc.dictionary_encode(band)  # few distinct bands: label each once
    labels = [f"[{fmt_number(k * width)}, {fmt_number((k + 1) * width)})" for k in encoded.dictionary.to_pylist()]
    return pa.array(labels, type=pa.string()).take(encoded.indices)


def truncate(arr: pa.Array, keep: int) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(as_text(arr))
    return pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(trimmed, 0, keep))


def rare_to_other(
    text: pa.Array | pa.ChunkedArray, counts: Mapping[str, int], min_count: int, other: str
) -> pa.Array | pa.ChunkedArray:
    """Categories counted fewer than min_count times become `other`; values absent from counts too."""
    common = pa.array([v for v, c in counts.items() if c >= min_count], type=pa.string())
    is_common = pc.is_in(text, value_set=pc.cast(common, text.type))
    kept = pc.if_else(is_common, text, pa.scalar(other, text.type))
    return pc.if_else(pc.is_valid(text), kept, pa.scalar(None, text.type))


def category_counts(text: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Counts of each non-null category (text form)."""
    vc = pc.value_counts(text)
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    return {v: c for v, c in zip(values, counts, strict=True) if v is not None}

