"""The three gates of a dataset, Airflow-free: quality of the mapped (raw) data, privacy of the
released data, and bias of the released data compared with the raw data.

Each builds its suite from the agreement (expectations.suites), runs it with GX (runner) and
returns a CheckResult; `gate(result)` raises CheckFailed when it did not pass. With `docs_dir`,
GX Data Docs for the run are written there (index.html at its root).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from expectations.suites import bias_suite, privacy_suite, quality_suite, suite_name
from pactline.agreement.loader import LoadedAgreement, fingerprint
from pactline.agreement.model import Agreement
from pactline.checks.leakage import raw_column
from pactline.checks.metrics import group_metrics
from pactline.checks.result import CheckResult
from pactline.checks.runner import run_suite, to_pandas
from pactline.errors import DataError

Table = pa.Table | pd.DataFrame
AgreementLike = Agreement | LoadedAgreement


def _unwrap(agreement: AgreementLike) -> tuple[Agreement, str]:
    if isinstance(agreement, LoadedAgreement):
        return agreement.agreement, agreement.fingerprint
    return agreement, fingerprint(agreement)


def docs_dir_for(out_dir: Path, agreement: AgreementLike, dataset_id: str, kind: str) -> Path:
    """Where a run's Data Docs for one suite go: <out_dir>/data_docs/<suite>/."""
    return Path(out_dir) / "data_docs" / suite_name(_unwrap(agreement)[0], dataset_id, kind)


def check_quality(table: Table, agreement: AgreementLike, dataset_id: str, *, docs_dir: Path | None = None,
                  run_id: str | None = None, stage: str = "raw") -> CheckResult:
    """Schema and quality rules of `dataset_id` on `table` (mapped data; stage="released" for protected data)."""
    a, fp = _unwrap(agreement)
    suite = quality_suite(a, dataset_id, stage=stage)
    return run_suite(to_pandas(table), suite, kind="quality", agreement_id=a.metadata.id, dataset_id=dataset_id,
                     fingerprint=fp, docs_dir=docs_dir, run_id=run_id)


def check_privacy(table: Table, agreement: AgreementLike, dataset_id: str, *, docs_dir: Path | None = None,
                  run_id: str | None = None, identifiers: Table | None = None) -> CheckResult:
    """Residual PII, k-anonymity, l-diversity and feature leakage of the released `table`. `identifiers`: the
    raw (mapped) identifier columns of the same rows in the same order, for the identifier mapping of
    privacy.feature_leakage (without them it is skipped and said so); they join the batch under
    pactline.checks.leakage.raw_column names and are only counted."""
    a, fp = _unwrap(agreement)
    frame = to_pandas(table)
    present = [str(c) for c in frame.columns]
    raw: list[str] = []
    if identifiers is not None:
        ids = to_pandas(identifiers)
        if len(ids) != len(frame):
            raise DataError(f"the raw identifiers have {len(ids)} rows, the released table {len(frame)}: "
                            "they must be the same rows in the same order")
        raw = [str(c) for c in ids.columns]
        frame = frame.assign(**{raw_column(c): ids[c].to_numpy() for c in raw})
    suite = privacy_suite(a, dataset_id, present, raw)
    return run_suite(frame, suite, kind="privacy", agreement_id=a.metadata.id, dataset_id=dataset_id,
                     fingerprint=fp, docs_dir=docs_dir, run_id=run_id)


def check_bias(raw_table: Table, released_table: Table, agreement: AgreementLike, dataset_id: str, *,
               docs_dir: Path | None = None, run_id: str | None = None) -> CheckResult:
    """Representation, disparate impact and parity difference of the released table, and their drift
    from the raw table. extras["groups"] holds the group metrics of both, for the report's charts."""
    a, fp = _unwrap(agreement)
    raw, released = to_pandas(raw_table), to_pandas(released_table)
    result = run_suite(released, bias_suite(a, dataset_id, raw), kind="bias", agreement_id=a.metadata.id,
                       dataset_id=dataset_id, fingerprint=fp, docs_dir=docs_dir, run_id=run_id)
    groups = []
    for b in a.bias_checks:
        if b.dataset != dataset_id:
            continue
        for attr in b.protected_attributes:
            entry = {"attribute": attr, "label": b.label, "positive": b.positive}
            for name, frame in (("raw", raw), ("released", released)):
                if attr in frame.columns and b.label in frame.columns:
                    entry[name] = group_metrics(frame, attr, b.label, b.positive, b.min_group_size).to_dict()
            groups.append(entry)
    result.extras["groups"] = groups
    return result


def run_checks(raw_table: Table, released_table: Table, agreement: AgreementLike, dataset_id: str,
               out_dir: Path, *, run_id: str) -> dict[str, CheckResult]:
    """All three checks with the standard layout under out_dir (Data Docs in data_docs/<suite>/) and
    the steward summary (summary.json, summary.html). Does not gate: call gate() on each result."""
    from pactline.checks.report import write_summary

    results = {
        "quality": check_quality(raw_table, agreement, dataset_id, run_id=run_id,
                                 docs_dir=docs_dir_for(out_dir, agreement, dataset_id, "quality")),
        "privacy": check_privacy(released_table, agreement, dataset_id, run_id=run_id,
                                 docs_dir=docs_dir_for(out_dir, agreement, dataset_id, "privacy")),
        "bias": check_bias(raw_table, released_table, agreement, dataset_id, run_id=run_id,
                           docs_dir=docs_dir_for(out_dir, agreement, dataset_id, "bias")),
    }
    write_summary(results, out_dir, agreement=agreement, dataset_id=dataset_id, run_id=run_id)
    return results
