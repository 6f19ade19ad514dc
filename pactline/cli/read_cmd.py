"""`pactline read`: a released (or any stored) version decrypted for whoever holds its key."""

from __future__ import annotations

import argparse
import sys

from pactline.errors import DataError
from pactline.store import DataRoot


def _rel(root: DataRoot, path: str) -> str:
    """Accept a path relative to the data root, or the full path/URI `pactline run` printed."""
    for prefix in (root.url.rstrip("/") + "/", root.root.rstrip("/") + "/"):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path.lstrip("/") if not root.exists(path) else path


def _read(args: argparse.Namespace) -> int:
    root = DataRoot()
    rel = _rel(root, args.path)
    if rel.endswith("/") or not rel.endswith(".parquet"):
        rel = rel.rstrip("/") + "/data.parquet" if root.exists(rel.rstrip("/") + "/data.parquet") else rel
    if not root.exists(rel):
        raise DataError(f"{args.path}: no such file under the data root {root.url}")
    table = root.read_table(rel)
    if args.out:
        if args.out.endswith(".csv"):
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, args.out)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, args.out)
        print(f"wrote {table.num_rows} rows to {args.out} (decrypted: keep it where the agreement allows)",
              file=sys.stderr)
        return 0
    print(table.slice(0, args.head).to_pandas().to_string(max_colwidth=60))
    print(f"\n{table.num_rows} rows, {table.num_columns} columns", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("read", help="decrypt and show (or export) a stored version, e.g. a release")
    p.add_argument("path", metavar="PATH", help="a data.parquet or version folder, as `pactline run` prints it")
    p.add_argument("--head", type=int, default=10, metavar="N")
    p.add_argument("--out", metavar="FILE", help="write the decrypted table to FILE (.parquet or .csv)")
    p.set_defaults(func=_read)
