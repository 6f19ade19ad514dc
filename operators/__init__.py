"""Airflow operators: thin shells that load the agreement, re-check the policy, call the core, record."""

from operators.approve import PactlineApprovalOperator
from operators.steps import (
    CheckBiasOperator,
    CheckPrivacyOperator,
    CheckQualityOperator,
    IngestOperator,
    MapSchemaOperator,
    ProtectOperator,
    PublishOperator,
    ScanPiiOperator,
    SuppressOperator,
)

__all__ = [
    "CheckBiasOperator", "CheckPrivacyOperator", "CheckQualityOperator", "IngestOperator", "MapSchemaOperator",
    "PactlineApprovalOperator", "ProtectOperator", "PublishOperator", "ScanPiiOperator", "SuppressOperator",
]
