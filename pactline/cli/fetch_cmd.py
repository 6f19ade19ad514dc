"""`pactline fetch OUTPUT`: the recipient takes a release from the exchange into its own encrypted store.

The manifest must carry the provider's signature, the fingerprint of a version the recipient signed, and
every file's hash; only then is the data key requested: from the provider's API server (`--api URL`,
authenticated as an Airflow user that an `access:` grant names; token from $PACTLINE_API_TOKEN, or
$PACTLINE_API_USER / $PACTLINE_API_PASSWORD for Airflow's /auth/token), or on the embedded default, where
provider and recipient share one deployment, from the local key release as `--as PRINCIPAL`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from pactline.agreement import LoadedAgreement, load_agreement
from pactline.delivery.client import api_token, request_key_over_http
from pactline.errors import PactlineError, PolicyViolation
from pactline.retention.due import load_agreements
from pactline.retention.run import agreement_paths


def _agreement(args: argparse.Namespace) -> LoadedAgreement:
    if args.agreement:
        return load_agreement(args.agreement)
    paths = agreement_paths()  # the same agreements folder retention reads
    found, _ = load_agreements(paths)
    for loaded in found.values():
        if any(o.id == args.output for o in loaded.agreement.outputs):
            return loaded
    raise PactlineError(f"no agreement in {paths[0]} has an output {args.output!r}; pass --agreement FILE")


def _fetch(args: argparse.Namespace) -> int:
    from pactline.delivery.fetch import fetch_release, latest_version
    from pactline.delivery.key_release import KeyRefused, KeyRequest, release_key
    from pactline.ledger.witness import seal
    from pactline.recording import ledger_recorder
    from pactline.store import DataRoot, default_vault

    loaded = _agreement(args)
    output = next(o for o in loaded.agreement.outputs if o.id == args.output)
    version = args.version or latest_version(loaded, args.output)
    record = ledger_recorder(loaded, actor="cli:fetch", run_id=None)
    as_of = args.as_of or dt.datetime.now(dt.UTC).date()

    if args.api:
        request_key = request_key_over_http(args.api, output.id, output.recipient, api_token(args.api.rstrip("/")))
    else:
        if not args.as_:
            raise PactlineError("name the principal the access: grant names: --as PRINCIPAL (or give --api URL)")

        def request_key(version_id: str) -> dict[str, Any]:
            try:
                return release_key(loaded, KeyRequest(version_id, args.as_, output.recipient), as_of=as_of,
                                   vault=default_vault(), record=record)
            except KeyRefused as e:
                raise PolicyViolation(e.clause, f"the key was refused ({e.status}): {e}") from None

    try:
        got = fetch_release(loaded, output.id, version, request_key=request_key, root=DataRoot(), record=record)
    finally:
        seal()  # the key release (embedded default) and the receipt are under a signed checkpoint at once
    print(f"received {output.id} {version}: {got['rows']} rows in {got['files']} file(s), stored encrypted at "
          f"{got['path']} (version {got['version_id']}); key valid until {got['key_expires']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="take a release from the exchange into this (the recipient's) store, verified")
    p.add_argument("output", metavar="OUTPUT")
    p.add_argument("--version", metavar="V", help="the release's version (default: the newest on the exchange)")
    p.add_argument("--agreement", metavar="FILE", help="the agreement (default: the one in $PACTLINE_AGREEMENTS "
                                                       "with this output)")
    p.add_argument("--api", metavar="URL", help="the provider's Airflow API server, which releases the key")
    p.add_argument("--as", dest="as_", metavar="PRINCIPAL", help="embedded default: the access: principal to "
                                                                  "request the key as")
    p.add_argument("--as-of", type=dt.date.fromisoformat, metavar="DATE", help="the key release's clock "
                                                                                "(embedded default only)")
    p.set_defaults(func=_fetch)
