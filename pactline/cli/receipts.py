"""`pactline receipts verify|list`: deletion receipts against the ledger.

verify checks every receipt's signature, that its ledger entry holds exactly it, its inclusion
proof to a checkpoint the ledger signed and still extends, that the keyring shows the key
destroyed, and that every purged version has a receipt. Exit 1 naming each bad receipt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pactline.ledger.signing import load_public_key
from pactline.retention.run import verify_receipts
from pactline.store import DataRoot


def _verify(args: argparse.Namespace) -> int:
    key = load_public_key(Path(args.public_key).read_bytes()) if args.public_key else None
    report = verify_receipts(public_key=key)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for check in report.bad:
            print(f"BAD {check.path}:", file=sys.stderr)
            for problem in check.problems:
                print(f"  {problem}", file=sys.stderr)
        good = len(report.checks) - len(report.bad)
        print(f"{'ok' if report.ok else 'FAILED'}: {good} of {len(report.checks)} receipt(s) verify")
    return 0 if report.ok else 1


def _list(args: argparse.Namespace) -> int:
    root = DataRoot()
    for agreement_id in root.ls(""):
        for name in root.ls(f"{agreement_id}/receipts"):
            body = root.read_json(f"{agreement_id}/receipts/{name}").get("body", {})
            v = body.get("version", {})
            print(f"{body.get('receipt_id')}  {agreement_id}  {v.get('zone')}  {v.get('base')}  "
                  f"{body.get('clause')}  {body.get('purged_at')}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("receipts", help="list and verify deletion receipts")
    actions = parser.add_subparsers(dest="receipts_command", required=True, metavar="ACTION")
    p = actions.add_parser("verify", help="check every receipt against the ledger; exit 1 naming any bad one")
    p.add_argument("--public-key", metavar="PEM_FILE", help="the ledger's public key (default: ours)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_verify)
    p = actions.add_parser("list", help="one line per receipt")
    p.set_defaults(func=_list)
