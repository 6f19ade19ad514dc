"""`pactline ledger ...`: verify the ledger, prove and check entries, sign, publish and witness checkpoints,
show the tail.

Exit codes follow pactline.cli.main: 0 valid, 1 a verification, proof or witness check failed (or, with
`verify --strict`, entries are not covered by a signed checkpoint), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pactline.ledger import Ledger, LedgerConfigError, LedgerCorruptError, ProofError, check_proof
from pactline.ledger.config import ENV_URL
from pactline.ledger.witness import ENV_PARTY

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_URL_HELP = f"ledger database URL (default: ${ENV_URL}, else sqlite file under $PACTLINE_HOME)"
_EXCHANGE_HELP = "exchange folder or URL (default: $PACTLINE_EXCHANGE, else $PACTLINE_HOME/exchange)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("ledger", help="verify and prove the tamper-evident ledger")
    sub = parser.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")

    p = sub.add_parser("verify", help="check every entry and checkpoint; exit 1 naming the first bad one")
    p.add_argument("--url", help=_URL_HELP)
    p.add_argument("--public-key", metavar="PEM_FILE", help="check checkpoints against this key instead of ours")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--strict", action="store_true",
                   help="also fail (exit 1) when entries come after the latest signed checkpoint")
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

    p = sub.add_parser("publish", help="sign a checkpoint now and publish it, with the public key and a "
                       "consistency proof from the one published before, on the exchange")
    p.add_argument("--party", help=f"publish as this party (default: ${ENV_PARTY}, else 'embedded')")
    p.add_argument("--url", help=_URL_HELP)
    p.add_argument("--exchange", metavar="URL", help=_EXCHANGE_HELP)
    p.add_argument("--json", action="store_true", help="print what was published as JSON")
    p.set_defaults(func=_publish)

    p = sub.add_parser("witness", help="check another party's published checkpoints against the one kept; "
                       "exit 1 on a truncated or rewritten ledger, a changed key or a bad signature")
    p.add_argument("--party", required=True, help="the party whose ledger to witness")
    p.add_argument("--url", help=_URL_HELP + "; the result is recorded here")
    p.add_argument("--exchange", metavar="URL", help=_EXCHANGE_HELP)
    p.add_argument("--accept-key", metavar="KEY_ID",
                   help="accept the party's new signing key once (its key id, confirmed with the party out of band)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_witness)

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
        unsigned = result.unsigned_entries if result.ok else 0
        if args.json:
            print(json.dumps({**result.to_dict(), "strict": args.strict}, indent=2))
        elif result.ok:
            cp = result.latest_checkpoint
            signed = f"latest signed checkpoint at tree size {cp.tree_size}" if cp else "no checkpoint yet"
            print(f"ok: {result.size} entries, {result.checkpoints_checked} checkpoints verified, {signed}")
            if unsigned:
                first = cp.tree_size if cp else 0
                print(f"{'FAILED (--strict)' if args.strict else 'warning'}: {unsigned} unsigned "
                      f"entr{'y' if unsigned == 1 else 'ies'} ({first}..{result.size - 1}) after the latest signed "
                      "checkpoint: no signature covers them, so deleting or rewriting them would leave no trace "
                      "here. Sign and publish them with `pactline ledger publish`; only a checkpoint another party "
                      "witnessed (`pactline ledger witness`) shows a tail was not removed.",
                      file=sys.stderr if args.strict else sys.stdout)
            else:
                print("every entry is covered by a signed checkpoint")
        else:
            where = (
                f"entry {result.first_bad_index}"
                if result.first_bad_index is not None
                else f"checkpoint {result.bad_checkpoint_size}"
            )
            print(f"FAILED at {where}: {result.reason}", file=sys.stderr)
    return EXIT_OK if result.ok and not (args.strict and unsigned) else EXIT_FAILED


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


def _publish(args: argparse.Namespace) -> int:
    from pactline.ledger.witness import publish_checkpoint, published_path, resolve_party
    from pactline.store.exchange import open_exchange

    party = resolve_party(args.party)
    exchange = open_exchange(args.exchange)
    with Ledger.open(args.url, create=False) as ledger:
        ledger.checkpoint()  # cover every entry, so nothing is left unsigned by what is published
        try:
            pub = publish_checkpoint(ledger, party=party, exchange=exchange)
        except LedgerCorruptError as e:
            print(f"not published: {e}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        print(json.dumps({**pub.to_dict(), "uri": exchange.uri(published_path(party))}, indent=2))
        return EXIT_OK
    since = (f"extends tree size {pub.previous_tree_size} (consistency proof of {len(pub.proof.path)} hashes)"
             if pub.proof else "the first checkpoint published")
    print(f"published tree size {pub.checkpoint.tree_size} as {party}, key {pub.checkpoint.key_id}, {since}: "
          f"{exchange.uri(published_path(party))}")
    return EXIT_OK


def _witness(args: argparse.Namespace) -> int:
    from pactline.ledger.witness import witness

    hours, contacts = _incident_terms(args.party)
    with Ledger.open(args.url) as ledger:
        result = witness(args.party, ledger=ledger, exchange=args.exchange, actor="cli:witness",
                         accept_key=args.accept_key, notify_hours=hours, contacts=contacts)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    elif result.ok:
        print(f"ok: {result.message}")
    else:
        where = f"; incident in ledger entry {result.incident_index}" if result.incident_index is not None else ""
        print(f"FAILED: {result.message} (recorded in ledger entry {result.entry_index}{where})", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _incident_terms(party: str) -> tuple[int, list[str]]:
    """The notification deadline (the shortest) and contacts of the agreements naming `party`, for an incident."""
    from pactline.ledger.witness import DEFAULT_NOTIFY_HOURS

    try:
        from pactline.retention.due import load_agreements
        from pactline.retention.run import agreement_paths

        found, _ = load_agreements(agreement_paths())
    except Exception:  # no agreements readable here: the default deadline, no contacts
        return DEFAULT_NOTIFY_HOURS, []
    terms = [a.agreement.incident_response for a in found.values() if party in {p.id for p in a.agreement.parties}]
    if not terms:
        return DEFAULT_NOTIFY_HOURS, []
    contacts = sorted({c.email for t in terms for c in t.contacts})
    return min(t.notification_deadline_hours for t in terms), contacts


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
