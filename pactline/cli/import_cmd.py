"""`pactline import odcs CONTRACT --provider P [--dataset ID] [--schema NAME] [--out FILE]`: a draft dataset block.

The contract is untrusted input: read with the agreement loader's limits (size, UTF-8, no YAML aliases, no
duplicate keys, bounded nesting) and validated against ODCS before anything is drafted. The draft (columns, types,
quality rules, a comment on each column) is printed, or written to FILE; paste it into an agreement, review the
columns' categories and transformations, and have every party sign the new version.
"""

from __future__ import annotations

import argparse


def _import(args: argparse.Namespace) -> int:
    from pactline.cli.draft_cmd import hand_out
    from pactline.errors import AgreementError, Problem
    from pactline.odcs import draft_from_contract, read_contract

    contract = read_contract(args.contract)
    try:
        draft = draft_from_contract(contract, args.provider, args.dataset, args.schema)
    except ValueError as e:
        raise AgreementError(args.contract, [Problem("schema", None, str(e))]) from None
    header = (f"Drafted by `pactline import odcs` from contract {contract.get('id')} v{contract.get('version')}: "
              "review every column's category, legal basis and transformation, and point source.uri at the "
              "provider's file.")
    if draft["skipped"]:
        header += " Not carried over: " + "; ".join(draft["skipped"]) + "."
    return hand_out(draft, header, args.provider, args.out, f"draft from {args.contract}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="draft agreement text from another standard (odcs: a data contract)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    odcs = kinds.add_parser("odcs", help="a draft dataset block from an ODCS v3 data contract")
    odcs.add_argument("contract", metavar="CONTRACT", help="the ODCS contract (YAML)")
    odcs.add_argument("--provider", required=True, metavar="P", help="party id of the dataset's provider")
    odcs.add_argument("--dataset", metavar="ID", help="dataset id (default: from the contract)")
    odcs.add_argument("--schema", metavar="NAME", help="which schema object of the contract (default: the first)")
    odcs.add_argument("--out", metavar="FILE", help="write the draft here (default: print it)")
    odcs.set_defaults(func=_import)
