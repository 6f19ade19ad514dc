"""`pactline bias DATA_PATH --protected COL[,COL] --label COL --positive VALUE`: group sizes, positive
rates, disparate impact and demographic-parity difference of a CSV or Parquet file, no agreement needed."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bias", help="group sizes, positive rates, disparate impact and parity difference",
                              description=__doc__)
    p.add_argument("data_path", metavar="DATA_PATH", help="CSV or Parquet file")
    p.add_argument("--protected", required=True, metavar="COL[,COL]", help="protected attribute column(s)")
    p.add_argument("--label", required=True, metavar="COL", help="label column")
    p.add_argument("--positive", required=True, metavar="VALUE",
                   help="the label's positive value; true/1/yes match bool, integer and text labels alike")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pactline.checks.metrics import group_metrics
    from pactline.errors import DataError
    from pactline.pii.io import read_table

    protected = [c.strip() for c in args.protected.split(",") if c.strip()]
    if not protected:
        raise DataError("--protected needs at least one column name")
    table = read_table(args.data_path)
    unknown = [c for c in [*protected, args.label] if c not in table.column_names]
    if unknown:
        raise DataError(f"{args.data_path}: column(s) {unknown} not found; the file has {table.column_names}")
    frame = table.select(list(dict.fromkeys([*protected, args.label]))).to_pandas()
    results = [group_metrics(frame, attr, args.label, args.positive) for attr in protected]
    if args.json:
        print(json.dumps({"source": str(args.data_path), "label": args.label, "positive": args.positive,
                          "attributes": [m.to_dict() for m in results]}, indent=2, ensure_ascii=False))
        return 0
    print(f"{args.data_path}: {frame.shape[0]} rows, label {args.label}, positive {args.positive!r}")
    for m in results:
        print(f"\n{m.attribute}")
        rows = [("group", "rows", "share", "labelled", "positives", "positive rate")]
        for name, g in m.groups.items():
            rate = "-" if g.positive_rate is None else f"{g.positive_rate:.4f}"
            rows.append((name, str(g.count), f"{g.share:.4f}", str(g.labelled), str(g.positives), rate))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        di = "-" if m.disparate_impact is None else f"{m.disparate_impact:.4f}"
        dpd = "-" if m.parity_difference is None else f"{m.parity_difference:.4f}"
        print(f"  disparate impact (min rate / max rate): {di}")
        print(f"  demographic parity difference (max rate - min rate): {dpd}")
        if m.note:
            print(f"  note: {m.note}")
    return 0
