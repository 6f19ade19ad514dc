"""Column classification speed and correctness: Pactline vs presidio-structured.

    python bench/scan_speed.py [--rows 100000] [--sample 1000] [--seed 0]

Baseline: presidio-structured's PandasAnalysisBuilder.generate_analysis(df, n=sample) with a
stock Presidio AnalyzerEngine on the same spaCy model (engine.vanilla_analyzer). If
presidio-structured is not installed, the baseline is its equivalent loop (per-value
AnalyzerEngine.analyze over the same sample, most common entity per column) and is named so.
Both engines are built (models loaded) before timing; the figures are classification only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import EXPECTED, make_table

from pactline.pii.classify import classify_table
from pactline.pii.engine import get_engine, vanilla_analyzer


def baseline_structured(df, analyzer, sample: int) -> tuple[str, dict[str, str | None]]:
    try:
        from presidio_structured import PandasAnalysisBuilder
    except ImportError:
        return "per-value AnalyzerEngine loop (presidio-structured equivalent)", _loop(df, analyzer, sample)
    analysis = PandasAnalysisBuilder(analyzer=analyzer).generate_analysis(df, n=sample)
    return "presidio-structured PandasAnalysisBuilder", {c: analysis.entity_mapping.get(c) for c in df.columns}


def _loop(df, analyzer, sample: int) -> dict[str, str | None]:
    part = df.sample(min(sample, len(df)), random_state=123)
    out: dict[str, str | None] = {}
    for col in part.columns:
        found: Counter[str] = Counter()
        for v in part[col]:
            for r in analyzer.analyze(str(v), language="en"):
                found[r.entity_type] += 1
        out[col] = found.most_common(1)[0][0] if found else None
    return out


def ours_label(col) -> str | None:
    return "free text" if col.is_free_text else col.entity


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    table, _ = make_table(args.rows, seed=args.seed)
    df = table.to_pandas()
    # presidio-structured accepts only primitive cell types: dates go in as ISO strings, as from a CSV.
    df["birth_date"] = df["birth_date"].astype(str)
    print(f"data: {args.rows} rows x {table.num_columns} columns, generated in {time.perf_counter() - t:.1f}s")

    t = time.perf_counter()
    engine = get_engine()
    analyzer = vanilla_analyzer()
    print(f"engines loaded in {time.perf_counter() - t:.1f}s (model {engine.model_name})")

    t = time.perf_counter()
    report = classify_table(table, args.sample, analyzer=engine, seed=args.seed)
    ours_s = time.perf_counter() - t

    t = time.perf_counter()
    name, base = baseline_structured(df, analyzer, args.sample)
    base_s = time.perf_counter() - t

    print(f"\n{'column':<12} {'expected':<14} {'pactline':<14} {'baseline':<18}")
    ours_ok = base_ok = 0
    for col in report.columns:
        exp, got, b = EXPECTED[col.name], ours_label(col), base.get(col.name)
        ours_ok += got == exp
        base_ok += b == exp or (exp == "free text" and b is None)
        print(f"{col.name:<12} {exp or '-':<14} {got or '-':<14} {b or '-':<18}")
    n = len(report.columns)
    print(f"\nsample {args.sample} rows; baseline: {name}")
    print(f"pactline : {ours_s:7.2f}s  {ours_ok}/{n} columns right")
    print(f"baseline : {base_s:7.2f}s  {base_ok}/{n} columns right (free text counted right if unlabelled)")
    print(f"speed-up : {base_s / ours_s:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
