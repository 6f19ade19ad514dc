"""Quality, privacy and bias gates on GX (Airflow-free), and the steward's summary report.

    check_quality(table, agreement, dataset_id, *, docs_dir=None, run_id=None, stage="raw") -> CheckResult
    check_privacy(table, agreement, dataset_id, *, docs_dir=None, run_id=None, identifiers=None) -> CheckResult
    check_bias(raw_table, released_table, agreement, dataset_id, *, docs_dir=None, run_id=None) -> CheckResult
    run_checks(raw_table, released_table, agreement, dataset_id, out_dir, *, run_id) -> dict[str, CheckResult]
    gate(result) -> result, or raises CheckFailed
    write_summary(results, out_dir, *, agreement, dataset_id, run_id) -> (summary.json, summary.html)

Each rule's pass condition and observed value are decided once, in pactline.checks.verdicts (one pure function
per rule; the GX expectations call them); pactline.checks.outcomes dresses them as the Outcomes a partitioned
dataset's reduce steps report from summed aggregates.

Names are resolved lazily: importing GX costs seconds, and `pactline bias` (metrics only) needs none of it.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CheckResult": "pactline.checks.result",
    "CheckFailed": "pactline.checks.result",
    "Outcome": "pactline.checks.result",
    "gate": "pactline.checks.result",
    "GroupMetrics": "pactline.checks.metrics",
    "group_metrics": "pactline.checks.metrics",
    "check_quality": "pactline.checks.check",
    "check_privacy": "pactline.checks.check",
    "check_bias": "pactline.checks.check",
    "run_checks": "pactline.checks.check",
    "docs_dir_for": "pactline.checks.check",
    "write_summary": "pactline.checks.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pactline.checks' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
