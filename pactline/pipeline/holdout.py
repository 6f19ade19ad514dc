"""split_holdout: before anything of a dataset is released, split off the holdout of its evaluation output.

Runs on the data to release (after protect and suppress), so the holdout is protected exactly like every release
of the dataset. Whole data subjects go to one side (pactline.evaluation.split): the training rows become what every
later step checks and releases, the holdout rows become the evaluation output's release with a row key and without
any label, and the labels (with the protected attributes the fairness targets name) stay in the provider's reports,
encrypted, keyed by the row key, beside the subject's pseudonym (so erasing the subject removes them too). The split
is a `holdout.split` ledger entry and part of every manifest of the run.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pactline.agreement.model import Agreement, Output, subject_column
from pactline.errors import PolicyViolation
from pactline.evaluation.split import ROW_KEY, row_keys_digest, split_subjects
from pactline.pipeline.context import RunContext
from pactline.store.layout import HOLDOUT_FEATURES, HOLDOUT_LABELS, HOLDOUT_TRAINING


def withheld_columns(agreement: Agreement, output: Output) -> list[str]:
    """Columns never released with the holdout: every label column of the dataset and each evaluation's label."""
    ds = agreement.dataset(output.dataset)
    labels = {n for n, c in ds.columns.items() if c.category == "label"}
    return sorted(labels | {m.label for m in agreement.model_evaluation if m.output == output.id})


def provider_columns(agreement: Agreement, output: Output) -> list[str]:
    """What the provider keeps per holdout row to score models: the withheld labels and the protected attributes."""
    protected = {f.protected_attribute for m in agreement.model_evaluation if m.output == output.id for f in m.fairness}
    return withheld_columns(agreement, output) + sorted(protected - set(withheld_columns(agreement, output)))


def split_params(agreement: Agreement, output: Output) -> dict[str, Any]:
    """The split as the plan shows it."""
    split = output.split()
    return {"output": output.id, "subject_column": subject_column(agreement.dataset(output.dataset), split),
            "fraction": split.fraction, "seed": split.seed, "withheld": withheld_columns(agreement, output)}


def split_holdout(ctx: RunContext, dataset_id: str, released: str, *, output: str, **_plan: Any) -> dict[str, Any]:
    agreement = ctx.agreement
    out = next((o for o in agreement.outputs if o.id == output and o.kind == "evaluation" and o.dataset == dataset_id),
               None)
    if out is None:
        raise PolicyViolation("outputs", f"{output!r} is not an evaluation output of dataset {dataset_id!r}")
    params = split_params(agreement, out)
    subject = params["subject_column"]
    table = ctx.root.read_table(released)
    if subject not in table.column_names:
        raise PolicyViolation("outputs", f"the holdout's subject column {subject!r} is not in the protected data")
    split = split_subjects(table[subject], fraction=params["fraction"], seed=params["seed"])
    mask = pa.array(split.holdout)
    training, holdout = table.filter(pc.invert(mask)), table.filter(mask)
    # an independent look at the result: no subject may be on both sides
    both = set(training[subject].drop_null().to_pylist()) & set(holdout[subject].drop_null().to_pylist())
    if both:
        raise PolicyViolation("outputs", f"{len(both)} subject(s) on both sides of the holdout split; nothing released")
    keys = pa.array(split.row_keys, pa.string())
    withheld = [c for c in params["withheld"] if c in holdout.column_names]
    features = holdout.drop_columns(withheld).add_column(0, ROW_KEY, keys)
    kept = [c for c in provider_columns(agreement, out) if c in holdout.column_names and c != subject]
    # the subject's pseudonym stays beside its labels so an erasure of the subject removes them too
    labels = pa.table({ROW_KEY: keys, subject: holdout[subject], **{c: holdout[c] for c in kept}})
    paths = {"staging": ctx.staging(dataset_id, HOLDOUT_TRAINING), "holdout": ctx.staging(dataset_id, HOLDOUT_FEATURES),
             "labels": ctx.reports(dataset_id, HOLDOUT_LABELS)}
    ctx.root.write_table(paths["staging"], training)
    ctx.root.write_table(paths["holdout"], features)
    ctx.root.write_table(paths["labels"], labels)
    summary = {"dataset": dataset_id, "output": out.id, "subject_column": subject, "fraction": params["fraction"],
               "seed": params["seed"], "rows_training": split.rows_training, "rows_holdout": split.rows_holdout,
               "subjects_training": split.subjects_training, "subjects_holdout": split.subjects_holdout,
               "rows_without_subject": split.rows_without_subject, "subjects_on_both_sides": 0,
               "labels_withheld": withheld, "row_key": ROW_KEY, "row_keys_sha256": row_keys_digest(split.row_keys)}
    ctx.record("holdout.split", **summary)
    return {**summary, **paths, "rows": split.rows_training}


def holdout_features(ctx: RunContext, output_id: str, split: dict[str, Any]) -> str:
    """What an evaluation output publishes: the split's holdout features, after a last look that they hold no
    withheld column and are keyed by the row key."""
    out = next((o for o in ctx.agreement.outputs if o.id == output_id and o.kind == "evaluation"), None)
    if out is None or split.get("output") != output_id:
        raise PolicyViolation("outputs", f"{output_id!r} is not the evaluation output this run split a holdout for")
    features = split["holdout"]
    with ctx.root.open_parquet(features) as pf:
        names = pf.schema_arrow.names
    found = sorted(set(names) & set(withheld_columns(ctx.agreement, out)))
    if found or ROW_KEY not in names:
        raise PolicyViolation("model_evaluation", f"the holdout of {output_id} holds withheld column(s) {found} or "
                              f"no {ROW_KEY!r}; nothing released")
    return features

