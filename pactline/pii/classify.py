"""Classify every column of a table: which PII entity and category it holds, with the evidence.

Evidence from the values (a seeded sample), in this order:
1. dtype: booleans hold no entity; floats only coordinates (under a coordinate name); dates and
   timestamps are DATE_TIME; integers are card numbers (Luhn) or the shapes below;
2. whole-value shapes (shapes.py: national ids with checksums, SSN-shaped, UUID, MAC, IMEI, VIN,
   coordinates, street addresses, secrets; art. 9 value dictionaries: blood type, ICD-10,
   medication, conditions, ethnicity, religion, sexual orientation) and Presidio's pattern
   recognizers (regex + checksum) on the distinct sampled strings;
3. free text (several words per value, mostly distinct) is scanned span by span, not labelled;
4. short capitalised strings go through spaCy NER (batched) for PERSON / LOCATION / DATE_TIME.

Evidence from the name: headers.py matches the header against a multilingual dictionary
(headers.yaml, extensible per deployment) giving an entity, a category and a strength.

The rule combining them (one place: `_decide`):
- VALUES: an entity matching at least `min_share` of sampled non-null values is the verdict
  (art. 9 blood types need 0.9: grades look alike; ethnicity needs a term no colour shares). A name
  naming that entity, or one of its family (NATIONAL_ID ~ NL_BSN, LOCATION ~ ZIP_CODE, ...), lowers
  the share needed to `min_share * HINT_RELAX`, lets that entity's plain shapes count (five digits
  under `zip`, three under `cvv`) and adds 0.1 confidence;
- NAME: otherwise a *strong* name match flags the column with the name's entity and category at
  confidence 0.6, unless the values contradict it: booleans, decimals or dates where the entity
  cannot be one; an entity with a definite shape (email, phone, card, IBAN, IP, MAC, UUID, IMEI,
  VIN, SSN, zip, CVV, expiry, coordinates, URL, date) whose shape too few values have; whole
  numbers for a person's name or username; at most 5 distinct values in 20+ for an identifier;
- UNIQUENESS: a string or integer column whose sample of at least 50 values is >= 95% distinct, of
  single tokens (titles and descriptions are unique too), and is not a counter (a constant prefix
  and numbers spanning at most twice the rows), a date, an amount or version, or under a name the
  dictionary marks not personal, is an identifier candidate (category
  direct_identifier even when no entity is known); so is a column named as a person's record key.
A weak name (`name`, `location`) only lowers the share needed. Every verdict carries `evidence`:
the rule that decided, the name match, the best value entity and its share, uniqueness, confidence.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from pactline.errors import DataError
from pactline.pii.engine import PiiEngine, as_engine
from pactline.pii.headers import HeaderMatch, header_words, match_header
from pactline.pii.quasi import quasi_identifier_combinations
from pactline.pii.recognizers import luhn_ok
from pactline.pii.report import ColumnReport, ScanReport, mask_free_text, mask_value
from pactline.pii.shapes import SPECIAL_ENTITIES, ethnicity_is_distinctive, shape_of, special_of
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
FIRST_LOOK = 64  # distinct values labelled before deciding whether the rest are needed (a random sample)

ADEQUATE_SAMPLE = 50  # values needed before uniqueness means anything
UNIQUE_RATIO = 0.95  # distinct / sampled from which a column is an identifier candidate
NAME_ONLY_CONFIDENCE = 0.6
NOT_PERSONAL_NER = 0.8  # share NER needs under a name the dictionary marks not personal
FEW_DISTINCT = 5  # an identifier column with at most this many distinct values (in 20+) is a code list
VALUE_NEED = {"BLOOD_TYPE": 0.9}  # A+/B- are also school grades: nearly every value must be a blood type

# Entities with a definite value shape: the name alone never flags them, the values must show it.
SHAPED = {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "MAC_ADDRESS", "UUID",
          "IMEI", "VIN", "US_SSN", "ZIP_CODE", "CARD_SECURITY_CODE", "CARD_EXPIRY", "COORDINATE", "URL", "DATE_TIME"}
# A name naming one member of a family agrees with values showing another.
FAMILIES = [
    {"NATIONAL_ID", "TAX_ID", "PASSPORT", "US_SSN", "NL_BSN", "DE_TAX_ID", "FR_NIR", "UK_NINO", "ES_NIF",
     "INSURANCE_ID"},
    {"LOCATION", "ZIP_CODE", "COORDINATE"},
    {"HEALTH", "BLOOD_TYPE", "ICD10_CODE", "MEDICATION"},
    {"DEVICE_ID", "UUID", "IMEI", "MAC_ADDRESS"},
    {"DATE_TIME", "CARD_EXPIRY"},
    {"PASSWORD", "SECRET"},
    {"BANK_ACCOUNT", "IBAN_CODE"},
    {"PERSON", "USERNAME"},
]
QUASI = {"ZIP_CODE", "AGE", "GENDER", "NRP"}
NOT_PERSONAL_BY_VALUE = {"DATE_TIME", "URL"}  # event times and links: personal only under a personal name


def related(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and (a == b or any(a in f and b in f for f in FAMILIES))


def default_category(entity: str, is_street: bool = False) -> str | None:
    if entity in SPECIAL_ENTITIES:
        return "sensitive"
    if entity in NOT_PERSONAL_BY_VALUE:
        return None
    if entity in QUASI or (entity == "LOCATION" and not is_street):
        return "quasi_identifier"
    return "direct_identifier"


def name_tokens(column: str) -> list[str]:
    return header_words(column)


def name_hint(column: str) -> str | None:
    """The entity the column's name suggests (None also for names the dictionary marks not personal)."""
    m = match_header(column)
    return m.entity if m and m.category else None


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
    dataset_rows: int | None = None,
    quasi_identifiers: Sequence[str] = (),
) -> ScanReport:
    """Classify each column of `table` from a seeded random sample of `sample_size` rows.

    `analyzer` may be a PiiEngine or a Presidio AnalyzerEngine; default: the cached engine for
    `model` (or $PACTLINE_SPACY_MODEL, or the small English model). `dataset_rows`: the rows of the
    whole dataset when `table` is one partition of it (a partition's record numbers span the dataset's).
    `quasi_identifiers`: the agreement's declared ones, candidates of the combinations beside the scan's own.
    """
    if sample_size < 1:
        raise ValueError("sample_size must be at least 1")
    started = time.perf_counter()
    engine = as_engine(analyzer, model)
    table = _to_table(table)
    sample = _sample(table, sample_size, seed)
    columns = [
        _classify_column(name, sample.column(name), engine, min_share, seed, max(table.num_rows, dataset_rows or 0))
        for name in sample.column_names
    ]
    qis = quasi_identifier_combinations(table, columns, extra=quasi_identifiers, seed=seed)
    return ScanReport(rows=table.num_rows, sample_size=sample_size, model=engine.model_name,
                      seconds=time.perf_counter() - started, columns=columns, source=source,
                      min_share=min_share, quasi_identifiers=qis)


def _classify_column(name: str, col: pa.ChunkedArray, engine: PiiEngine, min_share: float,
                     seed: int = 0, rows: int | None = None) -> ColumnReport:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    match = match_header(name)
    hint = match.entity if match and match.category else None
    values = col.drop_null()
    base = {"name": name, "dtype": str(t), "name_hint": hint, "sampled": len(values)}
    if len(values) == 0:
        return ColumnReport(entity=None, confidence=0.0, share=0.0, is_free_text=False, distinct=0,
                            reason="no non-null values in the sample",
                            evidence={"rule": "none", "name": match.to_dict() if match else None}, **base)
    if pa.types.is_boolean(t):
        kind, rep = "bool", _none(base, values, "boolean")
    elif pa.types.is_floating(t) or pa.types.is_decimal(t):
        kind, rep = "float", _floats(base, values, hint)
    elif pa.types.is_temporal(t) and not pa.types.is_duration(t):
        conf = 0.95 if hint == "DATE_TIME" else 0.8
        strs = [str(v) for v in values.to_pylist()]
        kind, rep = "temporal", ColumnReport(
            entity="DATE_TIME", confidence=conf, share=1.0, is_free_text=False, distinct=len(set(strs)),
            examples=[mask_value(v) for v in strs[:EXAMPLES]], reason=f"{t} column", **base)
    elif pa.types.is_integer(t):
        kind, rep = "int", _integer(base, values, hint, min_share)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        kind, rep = "str", _strings(base, values.to_pylist(), name, hint, engine, min_share, seed)
    else:
        kind, rep = "other", _none(base, values, f"{t} is not scanned")
    return _decide(rep, match, kind, values, rows or len(values))


def _counter(strs: list[str], rows: int) -> bool:
    """Sequential record numbers (T900001, SO-000042, 17): a constant prefix and numbers spanning at most
    twice the table's rows. Unique, but they say where a row sits in a file, not who it is about."""
    parts = [_COUNTER.fullmatch(v) for v in strs]
    if not parts or not all(parts):
        return False
    if len({(p.group(1), p.group(3)) for p in parts if p}) > 3:
        return False
    nums = [int(p.group(2)) for p in parts if p]
    return max(nums) - min(nums) + 1 <= 2 * max(rows, len(nums))


_COUNTER = re.compile(r"([^\d]{0,12}?)(\d{1,18})([^\d]{0,6})")
# amounts, versions and measurements as text (1.234,56 / v2.3.1 / 12.5): unique, yet nobody's id
_DECIMAL = re.compile(r"[-+]?[vV]?\d+(?:[.,' ]\d+)*[.,]\d+[a-zA-Z%]{0,3}")


def _contradiction(m: HeaderMatch, kind: str, rep: ColumnReport, strs: list[str]) -> str | None:
    """Why the values rule out what the name says, or None when they are consistent with it."""
    e = m.entity
    if kind == "bool" and m.category != "sensitive":
        return "values are booleans"
    if kind == "float" and e != "AGE" and m.category != "sensitive":
        return "values are decimal numbers"
    if kind == "temporal" and e not in ("DATE_TIME", "CARD_EXPIRY"):
        return "values are dates or times"
    if e in SHAPED:
        return f"too few values have the {e} shape"
    if e == "AGE" and not all(_age(v) for v in strs):
        return "values are not ages"
    if kind == "int" and e in ("PERSON", "USERNAME", "EMAIL_ADDRESS"):
        return "values are whole numbers"
    if m.category == "direct_identifier" and rep.sampled >= 20 and rep.distinct <= FEW_DISTINCT:
        return f"only {rep.distinct} distinct values"
    return None


def _age(v: str) -> bool:
    v = v.strip().rstrip("+")
    if re.fullmatch(r"\d{1,3}\s*[-\u2013]\s*\d{1,3}", v):
        return True
    try:
        return 0 <= float(v) <= 130
    except ValueError:
        return False


def _decide(rep: ColumnReport, match: HeaderMatch | None, kind: str, values: pa.ChunkedArray,
            rows: int) -> ColumnReport:
    """Combine the value verdict with the name's and the column's uniqueness (the module docstring's rule)."""
    value_entity, value_share = rep.entity, rep.share
    best = rep.evidence.get("value_entity") if rep.evidence else None
    strs = [str(v) for v in values.slice(0, 5000).to_pylist()]
    uniqueness = round(rep.distinct / rep.sampled, 3) if rep.sampled and rep.distinct >= 0 else None
    personal_name = match is not None and match.category is not None
    rule = "values" if value_entity else "none"
    if value_entity and personal_name and related(match.entity, value_entity):
        rule = "name+values"
    elif not value_entity and personal_name and match.strength == "strong":
        why = _contradiction(match, kind, rep, strs)
        if why is None:
            rep.entity = match.entity
            rep.confidence = NAME_ONLY_CONFIDENCE
            rule = "name"
            rep.reason = (f"the name matches {match.pattern!r} ({match.entity or 'a person`s record key'}); "
                          f"the values do not contradict it")
        else:
            rep.reason = f"{rep.reason}; the name suggests {match.entity or match.category} but {why}"
    if rep.entity:
        if personal_name and related(match.entity, rep.entity):
            rep.category = match.category
        else:
            rep.category = default_category(rep.entity, is_street=rep.evidence.get("street", False))
        if rep.entity in SPECIAL_ENTITIES and rep.category != "sensitive":
            rep.category = "sensitive"
    elif rule == "name":  # a record key: no entity, an identifier by its name
        rep.category = match.category
        rep.identifier_candidate = True
    rep.sensitive = rep.category == "sensitive"
    not_personal_name = match is not None and match.category is None
    if (kind in ("str", "int") and not rep.is_free_text and rep.sampled >= ADEQUATE_SAMPLE
            and uniqueness is not None and uniqueness >= UNIQUE_RATIO and not not_personal_name
            and rep.entity not in NOT_PERSONAL_BY_VALUE
            and sum(1 for v in strs[:50] if _DECIMAL.fullmatch(v.strip())) < 25
            and sum(1 for v in strs[:50] if " " in v.strip()) < 10 and not _counter(strs, rows)):
        rep.identifier_candidate = True
        if rep.category is None:
            rep.category = "direct_identifier"
            rule = "uniqueness" if rule == "none" else rule
            rep.reason = f"{rep.reason}; {uniqueness:.0%} of sampled values are distinct: an identifier candidate"
    rep.uniqueness = uniqueness
    rep.evidence = {"rule": rule, "name": match.to_dict() if match else None,
                    "value_entity": value_entity or best, "value_share": value_share,
                    "uniqueness": uniqueness, "confidence": rep.confidence}
    return rep


def _none(base: dict, values: pa.ChunkedArray, reason: str, share: float = 0.0) -> ColumnReport:
    strs = [str(v) for v in values.slice(0, 50).to_pylist()]
    distinct = len(set(values.to_pylist())) if len(values) <= 100_000 else -1
    return ColumnReport(entity=None, confidence=round(1.0 - share, 2), share=share, is_free_text=False,
                        distinct=distinct, examples=[mask_value(v) for v in dict.fromkeys(strs)][:EXAMPLES],
                        reason=reason, **base)


def _integer(base: dict, values: pa.ChunkedArray, hint: str | None, min_share: float) -> ColumnReport:
    counts = Counter(str(abs(v)) for v in values.to_pylist())
    n = sum(counts.values())
    per_value: dict[str, tuple[str, float] | None] = {}
    for v in counts:
        shape = shape_of(v, hint)
        if shape is None and 12 <= len(v) <= 19 and luhn_ok(v):
            shape = ("CREDIT_CARD", 1.0)
        per_value[v] = shape
    shares = _shares(per_value, counts, n)
    picked = _pick(shares, hint, min_share, shaped=set(shares))
    examples = [mask_value(v) for v in list(counts)[:EXAMPLES]]
    if picked:
        entity, share, score = picked
        confidence = min(1.0, share * score + (0.1 if related(hint, entity) else 0.0))
        what = "Luhn-valid 12-19 digit integers" if entity == "CREDIT_CARD" else f"integers with the {entity} shape"
        return ColumnReport(entity=entity, confidence=round(confidence, 2), share=round(share, 3),
                            is_free_text=False, distinct=len(counts), examples=examples, reason=what, **base)
    best = max(shares.items(), key=lambda kv: kv[1][0], default=None)
    share = round(best[1][0], 3) if best else 0.0
    rep = _none(base, values, "integers (no identifier shape)" if not best else
                f"only {share:.0%} {best[0]}-shaped integers", share=share)
    rep.evidence = {"value_entity": best[0] if best else None}
    return rep


def _floats(base: dict, values: pa.ChunkedArray, hint: str | None) -> ColumnReport:
    """Decimals are amounts and measurements, except coordinates under a coordinate name."""
    if hint == "COORDINATE":
        xs = [float(v) for v in values.slice(0, 5000).to_pylist()]
        precise = sum(1 for x in xs if -180 <= x <= 180 and abs(x * 1000 - round(x * 1000)) > 1e-6) / len(xs)
        in_range = all(-180 <= x <= 180 for x in xs)
        if in_range and precise >= 0.5:
            distinct = len(set(xs))
            return ColumnReport(entity="COORDINATE", confidence=round(min(1.0, precise + 0.1), 2),
                                share=round(precise, 3), is_free_text=False, distinct=distinct,
                                examples=[mask_value(str(x)) for x in xs[:EXAMPLES]],
                                reason="degrees with more than 3 decimals under a coordinate name", **base)
    return _none(base, values, "numeric amounts hold no entity")


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


def _pick(shares: dict[str, tuple[float, float]], hint: str | None, min_share: float,
          shaped: set[str] = frozenset(), values: list[str] | None = None) -> tuple[str, float, float] | None:
    """The entity enough values match: the largest share, ties to Pactline's more specific shapes; an
    entity the name names wins when its share is within 0.1 of the best."""
    ok = []
    for entity, (share, score) in shares.items():
        need = VALUE_NEED.get(entity, min_share)
        if related(entity, hint):
            need = min_share * HINT_RELAX
        if entity == "ETHNICITY" and values is not None and not related(entity, hint) \
                and not ethnicity_is_distinctive(values):
            continue  # white / black alone are colours as often as anything else
        if share >= need:
            ok.append((share, entity in shaped, score, entity))
    if not ok:
        return None
    ok.sort(reverse=True)
    named = [o for o in ok if related(o[3], hint) and o[0] >= ok[0][0] - 0.1]
    share, _, score, entity = (named or ok)[0]
    return entity, share, score


def _strings(base: dict, raw: list[str], name: str, hint: str | None, engine: PiiEngine,
             min_share: float, seed: int) -> ColumnReport:
    counts = Counter(raw)
    n = len(raw)
    uniq = list(counts)
    random.Random(seed).shuffle(uniq)  # noqa: S311 -- a sorted file must not bias the first look
    context = name_tokens(name)
    words = sum(len(v.split()) * c for v, c in counts.items()) / n
    distinct_ratio = len(uniq) / n

    # 2. whole-value shapes and art. 9 dictionaries (cheap), then Presidio's pattern recognizers
    per_value: dict[str, tuple[str, float] | None] = {}
    for v in uniq:
        stripped = v.strip()
        found = shape_of(stripped, hint) if len(stripped) <= 200 else None
        if found is None:
            special = special_of(stripped, hint)
            found = (special, 0.9) if special else None
        per_value[v] = found
    shape_shares = _shares(per_value, counts, n)
    if max((s for s, _ in shape_shares.values()), default=0.0) >= 0.9:
        shares = dict(shape_shares)  # decided already: the costly recognizers are not needed
    else:
        column_recs = [r for r in engine.recognizers if r.in_columns]
        shares = _progressive(uniq, counts, min_share,
                              lambda vs: [_whole_value(v.strip(), column_recs, context) for v in vs])
        for entity, found in shape_shares.items():
            if entity not in shares or found[0] >= shares[entity][0]:
                shares[entity] = found
    picked = _pick(shares, hint, min_share, shaped=set(shape_shares), values=uniq)
    if picked:
        rep = _verdict(base, picked, hint, uniq, counts, "whole values match the recognizer"
                       if picked[0] not in shape_shares else f"whole values have the {picked[0]} shape")
        rep.evidence = {"street": picked[0] == "LOCATION" and picked[0] in shape_shares}
        return rep

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
        named = match_header(name)
        # NER is the weakest evidence: under a name the dictionary marks not personal (product_name)
        # it must label nearly every value
        need = max(min_share, NOT_PERSONAL_NER) if named is not None and named.category is None else min_share
        picked = _pick(ner_shares, hint, need)
        if picked:
            return _verdict(base, picked, hint, uniq, counts, "spaCy NER labels whole values")
        best_share = max([best_share, *(s for s, _ in ner_shares.values())])
    reason = "no entity reaches the minimum share"
    best = max(shares.items(), key=lambda kv: kv[1][0], default=None)
    return ColumnReport(entity=None, confidence=round(1.0 - best_share, 2), share=round(best_share, 3),
                        is_free_text=False, distinct=len(uniq),
                        examples=[mask_value(v) for v in uniq[:EXAMPLES]], reason=reason,
                        evidence={"value_entity": best[0] if best else None}, **base)


def _verdict(base: dict, picked: tuple[str, float, float], hint: str | None, uniq: list[str],
             counts: Counter[str], reason: str) -> ColumnReport:
    entity, share, score = picked
    confidence = min(1.0, share * score + (0.1 if related(hint, entity) else 0.0))
    return ColumnReport(entity=entity, confidence=round(confidence, 2), share=round(share, 3),
                        is_free_text=False, distinct=len(uniq),
                        examples=[mask_value(v) for v in uniq[:EXAMPLES]], reason=reason, **base)
