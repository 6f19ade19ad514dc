"""`pactline erase` and `pactline subject-report`: data-subject rights over an agreement's live versions.

The subject is given with --subject VALUE, or --subject - to read it from standard input (keeps
it out of shell history and the process list). It is never printed, logged or recorded.
"""

from __future__ import annotations

import argparse
import json
import sys

from pactline.retention.run import run_erasure, subject_report


def _subject(args: argparse.Namespace) -> str:
    return sys.stdin.readline().rstrip("\n") if args.subject == "-" else args.subject


def _erase(args: argparse.Namespace) -> int:
    report = run_erasure(args.file, _subject(args), column=args.column, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    if not args.dry_run:
        if report.registered:
            print(f"registered for later runs: rows of this subject in {', '.join(report.registered)} are dropped "
                  "at map_schema from now on")
        else:
            print("not registered: the subject was named by a column that is not pseudonymised or encrypted, so a "
                  "later delivery holding it is not filtered; erase again after each delivery", file=sys.stderr)
    if not report.replaced:
        print(f"{report.agreement_id}: none of {report.versions_checked} live version(s) holds the subject")
        return 0
    for r in report.replaced:
        if args.dry_run:
            print(f"would rewrite {r['old']} {r['base']} without {r['rows']} row(s)")
        else:
            print(f"{r['old']} -> {r['new']} {r['base']}: {r['rows_removed']} row(s) removed; receipt {r['receipt']}")
    if not args.dry_run:
        print(f"request {report.request_id}: {len(report.replaced)} version(s) replaced and crypto-shredded")
    return 0


def _report(args: argparse.Namespace) -> int:
    hits = subject_report(args.file, _subject(args), column=args.column)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    if not hits:
        print("no live version holds the subject")
    for h in hits:
        d = h.to_dict()
        to = f", released to {d['recipient']}" if d["recipient"] else ""
        print(f"{d['version_id']}  {d['zone']:<10} {d['base']}  {d['rows']} row(s){to}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="AGREEMENT_FILE")
    p.add_argument("--subject", required=True, metavar="VALUE", help="the subject's identifier value ('-': read stdin)")
    p.add_argument("--column", metavar="COL", help="canonical column the value is from (default: every "
                   "pseudonymised or encrypted identifier column)")
    p.add_argument("--json", action="store_true")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("erase", help="remove a data subject from every live version, shred the old versions")
    _common(p)
    p.add_argument("--dry-run", action="store_true", help="list the versions that would be rewritten")
    p.set_defaults(func=_erase)
    p = sub.add_parser("subject-report", help="list the live versions that hold a data subject")
    _common(p)
    p.set_defaults(func=_report)
