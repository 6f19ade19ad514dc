"""Synthetic data: SDV trained with metadata from the agreement, sampled, evaluated and gated.

    build_metadata(dataset, table, rules=()) -> sdv Metadata      # from the agreement, never detected
    plan_columns(dataset, schema, rules=()) -> [ColumnSpec]        # each column's role and why
    train(table, dataset, params, *, rules=()) -> TrainedSynthesizer
    sample(trained, rows=None, *, avoid=(), seed=None) -> pa.Table
    save(trained) -> bytes / load(bytes) -> TrainedSynthesizer    # the caller stores the bytes encrypted
    split_holdout(table, holdout=0.2, seed=0) -> (train, holdout)
    evaluate(real_train, real_holdout, synthetic, dataset, thresholds, *, rules=(), trained=None, seed=0)
        -> SynthReport
    gate(report)                                                   # raises SyntheticGateFailed

Where: metadata.py (roles and sdtypes), high_cardinality.py (ID-like columns regenerated, rare values pooled),
fakers.py (faked identifiers, collisions), frames.py (Arrow <-> pandas), train.py, dp.py (dp_mst on OpenDP and
its budget), evaluate.py (metrics and gates), report.py, errors.py, quiet.py (no SDV usage logs or noise).
"""

from pactline.synth.errors import SynthesisError, SyntheticGateFailed
from pactline.synth.evaluate import evaluate, split_holdout
from pactline.synth.metadata import ColumnSpec, build_metadata, plan_columns, rules_for
from pactline.synth.report import Check, SynthReport, gate
from pactline.synth.train import TrainedSynthesizer, load, sample, save, train

__all__ = [
    "Check",
    "ColumnSpec",
    "SynthReport",
    "SynthesisError",
    "SyntheticGateFailed",
    "TrainedSynthesizer",
    "build_metadata",
    "evaluate",
    "gate",
    "load",
    "plan_columns",
    "rules_for",
    "sample",
    "save",
    "split_holdout",
    "train",
]
