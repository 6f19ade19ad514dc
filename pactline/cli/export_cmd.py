"""`pactline export odcs FILE [--output ID] [--out-dir DIR]`: one ODCS v3 data contract per released output.

Each contract (schema after protection, quality rules that hold on the release, retention as SLA, roles and
parties) is validated against the `open-data-contract-standard` model and JSON Schema before it is written to
DIR/<output>.odcs.yaml. `datacontract test` can then check a decrypted copy of a release against it (README).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

HEADER = ("# ODCS {api} data contract of output {output}, written by `pactline export odcs` from agreement {id} "
          "v{version}\n# (fingerprint {fingerprint}). Generated: edit the agreement, not this file.\n")


def _export(args: argparse.Namespace) -> int:
    from pactline.agreement import load_agreement
    from pactline.odcs import export_contracts

    loaded = load_agreement(args.file)
    contracts = export_contracts(loaded, args.output)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for output, contract in contracts.items():
        path = out_dir / f"{output}.odcs.yaml"
        header = HEADER.format(api=contract["apiVersion"], output=output, id=loaded.id,
                               version=loaded.agreement.metadata.version, fingerprint=loaded.fingerprint)
        path.write_text(header + yaml.safe_dump(contract, sort_keys=False, allow_unicode=True), encoding="utf-8")
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write an agreement in another standard (odcs: one data contract per output)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    odcs = kinds.add_parser("odcs", help="one ODCS v3 data contract per released output")
    odcs.add_argument("file", metavar="FILE", help="the agreement")
    odcs.add_argument("--output", metavar="ID", help="only this output (default: every output)")
    odcs.add_argument("--out-dir", default=".", metavar="DIR", help="where the contracts go (default: .)")
    odcs.set_defaults(func=_export)
