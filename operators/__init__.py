"""Airflow operators: thin shells that load the agreement, re-check the policy, call the core, record.

    airflow_env   what Pactline finds through Airflow (agreements folder, secrets, data root, ledger), shared
                  with the DAG files and the plugin
    runtime       a task's RunContext
    steps, approve, receive, base   the operators; render: the DAG factory

The operator classes are resolved lazily, so the plugin and the DAG files can import operators.airflow_env
without loading every operator and the pipeline behind them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PactlineApprovalOperator": "operators.approve",
    "CheckBiasOperator": "operators.steps",
    "CheckPrivacyOperator": "operators.steps",
    "CheckQualityOperator": "operators.steps",
    "IngestOperator": "operators.steps",
    "MapSchemaOperator": "operators.steps",
    "ProtectOperator": "operators.steps",
    "PublishOperator": "operators.steps",
    "ScanPiiOperator": "operators.steps",
    "SuppressOperator": "operators.steps",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'operators' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
