"""`pactline ledger ...`: verify the ledger, prove and check entries, sign checkpoints, show the tail.

Exit codes follow pactline.cli.main: 0 valid, 1 a verification or proof failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pactline.ledger import Ledger, LedgerConfigError, ProofError, check_proof
from pactline.ledger.config import ENV_URL

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_URL_HELP = f"ledger database URL (default: ${ENV_URL}, else sqlite file under $PACTLINE_HOME)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("ledger", help="verify and prove the tamper-evident ledger")
    sub = parser.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")

    p = sub.add_parser("verify", help="check every entry and checkpoint; exit 1 naming the first bad one")
    p.add_argument("--url", help=_URL_HELP)
    p.add_argument("--public-key", metavar="PEM_FILE", help="check checkpoints against this key instead of ours")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_verify)

    p = sub.add_parser("prove", help="print the inclusion proof of one entry (JSON)")
    p.add_argument("index", type=int, metavar="ENTRY_INDEX")
    p.add_argument("--url", help=_URL_HELP)
    p.add_argument("--tree-size", type=int, help="prove against this tree size (default: latest checkpoint)")
    p.set_defaults(func=_prove)

    p = sub.add_parser("check-proof", help="check a proof file with nothing but the ledger's public key")
    p.add_argument("proof_file", metavar="PROOF_FILE")
    p.add_argument("--public-key", metavar="PEM_FILE", required=True, help="from `pactline ledger public-key`")
    p.set_defaults(func=_check_proof)

    p = sub.add_parser("checkpoint", help="sign a checkpoint over the whole ledger now and print it")
    p.add_argument("--url", help=_URL_HELP)
    p.set_defaults(func=_checkpoint)

    p = sub.add_parser("public-key", help="print the public key (PEM) counterparties check proofs with")
    p.set_defaults(func=_public_key)

    p = sub.add_parser("tail", help="print the most recent entries")
    p.add_argument("-n", type=int, default=10, metavar="N", help="how many (default 10)")
    p.add_argument("--url", help=_URL_HELP)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_tail)


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LedgerConfigError(f"cannot read {what} {path}: {e}") from None


def _verify(args: argparse.Namespace) -> int:
    key = _read(args.public_key, "public key file") if args.public_key else None
    with Ledger.open(args.url, create=False) as ledger:
        result = ledger.verify(key)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        elif result.ok:
            cp = result.latest_checkpoint
            signed = f"latest signed checkpoint at tree size {cp.tree_size}" if cp else "no checkpoint yet"
            print(f"ok: {result.size} entries, {result.checkpoints_checked} checkpoints verified, {signed}")
        else:
            where = (
                f"entry {result.first_bad_index}"
                if result.first_bad_index is not None
                else f"checkpoint {result.bad_checkpoint_size}"
            )
            print(f"FAILED at {where}: {result.reason}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _prove(args: argparse.Namespace) -> int:
    with Ledger.open(args.url, create=False) as ledger:
        print(ledger.prove_inclusion(args.index, args.tree_size).to_json())
    return EXIT_OK


def _check_proof(args: argparse.Namespace) -> int:
    proof, key = _read(args.proof_file, "proof file"), _read(args.public_key, "public key file")
    try:
        print(check_proof(proof, key))
    except ProofError as e:
        print(f"invalid: {e}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _checkpoint(args: argparse.Namespace) -> int:
    with Ledger.open(args.url, create=False) as ledger:
        print(json.dumps(ledger.checkpoint().to_dict(), indent=2))
    return EXIT_OK


def _public_key(args: argparse.Namespace) -> int:
    from pactline.ledger.signing import load_signing_key, public_key_pem

    print(public_key_pem(load_signing_key()), end="")
    return EXIT_OK


def _tail(args: argparse.Namespace) -> int:
    if args.n < 0:
        raise LedgerConfigError("-n must be >= 0")
    with Ledger.open(args.url, create=False) as ledger:
        for entry in ledger.entries(max(0, ledger.size() - args.n), args.n):
            if args.json:
                print(json.dumps(entry.to_dict(), ensure_ascii=False))
                continue
            payload = json.dumps(entry.payload, ensure_ascii=False, sort_keys=True)
            payload = payload if len(payload) <= 100 else payload[:97] + "..."
            print(
                f"{entry.index:>7}  {entry.timestamp}  {entry.event:<18} {entry.agreement_id}"
                f"  actor={entry.actor or '-'}  {payload}"
            )
    return EXIT_OK
