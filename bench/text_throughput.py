"""Free-text redaction throughput and recall: Pactline vs per-cell Presidio.

    python bench/text_throughput.py [--rows 5000] [--seed 0]

Data: the notes column of bench/_data.py (about 35% of notes carry injected names, phones,
cards, emails, cities or IBANs; half of the others carry a ticket number, so most notes are
distinct). Baseline: for each cell, a stock Presidio AnalyzerEngine.analyze (same spaCy model,
engine.vanilla_analyzer) then AnonymizerEngine.anonymize (default replace -> <ENTITY>), the way
the Presidio docs redact text. Recall: an injected value counts as removed when none of its
words (2+ characters) is left in the redacted note; both systems are scored the same way.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import InjectedSpan, make_notes

from pactline.pii.engine import get_engine, vanilla_analyzer
from pactline.pii.text import scan_text

_TOKEN = re.compile(r"[A-Za-z0-9]{2,}")


def recall(redacted: list[str], spans: list[InjectedSpan]) -> tuple[float, dict[str, tuple[int, int]]]:
    per: dict[str, list[int]] = {}
    for s in spans:
        left = set(_TOKEN.findall(redacted[s.row]))
        removed = not (set(_TOKEN.findall(s.value)) & left)
        hit = per.setdefault(s.entity, [0, 0])
        hit[0] += removed
        hit[1] += 1
    total = sum(h[0] for h in per.values()) / max(1, sum(h[1] for h in per.values()))
    return total, {k: (v[0], v[1]) for k, v in per.items()}


def baseline(notes: list[str]) -> list[str]:
    from presidio_anonymizer import AnonymizerEngine

    analyzer, anonymizer = vanilla_analyzer(), AnonymizerEngine()
    out = []
    for text in notes:
        results = analyzer.analyze(text, language="en")
        out.append(anonymizer.anonymize(text, results).text)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    notes, spans = make_notes(args.rows, seed=args.seed)
    print(f"data: {len(notes)} notes, {len(set(notes))} distinct, {len(spans)} injected PII values "
          f"in {len({s.row for s in spans})} notes")
    engine = get_engine()
    vanilla_analyzer()  # load both models before timing
    # warm both up on a few other notes (regex compilation, phonenumbers metadata, first batch)
    warm, _ = make_notes(20, seed=args.seed + 1)
    scan_text(pa.array(warm), analyzer=engine)
    baseline(warm)

    t = time.perf_counter()
    scan = scan_text(pa.array(notes), analyzer=engine)
    ours_s = time.perf_counter() - t
    ours = scan.redacted.to_pylist()

    t = time.perf_counter()
    base = baseline(notes)
    base_s = time.perf_counter() - t

    ours_r, ours_per = recall(ours, spans)
    base_r, base_per = recall(base, spans)
    print(f"pactline: {len(notes) / ours_s:8.0f} cells/s ({ours_s:.2f}s; {scan.distinct} distinct analysed, "
          f"{scan.distinct_sent_to_ner} sent to NER)  recall {ours_r:.3f}")
    print(f"baseline: {len(notes) / base_s:8.0f} cells/s ({base_s:.2f}s; per-cell AnalyzerEngine + "
          f"AnonymizerEngine)  recall {base_r:.3f}")
    print(f"speed-up: {base_s / ours_s:.1f}x   recall difference: {ours_r - base_r:+.3f}")
    print("\nrecall per injected entity (removed/injected): pactline | baseline")
    for entity in sorted(ours_per):
        o, b = ours_per[entity], base_per[entity]
        print(f"  {entity:<14} {o[0]:>5}/{o[1]:<5} {o[0] / o[1]:.3f} | {b[0]:>5}/{b[1]:<5} {b[0] / b[1]:.3f}")
    placeholders = Counter(re.findall(r"<([A-Z_]+)>", "\n".join(ours)))
    print("\npactline placeholders:", dict(placeholders.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
