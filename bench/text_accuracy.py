"""Span-level precision, recall and F2 of free-text PII detection on a labelled file.

    python bench/text_accuracy.py LABELLED.json [--iou 0.5] [--model NAME] [--errors N]

LABELLED.json is in the presidio-research format: a list of records
`{full_text, spans: [{entity_type, entity_value, start_position, end_position}], ...}`.

How a match is counted (the presidio-research SpanEvaluator approach, character based):
- dataset entity names are mapped to Presidio's with DATASET_TO_PRESIDIO; types the table does
  not know are reported and left out: their gold spans are dropped and a prediction overlapping
  one is neither credited nor counted as a false positive;
- predictions of a type outside the scored set are dropped (presidio-research's entities_to_keep);
- adjacent spans of the same type separated only by spaces or punctuation are merged, on both
  sides (an address split over lines is one span);
- a gold span is a true positive when the predictions of its type that overlap it cover it with
  IoU >= --iou (default 0.5), computed over non-space characters and over the union of those
  predictions; otherwise it is a false negative;
- every prediction counts once: credited if it took part in a match, else a false positive.
  precision = (predicted - FP) / predicted, recall = TP / gold, F2 weighs recall 4x precision;
- "PII" repeats this with every type collapsed to one (PII vs not: what redaction needs, and the
  figure presidio-research publishes, 0.661 F2 for vanilla Presidio with en_core_web_lg);
  "typed" is the micro-average over entity types (type must match).
Both systems see the same texts, mapping and threshold (0.4, presidio-research's default).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from pactline.pii.engine import get_engine, vanilla_analyzer
from pactline.pii.recognizers import Hit
from pactline.pii.text import DEFAULT_THRESHOLD, find_spans, merge_hits

# dataset entity -> Presidio entity (presidio-research's presidio_entities_map, trimmed)
DATASET_TO_PRESIDIO = {
    "PERSON": "PERSON", "PER": "PERSON", "FIRST_NAME": "PERSON", "LAST_NAME": "PERSON",
    "LOCATION": "LOCATION", "LOC": "LOCATION", "GPE": "LOCATION", "CITY": "LOCATION", "ADDRESS": "LOCATION",
    "STREET_ADDRESS": "LOCATION", "FACILITY": "LOCATION",
    "ZIP": "ZIP_CODE", "ZIP_CODE": "ZIP_CODE",
    "ORG": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION",
    "NORP": "NRP", "NRP": "NRP", "NATIONALITY": "NRP",
    "AGE": "AGE", "TITLE": "TITLE", "PREFIX": "TITLE",
    "CREDIT_CARD": "CREDIT_CARD", "IBAN": "IBAN_CODE", "IBAN_CODE": "IBAN_CODE",
    "DATE": "DATE_TIME", "TIME": "DATE_TIME", "DATE_TIME": "DATE_TIME", "BIRTHDAY": "DATE_TIME",
    "DATE_OF_BIRTH": "DATE_TIME", "DOB": "DATE_TIME",
    "PHONE": "PHONE_NUMBER", "PHONE_NUMBER": "PHONE_NUMBER",
    "DOMAIN_NAME": "URL", "URL": "URL", "DOMAIN": "URL",
    "EMAIL": "EMAIL_ADDRESS", "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "IP_ADDRESS": "IP_ADDRESS",
    "SSN": "US_SSN", "US_SSN": "US_SSN",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
_SKIP = re.compile(r"[\s\W_]*")


@dataclass
class Tally:
    gold: int = 0
    tp: int = 0
    predicted: int = 0
    fp: int = 0

    def add(self, other: Tally) -> None:
        self.gold += other.gold
        self.tp += other.tp
        self.predicted += other.predicted
        self.fp += other.fp

    def scores(self, beta: float = 2.0) -> tuple[float, float, float]:
        p = (self.predicted - self.fp) / self.predicted if self.predicted else 0.0
        r = self.tp / self.gold if self.gold else 0.0
        b2 = beta * beta
        f = (1 + b2) * p * r / (b2 * p + r) if p + r else 0.0
        return p, r, f


def load(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or any("full_text" not in r or "spans" not in r for r in data):
        raise SystemExit(f"{path}: not a presidio-research file (a list of {{full_text, spans}} records)")
    return data


def _merge_adjacent(spans: list[Hit], text: str) -> list[Hit]:
    out: list[Hit] = []
    for s in sorted(spans, key=lambda h: (h.start, h.end)):
        if out and out[-1].entity == s.entity and s.start >= out[-1].end and \
                _SKIP.fullmatch(text[out[-1].end:s.start]):
            prev = out[-1]
            out[-1] = Hit(prev.start, max(prev.end, s.end), prev.entity, max(prev.score, s.score))
        else:
            out.append(s)
    return out


def _chars(text: str, start: int, end: int) -> set[int]:
    return {i for i in range(start, end) if not text[i].isspace()}


def evaluate(text: str, gold: list[Hit], ignored: list[Hit], pred: list[Hit], iou: float,
             tallies: dict[str, Tally], errors: list | None = None) -> None:
    gold = _merge_adjacent(gold, text)
    pred = _merge_adjacent(pred, text)
    credited: set[int] = set()
    for g in gold:
        t = tallies[g.entity]
        t.gold += 1
        gchars = _chars(text, g.start, g.end)
        same = [i for i, p in enumerate(pred) if p.entity == g.entity and p.start < g.end and p.end > g.start]
        pchars: set[int] = set()
        for i in same:
            pchars |= _chars(text, pred[i].start, pred[i].end)
        union = gchars | pchars
        if union and len(gchars & pchars) / len(union) >= iou:
            t.tp += 1
            credited.update(same)
        elif errors is not None:
            errors.append(("FN", g.entity, text[g.start:g.end], [text[pred[i].start:pred[i].end] for i in same]))
    for i, p in enumerate(pred):
        if i not in credited and any(p.start < x.end and p.end > x.start for x in ignored):
            continue  # overlaps a gold span of a type we do not score
        tallies[p.entity].predicted += 1
        if i not in credited:
            tallies[p.entity].fp += 1
            if errors is not None:
                errors.append(("FP", p.entity, text[p.start:p.end], None))


def score(records: list[dict], predictions: list[list[Hit]], scored: set[str], iou: float,
          show_errors: int = 0) -> tuple[dict[str, Tally], Tally, Tally]:
    typed: dict[str, Tally] = defaultdict(Tally)
    pii: dict[str, Tally] = defaultdict(Tally)
    errors: list = []
    for rec, pred in zip(records, predictions, strict=True):
        text = rec["full_text"]
        gold, ignored = [], []
        for s in rec["spans"]:
            mapped = DATASET_TO_PRESIDIO.get(s["entity_type"])
            h = Hit(s["start_position"], s["end_position"], mapped or s["entity_type"], 1.0)
            (gold if mapped in scored else ignored).append(h)
        pred = [p for p in pred if p.entity in scored]
        evaluate(text, gold, ignored, pred, iou, typed, errors if show_errors else None)
        evaluate(text, [g._replace(entity="PII") for g in gold], ignored,
                 [p._replace(entity="PII") for p in pred], iou, pii)
    micro = Tally()
    for t in typed.values():
        micro.add(t)
    if show_errors:
        kinds = Counter((e[0], e[1]) for e in errors)
        print("  most frequent errors:", ", ".join(f"{k[0]} {k[1]} {n}" for k, n in kinds.most_common(10)))
        for e in errors[:show_errors]:
            print("   ", e)
    return typed, pii["PII"], micro


def predict_ours(texts: list[str], model: str | None) -> list[list[Hit]]:
    engine = get_engine(model)
    return find_spans(texts, engine, None, DEFAULT_THRESHOLD)  # the default entity set


def predict_vanilla(texts: list[str], model: str | None) -> list[list[Hit]]:
    analyzer = vanilla_analyzer(model)
    out = []
    for t in texts:
        results = analyzer.analyze(t, language="en", score_threshold=DEFAULT_THRESHOLD)
        out.append(merge_hits([Hit(r.start, r.end, r.entity_type, r.score) for r in results]))
    return out


def report(name: str, seconds: float, n: int, typed: dict[str, Tally], pii: Tally, micro: Tally) -> None:
    print(f"\n{name}  ({n} texts in {seconds:.1f}s, {n / seconds:.0f} texts/s)")
    print(f"  {'entity':<18}{'gold':>6}{'pred':>6}{'prec':>7}{'recall':>8}{'F2':>7}")
    for entity in sorted(typed):
        t = typed[entity]
        p, r, f = t.scores()
        print(f"  {entity:<18}{t.gold:>6}{t.predicted:>6}{p:>7.3f}{r:>8.3f}{f:>7.3f}")
    for label, t in (("typed (micro)", micro), ("PII (any type)", pii)):
        p, r, f = t.scores()
        print(f"  {label:<18}{t.gold:>6}{t.predicted:>6}{p:>7.3f}{r:>8.3f}{f:>7.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labelled", type=Path)
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--model", default=None)
    ap.add_argument("--errors", type=int, default=0, help="print the first N errors of our system")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)

    records = load(args.labelled)
    present = Counter(s["entity_type"] for r in records for s in r["spans"])
    unmapped = sorted(e for e in present if e not in DATASET_TO_PRESIDIO)
    scored = {DATASET_TO_PRESIDIO[e] for e in present if e in DATASET_TO_PRESIDIO}
    print(f"{args.labelled}: {len(records)} texts, {sum(present.values())} gold spans")
    print("mapped: " + ", ".join(f"{e}->{DATASET_TO_PRESIDIO[e]}" for e in sorted(present) if e not in unmapped))
    print("not mapped (left out): " + (", ".join(f"{e} ({present[e]})" for e in unmapped) or "none"))
    print(f"matching: same type, char IoU >= {args.iou} over merged overlapping predictions; threshold "
          f"{DEFAULT_THRESHOLD}")
    texts = [r["full_text"] for r in records]

    results = {}
    t = time.perf_counter()
    ours = predict_ours(texts, args.model)
    secs = time.perf_counter() - t
    typed, pii, micro = score(records, ours, scored, args.iou, args.errors)
    report("Pactline (recognizers + NER, small model)", secs, len(texts), typed, pii, micro)
    results["ours"] = (pii, micro)

    if not args.no_baseline:
        t = time.perf_counter()
        base = predict_vanilla(texts, args.model)
        secs = time.perf_counter() - t
        typed, pii, micro = score(records, base, scored, args.iou)
        report("baseline: vanilla Presidio AnalyzerEngine (default recognizers, same model)", secs,
               len(texts), typed, pii, micro)
        results["base"] = (pii, micro)

    print("\nsummary (F2):")
    for key, (pii, micro) in results.items():
        print(f"  {key:<5} PII {pii.scores()[2]:.3f}   typed {micro.scores()[2]:.3f}")
    if "base" in results:
        ours_f, base_f = results["ours"][0].scores()[2], results["base"][0].scores()[2]
        print(f"  ratio ours/baseline (PII F2): {ours_f / base_f:.2f}x" if base_f else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
