"""Free-text PII: find spans, replace each with a typed placeholder, keep the rest of the text.

Why it is fast compared with per-cell Presidio:
- values are dictionary-encoded, so each distinct text is analysed once;
- a cheap pre-filter decides per text whether NER can find anything (a capitalised word that is
  not an ordinary sentence opener, a year, a month or weekday); most notes skip spaCy entirely;
- pattern recognizers run only where their trigger characters occur ('@', digit runs, ...);
- spaCy runs batched through `nlp.pipe` with only the NER component loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex
from spacy.lang.en.stop_words import STOP_WORDS

from pactline.errors import DataError
from pactline.pii.engine import PiiEngine, as_engine
from pactline.pii.recognizers import Hit
from pactline.pii.spans import extend

DEFAULT_THRESHOLD = 0.4  # presidio-research's evaluation threshold
NER_SCORE = 0.85  # Presidio's default score for spaCy entities
NER_CHUNK = 5000  # characters per spaCy doc; longer texts are cut at line/sentence/space breaks
BATCH_SIZE = 128

# Capitalised words a sentence often starts with; such an opener alone does not justify NER.
_OPENERS = frozenset(STOP_WORDS) | {
    "please", "customer", "client", "called", "call", "asked", "requested", "thanks", "thank",
    "hello", "hi", "dear", "note", "notes", "order", "payment", "refund", "delivery", "ticket",
    "issue", "update", "updated", "follow", "followed", "sent", "send", "left", "spoke", "wants",
    "prefers", "reported", "confirmed", "needs", "need", "new", "no", "yes", "ok", "okay",
    "card", "iban", "package", "item", "account", "invoice", "bank", "app", "returned", "complained", "email", "phone", "address", "date", "name", "status", "comment",
}
_ORDINARY_ENDINGS = ("ed", "ing", "ly", "tion", "sion", "ment", "ness", "able", "ful", "ies", "ize", "ise")
_CAP_INSIDE = regex.compile(r"(?<=[\p{L}\d,;:)\]'\"] )\p{Lu}")
_SENTENCE_OPENER = regex.compile(r"(?:^|[.!?]\s+|\n\s*)[\"'(>*\-\s]*(\p{Lu}[\p{L}'\u2019]*)", regex.MULTILINE)
_DATE_WORDS = regex.compile(
    r"\b(?:1[89]\d\d|20\d\d|jan(?:uary)?|feb(?:ruary)?|march|april|june|july|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|yesterday|tomorrow|tonight)\b",
    regex.IGNORECASE,
)
# Field labels the small model sometimes calls PERSON, GPE or ORG ("my IBAN is ...").
_NOT_NAMES = frozenset({"email", "e-mail", "phone", "mobile", "tel", "fax", "card", "iban", "ssn", "address",
                        "website", "url", "date", "name", "contact", "dob", "zip", "ip", "pin", "cvv",
                        "id", "passport", "license", "licence", "account", "sms", "pdf", "faq"})
_DIGITS_ONLY = regex.compile(r"^[\d\s\-./]+$")
_YEAR = regex.compile(r"^(?:1[89]\d\d|20\d\d)s?$")
# One token of capitals and digits with a digit after its first letters (ICD-10 "J44.1", "S72.001A",
# "I10"): no person or group is named so. Places are left to the model (a postcode is one).
_CODE = regex.compile(r"^\p{Lu}{1,3}\d[\dA-Z]*(?:\.[\dA-Z]{1,4})?$")


def needs_ner(text: str) -> bool:
    """True when spaCy NER could find a name, place, nationality or date in `text`."""
    if _CAP_INSIDE.search(text) or _DATE_WORDS.search(text):
        return True
    return any(not _ordinary_opener(m.group(1)) for m in _SENTENCE_OPENER.finditer(text))


def _ordinary_opener(word: str) -> bool:
    """A sentence-initial word that is almost surely not a name: a stop word, a listed opener, or
    a longer word with a verb/noun ending (Returned, Complained, Payment, Processing)."""
    w = word.lower()
    return w in _OPENERS or (len(w) > 4 and w.endswith(_ORDINARY_ENDINGS))


def _chunks(text: str, size: int = NER_CHUNK) -> list[tuple[int, str]]:
    """Cut at a line break, else a sentence end, else a space, so no entity is split in two."""
    if len(text) <= size:
        return [(0, text)]
    out, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            window = text[start:end]
            cut = max(window.rfind("\n"), window.rfind(". ") + 1)
            if cut <= size // 2:
                cut = window.rfind(" ")
            if cut > 0:
                end = start + cut
        out.append((start, text[start:end]))
        start = end
    return out


_SENTENCE_END = regex.compile(r"(?<=[.!?])\s+(?=[\p{Lu}\d\"'(])|\n")


def _sentences(text: str) -> list[tuple[int, str]]:
    """Sentences and lines of `text` with their offsets (a cheap splitter, enough for NER input)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            out.append((start, text[start:m.start()]))
        start = m.end()
    if start < len(text):
        out.append((start, text[start:]))
    return out


def _keep_ner(label: str, span_text: str) -> bool:
    text = span_text.strip()
    if not text:
        return False
    if label == "DATE_TIME":
        if _DIGITS_ONLY.match(text):
            # spaCy calls many digit runs DATE (a card number included); keep only real years.
            return bool(_YEAR.match(text))
        # "today", "next month": relative dates identify no one; keep dates with a number or a name.
        return bool(regex.search(r"\d", text) or _DATE_WORDS.search(text))
    if not regex.search(r"\p{L}", text):
        return False  # "+1-887" is no name, place or group
    if label in ("PERSON", "ORGANIZATION", "NRP") and _CODE.match(text):
        return False  # "J44.1", "I10": a diagnosis or product code, which the small model calls a name
    return text.lower() not in _NOT_NAMES


def ner_hits(texts: Sequence[str], engine: PiiEngine, entities: Iterable[str], batch_size: int = BATCH_SIZE,
             n_process: int = 1, prefilter: bool = False) -> list[list[Hit]]:
    """Entities from spaCy NER for each text, mapped to Presidio names.

    Texts are cut into chunks of NER_CHUNK characters (the parser slows down on very long docs);
    with `prefilter`, only chunks that pass `needs_ner` are parsed.
    """
    wanted = set(entities)
    labels = {k: v for k, v in engine.ner_labels.items() if v in wanted}
    out: list[list[Hit]] = [[] for _ in texts]
    if not labels or not texts:
        return out
    if prefilter:
        # only the sentences (or lines) that could hold an entity are parsed
        pieces = [(i, off + s_off, sent) for i, t in enumerate(texts) for off, chunk in _chunks(t)
                  for s_off, sent in _sentences(chunk) if needs_ner(sent)]
    else:
        pieces = [(i, off, chunk) for i, t in enumerate(texts) for off, chunk in _chunks(t)]
    docs = engine.nlp.pipe((p[2] for p in pieces), batch_size=batch_size, n_process=n_process)
    for (i, off, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            entity = labels.get(ent.label_)
            if entity and _keep_ner(entity, ent.text):
                out[i].append(Hit(off + ent.start_char, off + ent.end_char, entity, NER_SCORE))
    return out


def pattern_hits(text: str, engine: PiiEngine, entities: set[str], threshold: float = DEFAULT_THRESHOLD,
                 context: Iterable[str] = ()) -> list[Hit]:
    hits: list[Hit] = []
    for rec in engine.recognizers:
        if rec.entity in entities:
            hits.extend(h for h in rec.find(text, context) if h.score >= threshold)
    return hits


def merge_hits(hits: list[Hit]) -> list[Hit]:
    """Overlapping spans become one: the union of their extents, labelled by the best span
    (higher score, then longer). The union keeps every character any recognizer flagged covered."""
    if not hits:
        return []
    hits = sorted(hits, key=lambda h: (h.start, -h.end))
    merged: list[Hit] = []
    group = [hits[0]]
    end = hits[0].end
    for h in hits[1:]:
        if h.start < end:
            group.append(h)
            end = max(end, h.end)
            continue
        merged.append(_resolve(group, end))
        group, end = [h], h.end
    merged.append(_resolve(group, end))
    return merged


def _resolve(group: list[Hit], end: int) -> Hit:
    best = max(group, key=lambda h: (h.score, h.end - h.start))
    return Hit(group[0].start, end, best.entity, best.score)


def find_spans(texts: Sequence[str], engine: PiiEngine, entities: Iterable[str] | None = None,
               threshold: float = DEFAULT_THRESHOLD, batch_size: int = BATCH_SIZE,
               n_process: int = 1, stats: dict[str, int] | None = None) -> list[list[Hit]]:
    """Merged PII spans for each text (no deduplication here: callers pass distinct texts)."""
    wanted = set(entities) if entities is not None else engine.entities
    unknown = wanted - engine.entities
    if unknown:
        raise ValueError(f"unknown entities {sorted(unknown)}; this engine finds {sorted(engine.entities)}")
    spans = [pattern_hits(t, engine, wanted, threshold) for t in texts]
    ner_wanted = wanted & set(engine.ner_labels.values())
    if ner_wanted:
        todo = [i for i, t in enumerate(texts) if needs_ner(t)]
        if stats is not None:
            stats["sent_to_ner"] = len(todo)
        found = ner_hits([texts[i] for i in todo], engine, ner_wanted, batch_size, n_process, prefilter=True)
        for i, hits in zip(todo, found, strict=True):
            spans[i].extend(hits)
    return [merge_hits(extend(t, s)) for t, s in zip(texts, spans, strict=True)]


def replace_spans(text: str, hits: list[Hit], placeholder: str = "<{entity}>") -> str:
    parts, last = [], len(text)
    for h in sorted(hits, key=lambda h: h.start, reverse=True):
        parts.append(text[h.end:last])
        parts.append(placeholder.format(entity=h.entity))
        last = h.start
    parts.append(text[:last])
    return "".join(reversed(parts))


@dataclass
class TextScan:
    """Redacted values plus what was found, counted over rows (not distinct values)."""

    redacted: pa.Array
    counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    rows_with_pii: int = 0
    distinct: int = 0
    distinct_sent_to_ner: int = 0


def _string_array(values: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if not isinstance(values, pa.Array):
        raise DataError(f"{what}: expected a pyarrow Array of strings, got {type(values).__name__}")
    t = values.type
    if pa.types.is_dictionary(t):
        if not (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
            raise DataError(f"{what}: expected strings, got {t}")
        return values
    if pa.types.is_null(t):
        return values.cast(pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return values
    if pa.types.is_string_view(t):
        return values.cast(pa.string())
    raise DataError(f"{what}: expected strings, got {t}; cast the column to string or drop it")


def scan_text(values: pa.Array | pa.ChunkedArray, *, entities: list[str] | None = None,
              placeholder: str = "<{entity}>", analyzer: object | None = None,
              threshold: float = DEFAULT_THRESHOLD, batch_size: int = BATCH_SIZE,
              n_process: int = 1, what: str = "text column") -> TextScan:
    engine = as_engine(analyzer)
    arr = _string_array(values, what)
    encoded = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    uniques: list[str] = encoded.dictionary.to_pylist()
    indices = encoded.indices
    occurrences = np.bincount(pc.drop_null(indices).to_numpy(zero_copy_only=False).astype(np.int64),
                              minlength=len(uniques)) if len(uniques) else np.zeros(0, dtype=np.int64)
    stats: dict[str, int] = {}
    spans = find_spans(uniques, engine, entities, threshold, batch_size, n_process, stats)
    counts: Counter[str] = Counter()
    rows_with_pii = 0
    redacted_uniques = []
    for text, hits, n in zip(uniques, spans, occurrences, strict=True):
        redacted_uniques.append(replace_spans(text, hits, placeholder) if hits else text)
        if hits and n:
            rows_with_pii += int(n)
            for h in hits:
                counts[h.entity] += int(n)
    out_type = pa.large_string() if pa.types.is_large_string(
        arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type) else pa.string()
    redacted = pc.take(pa.array(redacted_uniques, type=out_type), indices)
    return TextScan(
        redacted=redacted,
        counts=dict(counts),
        rows=len(arr),
        rows_with_pii=rows_with_pii,
        distinct=len(uniques),
        distinct_sent_to_ner=stats.get("sent_to_ner", 0),
    )


def redact_text(values: pa.Array | pa.ChunkedArray, *, entities: list[str] | None = None,
                placeholder: str = "<{entity}>", analyzer: object | None = None,
                threshold: float = DEFAULT_THRESHOLD) -> pa.Array:
    """Replace every PII span with `placeholder` (formatted with `entity`); nulls stay null.

    Raises DataError when `values` is not an Array/ChunkedArray of strings.
    """
    return scan_text(values, entities=entities, placeholder=placeholder, analyzer=analyzer,
                     threshold=threshold).redacted
