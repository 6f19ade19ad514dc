"""How many columns `pactline draft` categorises the way a human reviewer did.

    python bench/draft.py [--rows 500] [--seed 7] [--sample 1000]

Ground truth: the sample generator's own COLUMN_CATEGORIES (include/generate_sample_data.py: the example
agreements' categories, free-text columns as free text, undeclared columns by what they hold), on freshly
generated files of all four partner tables. Baseline: the PII scan's own suggested category alone
(ColumnReport.category, non-personal when it has none), i.e. what `pactline scan` tells a reviewer without the
draft's protected-attribute, label and free-text derivations. Prints each miss (column names and categories only).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pactline.draft import draft_dataset, read_data  # noqa: E402
from pactline.pii import classify_table  # noqa: E402


def generator():
    spec = importlib.util.spec_from_file_location("generate_sample_data", REPO / "include" / "generate_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=1000)
    args = parser.parse_args()
    gen = generator()
    draft_hits = scan_hits = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        gen.generate(Path(tmp), rows=args.rows, seed=args.seed)
        for rel, truth in gen.COLUMN_CATEGORIES.items():
            table, fmt, _ = read_data(Path(tmp) / rel)
            report = classify_table(table, args.sample, seed=0)
            drafted = draft_dataset(table, report, "bench", "provider", {"uri": rel, "format": fmt})["categories"]
            scanned = {c.name: c.category or "non_personal" for c in report.columns}
            hits = sum(drafted[c] == want for c, want in truth.items())
            base = sum(scanned[c] == want for c, want in truth.items())
            draft_hits, scan_hits, total = draft_hits + hits, scan_hits + base, total + len(truth)
            print(f"{rel:32} draft {hits:2}/{len(truth)}   scan alone {base:2}/{len(truth)}")
            for column, want in truth.items():
                if drafted[column] != want:
                    print(f"    {column:20} reviewer {want:20} draft {drafted[column]}")
    print(f"\ncolumns categorised as the reviewer did: draft {draft_hits}/{total} ({draft_hits / total:.0%}); "
          f"baseline (the scan's category alone) {scan_hits}/{total} ({scan_hits / total:.0%}); "
          f"ratio {draft_hits / max(scan_hits, 1):.2f}x")


if __name__ == "__main__":
    main()
