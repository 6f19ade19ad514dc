"""Classify every column of a table: which PII entity it holds, if any, from a seeded sample.

The evidence is the values, in this order:
1. dtype: booleans and floats hold no entity; dates and timestamps are DATE_TIME; integers can
   only be card numbers, and only when Luhn-valid;
2. whole-value pattern recognizers (regex + checksum: Luhn, IBAN mod-97, SSN rules) on the
   distinct sampled strings;
3. free text (several words per value, mostly distinct) is scanned span by span, not labelled;
4. short capitalised strings go through spaCy NER (batched) for PERSON / LOCATION / DATE_TIME.
An entity is kept only when at least `min_share` of sampled non-null values match it. The column
name is a hint: it feeds the recognizers' context words and relaxes `min_share` for the entity it
names, but never labels a column whose values do not match.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from pactline.errors import DataError
from pactline.pii.engine import PiiEngine, as_engine
from pactline.pii.recognizers import luhn_ok
from pactline.pii.report import ColumnReport, ScanReport, mask_free_text, mask_value
from pactline.pii.text import DEFAULT_THRESHOLD, find_spans, ner_hits, replace_spans

if TYPE_CHECKING:
    import pandas as pd

MIN_SHARE = 0.5
HINT_RELAX = 0.6  # a matching column name lowers min_share to min_share * HINT_RELAX
WHOLE_VALUE = 0.85  # a span must cover this much of a value for the value to "be" the entity
DOMINANT = 0.6  # in multi-word values, one entity covering this much makes the column that entity
FREE_TEXT_WORDS = 4.0  # mean words per value from which a string column is free text
FREE_TEXT_DISTINCT = 0.1  # ... and not just a handful of repeated phrases
NER_COLUMN_ENTITIES = ("PERSON", "LOCATION", "DATE_TIME", "NRP")
EXAMPLES = 3
FIRST_LOOK = 250  # distinct values labelled before deciding whether the rest are needed

_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), e) for p, e in [
        (r"(^|_)e_?mail", "EMAIL_ADDRESS"),
        (r"(^|_)(phone|mobile|tel|telephone|cell|fax)($|_)", "PHONE_NUMBER"),
        (r"(^|_)(dob|birth|birthday|born|birthdate|date|day|time|timestamp|at)($|_)", "DATE_TIME"),
        (r"(^|_)(zip|zipcode|postcode|post_code|postal|postal_code)($|_)", "ZIP_CODE"),
        (r"(^|_)(ssn|social_security)", "US_SSN"),
        (r"(^|_)iban($|_)", "IBAN_CODE"),
        (r"(^|_)(card|cc|pan|credit_card|cardnumber)($|_)", "CREDIT_CARD"),
        (r"(^|_)(ip|ip_address|ipaddr|ipv4|ipv6)($|_)", "IP_ADDRESS"),
        (r"(^|_)(url|website|homepage|domain)($|_)", "URL"),
        (r"(^|_)(address|street|city|town|country|location|place)($|_)", "LOCATION"),
        (r"(^|_)(name|first|last|surname|fullname|full_name|given|family|person|customer|patient|"
         r"contact|employee|owner|author)($|_)", "PERSON"),
    ]
]


def name_tokens(column: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    return [t for t in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if t]


def name_hint(column: str) -> str | None:
    key = "_".join(name_tokens(column))
    for rx, entity in _HINTS:
        if rx.search(key):
            return entity
    return None


def _to_table(data: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a pyarrow Table or pandas DataFrame, got {type(data).__name__}")
    arrays, names = [], []
    for col in data.columns:
        series = data[col]
        try:
            arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed-type object column: scan its text form
            arrays.append(pa.array([None if pd.isna(v) else str(v) for v in series], type=pa.string()))
        names.append(str(col))
    return pa.Table.from_arrays(arrays, names=names)


def _sample(table: pa.Table, sample_size: int, seed: int) -> pa.Table:
    if table.num_rows <= sample_size:
        return table
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(table.num_rows, size=sample_size, replace=False))
    return table.take(pa.array(idx))


def classify_table(
    table: pa.Table | pd.DataFrame,
    sample_size: int = 1000,
    *,
    analyzer: object | None = None,
    seed: int = 0,
    min_share: float = MIN_SHARE,
    model: str | None = None,
    source: str | None = None,
) -> ScanReport:
    """Classify each column of `table` from a seeded random sample of `sample_size` rows.

    `analyzer` may be a PiiEngine or a Presidio AnalyzerEngine; default: the cached engine for
    `model` (or $PACTLINE_SPACY_MODEL, or the small English model).
    """
    if sample_size < 1:
        raise ValueError("sample_size must be at least 1")
    started = time.perf_counter()
    engine = as_engine(analyzer, model)
    table = _to_table(table)
    sample = _sample(table, sample_size, seed)
    columns = [
        _classify_column(name, sample.column(name), engine, min_share, seed)
        for name in sample.column_names
    ]
    return ScanReport(rows=table.num_rows, sample_size=sample_size, model=engine.model_name,
                      seconds=time.perf_counter() - started, columns=columns, source=source,
                      min_share=min_share)


def _classify_column(name: str, col: pa.ChunkedArray, engine: PiiEngine, min_share: float,
                     seed: int = 0) -> ColumnReport:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    hint = name_hint(name)
    values = col.drop_null()
    base = {"name": name, "dtype": str(t), "name_hint": hint, "sampled": len(values)}
    if len(values) == 0:
        return ColumnReport(entity=None, confidence=0.0, share=0.0, is_free_text=False, distinct=0,
                            reason="no non-null values in the sample", **base)
    if pa.types.is_boolean(t):
        return _none(base, values, "boolean")
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _none(base, values, "numeric amounts hold no entity")
    if pa.types.is_temporal(t) and not pa.types.is_duration(t):
        conf = 0.95 if hint == "DATE_TIME" else 0.8
        strs = [str(v) for v in values.to_pylist()]
        return ColumnReport(entity="DATE_TIME", confidence=conf, share=1.0, is_free_text=False,
                            distinct=len(set(strs)), examples=[mask_value(v) for v in strs[:EXAMPLES]],
                            reason=f"{t} column", **base)
    if pa.types.is_integer(t):
        return _integer(base, values, hint, min_share)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _strings(base, values.to_pylist(), name, hint, engine, min_share, seed)
    return _none(base, values, f"{t} is not scanned")


def _none(base: dict, values: pa.ChunkedArray, reason: str, share: float = 0.0) -> ColumnReport:
    strs = [str(v) for v in values.slice(0, 50).to_pylist()]
    distinct = len(set(values.to_pylist())) if len(values) <= 100_000 else -1
    return ColumnReport(entity=None, confidence=round(1.0 - share, 2), share=share, is_free_text=False,
                        distinct=distinct, examples=[mask_value(v) for v in dict.fromkeys(strs)][:EXAMPLES],
                        reason=reason, **base)


def _integer(base: dict, values: pa.ChunkedArray, hint: str | None, min_share: float) -> ColumnReport:
    counts = Counter(str(abs(v)) for v in values.to_pylist())
    n = sum(counts.values())
    cards = sum(c for v, c in counts.items() if 12 <= len(v) <= 19 and luhn_ok(v))
    share = cards / n
    need = min_share * (HINT_RELAX if hint == "CREDIT_CARD" else 1.0)
    if cards and share >= need:
        return ColumnReport(entity="CREDIT_CARD", confidence=round(min(1.0, share), 2), share=round(share, 3),
                            is_free_text=False, distinct=len(counts),
                            examples=[mask_value(v) for v in list(counts)[:EXAMPLES]],
                            reason="Luhn-valid 12-19 digit integers", **base)
    return _none(base, values, "integers (no Luhn-valid card numbers)" if not cards else
                 f"only {share:.0%} Luhn-valid card numbers", share=round(share, 3))


def _covering(hits: list, value: str, cover: float) -> tuple[str, float] | None:
    """The entity of the best hit covering at least `cover` of the value's non-space length."""
    size = len(value.strip())
    best: tuple[str, float] | None = None
    for h in hits:
        if (h.end - h.start) >= cover * size and (best is None or h.score > best[1]):
            best = (h.entity, h.score)
    return best


def _whole_value(value: str, recognizers: list, context: list[str]) -> tuple[str, float] | None:
    """Best entity covering the whole value; stops at the first checksum-proved match, so the
    costly phone matcher never runs on a Luhn-valid card or a valid IBAN."""
    best: tuple[str, float] | None = None
    if not value:
        return None
    for rec in recognizers:
        hits = [h for h in rec.find(value, context) if h.score >= DEFAULT_THRESHOLD]
        found = _covering(hits, value, WHOLE_VALUE)
        if found and (best is None or found[1] > best[1]):
            best = found
            if best[1] >= 1.0:
                break
    return best


def _shares(per_value: dict[str, tuple[str, float] | None], counts: Counter[str], n: int) -> dict[str, tuple[float, float]]:
    """entity -> (share of rows, mean score over those rows)."""
    weight: Counter[str] = Counter()
    scores: Counter[str] = Counter()
    for v, found in per_value.items():
        if found:
            weight[found[0]] += counts[v]
            scores[found[0]] += counts[v] * found[1]
    return {e: (w / n, scores[e] / w) for e, w in weight.items()}


def _progressive(uniq: list[str], counts: Counter[str], min_share: float,
                 label: Callable[[list[str]], list[tuple[str, float] | None]]) -> dict[str, tuple[float, float]]:
    """Label a first look of distinct values; label the rest only when the verdict is close.

    `uniq` is in random order, so the first look is itself a random sample; a best share at least
    0.2 away from every threshold (min_share, and min_share relaxed by a name hint) cannot flip.
    """
    head = uniq[:FIRST_LOOK]
    per_value = dict(zip(head, label(head), strict=True))
    shares = _shares(per_value, counts, sum(counts[v] for v in head))
    best = max((s for s, _ in shares.values()), default=0.0)
    close = any(abs(best - need) < 0.2 for need in (min_share, min_share * HINT_RELAX))
    if close and len(uniq) > FIRST_LOOK:
        rest = uniq[FIRST_LOOK:]
        per_value.update(zip(rest, label(rest), strict=True))
        shares = _shares(per_value, counts, sum(counts.values()))
    return shares


def _pick(shares: dict[str, tuple[float, float]], hint: str | None, min_share: float) -> tuple[str, float, float] | None:
    best = None
    for entity, (share, score) in shares.items():
        need = min_share * (HINT_RELAX if entity == hint else 1.0)
        if share >= need and (best is None or share > best[1]):
            best = (entity, share, score)
    return best


def _strings(base: dict, raw: list[str], name: str, hint: str | None, engine: PiiEngine,
             min_share: float, seed: int) -> ColumnReport:
    counts = Counter(raw)
    n = len(raw)
    uniq = list(counts)
    random.Random(seed).shuffle(uniq)  # noqa: S311 -- a sorted file must not bias the first look
    context = name_tokens(name)
    words = sum(len(v.split()) * c for v, c in counts.items()) / n
    distinct_ratio = len(uniq) / n

    # 2. whole-value patterns
    column_recs = [r for r in engine.recognizers if r.in_columns]
    shares = _progressive(uniq, counts, min_share,
                          lambda vs: [_whole_value(v.strip(), column_recs, context) for v in vs])
    picked = _pick(shares, hint, min_share)
    if picked:
        return _verdict(base, picked, hint, uniq, counts, "whole values match the recognizer")

    # 3. free text, scanned span by span
    if words >= FREE_TEXT_WORDS and distinct_ratio >= FREE_TEXT_DISTINCT:
        spans = find_spans(uniq, engine)
        covering = {v: _covering(h, v, DOMINANT) for v, h in zip(uniq, spans, strict=True)}
        dominant = _pick(_shares(covering, counts, n), hint, min_share)
        if dominant:  # e.g. an address column: multi-word, yet each value is one entity
            return _verdict(base, dominant, hint, uniq, counts, "one entity spans most of each value")
        found: Counter[str] = Counter()
        for v, hits in zip(uniq, spans, strict=True):
            for h in hits:
                found[h.entity] += counts[v]
        examples = [mask_free_text(replace_spans(v, h)) for v, h in zip(uniq[:EXAMPLES], spans, strict=False)]
        with_pii = sum(counts[v] for v, h in zip(uniq, spans, strict=True) if h) / n
        return ColumnReport(entity=None, confidence=0.9, share=round(with_pii, 3), is_free_text=True,
                            distinct=len(uniq), entity_counts=dict(found), examples=examples,
                            reason=f"free text ({words:.1f} words per value); share = values with a PII span",
                            **base)

    # 4. short strings that may be names or places: NER on the distinct sample
    capitalised = sum(c for v, c in counts.items() if any(ch.isupper() for ch in v)) / n
    lettered = sum(c for v, c in counts.items() if any(ch.isalpha() for ch in v)) / n
    best_share = max((s for s, _ in shares.values()), default=0.0)
    if capitalised >= 0.5 and lettered >= 0.5 and words <= 8:
        def label(vs: list[str]) -> list[tuple[str, float] | None]:
            found = ner_hits([v.strip() for v in vs], engine, NER_COLUMN_ENTITIES)
            return [_covering(h, v.strip(), WHOLE_VALUE) for v, h in zip(vs, found, strict=True)]

        ner_shares = _progressive(uniq, counts, min_share, label)
        picked = _pick(ner_shares, hint, min_share)
        if picked:
            return _verdict(base, picked, hint, uniq, counts, "spaCy NER labels whole values")
        best_share = max([best_share, *(s for s, _ in ner_shares.values())])
    reason = "no entity reaches the minimum share"
    if hint:
        reason += f" (name suggests {hint}; values do not confirm it)"
    return ColumnReport(entity=None, confidence=round(1.0 - best_share, 2), share=round(best_share, 3),
                        is_free_text=False, distinct=len(uniq),
                        examples=[mask_value(v) for v in uniq[:EXAMPLES]], reason=reason, **base)


def _verdict(base: dict, picked: tuple[str, float, float], hint: str | None, uniq: list[str],
             counts: Counter[str], reason: str) -> ColumnReport:
    entity, share, score = picked
    confidence = min(1.0, share * score + (0.1 if hint == entity else 0.0))
    return ColumnReport(entity=entity, confidence=round(confidence, 2), share=round(share, 3),
                        is_free_text=False, distinct=len(uniq),
                        examples=[mask_value(v) for v in uniq[:EXAMPLES]], reason=reason, **base)
