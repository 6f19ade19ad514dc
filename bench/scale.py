"""Partitioned processing at scale: end-to-end protect + checks time and peak worker RSS.

    python bench/scale.py --rows 1000000 10000000 [--partition-rows 250000 | --partitions P] [--workers 1 2] [--cold]
                          [--no-protect-only]

Step 1 writes a seeded transactions input once per size into a temporary directory, as Parquet
files of `partition-rows` rows each (a glob source: one partition per file). Step 2 runs the
partitioned pipeline on it with W worker processes: every per-partition task (ingest, map_schema,
scan_pii, check_quality, protect, release) runs in a worker, the reduce steps (prepare, k_classes,
combine) in the driver, stage by stage as Airflow schedules mapped tasks. These are the very
functions the mapped Airflow operators call; Airflow's own scheduling overhead is left out (the
Celery integration test covers that path). A worker is one core, as a Celery worker slot: Arrow
runs single-threaded in it (--no-pin lets each worker use every core, in which case one worker
already keeps both cores of this machine busy in Arrow's kernels).

Baseline 2, named: a protect-only streaming pass over the same partitions, in the same run, with the same
workers and task processes: one task per partition reads the source partition (Parquet or CSV), casts it to
the declared types, transforms it with pactline.protect.protect_batches / output_schema as the partition protect
step does (known identifiers cut from free text first), and writes encrypted Parquet through the run's DataRoot,
bound to a vault, as the real step does. Printed: whole run / protect-only pass (goal <= 2.5x), what the
pipeline's other steps (landing copy, mapping, scan, checks, reduces) cost on top of the one pass that must
happen anyway.

Each task runs in a fresh process forked from a warm fork server (pactline.warm: Pactline, GX, the spaCy model
loaded), as an Airflow Celery worker forks one process per task. Peak worker RSS is the largest
VmHWM (/proc/self/status) of those task processes. Baseline, named: the same run with ONE worker.
Goals: peak worker RSS at the largest size within 1.2x of the smallest; with two workers,
throughput at least 1.7x that of one; the whole run at most 2.5x the protect-only pass. --cold adds a run
with a cold fork server (nothing preloaded: each task imports GX and loads spaCy itself, as a worker without
operators.celery_config does).

The agreement is the fraud agreement's transactions dataset (pseudonymised email, redacted IBAN,
age bands, transaction id unique over all partitions, k-anonymity over age and gender with
suppression, a bias check on gender), with the
transaction id an integer so the residual-PII scan has no free-text column to run Presidio over
row by row (that scan costs the same per row with or without partitions).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

AGREEMENT = """
apiVersion: pactline/v1
kind: DataSharingAgreement
metadata: {id: scale-bench, version: "1.0.0", title: Partitioned scale benchmark, effective: 2026-01-01,
           expires: 2027-12-31}
parties:
  - {id: bank, name: Bank, role: provider, jurisdiction: NL, contacts: [{name: A, email: a@bank.example}]}
  - {id: lab, name: Lab, role: recipient, jurisdiction: NL, contacts: [{name: B, email: b@lab.example}]}
purposes: [{id: fraud, description: Fraud model., permitted_model_types: [gradient_boosting]}]
keys: {pseudonymisation: scale_pseudonym_key}
datasets:
  - id: transactions
    provider: bank
    source: {uri: "parts/*.parquet", format: parquet}
    columns:
      transaction_id: {type: integer, category: non_personal, transformation: {kind: keep}}
      customer_email: {type: string, category: direct_identifier, legal_basis: legitimate_interests,
                       pii_entity: EMAIL_ADDRESS, transformation: {kind: pseudonymise, normalise: [strip, lower],
                       prefix: "cust_"}}
      iban: {type: string, category: direct_identifier, legal_basis: legitimate_interests, pii_entity: IBAN_CODE,
             transformation: {kind: redact}}
      amount_eur: {type: float, category: non_personal, transformation: {kind: keep}}
      merchant_category: {type: categorical, category: non_personal, transformation: {kind: keep}}
      booked_at: {type: timestamp, category: quasi_identifier, legal_basis: legitimate_interests,
                  transformation: {kind: keep}}
      age: {type: integer, category: quasi_identifier, legal_basis: legitimate_interests,
            transformation: {kind: generalise, method: bands, width: 10}}
      gender: {type: categorical, category: protected_attribute, legal_basis: legitimate_interests,
               transformation: {kind: keep}}
      is_fraud: {type: boolean, category: label, transformation: {kind: keep}}
quality_rules:
  - {dataset: transactions, column: transaction_id, rule: unique}
  - {dataset: transactions, column: amount_eur, rule: range, min: 0, max: 50000}
  - {dataset: transactions, column: is_fraud, rule: not_null}
  - {dataset: transactions, rule: row_count, min: 100}
privacy:
  k_anonymity: {k: 5, quasi_identifiers: [age, gender]}
  max_residual_pii_rate: 0.01
  on_undeclared_pii: fail
bias_checks:
  - {dataset: transactions, protected_attributes: [gender], label: is_fraud, positive: true,
     min_disparate_impact: 0.5, max_parity_difference: 0.1, max_drift: 0.05}
outputs:
  - {id: transactions-release, dataset: transactions, kind: protected, zone: sandbox, recipient: lab,
     purpose: fraud, approval_required: false}
retention: {landing_days: 7, staging_days: 14, sandbox_days: 60, production_days: 180, after_termination_days: 14}
access: [{principal: lab, zone: sandbox, permissions: [read], valid_until: 2027-12-31}]
incident_response: {notification_deadline_hours: 48, contacts: [{name: A, email: a@bank.example}]}
"""
CATEGORIES = np.array(["grocery", "travel", "electronics", "fuel", "restaurants", "online", "fashion", "pharmacy"])


def write_parts(folder: Path, rows: int, part_rows: int, seed: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n_parts = 0
    for i, start in enumerate(range(0, rows, part_rows)):
        n = min(part_rows, rows - start)
        rng = np.random.default_rng([seed, i])
        ids = np.arange(start, start + n, dtype=np.int64)
        customer = rng.integers(0, max(rows // 5, 10), n)
        email = pc.binary_join_element_wise(pa.array(["Cust"] * n), pc.cast(pa.array(customer), pa.string()),
                                            pa.array(["@Mail.example"] * n), "")
        iban = pc.binary_join_element_wise(pa.array(["NL91ABNA"] * n),
                                           pc.cast(pa.array(rng.integers(10**9, 10**10, n)), pa.string()), "")
        table = pa.table({
            "transaction_id": ids,
            "customer_email": email,
            "iban": iban,
            "amount_eur": np.round(rng.gamma(2.0, 40.0, n), 2),
            "merchant_category": CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
            "booked_at": pa.array(np.datetime64("2026-01-01T00:00:00") + rng.integers(0, 365 * 86400, n)
                                  .astype("timedelta64[s]")).cast(pa.timestamp("us")),
            "age": rng.integers(18, 90, n),
            "gender": np.where(rng.random(n) < 0.5, "female", "male"),
            "is_fraud": rng.random(n) < 0.03,
        })
        pq.write_table(table, folder / f"part-{i:05d}.parquet", row_group_size=65_536)
        n_parts += 1
    return n_parts


# -- the worker side ------------------------------------------------------------------------------


def peak_rss_mb(_: object = None) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def is_warm(_: object = None) -> bool:
    return "pactline.warm" in sys.modules


_CTX: dict[str, object] = {}
DATASET = "transactions"
# each step function by its names (current first) and the modules it lived or lives in: pactline.pipeline was
# reorganised (one module per step kind, partitioned.py gone); any other module of the package is searched next
STEPS = {"list": (("list_partitions", "list_partitions_step"), ("list_partitions",)),
         "ingest": (("ingest_partition",), ("ingest",)), "map": (("map_partition",), ("map_schema",)),
         "scan": (("scan_partition",), ("scan_pii",)), "quality": (("quality_partition",), ("check_quality",)),
         "prepare": (("prepare",), ("prepare",)), "protect": (("protect_partition",), ("protect",)),
         "k_classes": (("k_classes",), ("k_classes",)), "release": (("release_partition",), ("release",)),
         "combine": (("combine",), ("combine",)), "canonical_batch": (("canonical_batch",), ("map_schema",)),
         "declared_schema": (("declared_schema",), ("map_schema",)),
         "redact_known_identifiers": (("redact_known_identifiers",), ("known_identifiers",))}
_STEPS: dict[str, object] = {}


def step_function(kind: str):
    """A function of pactline.pipeline (defined there, not imported from elsewhere) by step kind, wherever the
    package keeps it. Modules are imported lazily, likeliest first, so a worker imports only what it runs."""
    if kind not in _STEPS:
        import importlib
        import pkgutil

        import pactline.pipeline as pipeline

        names, modules = STEPS[kind]
        candidates = [*modules, "partitioned", *sorted(m.name for m in pkgutil.iter_modules(pipeline.__path__))]
        for module in dict.fromkeys(candidates):
            try:
                mod = importlib.import_module(f"pactline.pipeline.{module}")
            except ModuleNotFoundError as e:
                if e.name == f"pactline.pipeline.{module}":
                    continue
                raise
            found = next((f for f in (getattr(mod, n, None) for n in names)
                          if callable(f) and getattr(f, "__module__", "").startswith("pactline.pipeline.")), None)
            if found is not None:
                _STEPS[kind] = found
                break
        else:
            raise SystemExit(f"no function {' or '.join(names)} in any module of pactline.pipeline")
    return _STEPS[kind]


def single_threaded(_: object = None) -> None:
    """A worker slot is one core, as a Celery worker with concurrency 1 per core: Arrow single-threaded
    (otherwise one worker already spreads its batch kernels over both cores and the comparison measures nothing)."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def context(agreement: str, run_id: str = "bench"):
    """One RunContext per run id and process, built from the environment (PACTLINE_HOME, the secrets)."""
    if run_id not in _CTX:
        from pactline.agreement import load_agreement
        from pactline.keys import KeyStore
        from pactline.pipeline.context import RunContext
        from pactline.recording import ledger_recorder
        from pactline.store import DataRoot

        loaded = load_agreement(agreement)
        _CTX[run_id] = RunContext(loaded=loaded, run_id=run_id, as_of=dt.date(2027, 1, 1), root=DataRoot(),
                                  keystore=KeyStore(), recorder=ledger_recorder(loaded, actor="bench", run_id=run_id))
    return _CTX[run_id]


def task(agreement: str, home: str, pin: bool, kind: str, *args):
    os.environ["PACTLINE_HOME"] = home  # forked from the fork server, whose environment is the first run's
    if pin:
        single_threaded()
    if kind == "protect_only":
        return protect_only(context(agreement, "protect-only"), args[0]), os.getpid(), peak_rss_mb()
    ctx = context(agreement)
    fn = step_function(kind)
    if kind == "protect":  # protect_partition(ctx, ds, mapped, prepared, *, quasi_identifiers)
        result = fn(ctx, DATASET, args[0], args[1], quasi_identifiers=args[2])
    else:
        result = fn(ctx, DATASET, *args)
    return result, os.getpid(), peak_rss_mb()


def protect_only(ctx, partition: dict) -> int:
    """Baseline 2: one streaming pass from the source partition to encrypted protected Parquet, nothing else.

    The source is read and cast to the declared types (the protect engine needs typed columns), each row's
    known identifiers are cut from its free text, protect_batches transforms the batch and the run's DataRoot
    (bound to the vault: a staging version with its own data key) writes it, as the partition protect step
    does. A rare_to_other column would need its counts first: a counting pass over the same partition."""
    import contextlib

    import fsspec

    from pactline.partition import Partition, open_partition
    from pactline.protect import count_categories, output_schema, protect_batches
    from pactline.protect.streaming import rare_columns
    from pactline.sources import locate_source
    from pactline.store.source import iter_batches

    canonical_batch = step_function("canonical_batch")
    redact_known_identifiers = step_function("redact_known_identifiers")
    ds = ctx.agreement.dataset(DATASET)
    p = Partition.from_dict(partition)
    root, _ = locate_source(ctx.loaded, DATASET)
    schema = step_function("declared_schema")(ds)
    to_canonical = dict(ds.schema_mapping)

    def typed():
        with open_partition(p, root) as checked, contextlib.ExitStack() as stack:
            fh = checked
            if not checked.seekable():  # a whole file, checked against the source root: Parquet needs seeks
                fs, path = fsspec.core.url_to_fs(p.uri)
                fh = stack.enter_context(fs.open(path, "rb"))
            names, batches = iter_batches(fh, p.name, ds.source.format, ds.source.delimiter)
            by_canonical = {to_canonical.get(n, n): n for n in names}
            offset = 0
            for batch in batches:
                yield canonical_batch(batch, by_canonical, ds, schema, offset)
                offset += batch.num_rows

    def redacted(batches):
        for batch in batches:
            table, _ = redact_known_identifiers(pa.Table.from_batches([batch]), ds)
            yield from table.combine_chunks().to_batches() or [batch.slice(0, 0)]

    counts = count_categories(typed(), ds) if rare_columns(ds) else None
    rows = 0
    out_rel = ctx.staging(DATASET, f"protect-only/part-{p.index:05d}.parquet")
    with ctx.root.parquet_writer(out_rel, output_schema(schema, ds, keys=ctx.keys)) as writer:
        for out in protect_batches(redacted(typed()), ds, keys=ctx.keys, counts=counts):
            writer.write_batch(out)
            rows += out.num_rows
    return rows


def run(agreement: Path, workers: int, pin: bool = True, preload: bool = True, protect_pass: bool = True) -> dict:
    """The partitioned pipeline with `workers` processes; returns seconds per stage and peak RSS.
    preload=False: a cold fork server, so every task imports GX and loads spaCy itself.
    protect_pass: then the protect-only pass over the same partitions with the same pool (baseline 2)."""
    ctx = context(str(agreement))
    ds = DATASET
    params = ctx.agreement.privacy.k_anonymity
    qis = list(params.quasi_identifiers)
    stages: dict[str, float] = {}
    peaks: dict[int, float] = {}

    # Each task in a fresh process forked from a warm fork server (spaCy, GX, Pactline loaded), as an
    # Airflow Celery worker forks a process per task: a task's memory is gone when it ends.
    mp = get_context("forkserver")
    forkserver._forkserver._stop()  # the fork server is per process: a fresh one, so this run's preload holds
    mp.set_forkserver_preload(["pactline.warm"] if preload else [])  # importable from the installed package: Python 3.11's fork
    # server ignores the parent's sys.path, and it drops a preload that fails to import without a word
    home = os.environ["PACTLINE_HOME"]
    with ProcessPoolExecutor(workers, mp_context=mp, max_tasks_per_child=1) as pool:
        if preload and not all(pool.map(is_warm, range(workers))):  # the fork server is up and warm before the clock
            raise SystemExit("the fork server did not preload pactline.warm; is Pactline installed (make install)?")
        t0 = time.perf_counter()

        def mapped(kind: str, *columns, peaks=peaks):
            start = time.perf_counter()
            out = []
            n = len(columns[0])
            for result, pid, peak in pool.map(task, [str(agreement)] * n, [home] * n, [pin] * n, [kind] * n, *columns):
                peaks[pid] = max(peaks.get(pid, 0.0), peak)  # one process per task: per-task peaks
                out.append(result)
            stages[kind] = time.perf_counter() - start
            return out

        start = time.perf_counter()
        parts = step_function("list")(ctx, ds)
        stages["list"] = time.perf_counter() - start
        ingested = mapped("ingest", parts)
        maps = mapped("map", ingested)
        scans = mapped("scan", maps)
        quality = mapped("quality", maps)
        start = time.perf_counter()
        prepared = step_function("prepare")(ctx, ds, maps, scans, quality)
        stages["prepare"] = time.perf_counter() - start
        protected = mapped("protect", maps, [prepared] * len(maps), [qis] * len(maps))
        start = time.perf_counter()
        classes = step_function("k_classes")(ctx, ds, protected, quasi_identifiers=qis, k=params.k,
                                             suppress=params.suppress, max_suppressed_rate=params.max_suppressed_rate)
        stages["k_classes"] = time.perf_counter() - start
        released = mapped("release", protected, [classes] * len(protected))
        start = time.perf_counter()
        combined = step_function("combine")(ctx, ds, mapped=maps, released=released, classes=classes)
        stages["combine"] = time.perf_counter() - start
        total = time.perf_counter() - t0
        protect_only_seconds = protect_only_peak = None
        if protect_pass:  # baseline 2: the same partitions, pool and task processes; one streaming pass each
            only_peaks: dict[int, float] = {}
            start = time.perf_counter()
            rows_only = sum(mapped("protect_only", parts, peaks=only_peaks))
            protect_only_seconds = time.perf_counter() - start
            protect_only_peak = max(only_peaks.values())
            del stages["protect_only"]
            if rows_only != combined["rows_in"]:
                raise SystemExit(f"protect-only pass wrote {rows_only:,} rows of {combined['rows_in']:,}")
    return {"seconds": total, "stages": stages, "worker_peak_mb": max(peaks.values()), "driver_peak_mb": peak_rss_mb(),
            "rows_in": combined["rows_in"], "rows_out": combined["rows"], "partitions": len(parts),
            "bias": combined["check_bias"]["passed"], "privacy": combined["check_privacy"]["passed"],
            "protect_only_seconds": protect_only_seconds, "protect_only_peak_mb": protect_only_peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--partitions", type=int, help="partitions per size (default: rows / --partition-rows)")
    ap.add_argument("--partition-rows", type=int, default=250_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold", action="store_true",
                    help="also run the smallest size with a cold fork server (no pactline.warm preload) as a "
                         "baseline for what preloading a worker saves")
    ap.add_argument("--no-protect-only", action="store_true",
                    help="skip baseline 2, the protect-only streaming pass over the same partitions")
    ap.add_argument("--no-pin", action="store_true",
                    help="let each worker use every core (Arrow threads); by default a worker is one pinned core")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="pactline-scale-") as tmp:
        tmp_path = Path(tmp)
        # the agreement's secret in its own namespace (<agreement id>__<name>), random like any real key
        os.environ["PACTLINE_SECRET_SCALE_BENCH__SCALE_PSEUDONYM_KEY"] = secrets.token_hex(32)
        os.environ.pop("PACTLINE_DATA_ROOT", None)
        os.environ.pop("PACTLINE_LEDGER_URL", None)
        for rows in args.rows:
            part_rows = -(-rows // args.partitions) if args.partitions else args.partition_rows
            data = tmp_path / f"data-{rows}"
            t = time.perf_counter()
            n = write_parts(data / "parts", rows, part_rows, args.seed)
            print(f"generated {rows:,} rows as {n} Parquet partitions of {part_rows:,} rows "
                  f"in {time.perf_counter() - t:.1f}s", flush=True)
            agreement = data / "agreement.yaml"
            agreement.write_text(AGREEMENT)
            os.environ["PACTLINE_SOURCE_ROOT"] = str(data)  # the bank's source root: the generated partitions
            runs = [(w, True) for w in args.workers]
            if args.cold and rows == min(args.rows):
                runs.append((max(args.workers), False))
            for workers, preload in runs:
                os.environ["PACTLINE_HOME"] = str(tmp_path / f"home-{rows}-{workers}-{preload}")
                _CTX.clear()
                r = run(agreement, workers, pin=not args.no_pin, preload=preload,
                        protect_pass=preload and not args.no_protect_only)
                results[(rows, workers) if preload else "cold"] = r
                stages = " ".join(f"{k}={v:.1f}" for k, v in r["stages"].items())
                print(f"rows={rows:>11,} workers={workers}{'' if preload else ' COLD'} partitions={r['partitions']:>3} "
                      f"{r['seconds']:7.1f}s {rows / r['seconds']:>9,.0f} rows/s  peak worker RSS "
                      f"{r['worker_peak_mb']:6.0f} MB (driver {r['driver_peak_mb']:.0f} MB)  released "
                      f"{r['rows_out']:,}  [{stages}]", flush=True)
                if r["protect_only_seconds"]:
                    print(f"{'':>17} protect-only pass {r['protect_only_seconds']:7.1f}s "
                          f"{rows / r['protect_only_seconds']:>9,.0f} rows/s  peak worker RSS "
                          f"{r['protect_only_peak_mb']:6.0f} MB", flush=True)
    print()
    cold = results.pop("cold", None)
    sizes = sorted({r for r, _ in results})
    one, two = min(args.workers), max(args.workers)
    if cold:
        ratio = cold["seconds"] / results[(sizes[0], two)]["seconds"]
        print(f"throughput with pactline.warm preloaded / cold fork server (baseline), {two} worker(s) at "
              f"{sizes[0]:,} rows: {ratio:.2f}x")
    for rows in sizes:
        if (rows, one) in results and (rows, two) in results and one != two:
            ratio = results[(rows, one)]["seconds"] / results[(rows, two)]["seconds"]
            print(f"throughput {two} workers / {one} worker (baseline) at {rows:,} rows: {ratio:.2f}x "
                  f"(goal >= 1.7x): {'met' if ratio >= 1.7 else 'NOT met'}")
    for (rows, workers), r in sorted(results.items()):
        if r["protect_only_seconds"]:
            ratio = r["seconds"] / r["protect_only_seconds"]
            print(f"whole run / protect-only pass (baseline) at {rows:,} rows, {workers} worker(s): {ratio:.2f}x "
                  f"(goal <= 2.5x): {'met' if ratio <= 2.5 else 'NOT met'}")
    if len(sizes) > 1:
        for workers in args.workers:
            lo, hi = results.get((sizes[0], workers)), results.get((sizes[-1], workers))
            if lo and hi:
                ratio = hi["worker_peak_mb"] / lo["worker_peak_mb"]
                print(f"peak worker RSS {sizes[-1]:,} / {sizes[0]:,} rows with {workers} worker(s): {ratio:.2f}x "
                      f"(goal <= 1.2x): {'met' if ratio <= 1.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
