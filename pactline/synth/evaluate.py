"""Quality and privacy of synthetic rows against the real rows, gated by the agreement.

    split_holdout(table, holdout=0.2, seed=0) -> (train, holdout)
    evaluate(real_train, real_holdout, synthetic, dataset, thresholds, *, rules=(), trained=None, seed=0)
        -> SynthReport

Metrics are computed on seeded subsamples so that evaluating 100,000 rows takes seconds, not
minutes (SDMetrics' DCR compares every synthetic row with every real row, in pandas):

    quality and diagnostic reports    QUALITY_SAMPLE rows of real_train and of synthetic
    DCRBaselineProtection             DCR_SAMPLE rows of real_train, synthetic (and random data)
    DCROverfittingProtection          DCR_SAMPLE rows each of real_train, real_holdout, synthetic
                                      (equal sizes: a bigger reference set is closer by itself)
    DisclosureProtection (CAP)        DISCLOSURE_SAMPLE rows of real_train and of synthetic

Exact copies and leaked identifiers are counted on every row. Three references come from the holdout: the
quality score it gets against the training rows (the ceiling at this sample size), its own
DCRBaselineProtection, and the share of its rows equal to a training row (the copy rate chance alone gives).
With privacy.synthetic.relative_to_holdout the gates compare the synthetic scores with these (gates()).
DCR, quality and disclosure use the modelled columns only: faked and regenerated columns carry nothing learned.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection, DisclosureProtection
from sdv.evaluation import evaluate_quality, run_diagnostic

from pactline.agreement.model import Dataset, QualityRule, SyntheticThresholds
from pactline.synth import fakers
from pactline.synth.frames import to_pandas
from pactline.synth.metadata import ColumnSpec, metadata_from_specs, plan_columns
from pactline.synth.quiet import sdv_quiet
from pactline.synth.report import Check, SynthReport
from pactline.synth.train import TrainedSynthesizer

QUALITY_SAMPLE = 10_000
DCR_SAMPLE = 500
DISCLOSURE_SAMPLE = 1_000
MIN_IDENTIFIER_LEN = 4  # shorter real values ("Li", "42") match ordinary values by chance
CLAUSE = "privacy.synthetic"


def split_holdout(table: pa.Table, holdout: float = 0.2, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    """(train, holdout): a seeded random split; the holdout is never shown to the synthesizer.

    DCROverfittingProtection needs it: synthetic rows much closer to the training rows than to
    unseen real rows mean the synthesizer memorised them.
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be a fraction between 0 and 1, got {holdout}")
    n = table.num_rows
    k = round(n * holdout) if n > 1 else 0
    perm = np.random.default_rng(seed).permutation(n)
    return table.take(np.sort(perm[k:])), table.take(np.sort(perm[:k]))


def _subsample(table: pa.Table, n: int, rng: np.random.Generator) -> pa.Table:
    if table.num_rows <= n:
        return table
    return table.take(np.sort(rng.choice(table.num_rows, n, replace=False)))


@contextlib.contextmanager
def _global_seed(seed: int) -> Iterator[None]:
    """SDMetrics draws from numpy's global generator (random baseline, null masks): seed, then restore."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def _score(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(x) else x


def _row_hashes(table: pa.Table, columns: list[str]) -> np.ndarray:
    frame = to_pandas(table, columns)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def exact_copies(real: Sequence[pa.Table], synthetic: pa.Table, columns: list[str]) -> int:
    """Synthetic rows equal to some real row over `columns` (nulls equal nulls)."""
    if not columns or synthetic.num_rows == 0:
        return 0
    target = real[0].select(columns).schema
    try:
        synthetic = synthetic.select(columns).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        synthetic = synthetic.select(columns)  # types differ (a foreign synthesizer): compare as they are
    seen = np.concatenate([_row_hashes(t, columns) for t in real if t.num_rows])
    return int(np.isin(_row_hashes(synthetic, columns), seen).sum())


def leaked_identifiers(real: Sequence[pa.Table], synthetic: pa.Table, identifier_columns: list[str]) -> dict[str, int]:
    """For each real identifier column: how many of its distinct values appear anywhere in the synthetic text.

    Every text column of the synthetic table is searched, not only the same-named one, so a real
    name that turns up as a 'category' elsewhere is caught too.
    """
    synthetic_values: set[str] = set()
    for field in synthetic.schema:
        t = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            synthetic_values |= fakers.value_set(synthetic[field.name])
    out = {}
    for name in identifier_columns:
        values: set[str] = set()
        for t in real:
            if name in t.column_names and t.num_rows:
                values |= fakers.value_set(t[name])
        values = {v for v in values if len(v) >= MIN_IDENTIFIER_LEN}
        out[name] = len(values & synthetic_values)
    return out


def _quality(real: pd.DataFrame, synth: pd.DataFrame, md: Any) -> dict[str, Any]:
    report = evaluate_quality(real, synth, md, verbose=False)
    props = dict(zip(report.get_properties()["Property"], report.get_properties()["Score"], strict=True))
    shapes = report.get_details("Column Shapes")
    return {
        "score": _score(report.get_score()),
        "column_shapes": _score(props.get("Column Shapes")),
        "column_pair_trends": _score(props.get("Column Pair Trends")),
        "per_column": {r.Column: {"metric": r.Metric, "score": _score(r.Score)} for r in shapes.itertuples()},
    }


def _diagnostic(real: pd.DataFrame, synth: pd.DataFrame, md: Any) -> dict[str, Any]:
    report = run_diagnostic(real, synth, md, verbose=False)
    props = report.get_properties()
    return {"score": _score(report.get_score()),
            "properties": {p: _score(s) for p, s in zip(props["Property"], props["Score"], strict=True)}}


def _dcr(train: pd.DataFrame, holdout: pd.DataFrame | None, synth: pd.DataFrame, md: dict, table: str,
         seed: int) -> dict[str, Any]:
    # SDMetrics seeds its uniform-random baseline from a class attribute: a subclass carries ours
    baseline_metric = type("DCRBaselineProtection", (DCRBaselineProtection,), {"_seed": seed})
    base = baseline_metric.compute_breakdown(train, synth, md, table)
    out: dict[str, Any] = {
        "dcr_baseline_protection": {
            "score": _score(base["score"]),
            "median_dcr_synthetic": _score(base["median_DCR_to_real_data"]["synthetic_data"]),
            "median_dcr_random": _score(base["median_DCR_to_real_data"]["random_data_baseline"]),
        },
        "dcr_overfitting_protection": {"score": None, "note": "no holdout rows given"},
    }
    if holdout is not None and len(holdout):
        # the score fresh real rows get: what a synthesizer as private as new data would score
        ref = baseline_metric.compute_breakdown(train, holdout, md, table)
        out["dcr_baseline_protection"]["holdout_reference_score"] = _score(ref["score"])
        over = DCROverfittingProtection.compute_breakdown(train, synth, holdout, md, table)
        out["dcr_overfitting_protection"] = {
            "score": _score(over["score"]),
            "closer_to_training": _score(over["synthetic_data_percentages"]["closer_to_training"]),
            "closer_to_holdout": _score(over["synthetic_data_percentages"]["closer_to_holdout"]),
        }
    return out


def _disclosure(real: pd.DataFrame, synth: pd.DataFrame, known: list[str], sensitive: list[str],
                continuous: list[str]) -> dict[str, Any]:
    if not known or not sensitive:
        return {"score": None, "known": known, "sensitive": sensitive,
                "note": "needs at least one modelled quasi-identifier and one modelled sensitive column"}
    real, synth = real.copy(), synth.copy()
    for c in continuous:  # CAP bins continuous columns; datetimes as their epoch numbers
        if pd.api.types.is_datetime64_any_dtype(real[c]):
            real[c] = real[c].astype("int64").where(real[c].notna())
            synth[c] = synth[c].astype("int64").where(synth[c].notna())
    result = DisclosureProtection.compute_breakdown(real, synth, known_column_names=known,
                                                    sensitive_column_names=sensitive,
                                                    continuous_column_names=continuous or None)
    out = {"score": _score(result["score"]), "cap_protection": _score(result["cap_protection"]),
           "baseline_protection": _score(result["baseline_protection"]), "known": known, "sensitive": sensitive}
    if out["score"] is None:
        out["note"] = ("undefined: no sampled real row shares all its quasi-identifier values with a synthetic "
                       "row, so the CAP attacker never gets to guess (typical of high-cardinality quasi-identifiers)")
    return out


def _guarded(what: str, notes: list[str], fn: Any, *args: Any) -> dict[str, Any] | None:
    """A metric that fails on odd data is reported as not computable (and fails its gate), not raised."""
    try:
        return fn(*args)
    except Exception as e:
        notes.append(f"{what} could not be computed: {type(e).__name__}: {e}")
        return None


def evaluate(real_train: pa.Table, real_holdout: pa.Table | None, synthetic: pa.Table, dataset: Dataset,
             thresholds: SyntheticThresholds, *, rules: Sequence[QualityRule] = (),
             trained: TrainedSynthesizer | None = None, columns: Sequence[ColumnSpec] | None = None,
             seed: int = 0) -> SynthReport:
    """Quality, diagnostic and privacy report of `synthetic`, with the agreement's gates checked.

    `real_train` is the table the synthesizer was trained on, `real_holdout` real rows it never
    saw (split_holdout). Pass `trained` to report its column plan and parameters, or `columns`, the plan
    train() made (the synthesize step keeps it: train() turns ID-like columns into regenerated ids);
    otherwise the plan is derived again from the agreement (`rules` as for train).
    """
    started = time.perf_counter()
    specs: list[ColumnSpec] = (trained.columns if trained else list(columns) if columns
                               else plan_columns(dataset, real_train.schema, rules))
    present = [s for s in specs if s.name in synthetic.column_names and s.name in real_train.column_names]
    # a column with no real value has no shape, distance or attack to measure
    modelled = [s for s in present if s.role == "modelled" and real_train[s.name].null_count < real_train.num_rows]
    names = [s.name for s in modelled]
    holdout = real_holdout if real_holdout is not None and real_holdout.num_rows else None
    reals = [real_train] + ([holdout] if holdout is not None else [])
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    seconds: dict[str, float] = {}

    md_model = metadata_from_specs(modelled, dataset.id, real_train.schema, roles=("modelled",))
    q_real, q_synth = _subsample(real_train, QUALITY_SAMPLE, rng), _subsample(synthetic, QUALITY_SAMPLE, rng)
    n_dcr = min(DCR_SAMPLE, real_train.num_rows, holdout.num_rows if holdout is not None else DCR_SAMPLE)
    d_train, d_synth = _subsample(real_train, n_dcr, rng), _subsample(synthetic, DCR_SAMPLE, rng)
    d_hold = _subsample(holdout, n_dcr, rng) if holdout is not None else None
    c_real, c_synth = _subsample(real_train, DISCLOSURE_SAMPLE, rng), _subsample(synthetic, DISCLOSURE_SAMPLE, rng)
    quality: dict[str, Any] = {"score": None}
    diagnostic: dict[str, Any] = {"score": None}
    privacy: dict[str, Any] = {}

    with sdv_quiet(), _global_seed(seed):
        t = time.perf_counter()
        if names:
            quality = _guarded("quality report", notes, _quality, to_pandas(q_real, names),
                               to_pandas(q_synth, names), md_model) or quality
            if holdout is not None:
                # the score fresh real rows get: the ceiling at this sample size (high-cardinality
                # columns make contingency scores noisy even for a perfect synthesizer)
                ref = _guarded("reference quality of the holdout", notes, _quality, to_pandas(q_real, names),
                               to_pandas(_subsample(holdout, QUALITY_SAMPLE, rng), names), md_model)
                quality["holdout_reference_score"] = ref["score"] if ref else None
        else:
            notes.append("no modelled columns: quality, DCR and disclosure metrics need at least one")
        seconds["quality"] = time.perf_counter() - t
        t = time.perf_counter()
        # modelled columns only: for id columns SDMetrics' regex check warns with real values in the message
        diagnostic = _guarded("diagnostic report", notes, _diagnostic, to_pandas(q_real, names),
                              to_pandas(q_synth, names), md_model) or diagnostic
        seconds["diagnostic"] = time.perf_counter() - t
        t = time.perf_counter()
        dcr = _guarded("DCR metrics", notes, _dcr, to_pandas(d_train, names),
                       to_pandas(d_hold, names) if d_hold is not None else None, to_pandas(d_synth, names),
                       md_model.to_dict(), dataset.id, seed) if names else None
        privacy.update(dcr or {"dcr_baseline_protection": {"score": None},
                               "dcr_overfitting_protection": {"score": None}})
        seconds["dcr"] = time.perf_counter() - t
        t = time.perf_counter()
        known = [s.name for s in modelled if s.category == "quasi_identifier"]
        sensitive = [s.name for s in modelled if s.category == "sensitive"]
        continuous = [s.name for s in modelled if s.name in known + sensitive and s.sdtype in ("numerical", "datetime")]
        privacy["disclosure_protection"] = _guarded(
            "DisclosureProtection", notes, _disclosure, to_pandas(c_real, known + sensitive),
            to_pandas(c_synth, known + sensitive), known, sensitive, continuous) or {"score": None}
        seconds["disclosure"] = time.perf_counter() - t

    t = time.perf_counter()
    privacy["exact_copies"] = exact_copies(reals, synthetic, names)
    privacy["exact_copy_rate"] = privacy["exact_copies"] / synthetic.num_rows if synthetic.num_rows else 0.0
    # real rows equal a training row by chance too (generalised data, few columns): the holdout's
    # rate is what coincidence alone gives; a synthetic rate far above it means memorised rows
    privacy["holdout_copy_rate"] = (exact_copies([real_train], holdout, names) / holdout.num_rows
                                    if holdout is not None else None)
    identifiers = [s.name for s in specs if s.category == "direct_identifier" or s.role == "regenerated"]
    by_column = leaked_identifiers(reals, synthetic, identifiers)
    privacy["leaked_identifiers"] = sum(by_column.values())
    privacy["leaked_by_column"] = by_column
    seconds["copies_and_leaks"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started

    checks = gates(quality, privacy, thresholds)
    return SynthReport(
        dataset=dataset.id,
        rows={"real_train": real_train.num_rows, "real_holdout": holdout.num_rows if holdout is not None else 0,
              "synthetic": synthetic.num_rows},
        columns=[s.to_dict() for s in specs],
        quality=quality, diagnostic=diagnostic, privacy=privacy, checks=checks,
        sample_sizes={"quality": q_real.num_rows, "dcr": n_dcr, "dcr_synthetic": d_synth.num_rows,
                      "disclosure": c_real.num_rows},
        seconds={k: round(v, 3) for k, v in seconds.items()},
        synthesizer=trained.describe() if trained else None,
        notes=notes,
    )


def _relative(metric: str, observed: float | None, share: float, reference: float | None, op: Literal[">=", "<="],
              field: str, what: str) -> Check:
    """A gate whose threshold is `share` times what the holdout scores; not computable without a holdout score."""
    threshold = math.nan if reference is None else share * reference
    ref = "n/a" if reference is None else f"{reference:.4f}"
    return Check(metric, observed if reference is not None else None, threshold, op,
                 f"{CLAUSE}.relative_to_holdout.{field}: {share:g} x the holdout's {what} {ref}")


def gates(quality: dict[str, Any], privacy: dict[str, Any], thresholds: SyntheticThresholds) -> list[Check]:
    """The agreement's gates on measured scores. With relative_to_holdout, quality, DCRBaselineProtection and
    copies are judged against the holdout's own scores (see HoldoutRelative); the other gates stay absolute."""
    base = privacy["dcr_baseline_protection"]
    rel = thresholds.relative_to_holdout
    if rel is None:
        checks = [
            Check("quality_score", quality.get("score"), thresholds.min_quality_score, ">=",
                  f"{CLAUSE}.min_quality_score"),
            Check("dcr_baseline_protection", base.get("score"), thresholds.min_dcr_baseline_protection, ">=",
                  f"{CLAUSE}.min_dcr_baseline_protection"),
        ]
    else:
        checks = [
            _relative("quality_score", quality.get("score"), rel.min_quality_share,
                      quality.get("holdout_reference_score"), ">=", "min_quality_share", "quality score"),
            _relative("dcr_baseline_protection", base.get("score"), rel.min_dcr_baseline_share,
                      base.get("holdout_reference_score"), ">=", "min_dcr_baseline_share", "DCRBaselineProtection"),
        ]
    checks.append(Check("dcr_overfitting_protection", privacy["dcr_overfitting_protection"].get("score"),
                        thresholds.min_dcr_overfitting_protection, ">=", f"{CLAUSE}.min_dcr_overfitting_protection"))
    if rel is None:
        checks.append(Check("exact_copies", privacy["exact_copies"], thresholds.max_exact_copies, "<=",
                            f"{CLAUSE}.max_exact_copies"))
    else:
        checks.append(_relative("exact_copy_rate", privacy["exact_copy_rate"], rel.max_copy_rate_factor,
                                privacy.get("holdout_copy_rate"), "<=", "max_copy_rate_factor", "copy rate"))
    checks.append(Check("leaked_identifiers", privacy["leaked_identifiers"], 0, "<=",
                        "direct identifiers are never released: no real value may appear in synthetic data"))
    return checks
