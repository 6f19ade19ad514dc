"""`pactline draft DATA_FILE --dataset ID --provider P [--into AGREEMENT]`: a draft dataset block from the scan.

Each column gets a type, a category (direct identifier, quasi-identifier, sensitive, protected attribute or label
candidate, non-personal, free text), a suggested transformation and pii_entity, quality rules profiled from the
data, and a comment saying why (names, counts and shapes; allowed-values lists are the only values of the data
in it, for low-cardinality non-personal columns, for the steward to review). The draft is checked to load as
agreement text before it is printed. With --into, it is merged into the agreement file under a new version that
no party has signed yet: review it, then every party signs (`pactline sign`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def _draft(args: argparse.Namespace) -> int:
    from pactline.agreement.loader import read_text
    from pactline.draft import draft_dataset, merge_into, read_data
    from pactline.errors import DataError
    from pactline.pii import classify_table

    if args.sample < 1:
        raise DataError("--sample must be at least 1")
    data = Path(args.data_file)
    table, fmt, delimiter = read_data(data, args.delimiter)
    report = classify_table(table, args.sample, seed=args.seed, source=str(data))
    base = Path(args.into).resolve().parent if args.into else Path.cwd()
    source = {"uri": os.path.relpath(data.resolve(), base), "format": fmt,
              **({"delimiter": delimiter} if delimiter and delimiter != "," else {})}
    draft = draft_dataset(table, report, args.dataset, args.provider, source)
    counts = f"{table.num_rows} rows, {table.num_columns} columns"
    if args.into:
        note = (f"unsigned: dataset {args.dataset} drafted by `pactline draft` from {data.name}; review it, then "
                "every party signs this version")
        merged = merge_into(read_text(args.into), args.into, draft["dataset"], draft["why"], draft["quality_rules"],
                            note)
        Path(args.into).write_text(merged.text, encoding="utf-8")
        widening = sum(1 for c in merged.changes if c.effect == "widening")
        print(f"{args.into}: dataset {args.dataset} ({counts}) merged as version {merged.new_version} "
              f"(was {merged.old_version}); {len(merged.changes)} changes, {widening} widening; unsigned until every "
              f"party signs it (pactline signatures {args.into})")
        return 0
    header = (f"Drafted by `pactline draft` from {data.name} ({counts}, {min(report.sample_size, table.num_rows)} sampled by the PII "
              "scan). Review every column before the parties sign; legal bases are placeholders.")
    return hand_out(draft, header, args.provider, args.out)


def hand_out(draft: dict, header: str, provider: str, out: str | None, source: str = "<draft>") -> int:
    """A drafted dataset block as agreement text, checked to load (a draft that would not load is never handed
    out), written to `out` or printed. `pactline draft` and `pactline import` both hand out drafts this way."""
    from pactline.draft import check_fragment, render_fragment

    text = render_fragment(draft["dataset"], draft["why"], draft["quality_rules"], header)
    check_fragment(text, provider, source)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(out)
    else:
        print(text, end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("draft", help="a draft dataset block (columns, categories, transformations, quality rules) "
                                     "from a partner's CSV or Parquet file", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_file", metavar="DATA_FILE", help="the partner's CSV or Parquet file")
    p.add_argument("--dataset", required=True, metavar="ID", help="the dataset id")
    p.add_argument("--provider", required=True, metavar="P", help="party id of the provider")
    p.add_argument("--into", metavar="AGREEMENT", help="merge the draft into this agreement file (a new, unsigned "
                                                       "version)")
    p.add_argument("--out", metavar="FILE", help="write the draft here (default: print it)")
    p.add_argument("--delimiter", metavar="C", help="CSV delimiter (default: found from the header line)")
    p.add_argument("--sample", type=int, default=1000, metavar="N", help="rows the PII scan samples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.set_defaults(func=_draft)
