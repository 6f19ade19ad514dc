"""Peak memory of streaming protect (Parquet file -> Parquet file) as the input grows.

    python bench/memory.py [--sizes 1000000 5000000] [--batch-size 65536] [--seed 0] [--no-baseline]

Step 1 writes one seeded input file per size into a temporary directory (the six PII columns of
bench/protect_throughput.py plus a visit timestamp shifted per subject and a segment column whose
rare values are pooled, so the two-pass rare_to_other path is exercised too).
Step 2 measures each size in a fresh subprocess: peak RSS of pactline.protect.protect_parquet,
which reads with ParquetFile.iter_batches and writes with ParquetWriter. Goal: the peak at the
largest size within 1.2x of the peak at the smallest.

Peak RSS is the process's VmHWM from /proc/self/status. getrusage(RUSAGE_SELF).ru_maxrss is
printed beside it but is not used: on Linux it survives fork+exec, so a child reports at least
the parent's peak (the generator step runs in its own subprocess for the same reason).
Baseline, same files, same kind of subprocess: read the whole table, protect_table, write it.
The RSS of a subprocess that only imports everything is printed so the figures can be read net.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protect_throughput import _column, fixed_keys, people_dataset, people_table

from pactline.agreement.model import Dataset
from pactline.protect import protect_parquet, protect_table

CHUNK = 500_000
SEGMENTS = [f"segment-{i:03d}" for i in range(200)]


def dataset() -> Dataset:
    base = people_dataset()
    columns = dict(base.columns)
    columns["visit"] = _column({"kind": "date_shift", "subject_column": "email", "max_days": 30}, "timestamp")
    columns["segment"] = _column({"kind": "generalise", "method": "rare_to_other", "min_count": 1000}, "categorical")
    return base.model_copy(update={"columns": columns})


def write_input(path: Path, rows: int, seed: int) -> None:
    """Seeded input written chunk by chunk (row groups of 100k rows), so generating it stays small too."""
    with pq.ParquetWriter(path, _schema()) as writer:
        for i, start in enumerate(range(0, rows, CHUNK)):
            n = min(CHUNK, rows - start)
            rng = np.random.default_rng([seed, i])
            table = people_table(n, seed=seed * 1000 + i)
            minutes = rng.integers(0, 5 * 365 * 24 * 60, n) * 60_000_000
            visit = pc.cast(pa.array(minutes + 1_577_836_800_000_000), pa.timestamp("us"))
            weights = 1.0 / np.arange(1, len(SEGMENTS) + 1) ** 1.5  # long tail: many rare segments
            segment = pa.array(SEGMENTS).take(pa.array(rng.choice(len(SEGMENTS), n, p=weights / weights.sum())))
            table = table.append_column("visit", visit).append_column("segment", segment)
            writer.write_table(table, row_group_size=100_000)


def _schema() -> pa.Schema:
    table = people_table(1)
    return table.schema.append(pa.field("visit", pa.timestamp("us"))).append(pa.field("segment", pa.string()))


def peak_rss_mb() -> float:
    """High-water mark of this process's resident memory (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, src: str, dst: str, batch_size: int, seed: int) -> None:
    """Runs in a fresh process; prints its peak RSS as JSON."""
    start = time.perf_counter()
    keys, ds = fixed_keys(), dataset()
    if mode == "generate":  # src is the number of rows
        write_input(Path(dst), int(src), seed)
    elif mode == "streaming":
        protect_parquet(src, dst, ds, keys=keys, batch_size=batch_size)
    elif mode == "whole":
        out, _ = protect_table(pq.read_table(src), ds, keys=keys)
        pq.write_table(out, dst)
    seconds = time.perf_counter() - start
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"peak_mb": peak_rss_mb(), "ru_maxrss_mb": maxrss_mb, "seconds": seconds}))


def measure(mode: str, src: Path | int, dst: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, str(src), str(dst),
           "--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the whole-table baseline")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SRC", "DST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, batch_size=args.batch_size, seed=args.seed)
        return

    with tempfile.TemporaryDirectory(prefix="pactline-bench-memory-") as tmp:
        tmpdir = Path(tmp)
        inputs = {}
        for rows in args.sizes:  # step 1: inputs, generated before anything is measured
            inputs[rows] = tmpdir / f"people-{rows}.parquet"
            made = measure("generate", rows, inputs[rows], args)
            size_mb = inputs[rows].stat().st_size / 2**20
            print(f"input {rows:>9,} rows: {size_mb:,.0f} MB parquet, generated in {made['seconds']:.1f} s "
                  f"(seed {args.seed})")

        imports = measure("imports-only", inputs[args.sizes[0]], tmpdir / "none.parquet", args)
        print(f"subprocess that only imports pactline/pyarrow: peak {imports['peak_mb']:,.0f} MB")
        modes = ["streaming"] if args.no_baseline else ["streaming", "whole"]
        peaks: dict[str, dict[int, float]] = {m: {} for m in modes}
        for mode in modes:  # step 2: each size in a fresh subprocess
            label = "streaming protect_parquet" if mode == "streaming" else "baseline read_table+protect_table"
            for rows in args.sizes:
                out = tmpdir / f"out-{mode}-{rows}.parquet"
                result = measure(mode, inputs[rows], out, args)
                peaks[mode][rows] = result["peak_mb"]
                rate = rows / result["seconds"]
                print(f"{label:<34} {rows:>9,} rows: peak RSS {result['peak_mb']:>7,.0f} MB "
                      f"(ru_maxrss {result['ru_maxrss_mb']:,.0f} MB; {result['seconds']:.1f} s, {rate:,.0f} rows/s)")
                out.unlink(missing_ok=True)
        small, large = args.sizes[0], args.sizes[-1]
        for mode in modes:
            ratio = peaks[mode][large] / peaks[mode][small]
            print(f"ratio {mode:<9} peak {large:,} / {small:,} rows: {ratio:.2f}x")
        ratio = peaks["streaming"][large] / peaks["streaming"][small]
        print(f"goal: streaming within 1.2x: {'met' if ratio <= 1.2 else 'NOT met'}")
        if "whole" in peaks:
            print(f"streaming vs whole-table baseline at {large:,} rows: "
                  f"{peaks['whole'][large] / peaks['streaming'][large]:.1f}x less memory")


if __name__ == "__main__":
    main()
