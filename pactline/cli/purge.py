"""`pactline purge`: crypto-shred every version past its retention, each with a signed receipt.

Each version is judged under the agreement text it was made under, as the store recorded it, so the
working directory and the agreement files do not matter; --agreements only stands in for a text the
store did not keep. A version whose text is known nowhere is kept and named on stderr.

Exit codes follow pactline.cli.main: 0 done (or nothing due), 1 some version could not be purged
(the others were; rerun to finish) or was kept because its agreement text is known nowhere (give
that agreement file with --agreements), 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from pactline.retention.run import run_purge


def _purge(args: argparse.Namespace) -> int:
    as_of = args.as_of or dt.datetime.now(dt.UTC).date()
    report = run_purge(as_of, agreements=args.agreements, dry_run=args.dry_run, actor="cli:purge")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        verb = "would purge" if args.dry_run else "purged"
        for vid in report.finished:
            print(f"{'would finish' if args.dry_run else 'finished'} interrupted purge of {vid}")
        for d in report.due:
            print(f"{verb} {d['version_id']} {d['base']} ({d['clause']}, due {d['due']})")
        for path in report.receipts:
            print(f"receipt {path}")
        for kept in report.kept:
            print(f"kept {kept['version_id']} {kept['base']}: {kept['reason']}", file=sys.stderr)
        for e in report.agreement_errors:
            print(f"agreement file not used: {e}", file=sys.stderr)
        if not report.due and not report.finished:
            print(f"nothing due on {as_of}")
    for e in report.errors:
        print(f"error: {e}", file=sys.stderr)
    return 1 if report.errors or report.kept else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("purge", help="crypto-shred every version past its retention, with signed deletion receipts")
    p.add_argument("--as-of", type=dt.date.fromisoformat, metavar="DATE",
                   help="the retention clock, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--dry-run", action="store_true", help="list what is due; change nothing")
    p.add_argument("--agreements", action="append", metavar="PATH",
                   help="agreement file or folder, read only for versions whose agreement text the store did not "
                        "keep (repeatable; default $PACTLINE_AGREEMENTS or include/agreements)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_purge)
