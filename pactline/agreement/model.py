"""The data sharing agreement as a validated model (apiVersion pactline/v1).

Everything the pipeline may do is derived from this model. Cross-references
(a dataset naming a party, a rule naming a column, ...) are checked here so an
agreement that parses is also internally consistent.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import EmailStr, Field, ValidationInfo, field_validator, model_serializer, model_validator

from pactline.agreement.base import Strict
from pactline.agreement.hierarchy import HierarchyLevel, hierarchy_problem
from pactline.agreement.transformations import Transformation, TransformationKind

Loc = tuple[str | int, ...]
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
_COUNTRY = re.compile(r"^[A-Z]{2}\Z")
PUBLIC_KEY = re.compile(r"^ed25519:[A-Za-z0-9_-]{43}=?\Z")
KEY_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.pub\Z")
_SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
# Pactline's own secrets (the KEK, the ledger's signing key, party signing keys) are named
# pactline_*; an agreement may never name one.
RESERVED_SECRET_PREFIX = "pactline"  # noqa: S105 - a name prefix, not a secret

ColumnType = Literal["string", "text", "integer", "float", "boolean", "date", "timestamp", "categorical"]
Category = Literal[
    "direct_identifier", "quasi_identifier", "sensitive", "protected_attribute", "label", "non_personal"
]
LegalBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests",
    "art9_explicit_consent", "art9_health_care", "art9_public_health", "art9_research", "not_applicable",
]
Zone = Literal["landing", "staging", "sandbox", "production"]


def _check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"{what} {value!r} must be lower-case letters, digits, '_' or '-', starting with a letter"
        )
    return value


class Contact(Strict):
    name: str
    email: EmailStr
    role: str | None = None


class Metadata(Strict):
    id: str = Field(description="Stable identifier; becomes the DAG id.")
    version: str = Field(pattern=r"^\d+\.\d+(\.\d+)?$", description="Agreement version, e.g. 1.2.0.")
    title: str
    effective: dt.date
    expires: dt.date
    description: str = ""

    @field_validator("id")
    @classmethod
    def _agreement_id(cls, v: str) -> str:
        _check_id(v, "metadata.id")
        # secrets resolve as <agreement id>__<name>: an id holding '__' or named like Pactline's own keys
        # could reach another agreement's (or Pactline's) secret
        if "__" in v or v.startswith(RESERVED_SECRET_PREFIX):
            raise ValueError(f"metadata.id {v!r} may not contain '__' or start with {RESERVED_SECRET_PREFIX!r}")
        return v

    @field_validator("expires")
    @classmethod
    def _dates(cls, expires: dt.date, info: ValidationInfo) -> dt.date:
        effective = info.data.get("effective")
        if effective is not None and expires <= effective:
            raise ValueError(f"expires ({expires}) must be after effective ({effective}); fix one of the dates")
        return expires


class Party(Strict):
    id: str
    name: str
    role: Literal["provider", "recipient", "processor", "controller"]
    jurisdiction: str = Field(description="ISO 3166-1 alpha-2 country code, e.g. DE, US.")
    contacts: list[Contact] = Field(default_factory=list)
    public_key: str | None = Field(default=None, description=(
        "The party's Ed25519 public key that signs agreement versions: inline as 'ed25519:<base64>', or a "
        "file beside the agreement holding that text (e.g. keys/nordbank.pub; `pactline keys new` writes it)."))

    _id = field_validator("id")(lambda v: _check_id(v, "party id"))

    @field_validator("public_key")
    @classmethod
    def _public_key(cls, v: str | None) -> str | None:
        if v is None or PUBLIC_KEY.match(v):
            return v
        if not KEY_FILE.match(v) or ".." in v.split("/"):
            raise ValueError(f"public_key {v!r} must be 'ed25519:<base64>' or a relative path inside the "
                             "agreement's folder such as keys/<party>.pub (no '..', no absolute path, no URL)")
        return v

    @field_validator("jurisdiction")
    @classmethod
    def _country(cls, v: str) -> str:
        if not _COUNTRY.match(v):
            raise ValueError(f"jurisdiction {v!r} must be a two-letter ISO country code such as DE or US")
        return v


class Purpose(Strict):
    id: str
    description: str
    permitted_model_types: list[str] = Field(min_length=1)

    _id = field_validator("id")(lambda v: _check_id(v, "purpose id"))


class Transfer(Strict):
    from_: str = Field(alias="from", description="Country code data leaves.")
    to: str = Field(description="Country code data enters.")
    mechanism: Literal[
        "adequacy_decision", "standard_contractual_clauses", "binding_corporate_rules",
        "explicit_consent", "derogation",
    ]
    reference: str = ""


class Source(Strict):
    uri: str = Field(description=(
        "Path or fsspec URI of the partner's file (csv or parquet), relative to the agreement file. A folder "
        "(ending in '/') or a glob ('data/*.parquet') is a partitioned input: one partition per file."))
    format: Literal["csv", "parquet"] = "csv"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    partition_rows: int | None = Field(default=None, ge=1, description=(
        "Process the input as partitions of about this many rows: a Parquet file is split at row-group "
        "boundaries (a row group is never split). Each partition is a mapped Airflow task."))

    @property
    def partitioned(self) -> bool:
        """Processed partition by partition (dynamic task mapping) rather than as one file."""
        return self.partition_rows is not None or self.uri.endswith("/") or any(c in self.uri for c in "*?[")

    @model_validator(mode="after")
    def _partitions(self) -> Source:
        if self.partition_rows is not None and self.format == "csv" and not self.partitioned_by_files:
            raise ValueError("partition_rows splits Parquet files at row groups; a single CSV file cannot be "
                             "split safely (quoted newlines): give a folder or glob of CSV files, or Parquet")
        return self

    @property
    def partitioned_by_files(self) -> bool:
        return self.uri.endswith("/") or any(c in self.uri for c in "*?[")

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # unset partition_rows is left out, so the fingerprints of existing agreements do not change
        data = handler(self)
        if isinstance(data, dict) and data.get("partition_rows") is None:
            data.pop("partition_rows", None)
        return data


class Column(Strict):
    type: ColumnType
    category: Category
    legal_basis: LegalBasis = "not_applicable"
    pii_entity: str | None = Field(
        default=None, description="Presidio entity the values are, e.g. EMAIL_ADDRESS; required for identifiers."
    )
    nullable: bool = True
    description: str = ""
    transformation: Transformation
    hierarchy: list[HierarchyLevel] = Field(default_factory=list, description=(
        "Coarser generalisations of a quasi-identifier, finest first, above its own transformation (level 0): "
        "suppression may move the column up these levels to reach k (see pactline.agreement.hierarchy)."))

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # no hierarchy is left out, so the fingerprints of existing agreements do not change
        data = handler(self)
        if isinstance(data, dict) and not data.get("hierarchy"):
            data.pop("hierarchy", None)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        why = hierarchy_problem(self.transformation, self.hierarchy)
        if why:
            raise ValueError(why)
        personal = self.category in ("direct_identifier", "quasi_identifier", "sensitive", "protected_attribute")
        if personal and self.legal_basis == "not_applicable":
            raise ValueError(f"a {self.category} column needs a legal_basis")
        if self.category == "direct_identifier" and self.transformation.kind == "keep":
            raise ValueError("a direct_identifier may not be released unchanged (transformation 'keep')")
        return self


class Dataset(Strict):
    id: str
    provider: str = Field(description="Party id of the provider.")
    description: str = ""
    source: Source
    schema_mapping: dict[str, str] = Field(
        default_factory=dict, description="Partner column name -> canonical column name."
    )
    columns: dict[str, Column] = Field(min_length=1, description="Canonical column name -> declaration.")

    _id = field_validator("id")(lambda v: _check_id(v, "dataset id"))

    @field_validator("columns", "schema_mapping")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        names = list(v) + [x for x in v.values() if isinstance(x, str)]
        bad = [n for n in names if not n.strip() or len(n) > 128 or any(ord(c) < 32 or ord(c) == 127 for c in n)]
        if bad:
            raise ValueError(f"column names must be 1-128 characters without control characters (found {len(bad)} "
                             "that is empty, too long or holds a newline, tab or other control character)")
        return v

    @model_validator(mode="after")
    def _mapping(self) -> Dataset:
        targets = list(self.schema_mapping.values())
        dup = sorted({t for t in targets if targets.count(t) > 1})
        if dup:
            raise ValueError(f"schema_mapping maps several partner columns onto {dup}")
        unknown = sorted(set(targets) - set(self.columns))
        if unknown:
            raise ValueError(f"schema_mapping targets {unknown} are not declared under columns")
        for name, col in self.columns.items():
            t = col.transformation
            if t.kind == "date_shift" and t.subject_column not in self.columns:
                raise ValueError(f"column {name!r}: date_shift subject_column {t.subject_column!r} is not a column")
        return self


class Restriction(Strict):
    """Something the recipient must never do, with concrete examples (e.g. re-identification)."""

    id: str
    description: str
    forbidden_transformations: list[TransformationKind] = Field(
        default_factory=list, description="Transformation kinds never allowed on the listed categories."
    )
    categories: list[Category] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)


class QualityRule(Strict):
    dataset: str
    column: str | None = None
    rule: Literal["not_null", "unique", "range", "allowed_values", "regex", "row_count"]
    min: float | None = None
    max: float | None = None
    values: list[str | int | float | bool] | None = None
    pattern: str | None = None
    mostly: float = Field(default=1.0, gt=0, le=1, description="Share of rows that must pass.")

    @model_validator(mode="after")
    def _params(self) -> QualityRule:
        need = {"range": ("min", "max"), "row_count": ("min", "max"), "allowed_values": ("values",),
                "regex": ("pattern",)}.get(self.rule, ())
        if need and all(getattr(self, n) is None for n in need):
            raise ValueError(f"rule {self.rule!r} needs {' or '.join(need)}")
        if self.rule != "row_count" and self.column is None:
            raise ValueError(f"rule {self.rule!r} needs a column")
        return self


class KAnonymity(Strict):
    k: int = Field(ge=2)
    quasi_identifiers: list[str] = Field(min_length=1)
    suppress: bool = Field(
        default=True, description="Remove rows whose quasi-identifier class is smaller than k (after generalisation)."
    )
    max_suppressed_rate: float = Field(
        default=0.05, ge=0, le=1, description="Most rows suppression may remove; beyond it the release stops."
    )


class LDiversity(Strict):
    l: int = Field(ge=2)  # noqa: E741 - the standard name of the parameter
    sensitive_column: str


class Reidentification(Strict):
    """Re-identification risk of the released rows over privacy.k_anonymity's quasi-identifiers, after suppression
    (formulas: pactline.checks.risk). Every maximum is optional; at least one is needed."""

    risk_threshold: float = Field(default=0.2, gt=0, le=1, description=(
        "A record is at risk when its prosecutor risk (1 / the size of its equivalence class) is above this."))
    max_prosecutor_risk: float | None = Field(default=None, ge=0, le=1, description=(
        "Highest risk of any record: 1 / the smallest equivalence class."))
    max_records_at_risk: float | None = Field(default=None, ge=0, le=1, description=(
        "Share of records whose prosecutor risk is above risk_threshold."))
    max_average_risk: float | None = Field(default=None, ge=0, le=1, description=(
        "Average prosecutor risk over all records: equivalence classes / records."))
    max_marketer_risk: float | None = Field(default=None, ge=0, le=1, description=(
        "Share of records an attacker matching every record against the release re-identifies (the release taken "
        "as the population: equivalence classes / records)."))

    @model_validator(mode="after")
    def _some_limit(self) -> Reidentification:
        if not self.limits():
            raise ValueError("give at least one of " + ", ".join(REIDENTIFICATION_LIMITS))
        return self

    def limits(self) -> dict[str, float]:
        """The agreed maxima, by field name, in the order of REIDENTIFICATION_LIMITS."""
        return {f: getattr(self, f) for f in REIDENTIFICATION_LIMITS if getattr(self, f) is not None}


# field of Reidentification -> the measure of pactline.checks.risk it bounds
REIDENTIFICATION_LIMITS = {"max_prosecutor_risk": "max_prosecutor_risk", "max_records_at_risk": "records_at_risk",
                           "max_average_risk": "average_prosecutor_risk", "max_marketer_risk": "marketer_risk"}


class FeatureLeakage(Strict):
    """Released columns must not give away the label or a person's identifier (scores: pactline.checks.leakage).
    Every field is optional; a maximum set to null is not checked. Applies to every dataset of the agreement."""

    label: str | None = Field(default=None, description=(
        "The label a column must not predict on its own. Default: the dataset's bias-check label, else its column "
        "declared `label`; a dataset that does not declare this column uses its own."))
    max_single_feature_auc: float | None = Field(default=0.95, ge=0.5, le=1, description=(
        "Highest ROC AUC of one released column, target-encoded with cross fitting, against a binary label."))
    max_normalised_mutual_information: float | None = Field(default=0.9, ge=0, le=1, description=(
        "Highest normalised mutual information between one released column and the label."))
    max_unique_row_share: float | None = Field(default=0.05, ge=0, le=1, description=(
        "Highest share of released rows whose combination of identity_columns no other row shares."))
    identity_columns: Literal["auto"] | list[str] = Field(default="auto", description=(
        "Columns an attacker may know about a person. auto: the released quasi-identifiers and protected "
        "attributes (not tokens, not free text)."))
    identifiers: Literal["auto"] | list[str] = Field(default="auto", description=(
        "Raw identifiers no released column may reconstruct. auto: the direct identifiers and every pseudonymised "
        "column. [] turns the identifier mapping off."))
    max_carried_identifier_rate: float | None = Field(default=0.0, ge=0, le=1, description=(
        "Highest share of a released text column's rows that hold their own raw identifier (or its digits)."))

    def named_columns(self) -> list[tuple[Loc, str]]:
        """Every column this section names, with where it names it (each must be declared by some dataset)."""
        out: list[tuple[Loc, str]] = [(("privacy", "feature_leakage", "label"), self.label)] if self.label else []
        for name in ("identity_columns", "identifiers"):
            value = getattr(self, name)
            if isinstance(value, list):
                out += [(("privacy", "feature_leakage", name, j), c) for j, c in enumerate(value)]
        return out


class HoldoutRelative(Strict):
    """Synthetic gates against what fresh real rows score (the holdout, never shown to the synthesizer). On generalised
    or low-cardinality data even a perfect synthesizer copies some rows and sits close to the rest, as real rows do by
    chance; and high-cardinality columns keep even real rows' quality score far below 1. Each gate here replaces its
    absolute counterpart of privacy.synthetic (pactline.synth.evaluate)."""

    min_quality_share: float = Field(default=0.9, gt=0, le=1, description=(
        "Synthetic quality score >= this share of the holdout's own quality score against the training rows "
        "(replaces min_quality_score)."))
    min_dcr_baseline_share: float = Field(default=0.9, gt=0, le=1, description=(
        "Synthetic DCRBaselineProtection >= this share of the holdout's own (replaces min_dcr_baseline_protection)."))
    max_copy_rate_factor: float = Field(default=1.5, ge=0, description=(
        "Share of synthetic rows equal to a real row <= this factor times the share of holdout rows equal to a "
        "training row, the rate chance alone gives (replaces max_exact_copies)."))


class SyntheticThresholds(Strict):
    min_quality_score: float = Field(default=0.8, ge=0, le=1)
    min_dcr_baseline_protection: float = Field(default=0.5, ge=0, le=1)
    min_dcr_overfitting_protection: float = Field(default=0.5, ge=0, le=1)
    max_exact_copies: int = Field(default=0, ge=0)
    relative_to_holdout: HoldoutRelative | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # left out when unset, so existing agreements keep their fingerprints
        data = handler(self)
        if isinstance(data, dict) and data.get("relative_to_holdout") is None:
            data.pop("relative_to_holdout", None)
        return data


class PrivacyThresholds(Strict):
    k_anonymity: KAnonymity | None = None
    l_diversity: LDiversity | None = None
    max_residual_pii_rate: float = Field(default=0.0, ge=0, le=1)
    on_undeclared_pii: Literal["fail", "drop", "redact"] = Field(
        default="fail", description="What scan_pii does when PII turns up in a column declared non-personal."
    )
    synthetic: SyntheticThresholds = Field(default_factory=SyntheticThresholds)
    reidentification: Reidentification | None = None
    feature_leakage: FeatureLeakage | None = None
    dp_budget: DPBudget | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # thresholds added later and left unset are left out, so existing agreements keep their fingerprints
        data = handler(self)
        if isinstance(data, dict):
            for name in PRIVACY_FIELDS_OMITTED_WHEN_UNSET:
                if data.get(name) is None:
                    data.pop(name, None)
        return data


PRIVACY_FIELDS_OMITTED_WHEN_UNSET = ("reidentification", "feature_leakage", "dp_budget")


class BiasCheck(Strict):
    dataset: str
    protected_attributes: list[str] = Field(min_length=1)
    label: str
    positive: str | int | float | bool
    min_group_share: float = Field(default=0.0, ge=0, le=1)
    min_group_size: int = Field(
        default=20, ge=1, description="Groups with fewer labelled rows are reported but left out of the parity numbers."
    )
    min_disparate_impact: float = Field(default=0.8, ge=0, le=1)
    max_parity_difference: float = Field(default=0.2, ge=0, le=1)
    max_drift: float = Field(default=0.05, ge=0, le=1, description="Allowed change of each rate raw -> released.")


class DPBudget(Strict):
    """The privacy loss every differentially private output of this agreement may spend together, over all runs
    (basic composition: the epsilons and deltas the ledger's dp.* entries record add up)."""

    epsilon: float = Field(gt=0, le=100)
    delta: float = Field(default=1e-6, ge=0, lt=1)


class Synthesizer(Strict):
    model: Literal["gaussian_copula", "ctgan", "tvae", "dp_mst"] = "gaussian_copula"
    epochs: int = Field(default=300, ge=1)
    batch_size: int = Field(default=500, ge=10)
    seed: int = 0
    rows: int | None = Field(default=None, ge=1, description="Rows to sample; default as many as the input.")
    train_on: Literal["raw", "protected"] = "protected"
    locale: str = "en_US"
    fallback: Literal["ctgan", "tvae"] | None = Field(default=None, description=(
        "When GaussianCopula misses a privacy.synthetic gate, train this model instead, its epochs chosen to fit "
        "time_budget_seconds (gaussian_copula only)."))
    time_budget_seconds: float | None = Field(default=None, gt=0, le=86400, description=(
        "Wall-clock seconds the fallback model may train (required with fallback)."))
    epsilon: float | None = Field(default=None, gt=0, le=100, description=(
        "dp_mst only: the privacy loss of one training run, spent from privacy.dp_budget."))
    delta: float | None = Field(default=None, gt=0, lt=1, description=(
        "dp_mst only: the delta of one training run (default 1e-7), spent from privacy.dp_budget."))

    @model_validator(mode="after")
    def _consistent(self) -> Synthesizer:
        dp = self.model.startswith("dp_")
        if dp and self.epsilon is None:
            raise ValueError(f"model {self.model} needs epsilon, the privacy loss one training run may spend")
        if not dp and (self.epsilon is not None or self.delta is not None):
            raise ValueError("epsilon and delta apply to differentially private models only (model: dp_mst)")
        if self.fallback and self.model != "gaussian_copula":
            raise ValueError("fallback applies to model gaussian_copula only")
        if self.fallback and self.time_budget_seconds is None:
            raise ValueError("fallback needs time_budget_seconds, the time its training may take")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # fields added later and left unset are left out, so existing agreements keep their fingerprints
        data = handler(self)
        if isinstance(data, dict):
            for name in ("fallback", "time_budget_seconds", "epsilon", "delta"):
                if data.get(name) is None:
                    data.pop(name, None)
        return data


class Holdout(Strict):
    """How an output of kind `evaluation` splits its provider-held holdout off the dataset (pactline.evaluation.split):
    by data subject, seeded, before anything of the dataset is released."""

    fraction: float = Field(default=0.2, gt=0, le=0.5, description=(
        "Share of the data subjects whose rows go to the holdout (and to no other release of the dataset)."))
    seed: int = Field(default=0, ge=0, description=(
        "Seed of the subject assignment; the same seed keeps the same subjects in the holdout on every run."))
    subject_column: str | None = Field(default=None, description=(
        "The pseudonymised column naming the data subject. Default: the dataset's first pseudonymised "
        "direct identifier, else its first pseudonymised column."))


class Output(Strict):
    id: str
    dataset: str
    kind: Literal["protected", "synthetic", "evaluation"] = Field(description=(
        "protected: the protected rows; synthetic: rows an SDV synthesizer made; evaluation: a holdout of whole "
        "data subjects split off before anything is released, protected like the release, labels withheld."))
    zone: Literal["sandbox", "production"]
    recipient: str = Field(description="Party id of the recipient.")
    purpose: str = Field(description="Purpose id the released data serves.")
    approval_required: bool = True
    synthesizer: Synthesizer | None = None
    holdout: Holdout | None = Field(default=None, description="The split of an evaluation output (defaults apply).")

    _id = field_validator("id")(lambda v: _check_id(v, "output id"))

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # no holdout is left out, so the fingerprints of existing agreements do not change
        data = handler(self)
        if isinstance(data, dict) and data.get("holdout") is None:
            data.pop("holdout", None)
        return data

    def split(self) -> Holdout:
        """The holdout split of an evaluation output, with its defaults."""
        return self.holdout or Holdout()


class PrecisionAtRecall(Strict):
    recall: float = Field(gt=0, le=1, description="The recall the model is operated at.")
    min_precision: float = Field(ge=0, le=1, description="Lowest precision at that recall.")


class PerformanceTargets(Strict):
    """Targets the model's scores on the holdout must meet (pactline.evaluation.metrics). Null: not checked."""

    min_roc_auc: float | None = Field(default=None, ge=0, le=1)
    max_brier_score: float | None = Field(default=None, ge=0, le=1, description="Mean squared error of the scores.")
    max_calibration_error: float | None = Field(default=None, ge=0, le=1, description=(
        "Expected calibration error over 10 equal-width score bins: sum over bins of |mean score - positive rate| "
        "weighted by the bin's share of rows."))
    precision_at_recall: PrecisionAtRecall | None = None


class FairnessThresholds(Strict):
    """Thresholds of one protected attribute on the holdout, the model's decisions at decision_threshold. Groups
    smaller than min_group_size are reported but not gated. Null: not checked."""

    protected_attribute: str
    min_selection_rate_ratio: float | None = Field(default=0.8, ge=0, le=1, description=(
        "Lowest selection rate of a gated group / the highest."))
    max_equalized_odds_difference: float | None = Field(default=0.2, ge=0, le=1, description=(
        "Larger of the TPR gap and the FPR gap between gated groups."))
    max_tpr_gap: float | None = Field(default=None, ge=0, le=1, description="Highest TPR - lowest.")
    max_fpr_gap: float | None = Field(default=None, ge=0, le=1, description="Highest FPR - lowest.")
    min_group_size: int = Field(default=20, ge=1)


class ModelEvaluation(Strict):
    """Post-training audit of one purpose: models of a permitted type are scored on the provider-held holdout of
    `output` (an output of kind evaluation) against these targets before any is promoted to production."""

    purpose: str
    output: str = Field(description="The evaluation output whose holdout the models are scored on.")
    label: str = Field(description="The column whose values the models predict (never released with the holdout).")
    positive: str | int | float | bool
    decision_threshold: float = Field(default=0.5, gt=0, lt=1, description=(
        "A score at or above it is a positive decision (selection rate, TPR, FPR, precision)."))
    performance: PerformanceTargets = Field(default_factory=PerformanceTargets)
    fairness: list[FairnessThresholds] = Field(default_factory=list)
    max_iterations: int = Field(ge=1, description="How many model versions may be evaluated for the purpose.")


class Retention(Strict):
    landing_days: int = Field(default=30, ge=0)
    staging_days: int = Field(default=30, ge=0)
    sandbox_days: int = Field(default=90, ge=0)
    production_days: int = Field(default=365, ge=0)
    after_termination_days: int = Field(default=30, ge=0, description="Grace after expiry before everything goes.")

    def days_for(self, zone: str) -> int:
        return getattr(self, f"{zone}_days")


class AccessGrant(Strict):
    """Who may do what in one zone, until when. `landing` (the partner's raw copy) and `staging` (a run's
    intermediate results and reports) hold data before protection: grant them sparingly."""

    principal: str
    zone: Literal["sandbox", "production", "landing", "staging"]
    permissions: list[Literal["read", "approve", "purge"]] = Field(default_factory=lambda: ["read"])
    valid_until: dt.date


class IncidentResponse(Strict):
    notification_deadline_hours: int = Field(ge=1, le=720)
    contacts: list[Contact] = Field(min_length=1)


class Keys(Strict):
    """Names of secrets (never the secrets): looked up in Airflow variables/connections or the local key store."""

    pseudonymisation: str | None = None
    encryption: str | None = None

    @field_validator("pseudonymisation", "encryption")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not _SECRET_NAME.match(v) or "__" in v:
            raise ValueError(f"secret name {v!r} must be lower-case letters, digits and single '_', starting with a "
                             "letter")
        if v.startswith(RESERVED_SECRET_PREFIX):
            raise ValueError(f"secret name {v!r} is reserved: names starting with {RESERVED_SECRET_PREFIX!r} are "
                             "Pactline's own keys (key-encryption, ledger and party keys) and never an agreement's")
        return v


class Agreement(Strict):
    api_version: Literal["pactline/v1"] = Field(alias="apiVersion")
    kind: Literal["DataSharingAgreement"]
    metadata: Metadata
    parties: list[Party] = Field(min_length=2)
    purposes: list[Purpose] = Field(min_length=1)
    transfers: list[Transfer] = Field(default_factory=list)
    datasets: list[Dataset] = Field(min_length=1)
    restrictions: list[Restriction] = Field(default_factory=list)
    quality_rules: list[QualityRule] = Field(default_factory=list)
    privacy: PrivacyThresholds = Field(default_factory=PrivacyThresholds)
    bias_checks: list[BiasCheck] = Field(default_factory=list)
    outputs: list[Output] = Field(min_length=1)
    retention: Retention = Field(default_factory=Retention)
    access: list[AccessGrant] = Field(default_factory=list)
    incident_response: IncidentResponse
    keys: Keys = Field(default_factory=Keys)
    model_evaluation: list[ModelEvaluation] = Field(default_factory=list, description=(
        "Per purpose: how trained models are evaluated on a provider-held holdout before production."))

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # no model evaluation is left out, so the fingerprints of existing agreements do not change
        data = handler(self)
        if isinstance(data, dict) and not data.get("model_evaluation"):
            data.pop("model_evaluation", None)
        return data

    def evaluation_for(self, purpose: str) -> ModelEvaluation | None:
        return next((m for m in self.model_evaluation if m.purpose == purpose), None)

    # -- lookups -------------------------------------------------------------------------
    def party(self, party_id: str) -> Party:
        return next(p for p in self.parties if p.id == party_id)

    def dataset(self, dataset_id: str) -> Dataset:
        return next(d for d in self.datasets if d.id == dataset_id)

    def outputs_for(self, dataset_id: str) -> list[Output]:
        return [o for o in self.outputs if o.dataset == dataset_id]

    # -- cross-references ----------------------------------------------------------------
    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Agreement:
        # The loader checks references itself so it can point at the line of each one.
        if info.context and info.context.get("defer_references"):
            return self
        problems = self.reference_problems()
        if problems:
            raise ValueError("; ".join(msg for _, msg in problems))
        return self

    def reference_problems(self) -> list[tuple[Loc, str]]:
        """Every broken cross-reference as (location in the document, message)."""
        out: list[tuple[Loc, str]] = []
        for field, ids in (("parties", [p.id for p in self.parties]), ("purposes", [p.id for p in self.purposes]),
                           ("datasets", [d.id for d in self.datasets]), ("outputs", [o.id for o in self.outputs])):
            seen: set[str] = set()
            for i, x in enumerate(ids):
                if x in seen:
                    out.append(((field, i, "id"), f"id {x!r} is used twice in {field}; ids must be unique"))
                seen.add(x)
        parties = {p.id for p in self.parties}
        purposes = {p.id for p in self.purposes}
        datasets = {d.id: d for d in self.datasets}
        for i, d in enumerate(self.datasets):
            if d.provider not in parties:
                out.append((("datasets", i, "provider"),
                            f"provider {d.provider!r} is not a declared party (declared: {sorted(parties)})"))
        for i, o in enumerate(self.outputs):
            if o.dataset not in datasets:
                out.append((("outputs", i, "dataset"), f"dataset {o.dataset!r} is not declared"))
            if o.recipient not in parties:
                out.append((("outputs", i, "recipient"),
                            f"recipient {o.recipient!r} is not a declared party (declared: {sorted(parties)})"))
            if o.purpose not in purposes:
                out.append((("outputs", i, "purpose"),
                            f"purpose {o.purpose!r} is not a declared purpose (declared: {sorted(purposes)})"))
            if o.kind == "synthetic" and o.synthesizer is None:
                out.append((("outputs", i), "a synthetic output needs a synthesizer section"))
            if o.synthesizer is not None and o.synthesizer.epsilon is not None:
                budget = self.privacy.dp_budget
                if budget is None:
                    out.append((("outputs", i, "synthesizer", "epsilon"), "a differentially private synthesizer "
                                "spends from privacy.dp_budget: add it (epsilon, delta)"))
                elif o.synthesizer.epsilon > budget.epsilon:
                    out.append((("outputs", i, "synthesizer", "epsilon"), f"epsilon {o.synthesizer.epsilon} is "
                                f"more than the whole privacy.dp_budget ({budget.epsilon}); no run could train"))
        for i, r in enumerate(self.quality_rules):
            out += _column_ref(datasets, r.dataset, [r.column] if r.column else [], ("quality_rules", i))
        for i, b in enumerate(self.bias_checks):
            out += _column_ref(datasets, b.dataset, [*b.protected_attributes, b.label], ("bias_checks", i))
        # Privacy thresholds apply to every dataset that has the named columns.
        named: list[tuple[Loc, str]] = []
        if self.privacy.k_anonymity:
            named += [(("privacy", "k_anonymity", "quasi_identifiers", j), c)
                      for j, c in enumerate(self.privacy.k_anonymity.quasi_identifiers)]
        if self.privacy.l_diversity:
            named.append((("privacy", "l_diversity", "sensitive_column"), self.privacy.l_diversity.sensitive_column))
        if self.privacy.feature_leakage:
            named += self.privacy.feature_leakage.named_columns()
        for loc, col in named:
            if not any(col in d.columns for d in self.datasets):
                out.append((loc, f"column {col!r} is not declared by any dataset"))
        out += self._anonymisation_problems()
        out += self._evaluation_problems()
        for i, d in enumerate(self.datasets):
            for name, c in d.columns.items():
                key = getattr(c.transformation, "key", None)
                if key is not None and getattr(self.keys, key, None) is None:
                    out.append((("datasets", i, "columns", name, "transformation", "key"),
                                f"uses key {key!r} but keys.{key} names no secret; add it under keys:"))
                for j, r in enumerate(self.restrictions):
                    if c.category in r.categories and c.transformation.kind in r.forbidden_transformations:
                        out.append((("datasets", i, "columns", name, "transformation", "kind"),
                                    f"transformation {c.transformation.kind!r} on a {c.category} column is "
                                    f"forbidden by restrictions[{j}] ({r.id})"))
        return out

    def _evaluation_problems(self) -> list[tuple[Loc, str]]:
        """Evaluation outputs and model_evaluation: a holdout per dataset, on a subject column that is pseudonymised,
        scored by exactly one model_evaluation of the output's purpose on declared, released-unchanged labels."""
        out: list[tuple[Loc, str]] = []
        datasets = {d.id: d for d in self.datasets}
        outputs = {o.id: o for o in self.outputs}
        split_datasets: dict[str, str] = {}
        for i, o in enumerate(self.outputs):
            if o.holdout is not None and o.kind != "evaluation":
                out.append((("outputs", i, "holdout"), "only an output of kind evaluation has a holdout"))
            if o.kind != "evaluation" or o.dataset not in datasets:
                continue
            ds = datasets[o.dataset]
            if o.dataset in split_datasets:
                out.append((("outputs", i, "dataset"), f"dataset {o.dataset!r} already has the evaluation output "
                            f"{split_datasets[o.dataset]!r}; one holdout per dataset"))
            split_datasets.setdefault(o.dataset, o.id)
            if ds.source.partitioned:
                out.append((("outputs", i, "kind"), "an evaluation output of a partitioned dataset is not supported "
                            "yet: give the dataset as one file"))
            if subject_column(ds, o.split()) is None:
                where: Loc = ("outputs", i, "holdout", "subject_column") if o.holdout and o.holdout.subject_column \
                    else ("outputs", i)
                out.append((where, "the holdout is split by data subject: name a column of the dataset whose "
                                   "transformation is pseudonymise as holdout.subject_column"))
            if not any(m.output == o.id for m in self.model_evaluation):
                out.append((("outputs", i), f"evaluation output {o.id!r} is scored by no model_evaluation entry; "
                                            "add one naming it as output"))
        seen: set[str] = set()
        purposes = {p.id for p in self.purposes}
        for i, m in enumerate(self.model_evaluation):
            loc: Loc = ("model_evaluation", i)
            if m.purpose not in purposes:
                out.append(((*loc, "purpose"), f"purpose {m.purpose!r} is not a declared purpose"))
            if m.purpose in seen:
                out.append(((*loc, "purpose"), f"purpose {m.purpose!r} has two model_evaluation entries; keep one"))
            seen.add(m.purpose)
            o = outputs.get(m.output)
            if o is None or o.kind != "evaluation":
                out.append(((*loc, "output"), f"output {m.output!r} is not an output of kind evaluation"))
                continue
            if o.purpose != m.purpose:
                out.append(((*loc, "output"), f"output {m.output!r} serves purpose {o.purpose!r}, not {m.purpose!r}"))
            ds = datasets.get(o.dataset)
            if ds is None:
                continue
            if m.label not in ds.columns:
                out.append(((*loc, "label"), f"column {m.label!r} is not declared by dataset {ds.id!r}"))
            elif ds.columns[m.label].transformation.kind != "keep":
                out.append(((*loc, "label"), f"label {m.label!r} must be kept (transformation keep): the models are "
                                             "scored against its protected values"))
            for j, f in enumerate(m.fairness):
                if f.protected_attribute not in ds.columns:
                    out.append(((*loc, "fairness", j, "protected_attribute"),
                                f"column {f.protected_attribute!r} is not declared by dataset {ds.id!r}"))
                elif ds.columns[f.protected_attribute].transformation.kind == "drop":
                    out.append(((*loc, "fairness", j, "protected_attribute"),
                                f"column {f.protected_attribute!r} is dropped, so its groups are unknown"))
        return out

    def _anonymisation_problems(self) -> list[tuple[Loc, str]]:
        """Re-identification risk is measured over k-anonymity's quasi-identifiers; a hierarchy is climbed by
        k-anonymity's suppression, and never on a protected attribute (its groups must stay those of the raw
        data for the bias checks)."""
        out: list[tuple[Loc, str]] = []
        kanon = self.privacy.k_anonymity
        if self.privacy.reidentification and not kanon:
            out.append((("privacy", "reidentification"), "re-identification risk is measured over the "
                        "quasi-identifiers of privacy.k_anonymity: add it (suppress: false only measures)"))
        for i, d in enumerate(self.datasets):
            protected = {a for b in self.bias_checks if b.dataset == d.id for a in b.protected_attributes}
            for name, c in d.columns.items():
                if not c.hierarchy:
                    continue
                loc: Loc = ("datasets", i, "columns", name, "hierarchy")
                if not kanon or name not in kanon.quasi_identifiers:
                    out.append((loc, f"column {name!r} has a hierarchy but is not one of "
                                     "privacy.k_anonymity.quasi_identifiers, so nothing would climb it"))
                elif not kanon.suppress:
                    out.append((loc, "a hierarchy is climbed by suppression: set privacy.k_anonymity.suppress "
                                     "to true, or remove the hierarchy"))
                if name in protected:
                    out.append((loc, f"column {name!r} is a protected attribute of a bias check: generalising it "
                                     "would merge the groups the bias checks compare; remove the hierarchy"))
        return out


def _column_ref(datasets: dict[str, Dataset], ds: str, cols: list[str], loc: Loc) -> list[tuple[Loc, str]]:
    if ds not in datasets:
        return [((*loc, "dataset"), f"dataset {ds!r} is not declared")]
    missing = [c for c in cols if c not in datasets[ds].columns]
    return [(loc, f"names column(s) {missing} that dataset {ds!r} does not declare")] if missing else []


def subject_column(ds: Dataset, holdout: Holdout) -> str | None:
    """The pseudonymised column naming a dataset's data subject (see Holdout.subject_column), or None."""
    pseudonymised = [n for n, c in ds.columns.items() if c.transformation.kind == "pseudonymise"]
    if holdout.subject_column is not None:
        return holdout.subject_column if holdout.subject_column in pseudonymised else None
    direct = [n for n in pseudonymised if ds.columns[n].category == "direct_identifier"]
    return (direct or pseudonymised or [None])[0]
