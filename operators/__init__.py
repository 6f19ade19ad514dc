"""Airflow operators: thin shells that load the agreement, re-check the policy, call the core, record."""

from operators.approve import PactlineApprovalOperator
from operators.steps import IngestOperator, MapSchemaOperator, ProtectOperator, PublishOperator, ScanPiiOperator

__all__ = [
    "IngestOperator", "MapSchemaOperator", "PactlineApprovalOperator", "ProtectOperator", "PublishOperator",
    "ScanPiiOperator",
]
