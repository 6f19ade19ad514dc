"""Ledger append throughput, verify and proof cost at scale.

    python bench/ledger_append.py [--entries 100000] [--postgres URL]

Needs only the core install; nothing is downloaded.

Baseline (same run, same machine, same SQLite pragmas): a bare INSERT of the same columns,
one BEGIN IMMEDIATE transaction per row, with no canonical encoding, hashing or signing.
The ratio shows what tamper evidence costs per append. Then, on the full ledger: one
verify() (recomputes every leaf and every checkpoint root) and one inclusion proof plus
its standalone check.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pactline.ledger import Ledger, check_inclusion_proof


def payload(i: int) -> dict:
    return {"rows": i * 7, "dataset": "admissions", "step": "protect", "columns": ["age", "postcode"]}


def bench_baseline(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE t (idx INTEGER PRIMARY KEY, ts TEXT, event TEXT, agreement_id TEXT, "
        "fingerprint TEXT, actor TEXT, payload TEXT, leaf_hash BLOB)"
    )
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        (idx,) = conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM t").fetchone()
        conn.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (idx, "2026-01-01T00:00:00Z", "transform.applied", "dsa-1", None, "etl", json.dumps(payload(i)), b""),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def bench_ledger(url: str, n: int, key: Ed25519PrivateKey) -> float:
    with Ledger.open(url, signing_key=key) as lg:
        start = time.perf_counter()
        for i in range(n):
            lg.append("transform.applied", agreement_id="dsa-1", actor="etl", payload=payload(i))
        append_s = time.perf_counter() - start
        print(f"  append      {n / append_s:10.0f} entries/s  ({append_s:.2f} s)")

        start = time.perf_counter()
        result = lg.verify()
        print(f"  verify      {time.perf_counter() - start:10.2f} s  ok={result.ok} size={result.size}")

        start = time.perf_counter()
        proof = lg.prove_inclusion(n // 3)
        prove_s = time.perf_counter() - start
        start = time.perf_counter()
        check_inclusion_proof(proof.to_json(), lg.public_key_pem())
        check_s = time.perf_counter() - start
        print(f"  prove       {prove_s * 1000:10.1f} ms   check {check_s * 1000:.1f} ms  path={len(proof.audit_path)}")
    return append_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--postgres", help="also run against this PostgreSQL URL (use an empty schema)")
    args = ap.parse_args()
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        # The baseline runs before and after the ledger and the faster run counts, so disk noise
        # from other work on the machine does not flatter the ledger.
        first = bench_baseline(Path(tmp) / "baseline1.sqlite", args.entries)
        print("pactline ledger on SQLite:")
        ledger_s = bench_ledger(f"sqlite:///{tmp}/ledger.sqlite", args.entries, key)
        base_s = min(first, bench_baseline(Path(tmp) / "baseline2.sqlite", args.entries))
        print(f"baseline: bare SQLite INSERT, one transaction per row: {args.entries / base_s:.0f} rows/s")
        print(f"ratio ledger/baseline append time: {ledger_s / base_s:.2f}x")
    if args.postgres:
        print("pactline ledger on PostgreSQL:")
        bench_ledger(args.postgres, args.entries, key)


if __name__ == "__main__":
    main()
