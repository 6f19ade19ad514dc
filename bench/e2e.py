"""Whole-run overhead: the readmission agreement through Airflow's dag.test vs the same step kernels in-process.

    python bench/e2e.py [--rows 100000 1000000] [--seed 7] [--keep DIR] [--no-kernels]

For each size, include/generate_sample_data.py writes the readmission sample data (admissions.csv with
`rows` rows, one file; claims.parquet with about 85% as many) in a subprocess. Then ONE fresh process
per size (so no size inherits another's peak memory):

1. warms up: Airflow and its metadata DB (migrated), Pactline, GX, Presidio and spaCy, by running the
   step kernels once on 300 rows (not timed);
2. runs the agreement's DAG with dag.test (SQLite metadata DB, in-process task runner), with the steward
   approval of admissions-release given up front as `pactline run --approved-by` does (recorded in the
   ledger, the approval task marked success). Peak RSS of this phase is the process's VmHWM right after;
3. baseline, named: the sum of the same step kernels called in-process on the same data, with a
   RunContext and the real ledger, keyring and an empty data root of its own (so ingest is not reused):
   ingest+map_schema (read+map), scan_pii, check_quality, protect, suppress, check_privacy, check_bias,
   publish, for both datasets, each called exactly as its operator calls it (operators.render.OPERATORS'
   run bodies, which hold no Airflow code).

Printed: per size, the dag.test and kernel times and their ratio (the whole-run overhead: Airflow, the
per-task run context with its signature checks, XCom, the ledger listener); the same overhead measured inside
the dag.test run alone, its wall time / the time its tasks spent in the kernels (free-text redaction dominates
both runs, so their ratio moves with the load of a shared machine; this one does not); peak RSS per size and
largest / smallest (goal: within 1.2x); the per-step breakdown of the largest size (task duration in dag.test,
of which the run context and the kernel, vs the kernel called directly). --no-kernels skips the baseline: half
the time, for peak RSS and the overhead inside the dag.test run only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
AGREEMENT = REPO / "include" / "agreements" / "readmission.yaml"
GENERATOR = REPO / "include" / "generate_sample_data.py"
AS_OF = dt.date(2027, 1, 1)
RSS_GOAL = 1.2
WARM_ROWS = 300


def vm_hwm_mb() -> float:
    """This process's peak resident set (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the next phase's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# -- child: sample data -----------------------------------------------------------------------------


def generate(data: Path, rows: int, seed: int) -> tuple[int, int]:
    """The readmission files of include/generate_sample_data.py (its fraud files are not needed here)."""
    import importlib.util
    import random

    from faker import Faker

    spec = importlib.util.spec_from_file_location("generate_sample_data", GENERATOR)
    gen = importlib.util.module_from_spec(spec)
    sys.modules["generate_sample_data"] = gen
    spec.loader.exec_module(gen)
    if not hasattr(gen, "readmission"):  # the generator's layout changed: write everything it writes
        gen.generate(data, rows=rows, seed=seed)
        import pyarrow.parquet as pq

        return rows, pq.ParquetFile(data / "readmission" / "claims.parquet").metadata.num_rows
    rng = random.Random(seed)  # seeded as generate() seeds it
    fake = Faker("en_US")
    fake.seed_instance(seed)
    Faker.seed(seed)
    adm, claims = gen.readmission(rows, rng, fake)
    (data / "readmission").mkdir(parents=True, exist_ok=True)
    adm.to_csv(data / "readmission" / "admissions.csv", index=False)
    claims.to_parquet(data / "readmission" / "claims.parquet", index=False)
    return len(adm), len(claims)


# -- child: the measurements ------------------------------------------------------------------------


def workspace(ws: Path) -> Path:
    """ws/agreements/readmission.yaml, signed by every party with keys under PACTLINE_HOME (as tests/conftest.py
    sign_all does); the sample data goes to ws/data, the embedded default source root of that folder."""
    from pactline.cli.main import main as cli

    (ws / "agreements").mkdir(parents=True, exist_ok=True)
    path = ws / "agreements" / AGREEMENT.name
    shutil.copy(AGREEMENT, path)
    if cli(["keys", "new", "--agreement", str(path), "--all-parties", "--if-missing"]) != 0 \
            or cli(["sign", str(path), "--all-local"]) != 0:
        raise SystemExit("could not sign the agreement copy")
    return path


def kernels(path: Path, root: Path, run_id: str) -> tuple[dict[str, float], dict[str, object]]:
    """Every step of the plan, called in-process as its operator calls it; seconds per step. The data root and
    the catalog are this call's own (else ingest would find the dag.test run's landing copy and reuse it)."""
    from operators.render import OPERATORS
    from pactline.agreement import load_agreement
    from pactline.errors import PactlineError
    from pactline.keys import KeyStore
    from pactline.pipeline.context import RunContext
    from pactline.plan import APPROVE, build_plan
    from pactline.recording import ledger_recorder
    from pactline.store import DataRoot, Vault

    loaded = load_agreement(path)
    keystore = KeyStore()
    vault = Vault.open(keystore, catalog_url=f"sqlite:///{root}-catalog.sqlite")
    ctx = RunContext(loaded=loaded, run_id=run_id, as_of=AS_OF, root=DataRoot(str(root)), keystore=keystore,
                     recorder=ledger_recorder(loaded, actor="bench", run_id=run_id), vault=vault)
    seconds: dict[str, float] = {}
    results: dict[str, object] = {}
    for ds in build_plan(loaded).datasets:
        if ds.partitioned:
            raise SystemExit(f"dataset {ds.id} is partitioned; this benchmark times one file per dataset")
        upstream: dict[str, object] = {}  # what each operator pulls: the results so far by step kind
        for step in ds.steps:
            if step.kind == APPROVE:  # given up front, as for dag.test
                continue
            if step.kind not in OPERATORS:
                raise SystemExit(f"no operator for step kind {step.kind!r}")
            # the operator's run body (a few lines over the pipeline step function) with a stand-in for self
            params = {k: v for k, v in step.params.items() if k != "mapped"}
            self = SimpleNamespace(dataset_id=ds.id, step_params=params, upstream_steps={}, mapped_upstream=set(),
                                   partition=None, task_id=step.task_id)
            start = time.perf_counter()
            try:
                out = OPERATORS[step.kind].run(self, ctx, dict(upstream))
            except PactlineError as e:  # a failed gate: the DAG stops this dataset's downstream tasks too
                seconds[f"{ds.id}.{step.task_id}"] = time.perf_counter() - start
                results[f"{ds.id}.{step.task_id}"] = {"failed": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
                break
            seconds[f"{ds.id}.{step.task_id}"] = time.perf_counter() - start
            results[f"{ds.id}.{step.task_id}"] = out
            if step.kind != "publish":
                upstream[step.kind] = out
            if step.kind in ("protect", "suppress"):
                upstream["released"] = out
    return seconds, results


def instrument() -> dict[str, dict[str, float]]:
    """Time, per task of dag.test, the run context (agreement load, signature checks, ledger) and the kernel
    (the operator's run). Wrappers cost microseconds."""
    import operators.base as base
    import operators.steps  # noqa: F401 - the operator classes

    spent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    original_ctx = base.run_context

    def timed_context(agreement_path, fingerprint, context, dataset_id=None):
        start = time.perf_counter()
        try:
            return original_ctx(agreement_path, fingerprint, context, dataset_id)
        finally:
            spent[context["ti"].task_id]["context"] += time.perf_counter() - start

    base.run_context = timed_context

    def wrap(run):
        def timed_run(self, ctx, upstream):
            start = time.perf_counter()
            try:
                return run(self, ctx, upstream)
            finally:
                spent[self.task_id]["kernel"] += time.perf_counter() - start
        return timed_run

    todo = [base.PactlineOperator]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if "run" in cls.__dict__ and cls is not base.PactlineOperator:
            cls.run = wrap(cls.__dict__["run"])
    return spent


def run_dag(path: Path) -> tuple[float, object]:
    """dag.test of the agreement's DAG, approvals given as `pactline run --approved-by` gives them."""
    import re

    from operators.render import render
    from pactline.agreement import load_agreement
    from pactline.plan import APPROVE, build_plan
    from pactline.recording import ledger_recorder

    loaded = load_agreement(path)
    approvals = [f"{ds.id}.{s.task_id}" for ds in build_plan(loaded).datasets for s in ds.steps if s.kind == APPROVE]
    record = ledger_recorder(loaded, actor="cli:bench-steward", run_id=None)
    for task_id in approvals:  # the decision precedes the release in the ledger
        record("approval.decided", {"task": task_id, "decision": "Approve", "user": "bench-steward", "via": "cli",
                                    "as_of": AS_OF.isoformat()})
    dag = render(loaded)
    pattern = "|".join(re.escape(t) + "$" for t in approvals) or None
    start = time.perf_counter()
    run = dag.test(run_conf={"as_of": AS_OF.isoformat()}, mark_success_pattern=pattern)
    return time.perf_counter() - start, run


def measure(work: Path, out: Path, baseline: bool = True) -> None:
    """One size, in this fresh process: warm up, dag.test, then the kernels; results as JSON in `out`."""
    home = work / "home"
    os.environ["PACTLINE_HOME"] = str(home)
    for name in list(os.environ):  # the embedded default everywhere: local data root, SQLite ledger, one party
        if name.startswith(("PACTLINE_SOURCE_ROOT", "PACTLINE_SECRET_")) or name in (
                "PACTLINE_DATA_ROOT", "PACTLINE_LEDGER_URL", "PACTLINE_KEYRING_URL", "PACTLINE_CATALOG_URL",
                "PACTLINE_PARTY", "PACTLINE_EXCHANGE_URL"):
            del os.environ[name]
    os.environ["AIRFLOW_HOME"] = str(work / "airflow")
    path = workspace(work / "ws")
    warm = workspace(work / "warm")
    generate(work / "warm" / "data", WARM_ROWS, seed=11)  # the tests' sample: every gate passes

    t = time.perf_counter()
    from pactline.cli.run_cmd import prepare_airflow

    prepare_airflow(path.parent)  # Airflow's config and its migrated SQLite DB, as `pactline run` does
    with contextlib.suppress(ImportError):  # GX, Presidio, spaCy, the pipeline (the kernels below warm them too)
        import pactline.warm  # noqa: F401
    try:
        kernels(warm, work / "warm-root", "warmup")
    except Exception as e:  # warming only: what ran is warm
        print(f"warm-up stopped at a step ({type(e).__name__}); continuing", flush=True)
    spent = instrument()
    setup = time.perf_counter() - t

    dag_seconds, run = run_dag(path)
    dag_peak = vm_hwm_mb()
    state = str(getattr(run.state, "value", run.state))
    tasks = {}
    for ti in run.get_task_instances():
        tasks[ti.task_id] = {"seconds": ti.duration or 0.0, "state": str(getattr(ti.state, "value", ti.state)),
                             **{k: round(v, 3) for k, v in spent.get(ti.task_id, {}).items()}}

    reset = baseline and reset_hwm()
    kernel_total, kernel_seconds, results = None, {}, {}
    if baseline:
        start = time.perf_counter()
        kernel_seconds, results = kernels(path, work / "kernels-root", "kernels")
        kernel_total = time.perf_counter() - start
    rows = json.loads((work / "ws" / "data" / "rows.json").read_text())
    failed = {task: r["failed"] for task, r in results.items() if "failed" in r}
    out.write_text(json.dumps({
        "setup": setup, "dag": dag_seconds, "state": state, "tasks": tasks, "dag_peak_mb": dag_peak,
        "kernels": kernel_total, "kernel_steps": kernel_seconds,
        "kernels_peak_mb": vm_hwm_mb() if reset else None,
        "rows": rows, "kernels_failed": failed,
    }))


# -- the driver --------------------------------------------------------------------------------------


def child(*args: str, log: Path) -> int:
    """Run this file in a fresh process (its peak RSS is its own: no size inherits another's); its exit code.
    Peak RSS is read inside it (VmHWM), per phase: resetting the mark between phases also resets what the
    parent's getrusage/wait4 would report, so that would not be the dag.test run's peak."""
    with open(log, "ab") as fh:
        return subprocess.run([sys.executable, __file__, *args], stdout=fh, stderr=subprocess.STDOUT).returncode


def tail(log: Path, n: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def short(task: str) -> str:
    return task.replace("admissions.", "adm.").replace("publish_admissions-release", "publish").replace(
        "publish_claims-release", "publish").replace("approve_admissions-release", "approve")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="admissions rows per size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (data, Airflow DB, ledger, logs)")
    ap.add_argument("--no-kernels", action="store_true",
                    help="skip the kernels baseline: peak RSS and the overhead inside the dag.test run only")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "DIR", "ARG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, folder, arg = args.child
        sys.path.insert(0, str(REPO))
        if kind == "generate":
            admissions, claims = generate(Path(folder), int(arg), args.seed)
            (Path(folder) / "rows.json").write_text(json.dumps({"admissions": admissions, "claims": claims}))
        else:
            measure(Path(folder), Path(arg), baseline=not args.no_kernels)
        return

    work_root = args.keep or Path(tempfile.mkdtemp(prefix="pactline-e2e-"))
    results: dict[int, dict] = {}
    try:
        for rows in args.rows:
            work = work_root / f"rows-{rows}"
            if work.exists():
                shutil.rmtree(work)
            work.mkdir(parents=True)
            log = work / "log.txt"
            t = time.perf_counter()
            code = child("--seed", str(args.seed), "--child", "generate", str(work / "ws" / "data"), str(rows), log=log)
            if code:
                raise SystemExit(f"generating {rows:,} rows failed:\n{tail(log)}")
            print(f"generated {rows:,} admission rows (readmission sample data) in {time.perf_counter() - t:.0f}s",
                  flush=True)
            code = child(*(["--no-kernels"] if args.no_kernels else []), "--child", "measure", str(work),
                         str(work / "result.json"), log=log)
            if code or not (work / "result.json").exists():
                raise SystemExit(f"the run at {rows:,} rows failed (log {log}):\n{tail(log)}")
            r = json.loads((work / "result.json").read_text())
            results[rows] = r
            kpeak = f"{r['kernels_peak_mb']:.0f}" if r["kernels_peak_mb"] else "n/a"
            base = (f"kernels {r['kernels']:7.1f}s  ratio {r['dag'] / r['kernels']:.2f}x" if r["kernels"]
                    else "no kernels")
            print(f"rows={rows:>9,} (claims {r['rows']['claims']:,}) dag.test {r['dag']:7.1f}s [{r['state']}]  "
                  f"{base}  peak RSS dag.test {r['dag_peak_mb']:.0f} MB, kernels {kpeak} MB  "
                  f"(setup {r['setup']:.0f}s)", flush=True)
            if r["state"] != "success" or r["kernels_failed"]:
                failed = [t for t, v in r["tasks"].items() if v["state"] == "failed"]
                print(f"  NOTE: a step failed, so both runs stopped that dataset there; failed task(s) in dag.test: "
                      f"{', '.join(failed) or 'none'}; in the kernels: "
                      + ("; ".join(f"{t}: {why}" for t, why in r["kernels_failed"].items()) or "none"), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)

    # The two runs are minutes apart on a shared machine, and free-text redaction dominates both, so their ratio
    # moves with the machine's load. The overhead is also measured inside the dag.test run alone: its wall time
    # minus the time its tasks spent in the kernels (the operators' run), which no load change between runs skews.
    print()
    print(f"{'rows':>10} {'dag.test s':>10} {'kernels s':>10} {'dag/kern':>9} {'in tasks':>9} {'between':>8} "
          f"{'kern in dag':>11} {'overhead':>9} {'RSS dag MB':>11} {'RSS kern MB':>12}")
    for rows, r in results.items():
        task_sum = sum(v["seconds"] for v in r["tasks"].values())
        r["kernels_in_dag"] = sum(v.get("kernel", 0.0) for v in r["tasks"].values())
        kpeak = f"{r['kernels_peak_mb']:.0f}" if r["kernels_peak_mb"] else "n/a"
        kern, ratio = (f"{r['kernels']:.1f}", f"{r['dag'] / r['kernels']:.2f}x") if r["kernels"] else ("n/a", "n/a")
        print(f"{rows:>10,} {r['dag']:>10.1f} {kern:>10} {ratio:>9} "
              f"{task_sum:>9.1f} {r['dag'] - task_sum:>8.1f} {r['kernels_in_dag']:>11.1f} "
              f"{r['dag'] - r['kernels_in_dag']:>9.1f} {r['dag_peak_mb']:>11.0f} {kpeak:>12}")
    print()
    for rows, r in results.items():
        if r["kernels"]:
            print(f"whole run (dag.test) / step kernels in-process (baseline) at {rows:,} rows: "
                  f"{r['dag'] / r['kernels']:.2f}x ({r['dag'] - r['kernels']:+.1f}s)")
        print(f"inside the dag.test run at {rows:,} rows, wall / its kernels: "
              f"{r['dag'] / r['kernels_in_dag']:.3f}x ({r['dag'] - r['kernels_in_dag']:.1f}s of Airflow, run contexts, "
              "XCom, listener)")
    sizes = sorted(results)
    if len(sizes) > 1:
        lo, hi = results[sizes[0]], results[sizes[-1]]
        ratio = hi["dag_peak_mb"] / lo["dag_peak_mb"]
        print(f"peak RSS of the dag.test run {sizes[-1]:,} / {sizes[0]:,} rows: {ratio:.2f}x "
              f"(goal <= {RSS_GOAL}x): {'met' if ratio <= RSS_GOAL else 'NOT met'}")
        if lo["kernels_peak_mb"] and hi["kernels_peak_mb"]:
            print(f"peak RSS of the kernels alone {sizes[-1]:,} / {sizes[0]:,} rows: "
                  f"{hi['kernels_peak_mb'] / lo['kernels_peak_mb']:.2f}x (after the dag.test run in the same process)")

    r = results[sizes[-1]]
    print(f"\nper step at {sizes[-1]:,} rows: task duration in dag.test (of which run context / kernel) vs the kernel "
          "called directly")
    print(f"{'task':<34} {'task s':>8} {'context':>8} {'kernel':>8} {'direct':>8}")
    for task, v in sorted(r["tasks"].items(), key=lambda kv: -kv[1]["seconds"]):
        direct = r["kernel_steps"].get(task)
        print(f"{short(task):<34} {v['seconds']:>8.2f} {v.get('context', 0):>8.2f} {v.get('kernel', 0):>8.2f} "
              f"{direct if direct is not None else float('nan'):>8.2f}")


if __name__ == "__main__":
    main()
