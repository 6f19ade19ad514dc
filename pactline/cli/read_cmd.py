"""`pactline read`: decrypt a stored version for a principal the agreement grants `read` on its zone.

The gate (pactline.access) finds the version in the catalog, the agreement it belongs to in the
agreements folder, and the grant; every attempt is in the ledger (data.read / data.read_refused),
and a read is recorded before anything decrypted is shown or written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from pactline import access
from pactline.access import ENV_PRINCIPAL, ReadGate, data_file, relative_path
from pactline.store import DataRoot

DESCRIPTION = f"""\
Decrypt a stored version (landing, staging, reports or a release) for a principal the agreement
grants `read` on that version's zone, on the date of the read (grant's valid_until not passed).

The version's agreement is the file in the agreements folder with the id the catalog stored for
the version; it must be signed by every party and in force. If it was amended since the version
was written, the current text decides (the parties signed it last: a withdrawn grant is withdrawn
for old data too); the read says so and the ledger entry names both fingerprints. Landing and
staging hold data before protection: only a grant naming zone `landing` or `staging` opens them.

Every attempt is a ledger entry: data.read (principal, version, zone, path, rows/columns/bytes
returned, the grant) or data.read_refused (clause, principal, zone). No data value is recorded.

The principal: --as PRINCIPAL, else ${ENV_PRINCIPAL}. It is declared, not authenticated (whoever
holds the KEK can claim any name): the gate keeps honest tools inside the agreement and makes every
read accountable; keep the KEK from anyone the agreement does not name.

The date of the read is today (UTC). --as-of may set it later, to see what a later date allows,
never earlier: a grant that has ended stays ended."""


def _read(args: argparse.Namespace) -> int:
    from pactline.recording import open_ledger
    from pactline.retention.due import load_agreements
    from pactline.retention.run import agreement_paths

    root = DataRoot()
    catalog = root.vault.catalog
    rel = data_file(root, catalog, relative_path(root, args.path), args.path)
    paths = agreement_paths(args.agreements)
    agreements, _errors = load_agreements(paths)
    gate = ReadGate(root, open_ledger(), agreements, where=", ".join(str(p) for p in paths))
    principal = args.principal or os.environ.get(ENV_PRINCIPAL) or None
    as_of = args.as_of or access.today()
    granted = gate.authorize(rel, principal, as_of)
    for note in granted.notes:
        print(f"note: {note}", file=sys.stderr)
    table = gate.load(granted)
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(f".{out.name}.partial")
        try:
            if out.suffix == ".csv":
                import pyarrow.csv as pacsv

                pacsv.write_csv(table, tmp)
            else:
                import pyarrow.parquet as pq

                pq.write_table(table, tmp)
            gate.record(granted, rows=table.num_rows, columns=table.num_columns, nbytes=tmp.stat().st_size,
                        exported_to=str(out.resolve()))
            os.replace(tmp, out)  # the decrypted copy appears only once its export is in the ledger
        finally:
            tmp.unlink(missing_ok=True)
        print(f"wrote {table.num_rows} rows to {args.out} as {principal} under {granted.clause} "
              "(decrypted: keep it where the agreement allows)", file=sys.stderr)
        return 0
    shown = table.slice(0, max(args.head, 0))
    text = shown.to_pandas().to_string(max_colwidth=60)
    gate.record(granted, rows=shown.num_rows, columns=shown.num_columns, nbytes=len(text.encode()))
    print(text)
    print(f"\n{shown.num_rows} of {table.num_rows} rows, {table.num_columns} columns; read as {principal} "
          f"under {granted.clause} (recorded in the ledger)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("read", help="decrypt and show (or export) a stored version for a principal the agreement "
                       "grants read on its zone; every attempt is in the ledger",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", metavar="PATH", help="a table file or version folder: as `pactline run` prints it, "
                   "relative to the data root, or relative to the current directory inside a local data root "
                   "(e.g. .pactline/data/...)")
    p.add_argument("--as", dest="principal", metavar="PRINCIPAL",
                   help=f"the principal you read as, as the agreement's access: section names it (default ${ENV_PRINCIPAL})")
    p.add_argument("--as-of", type=dt.date.fromisoformat, metavar="DATE",
                   help="the date grants are checked against, YYYY-MM-DD: today (UTC, the default) or later, never earlier")
    p.add_argument("--agreements", action="append", metavar="PATH",
                   help="agreement file or folder (repeatable; default $PACTLINE_AGREEMENTS or include/agreements)")
    p.add_argument("--head", type=int, default=10, metavar="N", help="rows to show (default 10)")
    p.add_argument("--out", metavar="FILE", help="write the whole decrypted table to FILE (.parquet or .csv)")
    p.set_defaults(func=_read)
