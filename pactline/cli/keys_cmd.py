"""`pactline rotate-kek`: re-wrap every live data key under a new key-encryption key.

Set the new KEK as the secret `pactline_kek` and the old one as `pactline_kek_previous` (an
Airflow connection/variable, PACTLINE_SECRET_PACTLINE_KEK[_PREVIOUS], or on the embedded default:
rename $PACTLINE_HOME/keys/pactline_kek.key to pactline_kek_previous.key, and a new pactline_kek.key
is made on first use). Nodes read with either KEK meanwhile. When it reports every key current,
retire the previous KEK (on PostgreSQL, VACUUM the keyring table first: dead row versions keep the
old wrapped keys until then). The rotation is written to the ledger, with KEK ids, never KEKs.
"""

from __future__ import annotations

import argparse
import json
import sys

from pactline.keys import KeyStore
from pactline.store.keyring import Keyring


def _rotate(args: argparse.Namespace) -> int:
    from pactline.recording import open_ledger

    keyring = Keyring(keystore=KeyStore())
    result = keyring.rotate()
    summary = {"keyring": keyring.url, "current_kek": result.current, "previous_kek": result.previous,
               "rewrapped": result.rewrapped, "already_current": result.already_current,
               "other_kek": result.other_kek}
    open_ledger().append("kek.rotated", agreement_id="*", actor="cli:rotate-kek", payload=summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"KEK {result.current}: {result.rewrapped} data key(s) re-wrapped from "
              f"{result.previous or 'no previous KEK'}, {result.already_current} already current")
    if not result.ok:
        where = ", ".join(f"{n} under KEK {k}" for k, n in sorted(result.other_kek.items()))
        print(f"not rotated: {where}; configure that KEK as the secret 'pactline_kek_previous' and run again",
              file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rotate-kek", help="re-wrap every live data key under the current KEK (pactline_kek) "
                                          "from the previous one (pactline_kek_previous)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_rotate)
