"""Synthesis benchmark: Pactline's agreement-derived SDV setup against SDV with its own detected metadata.

    python bench/synth.py [--rows 100000] [--seed 0] [--datasets generated,readmission,readmission-protected]
                          [--dp-epsilon 1.0]

Datasets (real rows: `--rows` to train on plus a quarter as many held out for DCROverfittingProtection):

    generated              11 columns made with Faker pools and numpy: patient id, name, email, phone
                           (direct identifiers), age, sex, income, postcode, diagnosis, admission date,
                           readmitted label, with dependencies between age, income, diagnosis and label
    readmission            the example agreement's admissions data (include/generate_sample_data.py),
                           mapped and cast as the pipeline does, trained on raw (train_on: raw)
    readmission-protected  the same rows after the agreement's protect step (train_on: protected)

Each runs GaussianCopula two ways on the same rows in the same process:

    pactline   pactline.synth: metadata from the agreement (identifiers faked or regenerated, free text
               and dropped columns never modelled), seeded, range/allowed_values rules enforced
    baseline   SDV 2.0 as documented: Metadata.detect_from_dataframes, GaussianCopulaSynthesizer
               defaults, on the same columns pactline models

Both are scored by pactline.synth.evaluate (SDMetrics quality, DCR, disclosure on seeded subsamples;
exact copies and leaked identifiers on every row) and gated by the agreement's privacy.synthetic
thresholds with `relative_to_holdout` at its defaults (HOLDOUT_GATES): quality >= 0.9 x the holdout's
own quality score, DCRBaselineProtection >= 0.9 x the holdout's, exact-copy rate <= 1.5 x the holdout's
chance rate; DCROverfittingProtection >= 0.5 and 0 leaked identifier values stay absolute. The absolute
gates (min_quality_score 0.8, min_dcr_baseline_protection 0.5, max_exact_copies 0) are printed too.
Goal at 100,000 rows: pactline passes on all three tables, GaussianCopula fit + sample < 40 s each.
With --dp-epsilon, a third column runs dp_mst (pactline.synth.dp, OpenDP) at that epsilon (delta 1e-7) on
the same rows and is scored the same way. Fit and sample are timed as wall clock and as this process's CPU time (a shared machine inflates the
first, not the second).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from faker import Faker
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer

from pactline.agreement import load_agreement
from pactline.agreement.model import Dataset, HoldoutRelative, QualityRule, Synthesizer, SyntheticThresholds
from pactline.synth import SynthReport, evaluate, sample, split_holdout, train
from pactline.synth.evaluate import gates
from pactline.synth.frames import to_pandas
from pactline.synth.quiet import sdv_quiet

REPO = Path(__file__).resolve().parent.parent
HOLDOUT_GATES = HoldoutRelative()
ICD10 = ["I50.9", "J44.1", "E11.9", "N18.3", "I21.4", "J18.9", "K70.3", "F10.2", "C34.1", "A41.9"]


# -- the generated table ---------------------------------------------------------------------------

def generated_dataset() -> tuple[Dataset, list[QualityRule]]:
    personal = {"legal_basis": "art9_health_care"}
    cols = {
        "patient_id": {"type": "string", "category": "direct_identifier", "pii_entity": "MEDICAL_RECORD",
                       "transformation": {"kind": "pseudonymise"}, **personal},
        "full_name": {"type": "string", "category": "direct_identifier", "pii_entity": "PERSON",
                      "transformation": {"kind": "redact"}, **personal},
        "email": {"type": "string", "category": "direct_identifier", "pii_entity": "EMAIL_ADDRESS",
                  "transformation": {"kind": "redact"}, **personal},
        "phone": {"type": "string", "category": "direct_identifier", "pii_entity": "PHONE_NUMBER",
                  "transformation": {"kind": "mask"}, **personal},
        "age": {"type": "integer", "category": "quasi_identifier", "transformation": {"kind": "keep"}, **personal},
        "sex": {"type": "categorical", "category": "protected_attribute", "transformation": {"kind": "keep"},
                **personal},
        "income": {"type": "float", "category": "sensitive", "transformation": {"kind": "keep"}, **personal},
        "postcode": {"type": "string", "category": "quasi_identifier", "pii_entity": "LOCATION",
                     "transformation": {"kind": "keep"}, **personal},
        "diagnosis": {"type": "string", "category": "sensitive", "transformation": {"kind": "keep"}, **personal},
        "admission_date": {"type": "date", "category": "quasi_identifier", "transformation": {"kind": "keep"},
                           **personal},
        "readmitted": {"type": "boolean", "category": "label", "transformation": {"kind": "keep"}},
    }
    ds = Dataset.model_validate({"id": "patients", "provider": "hospital",
                                 "source": {"uri": "generated.csv"}, "columns": cols})
    rules = [
        QualityRule(dataset="patients", column="age", rule="range", min=0, max=120),
        QualityRule(dataset="patients", column="sex", rule="allowed_values", values=["female", "male", "diverse"]),
        QualityRule(dataset="patients", column="patient_id", rule="unique"),
    ]
    return ds, rules


def generated_table(rows: int, seed: int) -> pa.Table:
    """Faker is ~60 us a value, so names, emails and phones come from seeded Faker pools via numpy."""
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    first = np.array([fake.first_name() for _ in range(3000)])
    last = np.array([fake.last_name() for _ in range(3000)])
    phones = np.array([fake.phone_number() for _ in range(20000)])
    domains = np.array(["gmail.com", "yahoo.com", "outlook.com", "web.de", "proton.me", "icloud.com"])
    f, la = first[rng.integers(0, len(first), rows)], last[rng.integers(0, len(last), rows)]
    names = np.char.add(np.char.add(f, " "), la)
    digits = rng.integers(0, 1000, rows).astype(str)
    emails = np.char.add(np.char.add(np.char.add(np.char.lower(f), "."), np.char.lower(la)),
                         np.char.add(digits, np.char.add("@", domains[rng.integers(0, len(domains), rows)])))
    age = np.clip(rng.normal(52, 18, rows), 18, 99).astype(np.int64)
    sex = rng.choice(["female", "male", "diverse"], rows, p=[0.49, 0.49, 0.02])
    income = np.round(np.exp(9.4 + 0.025 * age + rng.normal(0, 0.35, rows)), 2)  # rises with age
    # a regional provider: a few hundred postcodes, a few of them common
    postcodes = np.array([f"{x:05d}" for x in rng.choice(np.arange(10000, 99999), 400, replace=False)])
    weights = 1 / np.arange(1, 401) ** 0.8
    postcode = postcodes[rng.choice(400, rows, p=weights / weights.sum())]
    # diagnoses depend on age; readmission on diagnosis and age
    young = np.array([0.02, 0.02, 0.15, 0.02, 0.02, 0.25, 0.12, 0.35, 0.01, 0.04])
    old = np.array([0.25, 0.2, 0.1, 0.15, 0.1, 0.04, 0.02, 0.01, 0.08, 0.05])
    diagnosis = np.where(age > 60, rng.choice(ICD10, rows, p=old), rng.choice(ICD10, rows, p=young))
    admitted = np.datetime64("2024-01-01") + rng.integers(0, 730, rows).astype("timedelta64[D]")
    risk = 0.03 + 0.002 * (age - 18) + np.isin(diagnosis, ["I50.9", "J44.1", "A41.9"]) * 0.35
    return pa.table({
        "patient_id": [f"P{900000 + i}" for i in rng.permutation(rows)],
        "full_name": names,
        "email": emails,
        "phone": phones[rng.integers(0, len(phones), rows)],
        "age": age,
        "sex": sex,
        "income": income,
        "postcode": postcode,
        "diagnosis": diagnosis,
        "admission_date": pa.array(admitted, type=pa.date32()),
        "readmitted": rng.random(rows) < risk,
    })


# -- the readmission example -----------------------------------------------------------------------

def readmission_table(rows: int, seed: int, protected: bool) -> tuple[pa.Table, Dataset, list[QualityRule], Any]:
    from pactline.keys import KeyStore
    from pactline.pipeline.map_schema import read_canonical
    from pactline.protect import protect_table

    loaded = load_agreement(REPO / "include" / "agreements" / "readmission.yaml")
    ds = loaded.agreement.dataset("admissions")
    generator = REPO / "include" / "generate_sample_data.py"
    version = hashlib.sha256(generator.read_bytes()).hexdigest()[:12]  # regenerate when the generator changes
    cache = Path(tempfile.gettempdir()) / f"pactline-bench-synth-{rows}-{seed}-{version}"
    csv = cache / "readmission" / "admissions.csv"
    if not csv.exists():
        spec = importlib.util.spec_from_file_location("generate_sample_data", generator)
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        print(f"  generating {rows} readmission rows (include/generate_sample_data.py) ...", flush=True)
        gen.generate(cache, rows, seed)
    table = read_canonical(str(csv), ds)
    if protected:
        # Free text never reaches the synthesizer; nulling it first spares Presidio 125,000 notes.
        for name, col in ds.columns.items():
            if col.type == "text":
                table = table.set_column(table.schema.get_field_index(name), name,
                                         pa.nulls(table.num_rows, pa.string()))
        os.environ.setdefault("PACTLINE_HOME", str(cache / "home"))
        table, _ = protect_table(table, ds, keys=KeyStore())
    return table, ds, loaded.agreement.quality_rules, loaded.agreement.privacy.synthetic


# -- runs ------------------------------------------------------------------------------------------

@dataclass
class Run:
    name: str
    fit: float
    sample: float
    report: SynthReport
    cpu: float = 0.0  # CPU seconds of fit + sample (this process, all threads)
    absolute_passed: bool = False


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_pactline(train_t: pa.Table, holdout: pa.Table, ds: Dataset, rules: list[QualityRule],
                 thresholds: SyntheticThresholds, rows: int, seed: int, epsilon: float | None = None) -> Run:
    params = (Synthesizer(model="gaussian_copula", seed=seed) if epsilon is None
              else Synthesizer(model="dp_mst", epsilon=epsilon, seed=seed))
    cpu = time.process_time()
    trained, fit = timed(lambda: train(train_t, ds, params, rules=rules))
    synthetic, samp = timed(lambda: sample(trained, rows, avoid=holdout))
    cpu = time.process_time() - cpu
    report = evaluate(train_t, holdout, synthetic, ds, thresholds, trained=trained, seed=seed)
    if trained.last_redrawn:
        report.notes.append(f"faked values re-drawn because they equalled a real value: {trained.last_redrawn}")
    for p in trained.pooled:
        report.notes.append(f"high cardinality: {p.column} has {p.distinct} distinct values, {p.kept} modelled, "
                            f"{p.pooled_rows} rows pooled into 'other'")
    name = "pactline" if epsilon is None else f"dp_mst eps={epsilon:g}"
    return Run(name, fit, samp, report, cpu, _absolute(report, thresholds))


def _absolute(report: SynthReport, thresholds: SyntheticThresholds) -> bool:
    plain = thresholds.model_copy(update={"relative_to_holdout": None})
    return all(c.passed for c in gates(report.quality, report.privacy, plain))


def run_baseline(train_t: pa.Table, holdout: pa.Table, ds: Dataset, rules: list[QualityRule],
                 thresholds: SyntheticThresholds, columns: list[str], rows: int, seed: int) -> Run:
    frame = to_pandas(train_t, columns)
    cpu = time.process_time()
    with sdv_quiet():
        md = Metadata.detect_from_dataframes({ds.id: frame})
        synth = GaussianCopulaSynthesizer(md)
        _, fit = timed(lambda: synth.fit({ds.id: frame}))
        out, samp = timed(lambda: synth.sample(rows)[ds.id])
    cpu = time.process_time() - cpu
    synthetic = pa.Table.from_pandas(out, preserve_index=False)
    report = evaluate(train_t, holdout, synthetic, ds, thresholds, rules=rules, seed=seed)
    detected = md.to_dict()["tables"][ds.id]["columns"]
    report.notes.append("detected sdtypes: " + ", ".join(f"{c}={m['sdtype']}" for c, m in detected.items()))
    return Run("baseline", fit, samp, report, cpu, _absolute(report, thresholds))


def _f(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def show(title: str, rows: int, runs: list[Run]) -> None:
    print(f"\n== {title}: train {runs[0].report.rows['real_train']} rows, holdout "
          f"{runs[0].report.rows['real_holdout']}, sample {rows} ==")
    head = f"{'':34}" + "".join(f"{r.name:>18}" for r in runs)
    print(head)

    def line(label: str, get: Callable[[Run], Any], digits: int = 3) -> None:
        print(f"{label:34}" + "".join(f"{_f(get(r), digits):>18}" for r in runs))

    line("fit seconds", lambda r: r.fit, 2)
    line("sample seconds", lambda r: r.sample, 2)
    line("fit + sample seconds", lambda r: r.fit + r.sample, 2)
    line("fit + sample CPU seconds", lambda r: r.cpu, 2)
    line("fit rows/s", lambda r: r.report.rows["real_train"] / r.fit, 0)
    line("sample rows/s", lambda r: rows / r.sample, 0)
    line("quality score", lambda r: r.report.quality.get("score"))
    line("  column shapes", lambda r: r.report.quality.get("column_shapes"))
    line("  column pair trends", lambda r: r.report.quality.get("column_pair_trends"))
    line("  real holdout's score (ceiling)", lambda r: r.report.quality.get("holdout_reference_score"))
    line("diagnostic score", lambda r: r.report.diagnostic.get("score"))
    line("DCRBaselineProtection", lambda r: r.report.privacy["dcr_baseline_protection"].get("score"))
    line("  real holdout's DCRBaseline", lambda r: r.report.privacy["dcr_baseline_protection"].get(
        "holdout_reference_score"))
    line("DCROverfittingProtection", lambda r: r.report.privacy["dcr_overfitting_protection"].get("score"))
    line("DisclosureProtection", lambda r: r.report.privacy["disclosure_protection"].get("score"))
    line("exact copies of real rows", lambda r: r.report.privacy["exact_copies"])
    line("  copy rate (holdout's by chance)", lambda r: f"{r.report.privacy['exact_copy_rate']:.4f} "
         f"({_f(r.report.privacy['holdout_copy_rate'], 4)})")
    line("leaked real identifier values", lambda r: r.report.privacy["leaked_identifiers"])
    line("evaluate seconds", lambda r: r.report.seconds["total"], 2)
    line("gates passed (relative)", lambda r: "yes" if r.report.passed else "no")
    line("absolute gates passed", lambda r: "yes" if r.absolute_passed else "no")
    p, b = runs[0], runs[1]
    print(f"ratio pactline/baseline: fit+sample time {(p.fit + p.sample) / (b.fit + b.sample):.2f}x, "
          f"quality {_ratio(p.report.quality.get('score'), b.report.quality.get('score'))}, "
          f"leaked identifiers {p.report.privacy['leaked_identifiers']} vs {b.report.privacy['leaked_identifiers']}, "
          f"copied rows {p.report.privacy['exact_copies']} vs {b.report.privacy['exact_copies']}")
    for r in runs:
        leaks = {c: n for c, n in r.report.privacy["leaked_by_column"].items() if n}
        if leaks:
            print(f"  {r.name} leaked identifier values by column: {leaks}")
        for c in r.report.failed:
            print(f"  {r.name} gate failed: {c.describe()}")
        for n in r.report.notes:
            print(f"  {r.name}: {n}")
        if r.report.privacy["disclosure_protection"].get("note"):
            print(f"  {r.name} DisclosureProtection: {r.report.privacy['disclosure_protection']['note']}")
    print(f"  evaluate sample sizes: {p.report.sample_sizes}; seconds: {p.report.seconds}")


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or not b else f"{a / b:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default="generated,readmission,readmission-protected")
    parser.add_argument("--dp-epsilon", type=float, default=None, help="also run dp_mst at this epsilon")
    args = parser.parse_args()
    wanted = args.datasets.split(",")
    rows, seed = args.rows, args.seed
    total = rows + rows // 4
    print(f"pactline.synth benchmark: {rows} training rows, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs", flush=True)
    for name in wanted:
        if name == "generated":
            ds, rules = generated_dataset()
            table, thresholds = generated_table(total, seed), SyntheticThresholds()
        elif name in ("readmission", "readmission-protected"):
            table, ds, rules, thresholds = readmission_table(total, seed, protected=name.endswith("protected"))
        else:
            raise SystemExit(f"unknown dataset {name!r}")
        thresholds = thresholds.model_copy(update={"relative_to_holdout": HOLDOUT_GATES})
        train_t, holdout = split_holdout(table, holdout=0.2, seed=seed)
        pact = run_pactline(train_t, holdout, ds, rules, thresholds, rows, seed)
        columns = [c["name"] for c in pact.report.columns if c["role"] in ("faked", "regenerated", "modelled")]
        base = run_baseline(train_t, holdout, ds, rules, thresholds, columns, rows, seed)
        runs = [pact, base]
        if args.dp_epsilon is not None:
            runs.append(run_pactline(train_t, holdout, ds, rules, thresholds, rows, seed, args.dp_epsilon))
        show(name, rows, runs)


if __name__ == "__main__":
    main()
