"""evaluate: score a model's predictions for the holdout of a purpose against the labels only the provider holds.

In order, each refusal a `model.refused` ledger entry naming the clause, with nothing scored:
the purpose has a model_evaluation; the model type is one of the purpose's permitted_model_types; the version was
not evaluated before and the purpose's evaluated versions stay within max_iterations; a live release of the
evaluation output exists and its labels are still held; the predictions file is well-formed (columns row_key and
score, scores in [0, 1], one row per key) and covers exactly the holdout's rows. Then the metrics
(pactline.evaluation.metrics), the verdicts (pactline.evaluation.verdicts), the report (encrypted, in the dataset's
reports) and `model.evaluated`: the predictions file's SHA-256, model type and version, every metric, pass/fail.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement.model import ModelEvaluation
from pactline.errors import DataError, PactlineError, PolicyViolation
from pactline.evaluation import metrics
from pactline.evaluation.history import EVALUATED, REFUSED, evaluated
from pactline.evaluation.report import build_report, ledger_payload
from pactline.evaluation.split import ROW_KEY, row_keys_digest
from pactline.evaluation.verdicts import judge
from pactline.pipeline.context import RunContext
from pactline.store import layout
from pactline.withheld import withhold_values

SCORE = "score"  # the predictions file's column: the model's probability of the positive label


def _evaluation(ctx: RunContext, purpose: str) -> tuple[int, ModelEvaluation]:
    found = [(i, m) for i, m in enumerate(ctx.agreement.model_evaluation) if m.purpose == purpose]
    if not found:
        raise PactlineError(f"purpose {purpose!r} has no model_evaluation in agreement {ctx.loaded.id}; "
                            "add one (purpose, output, label, targets, max_iterations) or name another purpose")
    return found[0]


def latest_holdout(ctx: RunContext, ledger: Any, output: str) -> dict[str, Any]:
    """The newest release of the evaluation output, with its split (from its manifest), if it is still live."""
    for x in ledger.entries_newest_first(agreement_id=ctx.loaded.id):
        if x.event != "release.published" or x.payload.get("output") != output:
            continue
        manifest_rel = x.payload.get("manifest")
        if not manifest_rel or not ctx.root.exists(manifest_rel):  # an older one is no better
            raise PolicyViolation("outputs", f"the newest release of the evaluation output {output!r} was purged or "
                                  "rewritten by an erasure; run the agreement's DAG again for a new holdout (the same "
                                  "seed gives the same subjects) and have the recipient predict it")
        split = (ctx.root.read_json(manifest_rel).get("steps") or {}).get("split_holdout")
        if not split:
            continue
        if not ctx.root.exists(split["labels"]):
            raise PolicyViolation("retention.staging_days", f"the labels of the newest holdout of {output} were purged "
                                  "with the run's reports; run the agreement's DAG again (the same seed gives the same "
                                  "subjects) and have the recipient predict its new release")
        return {"output": output, "version": x.payload.get("version"), "manifest": manifest_rel, **split}
    raise PolicyViolation("outputs", f"no live release of the evaluation output {output!r}; run the agreement's DAG "
                          "first so the recipient has a holdout to predict")


def read_predictions(data: bytes, name: str) -> pa.Table:
    """row_key and score of a CSV or Parquet predictions file; a malformed one is a DataError without its values."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if name.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
        else:
            table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
                column_types={ROW_KEY: pa.string(), SCORE: pa.float64()}))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise DataError(f"predictions file {name}: cannot be read ({withhold_values(str(e))}); give a CSV or Parquet "
                        f"file with columns {ROW_KEY} and {SCORE}") from None
    missing = [c for c in (ROW_KEY, SCORE) if c not in table.column_names]
    if missing:
        raise DataError(f"predictions file {name}: no column(s) {missing}; it needs {ROW_KEY} (the holdout's row key) "
                        f"and {SCORE} (the probability of the positive label)")
    try:
        table = table.select([ROW_KEY, SCORE]).cast(pa.schema([(ROW_KEY, pa.string()), (SCORE, pa.float64())]))
    except (pa.ArrowException, ValueError):
        raise DataError(f"predictions file {name}: {SCORE} must be numbers and {ROW_KEY} text") from None
    nulls = table[ROW_KEY].null_count + table[SCORE].null_count
    scores = table[SCORE].to_numpy()
    outside = int(np.sum((scores < 0) | (scores > 1))) if len(scores) else 0
    if nulls or outside or np.isnan(scores).any():
        raise DataError(f"predictions file {name}: {nulls} empty cell(s), {outside} score(s) outside [0, 1]; every "
                        "row needs a row key and a probability")
    return table


def _coverage(predictions: pa.Table, holdout_keys: pa.Array, clause: str) -> None:
    keys = predictions[ROW_KEY]
    duplicates = len(keys) - len(pc.unique(keys))
    outside = int(pc.sum(pc.invert(pc.is_in(keys, value_set=holdout_keys))).as_py() or 0)
    missing = int(pc.sum(pc.invert(pc.is_in(holdout_keys, value_set=keys))).as_py() or 0)
    if duplicates or outside or missing:
        raise PolicyViolation(clause, f"the predictions must cover exactly the holdout's {len(holdout_keys)} rows, once "
                              f"each: {outside} row key(s) are not holdout rows, {missing} holdout row(s) have no "
                              f"prediction, {duplicates} row key(s) repeat")


def evaluate_model(ctx: RunContext, ledger: Any, *, purpose: str, model_type: str, model_version: str,
                   predictions: bytes, predictions_name: str) -> dict[str, Any]:
    """Check, score, judge and record one model version (see the module docstring); returns the report."""
    digest = hashlib.sha256(predictions).hexdigest()
    asked = {"purpose": purpose, "model_type": model_type, "model_version": model_version,
             "predictions": {"sha256": digest, "bytes": len(predictions)}}
    try:
        return _evaluate(ctx, ledger, asked, predictions, predictions_name)
    except PactlineError as e:
        clause = getattr(e, "clause", None) or ("predictions" if isinstance(e, DataError) else "model_evaluation")
        ctx.record(REFUSED, **asked, clause=clause, reason=str(e))
        raise


def handled(ledger: Any, agreement_id: str, digest: str) -> bool:
    """A predictions file (by its SHA-256) was evaluated or refused already: the inbox is read again each poll."""
    return any((x.payload.get("predictions") or {}).get("sha256") == digest
               for event in (EVALUATED, REFUSED) for x in ledger.entries(agreement_id=agreement_id, event=event))


def _evaluate(ctx: RunContext, ledger: Any, asked: dict[str, Any], data: bytes, name: str) -> dict[str, Any]:
    purpose, model_type, model_version = asked["purpose"], asked["model_type"], asked["model_version"]
    index, m = _evaluation(ctx, purpose)
    where = f"model_evaluation[{index}]"
    p_index, declared = next((i, p) for i, p in enumerate(ctx.agreement.purposes) if p.id == purpose)
    if model_type not in declared.permitted_model_types:
        raise PolicyViolation(f"purposes[{p_index}].permitted_model_types",
                              f"model type {model_type!r} is not permitted for purpose {purpose!r} "
                              f"(permitted: {declared.permitted_model_types})")
    versions = [x.payload["model_version"] for x in evaluated(ledger, ctx.loaded.id, purpose)]
    if model_version in versions:
        raise PolicyViolation(f"{where}.max_iterations", f"model version {model_version!r} of {purpose!r} was evaluated "
                              "already; a changed model is a new version, and counts as an iteration")
    if len(versions) >= m.max_iterations:
        raise PolicyViolation(f"{where}.max_iterations", f"purpose {purpose!r} allows {m.max_iterations} evaluated "
                              f"model version(s) and has {len(versions)}; no further iteration on this holdout")
    holdout = latest_holdout(ctx, ledger, m.output)
    truth = ctx.root.read_table(holdout["labels"])
    if row_keys_digest(truth[ROW_KEY].to_pylist()) != holdout["row_keys_sha256"]:
        raise PolicyViolation(f"{where}.output", "the provider's holdout labels no longer match the released "
                              "holdout's rows (a subject was erased since, or a file changed); nothing scored: run the "
                              "agreement's DAG again for a new holdout and have the recipient predict it")
    table = read_predictions(data, name)
    _coverage(table, truth[ROW_KEY].combine_chunks(), f"{where}.output")
    # align the scores with the provider's rows by row key
    order = pc.index_in(truth[ROW_KEY], value_set=table[ROW_KEY]).to_numpy(zero_copy_only=False)
    scores = table[SCORE].to_numpy()[order]
    labelled = np.array([v is not None for v in truth[m.label].to_pylist()])
    y = np.array([v == m.positive for v in truth[m.label].to_pylist()], dtype=bool)[labelled]
    scores = scores[labelled]
    decisions = scores >= m.decision_threshold
    perf = metrics.performance(y, scores, m.decision_threshold,
                               m.performance.precision_at_recall.recall if m.performance.precision_at_recall else None)
    fair = [metrics.fairness(f.protected_attribute, y, decisions,
                             np.array(truth[f.protected_attribute].to_pylist(), dtype=object)[labelled],
                             f.min_group_size) for f in m.fairness]
    outcomes = judge(m, index, perf, fair)
    release = {"output": m.output, "version": holdout["version"], "rows": truth.num_rows,
               "rows_without_label": int((~labelled).sum()), "row_keys_sha256": holdout["row_keys_sha256"]}
    report = build_report(purpose=purpose, model_type=model_type, model_version=model_version,
                          iteration=len(versions) + 1, max_iterations=m.max_iterations, release=release,
                          predictions={**asked["predictions"], "rows": table.num_rows},
                          decision_threshold=m.decision_threshold, performance=perf, fairness=fair, outcomes=outcomes)
    dataset = ctx.agreement.dataset(next(o.dataset for o in ctx.agreement.outputs if o.id == m.output)).id
    rel = f"{layout.reports_folder(ctx.loaded.id, dataset, layout.evaluation_folder(purpose, model_version))}/" \
          f"{layout.EVALUATION_REPORT}"
    ctx.root.write_json(rel, {**report, "dataset": dataset, "agreement": ctx.loaded.id})
    ctx.record(EVALUATED, **ledger_payload(report, outcomes), dataset=dataset, report=rel)
    return {**report, "dataset": dataset, "report": rel}
