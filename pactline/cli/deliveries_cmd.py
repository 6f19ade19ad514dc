"""`pactline deliveries`: each release as on the exchange, received, deletion attested, or overdue."""

from __future__ import annotations

import argparse
import datetime as dt
import json


def _deliveries(args: argparse.Namespace) -> int:
    from pactline.delivery.attest import deliveries, delivery_events, settle, texts_made_under
    from pactline.parties import PartyKeys
    from pactline.recording import open_ledger
    from pactline.retention.due import load_agreements
    from pactline.retention.run import agreement_paths
    from pactline.store import default_vault

    agreements, _ = load_agreements(agreement_paths([args.agreements] if args.agreements else None))
    today = args.as_of or dt.datetime.now(dt.UTC).date()
    catalog, ledger = default_vault().catalog, open_ledger()
    settled = settle(agreements, catalog=catalog, ledger=ledger, today=today, party_keys=PartyKeys(),
                     actor="cli:deliveries") if args.settle else None
    rows = []
    for loaded in agreements.values():
        releases = catalog.versions(loaded.id)
        rows += [(loaded.id, d) for d in deliveries(loaded, releases, delivery_events(ledger, loaded.id), today,
                                                    texts_made_under(loaded, releases, catalog))]
    if args.json:
        print(json.dumps({"settled": settled, "deliveries": [
            {"agreement": a, "output": d.output, "version": d.version, "recipient": d.recipient,
             "due": d.due.isoformat() if d.due else None, "state": d.state} for a, d in rows]}, indent=2))
    else:
        for a, d in rows:
            print(f"{a:<22} {d.output:<26} {d.version:<32} {d.recipient:<18} due {d.due or 'unknown'}  {d.state}")
        if not rows:
            print("no releases")
    return 1 if any(d.overdue for _, d in rows) else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deliveries", help="each release: on the exchange, received, deletion attested or overdue")
    p.add_argument("--agreements", metavar="FOLDER", help="default $PACTLINE_AGREEMENTS")
    p.add_argument("--as-of", type=dt.date.fromisoformat, metavar="DATE")
    p.add_argument("--settle", action="store_true", help="first do what the retention DAG does: send attestations "
                                                         "for purged received releases, record those received, "
                                                         "open incidents for overdue ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_deliveries)
